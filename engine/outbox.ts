/**
 * The outbox (issue 17, DESIGN "Reaching people who are offline"): what goes out by another channel (a mail now;
 * XMPP, SMS, push, webhooks later) is a job in storage (OutboxStorage) until its channel confirms it, so a relay that
 * is down, a process that restarts or one that dies in the middle of a send delays a mail but never loses it.
 *
 * Each process runs one Outbox under its own `worker` name. Its loop claims the jobs that are due (a lease of
 * `leaseMs` each, so two processes never try one job at once), runs up to `concurrency` of them through the handler
 * of their kind, and records how each try ended: `sent`; `retrying` after a temporary failure, at a growing delay
 * (retryDelay); `failed` after a permanent one (an error with `permanent: true`, e.g. MailSendError for a 5xx) or
 * after `maxAttempts` tries. Then it sleeps until the next job is due, at most `pollMs` (jobs another process queued
 * are seen then), or until `enqueue` or a finished job wakes it. A process that dies leaves its leases behind: they
 * run out, and another process (or this one, restarted) claims the jobs again. A handler should therefore be safe to
 * run again for a job it may already have done (a mail keeps the Message-ID chosen when queued).
 *
 * @example
 *   const outbox = new Outbox({ storage, clock: systemClock, timers: systemTimers, logger, worker: processId,
 *     retryBaseMs: config.outboxRetryBaseMs, maxAttempts: config.outboxMaxAttempts, leaseMs: config.outboxLeaseMs,
 *     pollMs: config.outboxPollMs });
 *   outbox.handle('mail.reply', async (job) => ({ ref: (await relay.send(replyOf(job))).response }));
 *   outbox.onChange((job) => deliveries.publish(job));
 *   outbox.start();
 *   await outbox.enqueue({ kind: 'mail.reply', key: `reply:${conversationId}:${seq}`, payload, runAt: now, at: now });
 *   ...
 *   await outbox.close();
 */
import type { Logger } from './logger.ts';
import type { Clock, Timers } from './ports/clock.ts';
import type { NewOutboxJob, OutboxJob, OutboxStorage } from './ports/storage.ts';

/**
 * Does what a job of one kind asks, once; resolves with the channel's reference of what it sent (a mail's
 * Message-ID, to match a bounce), if any. Throws an error with `permanent: true` when trying again cannot help (a
 * refused address); any other error is temporary, and the job is tried again later.
 */
export type OutboxHandler = (job: OutboxJob) => Promise<{ ref?: string | null }>;

export interface OutboxOptions {
  storage: OutboxStorage;
  clock: Clock;
  timers: Timers;
  logger: Pick<Logger, 'debug' | 'warn' | 'error'>;
  /** This process's name on the leases it takes: unique per process (e.g. the Hub's process id). */
  worker: string;
  /** The first retry's delay after a temporary failure (KNOCK_OUTBOX_RETRY_BASE_MS); each next one twice as long. */
  retryBaseMs: number;
  /** Tries before a job is given up (KNOCK_OUTBOX_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** How long a claimed job is this process's (KNOCK_OUTBOX_LEASE_MS): a try must end within it. */
  leaseMs: number;
  /** The longest sleep between two looks for due jobs (KNOCK_OUTBOX_POLL_MS). */
  pollMs: number;
  /** In [0, 1), for the retries' jitter; default Math.random (tests pass a fixed one). */
  random?: () => number;
  /** Jobs tried at once by this process; default 4. */
  concurrency?: number;
  /** How long `close` waits for the jobs being tried; default 5 s. */
  closeTimeoutMs?: number;
}

/** No retry waits longer than an hour, however many tries came before. */
export const MAX_RETRY_DELAY_MS = 3_600_000;
/** The longest error kept with a job: a relay's answer, not its whole transcript. */
const MAX_ERROR_CHARS = 1000;

/**
 * The delay before the next try of a job that failed its `attempts`th try: `baseMs * 2^(attempts - 1)`, at most an
 * hour, with equal jitter (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015): half of it kept, the other
 * half drawn at random. The article's full jitter (all of it random) spread the load best among many clients
 * contending for one server; jobs here do not contend with one another, and full jitter could draw a delay near 0 and
 * retry at once a mail the relay just told us to send later. Equal jitter waits at least half the delay and still
 * spreads the retries of a burst of failures (a relay down for everyone).
 *
 * @example
 *   retryDelay(1, 30_000, () => 0.5)  // 22_500: between 15 s and 30 s
 *   retryDelay(3, 30_000, () => 0)    // 60_000: between 60 s and 120 s
 */
export function retryDelay(attempts: number, baseMs: number, random: () => number): number {
  const exponential = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

/**
 * Thrown by a handler whose job is no longer wanted (a forward whose owner answered at the URL first): the job ends
 * `cancelled`, neither sent nor failed.
 */
export class JobCancelled extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'JobCancelled';
  }
}

