/**
 * Structured logging (CONVENTIONS 9): the composition root makes one pino logger and hands children to modules.
 */
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return destination ? pino({ level }, destination) : pino({ level });
}

/** Log bytes held in memory while standard output takes none; beyond it new lines are dropped (and counted). */
const MAX_PENDING_LOG_BYTES = 4 * 1024 * 1024;

/**
 * The server process's log: JSON lines on standard output, written without ever stopping the event loop.
 *
 * pino's default destination writes synchronously. Standard output is non-blocking once Node has set it up (a pipe
 * or a socket), so when its reader stops reading (a stalled pipe, a paused pager, a slow log collector) every write
 * fails with EAGAIN, and pino's writer then sleeps the main thread in `Atomics.wait` and tries again, for as long as
 * the reader stalls. No socket is served and no signal handler runs meanwhile: that was the "stopping hangs" of issue
 * 13 (SIGTERM, then a second one, did nothing for minutes; the process went on once its output was read again).
 * Here lines go through `process.stdout`, which queues what the pipe cannot take yet and lets the event loop run;
 * while the reader stalls, at most 4 MiB wait in memory and further lines are dropped (a warning says how many once
 * the reader is back), and the last flush before exiting waits only as long as it is told to.
 *
 * @example
 *   const log = new ProcessLog('info');
 *   log.logger.info('Knock is listening');
 *   await log.flush(500);   // before process.exit
 */
export class ProcessLog {
  readonly logger: Logger;
  private dropped = 0;
  /** The reader is gone (EPIPE) or the stream failed: lines go nowhere rather than crash the process. */
  private broken = false;

  constructor(
    level: string,
    private readonly out: NodeJS.WriteStream = process.stdout,
    private readonly maxPendingBytes = MAX_PENDING_LOG_BYTES,
  ) {
    out.on('error', () => {
      this.broken = true;
    });
    out.on('drain', () => {
      if (this.dropped === 0) return;
      const dropped = this.dropped;
      this.dropped = 0;
      this.logger.warn({ dropped }, 'log lines were dropped while standard output was not being read');
    });
    this.logger = pino({ level }, { write: (line: string) => this.write(line) });
  }

  /** Resolves with true once every line is written, or with false after `timeoutMs` if the reader still stalls. */
  flush(timeoutMs: number): Promise<boolean> {
    if (this.broken) return Promise.resolve(false);
    if (this.out.writableLength === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      // Its callback runs once everything written before it has been taken by the reader.
      this.out.write('', (err) => {
        clearTimeout(timer);
        resolve(!err);
      });
    });
  }

  private write(line: string): void {
    if (this.broken) return;
    if (this.out.writableLength > this.maxPendingBytes) {
      this.dropped += 1;
      return;
    }
    this.out.write(line);
  }
}
