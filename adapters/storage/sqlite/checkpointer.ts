/**
 * Moves SQLite's WAL checkpoints off the event loop. A checkpoint copies the pages committed to the `-wal` file
 * back into the database file and syncs both; left to SQLite it runs inside the commit that crosses
 * `wal_autocheckpoint` pages (1,000 by default), so under load one commit in a few stopped every socket of the
 * process for two fsyncs and a few megabytes of copying. Here a worker thread with its own connection runs PASSIVE
 * checkpoints (they never block the writer) a moment after commits; the main connection's automatic checkpoint
 * stays on, with a much higher threshold, as a backstop: a WAL that the worker never gets to copy in full, because
 * commits keep coming while it copies, is restarted by SQLite only after a checkpoint the writer itself ran, and the
 * backstop is that checkpoint, which then finds most pages already copied.
 *
 * Durability does not depend on the worker: commits are durable once the WAL is synced (./walSync.ts). If the
 * worker fails, the main connection goes back to SQLite's default threshold and `onError` is told.
 *
 * @example
 *   const checkpoints = new Checkpointer(db, file, (err) => logger.error({ err }, 'WAL checkpoints'));
 *   commit(); checkpoints.committed();
 *   await checkpoints.close();   // before db.close()
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** The main connection's own checkpoint threshold while the worker runs (pages of 4 KiB: 40 MB of WAL). */
export const BACKSTOP_PAGES = 10_000;
const SQLITE_DEFAULT_PAGES = 1_000;

export class Checkpointer {
  private worker: Worker | null;
  private notified = false;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly db: Database.Database,
    file: string,
    private readonly onError: (err: Error) => void = () => undefined,
    intervalMs = 50,
  ) {
    db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    this.worker = new Worker(new URL('./checkpointWorker.mjs', import.meta.url), { workerData: { file, intervalMs } });
    this.worker.unref(); // never what keeps the process alive
    this.worker.on('message', (msg: { type: string; message?: string }) => {
      if (msg.type === 'failed') this.fail(new Error(`WAL checkpoint failed: ${msg.message}`));
    });
    this.worker.on('error', (err) => this.fail(err));
  }

  /** Tells the worker the WAL grew (one message per event-loop turn, however many commits it held). */
  committed(): void {
    if (this.worker === null || this.notified) return;
    this.notified = true;
    queueMicrotask(() => {
      this.notified = false;
      this.worker?.postMessage('dirty');
    });
  }

  /** Stops the worker and closes its connection; call before closing the main connection. */
  close(): Promise<void> {
    const worker = this.worker;
    if (worker === null) return this.closing ?? Promise.resolve();
    this.worker = null;
    this.closing = new Promise<void>((resolve) => {
      // Referenced again while it closes: a process with nothing else left to do would otherwise exit (with code
      // 0) before the worker's exit, and whatever awaits this close would never go on.
      worker.ref();
      worker.once('exit', () => resolve());
      worker.postMessage('close');
    });
    return this.closing;
  }

  private fail(err: Error): void {
    if (this.worker === null) return;
    const worker = this.worker;
    this.worker = null;
    void worker.terminate();
    this.db.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_PAGES}`);
    this.onError(err);
  }
}