/** Any error with a boolean `permanent` set (MailSendError and its like): trying again cannot help. */
function isPermanent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'permanent' in err && err.permanent === true;
}

/**
 * A failure in words storage can keep: its message, without NUL or lone surrogates (which a relay's answer could hold
 * and storage refuses), and cut to MAX_ERROR_CHARS.
 */
export function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  const storable = text.replace(/\u0000/g, ' ').replace(/\p{Cs}/gu, '\uFFFD');
  return storable.length > MAX_ERROR_CHARS ? `${storable.slice(0, MAX_ERROR_CHARS - 1)}\u2026` : storable;
}

type Outcome = Parameters<OutboxStorage['settleJob']>[2];

export class Outbox {
  private readonly handlers = new Map<string, OutboxHandler>();
  private readonly listeners = new Set<(job: OutboxJob) => void>();
  /** The tries under way, each settling (never rejecting) when its job's outcome is recorded. */
  private readonly inFlight = new Set<Promise<void>>();
  private readonly random: () => number;
  private readonly concurrency: number;
  private readonly closeTimeoutMs: number;
  private loop: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private stopping = false;
  /** Ends the loop's sleep now (null while it is not sleeping). */
  private wakeUp: (() => void) | null = null;
  /** A wake that came while the loop was not sleeping: its next sleep is skipped. */
  private woken = false;

  constructor(private readonly options: OutboxOptions) {
    this.random = options.random ?? Math.random;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5000;
  }

  /** Registers the handler of the jobs of `kind` (one per kind). */
  handle(kind: string, handler: OutboxHandler): void {
    if (this.handlers.has(kind)) throw new Error(`The outbox already has a handler for "${kind}".`);
    this.handlers.set(kind, handler);
  }

  /** Queues a job (a key queued before returns that job, unchanged) and wakes the loop to try it at once if due. */
  async enqueue(job: NewOutboxJob): Promise<{ job: OutboxJob; duplicate: boolean }> {
    const queued = await this.options.storage.enqueueJob(job);
    if (!queued.duplicate) {
      this.emit(queued.job);
      this.wake();
    }
    return queued;
  }

  /**
   * Calls `listener` with the job after each of its changes made here: queued, claimed (in flight: "sending"),
   * retrying, sent, failed, and failed after the fact (failSentJob). Returns the function that stops it.
   */
  onChange(listener: (job: OutboxJob) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Marks a sent job failed (a bounce came back), with the reason; null if there is no such sent job. */
  async failSentJob(id: string, error: string): Promise<OutboxJob | null> {
    const failed = await this.options.storage.failSentJob(id, errorText(error), this.options.clock.now());
    if (failed) {
      this.options.logger.warn({ jobId: id, kind: failed.kind, error: failed.lastError }, 'an outbox job that was sent came back undelivered');
      this.emit(failed);
    }
    return failed;
  }

  /**
   * Cancels the jobs of these keys that still wait (not the one being tried now: its handler decides), and tells the
   * listeners of each. Resolves with the jobs cancelled.
   */
  async cancel(keys: readonly string[]): Promise<OutboxJob[]> {
    if (keys.length === 0) return [];
    const cancelled = await this.options.storage.cancelJobs(keys, this.options.clock.now());
    for (const job of cancelled) this.emit(job);
    return cancelled;
  }

  /** Starts the loop (once; not after close). */
  start(): void {
    if (this.loop || this.stopping) return;
    this.loop = this.run();
  }

  /**
   * Stops claiming, then waits for the jobs being tried, at most `closeTimeoutMs`: a try still going then keeps its
   * lease, which runs out, and the job is tried again (here after a restart, or by another process). Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  // -- the loop ---------------------------------------------------------------------------------------------------

  private async run(): Promise<void> {
    let emptyDueRounds = 0;
    while (!this.stopping) {
      this.woken = false;
      const claimed = await this.claimDue();
      if (this.stopping) return;
      if (claimed === null) {
        await this.sleep(this.options.pollMs); // storage failed: look again later, not in a tight loop
        continue;
      }
      if (this.inFlight.size >= this.concurrency) {
        await this.sleep(this.options.pollMs); // a finished job wakes it
        continue;
      }
      const delay = await this.untilNextJob();
      if (delay > 0) {
        emptyDueRounds = 0;
        await this.sleep(delay);
        continue;
      }
      // A job is due now: claim again at once. Should claims keep finding nothing while storage says one is due (its
      // two answers disagree), the poll paces the loop rather than letting it spin.
      emptyDueRounds = claimed > 0 ? 0 : emptyDueRounds + 1;
      if (emptyDueRounds > 1) await this.sleep(this.options.pollMs);
    }
  }

  /** Claims as many due jobs as there is room for and starts them; how many, or null when storage failed. */
  private async claimDue(): Promise<number | null> {
    const room = this.concurrency - this.inFlight.size;
    if (room <= 0) return 0;
    let jobs: OutboxJob[];
    try {
      jobs = await this.options.storage.claimJobs({
        worker: this.options.worker, now: this.options.clock.now(), leaseMs: this.options.leaseMs, limit: room,
      });
    } catch (err) {
      this.options.logger.error({ err }, 'the outbox could not claim its due jobs; it will look again');
      return null;
    }
    for (const job of jobs) {
      const tried = this.tryJob(job).finally(() => {
        this.inFlight.delete(tried);
        this.wake();
      });
      this.inFlight.add(tried);
    }
    return jobs.length;
  }

  /** How long to sleep: until the next job is due, at most pollMs (another process may queue one meanwhile). */
  private async untilNextJob(): Promise<number> {
    try {
      const next = await this.options.storage.nextJobAt();
      if (next === null) return this.options.pollMs;
      return Math.min(this.options.pollMs, Math.max(0, next - this.options.clock.now()));
    } catch (err) {
      this.options.logger.error({ err }, 'the outbox could not read when its next job is due; it will look again');
      return this.options.pollMs;
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const cancel = this.options.timers.after(ms, () => {
        this.wakeUp = null;
        resolve();
      });
      this.wakeUp = () => {
        cancel();
        this.wakeUp = null;
        resolve();
      };
    });
  }

