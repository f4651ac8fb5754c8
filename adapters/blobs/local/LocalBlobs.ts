/**
 * The local adapter of the Blobs port (engine/ports/blobs.ts): one file per blob in a directory, the default when
 * Knock runs on one machine (the composition root passes `<KNOCK_DATA_DIR>/blobs`). Layout in adapters/blobs/README.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from '../../../engine/logger.ts';
import type { BlobInfo, Blobs } from '../../../engine/ports/blobs.ts';
import { isBlobId, readLimited, resolveRange } from '../blobRules.ts';

export interface LocalBlobsOptions {
  /** The directory of the blobs, created if missing; `<KNOCK_DATA_DIR>/blobs`. */
  dir: string;
  /** Told how many temporary files an earlier crash left behind, when they are removed. */
  logger?: Pick<Logger, 'info'>;
  /** The clock that ages temporary files at open. */
  now?: () => number;
}

/**
 * A temporary file this old at open belongs to a put that will not finish (the process that wrote it crashed).
 * Not every temporary file is removed: another process on the same directory (the `knock` command beside a running
 * server) may be writing one right now, and a put in progress touches its file with every chunk it writes.
 */
const ABANDONED_AFTER_MS = 60_000;
/** Bytes gathered before one write to the temporary file. */
const WRITE_BATCH_BYTES = 1024 * 1024;

export class LocalBlobs implements Blobs {
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly tmpDir: string,
  ) {}

  /**
   * Creates the directory if missing and removes the temporary files a crash left there.
   *
   * @example
   *   const blobs = await LocalBlobs.open({ dir: path.join(config.dataDir, 'blobs'), logger: log.child({ module: 'blobs' }) });
   */
  static async open(opts: LocalBlobsOptions): Promise<LocalBlobs> {
    const tmpDir = join(opts.dir, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const removed = await removeAbandoned(tmpDir, (opts.now ?? Date.now)() - ABANDONED_AFTER_MS);
    if (removed > 0) opts.logger?.info({ dir: opts.dir, removed }, 'removed the temporary files of unfinished uploads');
    return new LocalBlobs(opts.dir, tmpDir);
  }

  async put(source: AsyncIterable<Uint8Array>, opts: { maxBytes: number }): Promise<BlobInfo> {
    this.assertOpen();
    const tempPath = join(this.tmpDir, `${randomBytes(12).toString('hex')}.part`);
    const file = await open(tempPath, 'wx');
    try {
      let info: BlobInfo;
      try {
        // Chunks arrive small (64 KiB from an HTTP body): written a MiB at a time, a 25 MB upload takes 25 writes, not 400.
        let pending: Uint8Array[] = [];
        let pendingBytes = 0;
        const flush = async () => {
          if (pendingBytes === 0) return;
          const batch = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
          pending = [];
          pendingBytes = 0;
          await writeAll(file, batch);
        };
        info = await readLimited(source, opts.maxBytes, async (chunk) => {
          pending.push(chunk);
          pendingBytes += chunk.length;
          if (pendingBytes >= WRITE_BATCH_BYTES) await flush();
        });
        await flush();
        await file.sync();
      } catch (err) {
        await file.close().catch(() => undefined); // the error worth reporting is the first one
        throw err;
      }
      await file.close();
      await this.publish(tempPath, info.id);
      return info;
    } catch (err) {
      await rm(tempPath, { force: true });
      throw err;
    }
  }

  async get(id: string, range?: { start: number; end: number }): Promise<Readable | null> {
    this.assertOpen();
    if (!isBlobId(id)) return null;
    // Opened first and sized through the handle: a delete from now on cannot cut the read short.
    const file = await openIfExists(this.pathOf(id));
    if (!file) return null;
    try {
      const span = resolveRange(range, (await file.stat()).size);
      return file.createReadStream(span ? { start: span.start, end: span.end } : {}); // closes the handle at its end
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  async stat(id: string): Promise<{ size: number } | null> {
    this.assertOpen();
    if (!isBlobId(id)) return null;
    try {
      return { size: (await stat(this.pathOf(id))).size };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async delete(id: string): Promise<void> {
    this.assertOpen();
    if (!isBlobId(id)) return;
    try {
      await unlink(this.pathOf(id));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Nothing stays open between calls (each read closes its own file); later calls are refused. */
  async close(): Promise<void> {
    this.closed = true;
  }

  /** `<dir>/ab/12/ab12…`: two levels of 256 directories, so none holds more than a few entries per million blobs. */
  private pathOf(id: string): string {
    return join(this.dir, id.slice(0, 2), id.slice(2, 4), id);
  }

  /**
   * Moves a complete, flushed temporary file to its id's path, then flushes the directories whose entries changed,
   * so after a crash the blob is either there whole or not at all. When the id exists already, the bytes are the
   * same (that is what the id says): the temporary file is simply dropped.
   */
  private async publish(tempPath: string, id: string): Promise<void> {
    const finalPath = this.pathOf(id);
    const finalDir = dirname(finalPath);
    const created = await mkdir(finalDir, { recursive: true });
    if (await exists(finalPath)) {
      await rm(tempPath, { force: true });
      return;
    }
    // Two puts of the same bytes at once may both get here: the second rename replaces an identical file, atomically.
    await rename(tempPath, finalPath);
    const changed = [finalDir];
    if (created !== undefined) {
      // New fan-out directories are entries in their parents, which must reach the disk too.
      for (let d = finalDir; d !== dirname(created); ) {
        d = dirname(d);
        changed.push(d);
      }
    }
    for (const d of changed) await syncDirectory(d);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The blob store is closed.');
  }
}

async function writeAll(file: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await file.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function removeAbandoned(tmpDir: string, before: number): Promise<number> {
  let removed = 0;
  for (const name of await readdir(tmpDir)) {
    const path = join(tmpDir, name);
    try {
      if ((await stat(path)).mtimeMs >= before) continue;
      await rm(path, { force: true, recursive: true });
      removed += 1;
    } catch (err) {
      if (!isNotFound(err)) throw err; // gone meanwhile: finished or removed by another process
    }
  }
  return removed;
}

async function openIfExists(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}
