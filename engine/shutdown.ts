/**
 * Bounded stopping (DESIGN "Actors", KNOCK_SHUTDOWN_TIMEOUT_MS): a stop closes what it can within the time it is
 * given, then the process exits whatever is still pending, and says what that was.
 *
 * Two bounds, because a timer on the main thread fires only while the main thread runs JavaScript:
 * - `closeWithin` races the orderly close against a timer; when the timer wins, the caller logs what was pending
 *   and exits with code 1;
 * - `startExitWatchdog` puts a second timer on a thread of its own, which ends the process (SIGKILL) at the deadline
 *   even if the main thread is stuck in synchronous code: a synchronous write to a stalled pipe, a database busy
 *   wait. Such a main thread once ignored SIGTERM for minutes (issue 13; engine/logger.ts says how).
 *
 * Nothing here loads a module while stopping: the worker's code is inline and uses built-in modules only.
 *
 * @example
 *   process.once('SIGTERM', async () => {
 *     startExitWatchdog(config.shutdownTimeoutMs);
 *     const result = await closeWithin(knock, config.shutdownTimeoutMs - 500);
 *     if (!result.clean) logger.error({ pending: result.pending }, 'stopping took too long');
 *     process.exit(result.clean ? 0 : 1);
 *   });
 */
import { Worker } from 'node:worker_threads';

export interface Closeable<P> {
  close(): Promise<void>;
  /** What is still under way, for the log of a close that did not finish in time. */
  pending(): P;
}

export type CloseResult<P> =
  | { clean: true; ms: number }
  | { clean: false; ms: number; pending: P; error?: unknown };

/** Closes `target`; resolves once it has closed, or after `timeoutMs` with what it was still doing. */
export async function closeWithin<P>(target: Closeable<P>, timeoutMs: number): Promise<CloseResult<P>> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), timeoutMs);
  });
  try {
    const outcome = await Promise.race([target.close().then(() => 'closed' as const), late]);
    const ms = Date.now() - started;
    return outcome === 'closed' ? { clean: true, ms } : { clean: false, ms, pending: target.pending() };
  } catch (error) {
    return { clean: false, ms: Date.now() - started, pending: target.pending(), error };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The watchdog's thread: it waits `ms`, writes one line to standard error (if it can) and kills the process. It never
 * keeps the process alive (unref), and it goes with the process when the process exits first.
 */
const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
setTimeout(() => {
  try {
    require('node:fs').writeSync(2, 'knock: stopping did not end within ' + workerData.ms + ' ms (the main thread did not answer); killing the process\\n');
  } catch {}
  process.kill(process.pid, 'SIGKILL');
}, workerData.ms);
`;

/** Ends the process with SIGKILL `ms` from now unless it has exited by then. Call once, when stopping begins. */
export function startExitWatchdog(ms: number): void {
  const worker = new Worker(WATCHDOG_SOURCE, {
    eval: true,
    workerData: { ms },
    // Not the parent's flags (a loader, --inspect): the watchdog needs nothing but Node.
    execArgv: [],
    resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 },
  });
  worker.unref();
}