  private wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.woken = true;
  }

  // -- one try ------------------------------------------------------------------------------------------------------

  /** Runs one claimed job and records its outcome; never rejects (every failure is logged or recorded). */
  private async tryJob(job: OutboxJob): Promise<void> {
    this.emit(job);
    const started = this.options.clock.now();
    const outcome = await this.outcomeOf(job);
    let settled: OutboxJob | null;
    try {
      settled = await this.options.storage.settleJob(job.id, this.options.worker, outcome);
    } catch (err) {
      this.options.logger.error(
        { err, jobId: job.id, kind: job.kind, state: outcome.state },
        'the outbox could not record how a try ended; the job is tried again once its lease runs out',
      );
      return;
    }
    if (!settled) {
      this.options.logger.warn(
        { jobId: job.id, kind: job.kind, state: outcome.state, tookMs: this.options.clock.now() - started, leaseMs: this.options.leaseMs },
        'an outbox job outlasted its lease and another process took it over; this try is not recorded',
      );
      return;
    }
    this.report(settled);
    this.emit(settled);
  }

  private async outcomeOf(job: OutboxJob): Promise<Outcome> {
    const handler = this.handlers.get(job.kind);
    // Another process (a newer Knock) may know this kind: leave it waiting for one, never fail it here.
    if (!handler) return this.retry(job, `No handler for outbox jobs of kind "${job.kind}" in process ${this.options.worker}.`);
    try {
      const { ref } = await handler(job);
      return { state: 'sent', ref: ref ?? null, at: this.options.clock.now() };
    } catch (err) {
      if (err instanceof JobCancelled) return { state: 'cancelled', at: this.options.clock.now() };
      const error = errorText(err);
      if (isPermanent(err) || job.attempts >= this.options.maxAttempts) return { state: 'failed', error, at: this.options.clock.now() };
      return this.retry(job, error);
    }
  }

  private retry(job: OutboxJob, error: string): Outcome {
    const now = this.options.clock.now();
    return { state: 'retrying', runAt: now + retryDelay(job.attempts, this.options.retryBaseMs, this.random), error, at: now };
  }

  private report(job: OutboxJob): void {
    const fields = { jobId: job.id, kind: job.kind, attempts: job.attempts, error: job.lastError };
    if (job.state === 'failed') this.options.logger.warn(fields, 'an outbox job was given up: not delivered');
    else if (job.state === 'cancelled') this.options.logger.debug(fields, 'an outbox job was cancelled');
    else if (job.state === 'retrying') this.options.logger.warn({ ...fields, runAt: job.runAt }, 'an outbox job failed for now; it will be tried again');
    else this.options.logger.debug(fields, 'an outbox job was sent');
  }

  /** Tells every listener; one that throws is logged and the others are still told. */
  private emit(job: OutboxJob): void {
    for (const listener of this.listeners) {
      try {
        listener(job);
      } catch (err) {
        this.options.logger.error({ err, jobId: job.id }, 'an outbox listener failed');
      }
    }
  }

  /** The bound starts at once, so it covers the loop's last claim as well as the tries under way. */
  private async stop(): Promise<void> {
    this.stopping = true;
    let cancel = (): void => undefined;
    const late = new Promise<'late'>((resolve) => {
      cancel = this.options.timers.after(this.closeTimeoutMs, () => resolve('late'));
    });
    this.wake();
    const finished = (async () => {
      await this.loop;
      await Promise.all(this.inFlight);
      return 'done' as const;
    })();
    const outcome = await Promise.race([finished, late]);
    cancel();
    if (outcome === 'late') {
      this.options.logger.warn(
        { pending: this.inFlight.size },
        'the outbox closed with jobs still being tried; they are tried again once their leases run out',
      );
    }
  }
}
