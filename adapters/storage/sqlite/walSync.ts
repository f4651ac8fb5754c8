/**
 * Makes SQLite commits durable without stopping the event loop. A commit with `synchronous=FULL` calls fsync
 * inside better-sqlite3's synchronous call: every socket of the process waits for the disk (3 ms at the median,
 * 17 ms at p99 on our machines' ext4). Appends therefore commit with `synchronous=NORMAL` (WAL mode: the frames
 * are written to the `-wal` file, not synced), and this class then runs `fdatasync` on that file in libuv's thread
 * pool; nobody is answered before the sync that covers their commit has finished. Durability is the same as FULL
 * (SQLite replays committed frames of a synced WAL after a crash); only the waiting moves off the event loop, and
 * commits that happen while one sync runs share the next (a second level of group commit).
 *
 * Reads that could show an append (messages, summaries) wait for the pending sync too, so nobody sees a message
 * that a power cut could still take back.
 *
 * A failed fdatasync is final: the kernel may have dropped the dirty pages, and a later sync could succeed without
 * them ("fsyncgate"). Every waiting and later caller gets the error; Knock must be restarted (SQLite recovers from
 * the WAL on disk), as PostgreSQL does in the same case.
 *
 * @example
 *   const wal = new WalSync(`${file}-wal`);
 *   commitWithoutSync();
 *   await wal.until(wal.committed());   // now on disk
 */
import { closeSync, fdatasync, fstatSync, openSync, statSync } from 'node:fs';

export class WalSync {
  private fd: number | null = null;
  private inode = -1;
  /** Commits made so far (numbered from 1), and how many of them are known to be on disk. */
  private written = 0;
  private durable = 0;
  private running = false;
  private waiters: Array<{ upTo: number; resolve: () => void; reject: (err: unknown) => void }> = [];
  private failure: Error | null = null;

  constructor(private readonly walPath: string) {}

  /** Records a commit made without sync; returns its number for `until`. */
  committed(): number {
    return ++this.written;
  }

  /** Resolves once commit `upTo` (and every one before it) is on disk. */
  until(upTo: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (upTo <= this.durable) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ upTo, resolve, reject });
      this.run();
    });
  }

  /** Resolves once every commit made so far is on disk (immediately when none waits). */
  settled(): Promise<void> {
    return this.until(this.written);
  }

  /** Closes the file; call after `settled()`. */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private run(): void {
    if (this.running || this.failure) return;
    this.running = true;
    const upTo = this.written;
    let fd: number;
    try {
      fd = this.open();
    } catch (err) {
      this.fail(err);
      return;
    }
    fdatasync(fd, (err) => {
      this.running = false;
      if (err) {
        this.fail(err);
        return;
      }
      this.durable = Math.max(this.durable, upTo);
      const waiting = this.waiters;
      this.waiters = [];
      for (const w of waiting) {
        if (w.upTo <= this.durable) w.resolve();
        else this.waiters.push(w);
      }
      // Commits made while this sync ran: one more sync covers all of them.
      if (this.waiters.length > 0) this.run();
    });
  }

  /** The WAL's descriptor, reopened if SQLite replaced the file (it deletes it when the last connection closes). */
  private open(): number {
    const inode = statSync(this.walPath).ino;
    if (this.fd !== null && inode === this.inode) return this.fd;
    this.close();
    this.fd = openSync(this.walPath, 'r');
    this.inode = fstatSync(this.fd).ino;
    return this.fd;
  }

  private fail(err: unknown): void {
    this.running = false;
    this.failure = new Error(`Could not make the database's write-ahead log durable (${this.walPath}): restart Knock.`, { cause: err });
    for (const w of this.waiters.splice(0)) w.reject(this.failure);
  }
}
