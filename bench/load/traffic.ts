/**
 * The chat traffic of one load process over its pairs. Both ends of every pair live in this process, so a message's
 * send time and its receipt at the other end are read from the same clock (performance.now()).
 *
 * - Open loop: messages leave at `ratePerSec`, round-robin over the pairs, each pair alternating direction,
 *   whatever the server answers (a timer tick every ~1 ms sends everything due). Latency is measured from the moment
 *   the frame is handed to the socket; how far the process fell behind its schedule is reported (`maxLagMs`), so a
 *   load process that cannot keep up is seen, not mistaken for a slow server.
 * - Closed loop: `window` messages in flight per pair; every delivery sends the pair's next one. This finds the
 *   saturation throughput.
 * Phases: warm-up (sent, not counted), window (counted), then sending stops and the drain waits for what is still in
 * flight (bounded); what never arrives is counted as undelivered.
 */
import { Histogram } from '../lib/histogram.ts';
import type { ChatPair, ChatSink } from './connections.ts';
import type { TrafficPlan, TrafficResult } from './messages.ts';

/** A realistic short chat line (~60 bytes); the sequence number makes each one different. */
const BODY = 'Hello! Is this still available? I would like to ask about it #';
const MAX_ERRORS_KEPT = 5;

interface InFlight {
  sentAt: number;
  pair: number;
  inWindow: boolean;
}

export class Traffic implements ChatSink {
  private readonly inFlight = new Map<string, InFlight>();
  private readonly nextEnd: Array<0 | 1>;
  private counter = 0;
  private sending = false;
  private windowStart = Infinity;
  private windowEnd = Infinity;
  private closedLoop = false;
  private latency = new Histogram();
  private ackLatency = new Histogram();
  private counts = { sent: 0, sentInWindow: 0, delivered: 0, deliveredInWindow: 0, acked: 0, errors: 0 };
  private firstErrors: string[] = [];
  private drained: (() => void) | null = null;

  constructor(
    private readonly pairs: ChatPair[],
    /** Makes clientMsgIds unique across processes and runs (letters and digits only). */
    private readonly tag: string,
  ) {
    this.nextEnd = pairs.map(() => 0);
  }

  async run(plan: TrafficPlan): Promise<TrafficResult> {
    if (this.pairs.length === 0) throw new Error('no pairs are open in this load process');
    this.reset();
    // Started with --expose-gc by the pool: the garbage of the previous step is collected before this one.
    (globalThis as { gc?: () => void }).gc?.();
    const start = performance.now();
    this.windowStart = start + plan.warmupMs;
    this.windowEnd = this.windowStart + plan.measureMs;
    this.sending = true;
    let maxLagMs = 0;
    if (plan.mode === 'closed') {
      this.closedLoop = true;
      for (let w = 0; w < plan.window; w++) for (let p = 0; p < this.pairs.length; p++) this.sendOn(p);
      await sleep(plan.warmupMs + plan.measureMs);
    } else {
      maxLagMs = await this.openLoop(plan.ratePerSec, start, this.windowEnd);
    }
    this.sending = false;
    await this.drain(plan.drainMs);
    const result: TrafficResult = {
      ...this.counts,
      undelivered: this.inFlight.size,
      latency: this.latency.toJSON(),
      ackLatency: this.ackLatency.toJSON(),
      maxLagMs,
      windowMs: plan.measureMs,
      firstErrors: this.firstErrors,
    };
    this.inFlight.clear();
    return result;
  }

  // --- ChatSink ---------------------------------------------------------------------------------------------------
  delivered(clientMsgId: string): void {
    const now = performance.now();
    const entry = this.inFlight.get(clientMsgId);
    if (!entry) return; // from an earlier run, after its drain gave up
    this.inFlight.delete(clientMsgId);
    this.counts.delivered++;
    if (now >= this.windowStart && now < this.windowEnd) this.counts.deliveredInWindow++;
    if (entry.inWindow) this.latency.record(now - entry.sentAt);
    if (this.closedLoop && this.sending) this.sendOn(entry.pair);
    if (this.inFlight.size === 0) this.drained?.();
  }

  acked(clientMsgId: string): void {
    const entry = this.inFlight.get(clientMsgId);
    if (!entry) return;
    this.counts.acked++;
    if (entry.inWindow) this.ackLatency.record(performance.now() - entry.sentAt);
  }

  refused(ref: string | undefined, text: string): void {
    this.counts.errors++;
    if (this.firstErrors.length < MAX_ERRORS_KEPT) this.firstErrors.push(text);
    const entry = ref === undefined ? undefined : this.inFlight.get(ref);
    if (!entry || ref === undefined) return;
    this.inFlight.delete(ref);
    if (this.closedLoop && this.sending) this.sendOn(entry.pair);
    if (this.inFlight.size === 0) this.drained?.();
  }

  // --- sending ----------------------------------------------------------------------------------------------------
  private sendOn(pair: number): void {
    const n = this.counter++;
    const clientMsgId = `${this.tag}${n.toString(36).padStart(8, '0')}`;
    const from = this.nextEnd[pair]!;
    this.nextEnd[pair] = from === 0 ? 1 : 0;
    const sentAt = performance.now();
    const inWindow = sentAt >= this.windowStart && sentAt < this.windowEnd;
    this.inFlight.set(clientMsgId, { sentAt, pair, inWindow });
    this.counts.sent++;
    if (inWindow) this.counts.sentInWindow++;
    this.pairs[pair]!.send(from, clientMsgId, BODY + n);
  }

  /** Resolves when the schedule is done, with the worst lag behind it (ms). */
  private openLoop(ratePerSec: number, start: number, until: number): Promise<number> {
    const intervalMs = 1000 / ratePerSec;
    let sent = 0;
    let pair = 0;
    let maxLagMs = 0;
    return new Promise((resolve) => {
      const tick = () => {
        const now = performance.now();
        const end = Math.min(now, until);
        const due = Math.floor((end - start) / intervalMs) + 1;
        if (sent < due) maxLagMs = Math.max(maxLagMs, end - (start + sent * intervalMs));
        while (sent < due) {
          this.sendOn(pair);
          pair = (pair + 1) % this.pairs.length;
          sent++;
        }
        if (now >= until) resolve(maxLagMs);
        else setTimeout(tick, 1);
      };
      tick();
    });
  }

  private async drain(timeoutMs: number): Promise<void> {
    if (this.inFlight.size === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.drained = done;
    });
    this.drained = null;
  }

  private reset(): void {
    this.inFlight.clear();
    this.latency = new Histogram();
    this.ackLatency = new Histogram();
    this.counts = { sent: 0, sentInWindow: 0, delivered: 0, deliveredInWindow: 0, acked: 0, errors: 0 };
    this.firstErrors = [];
    this.closedLoop = false;
    this.nextEnd.fill(0);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
