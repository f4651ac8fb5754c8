/**
 * 1:1 relay throughput and latency: chat pairs (both ends in the same load process), first a closed loop to find
 * the saturation throughput, then open-loop steps at set rates. For Knock each message is validated and its append
 * started as it arrives (storage applies one conversation's appends in call order); SQLite writes every append of
 * one event-loop turn in one transaction, made durable by one fdatasync of the WAL in the thread pool (commits
 * made while a sync runs share the next); only then do the acks and broadcasts leave, in sequence order, and what
 * one tick sends to a socket goes out in one write (corked): "durably stored before its ack".
 */
import type { OpenResult, PairKind, PairSpec, TrafficPlan, TrafficResult } from '../load/messages.ts';
import type { Phase } from '../modes.ts';
import type { LoadStep, ThroughputResult } from '../results.ts';
import { sleep } from '../lib/processes.ts';
import type { RunningServer } from '../targets.ts';
import { mergeHistograms, waitForQuiet, withCpu, type BenchContext } from './context.ts';

const OPEN_TIMEOUT_MS = 30_000;
const QUIET_TIMEOUT_MS = 30_000;

/** Opens the pairs (spread over the load processes) and returns how many opened. */
export async function openPairs(ctx: BenchContext, server: RunningServer, pairs: PairSpec[], kind: PairKind = 'chat'): Promise<number> {
  const results = await ctx.pool.each<OpenResult>(
    ctx.pool.split(pairs).map((share) =>
      share.length === 0 ? null : { cmd: 'openPairs', protocol: server.protocol, kind, pairs: share, concurrency: 8, timeoutMs: OPEN_TIMEOUT_MS },
    ),
    OPEN_TIMEOUT_MS * 4,
  );
  const opened = results.reduce((n, r) => n + r.opened, 0);
  const errors = results.flatMap((r) => r.firstErrors);
  if (errors.length > 0) ctx.errors.push(`${server.label}: ${pairs.length - opened} of ${pairs.length} pairs failed to open: ${errors[0]}`);
  if (opened === 0) throw new Error(`${server.label}: no ${kind === 'doc' ? 'document' : 'chat'} pair could be opened: ${errors[0] ?? 'no error given'}`);
  return opened;
}

export async function closePairs(ctx: BenchContext): Promise<void> {
  await ctx.pool.all({ cmd: 'closePairs', timeoutMs: OPEN_TIMEOUT_MS }, OPEN_TIMEOUT_MS + 10_000);
}


/** One traffic step over every load process with pairs; per-process rates add up to `ratePerSec`. */
export async function runStep(ctx: BenchContext, server: RunningServer, plan: { mode: 'closed'; window: number } | { mode: 'open'; ratePerSec: number }, phase: Phase, processes = ctx.pool.size): Promise<LoadStep> {
  const planFor = (): TrafficPlan =>
    plan.mode === 'closed'
      ? { mode: 'closed', window: plan.window, ...phase }
      : { mode: 'open', ratePerSec: plan.ratePerSec / processes, ...phase };
  const timeoutMs = phase.warmupMs + phase.measureMs + phase.drainMs + 30_000;
  // Each step starts clean: the server idle (no backlog of the step before), a full GC in the server (the memory
  // probe) and in the load processes (at traffic start), so no step pays for the garbage of the one before.
  if (!(await waitForQuiet(server, QUIET_TIMEOUT_MS))) ctx.errors.push(`${server.label}: the server was still busy ${QUIET_TIMEOUT_MS / 1000} s after the previous step`);
  await server.memory();
  await sleep(200);
  const { result, cpu } = await withCpu(ctx, server, () =>
    ctx.pool.each<TrafficResult>(Array.from({ length: ctx.pool.size }, (_, i) => (i < processes ? { cmd: 'traffic', plan: planFor() } : null)), timeoutMs),
  );
  const seconds = phase.measureMs / 1000;
  const latency = mergeHistograms(result.map((r) => r.latency));
  const ack = mergeHistograms(result.map((r) => r.ackLatency));
  const sentPerSec = result.reduce((n, r) => n + r.sentInWindow, 0) / seconds;
  const offeredPerSec = plan.mode === 'open' ? plan.ratePerSec : null;
  const maxLagMs = Math.max(0, ...result.map((r) => r.maxLagMs));
  const deliveredPerSec = result.reduce((n, r) => n + r.deliveredInWindow, 0) / seconds;
  return {
    mode: plan.mode,
    offeredPerSec,
    window: plan.mode === 'closed' ? plan.window : null,
    windowMs: phase.measureMs,
    sentPerSec,
    sent: result.reduce((n, r) => n + r.sent, 0),
    delivered: result.reduce((n, r) => n + r.delivered, 0),
    deliveredPerSec,
    perServerCpuSecond: cpu.server > 0 ? deliveredPerSec / cpu.server : 0,
    latency: latency.summary(),
    ackLatency: ack.count > 0 ? ack.summary() : null,
    spectrum: latency.spectrum(),
    undelivered: result.reduce((n, r) => n + r.undelivered, 0),
    errors: result.reduce((n, r) => n + r.errors, 0),
    maxLagMs,
    cpu,
    // Cannot keep up: CPU of the load processes near full, or fewer sent than offered.
    loadBound: cpu.load >= 0.9 * ctx.loadCpuCount || (offeredPerSec !== null && sentPerSec < 0.95 * offeredPerSec),
    firstErrors: result.flatMap((r) => r.firstErrors).slice(0, 5),
  };
}

export interface ThroughputPlan {
  pairs: PairSpec[];
  /** Absolute open-loop rates to run after the saturation run (ascending order is not required). */
  rates: (saturationPerSec: number) => number[];
  /**
   * How long each step may wait for its messages in flight, at least (the mode's drain otherwise). A server far
   * slower than the mode was sized for (ejabberd syncing every archive row) needs it: the drain ends as soon as
   * everything arrived, and a backlog left behind would be measured as part of the next step.
   */
  drainMs?: number;
  /** Rates above this multiple of the server's own saturation are not run (recorded as skipped). */
  maxRateOverSaturation?: number;
}

export async function measureThroughput(ctx: BenchContext, server: RunningServer, plan: ThroughputPlan): Promise<ThroughputResult> {
  const { throughput } = ctx.mode;
  ctx.log(`${server.label}: opening ${plan.pairs.length} chat pairs`);
  const pairsOpened = await openPairs(ctx, server, plan.pairs);
  const drained = (phase: Phase): Phase => ({ ...phase, drainMs: Math.max(phase.drainMs, plan.drainMs ?? 0) });
  try {
    const saturation = await runStep(ctx, server, { mode: 'closed', window: throughput.window }, drained(throughput.saturation));
    ctx.log(`${server.label}: saturation ${fmt(saturation.deliveredPerSec)} msg/s (p99 ${saturation.latency.p99Ms.toFixed(1)} ms, server CPU ${saturation.cpu.server.toFixed(2)}, load CPU ${saturation.cpu.load.toFixed(2)})`);
    const steps: LoadStep[] = [];
    const planned = [...new Set(plan.rates(saturation.deliveredPerSec).map((r) => Math.max(1, Math.round(r))))].sort((a, b) => a - b);
    const ceiling = plan.maxRateOverSaturation === undefined ? Infinity : plan.maxRateOverSaturation * saturation.deliveredPerSec;
    const rates = planned.filter((r) => r <= ceiling);
    const skippedRates = planned.filter((r) => r > ceiling);
    if (skippedRates.length > 0) ctx.log(`${server.label}: not run, far above its saturation: ${skippedRates.map(fmt).join(', ')} msg/s`);
    for (const ratePerSec of rates) {
      // A pair's sends are spread over the load processes that hold pairs; tiny rates use one process.
      const step = await runStep(ctx, server, { mode: 'open', ratePerSec }, drained(throughput.step), Math.min(ctx.pool.size, Math.max(1, Math.floor(ratePerSec / 10))));
      ctx.log(`${server.label}: ${fmt(ratePerSec)} msg/s offered -> ${fmt(step.deliveredPerSec)} delivered, p50 ${step.latency.p50Ms.toFixed(2)} ms, p99 ${step.latency.p99Ms.toFixed(2)} ms`);
      steps.push(step);
    }
    const kept = steps.filter((s) => s.offeredPerSec !== null && s.deliveredPerSec >= 0.97 * s.offeredPerSec && s.undelivered === 0);
    const sustainedPerSec = kept.length > 0 ? Math.max(...kept.map((s) => s.offeredPerSec!)) : null;
    return { server: server.kind, label: server.label, pairs: plan.pairs.length, pairsOpened, saturation, steps, sustainedPerSec, ...(skippedRates.length > 0 ? { skippedRates } : {}) };
  } finally {
    await closePairs(ctx);
  }
}

export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
