/**
 * The rules of the Blobs port that both adapters apply the same way (engine/ports/blobs.ts): what an id looks like,
 * how a range is resolved against a blob's size, and how a put reads its source (hashing, counting, refusing past
 * the limit). Keeping them here means the local directory and PostgreSQL cannot drift apart on them.
 */
import { createHash } from 'node:crypto';
import { KnockError } from '../../engine/errors.ts';
import type { BlobInfo } from '../../engine/ports/blobs.ts';

const BLOB_ID = /^[0-9a-f]{64}$/;

/**
 * True for a well-formed id (64 lowercase hex digits). Anything else is "no such blob" to every adapter: ids come
 * from URLs, and the local adapter builds paths from them, so `../x` must never reach the file system.
 */
export function isBlobId(id: string): boolean {
  return BLOB_ID.test(id);
}

/**
 * The inclusive byte range to read of a blob of `size` bytes, or undefined for the whole blob (no range asked).
 * An `end` past the last byte is clamped to it (HTTP's rule for a last-byte-pos beyond the end); a range that starts
 * past the last byte (so any range of an empty blob), or is malformed, is refused with `bad_request` (data.size), so
 * that a caller never serves an empty 206 by mistake.
 */
export function resolveRange(range: { start: number; end: number } | undefined, size: number): { start: number; end: number } | undefined {
  if (!range) return undefined;
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new KnockError('bad_request', `The byte range ${start}-${end} is not valid.`, { size });
  }
  if (start >= size) {
    throw new KnockError('bad_request', `The byte range ${start}-${end} starts past the end of the file (${size} bytes).`, { size });
  }
  return { start, end: Math.min(end, size - 1) };
}

/** `1000 bytes`, `1.5 KiB`, `25 MiB`: a limit as a person reads it. */
export function humanBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (bytes < 1024) return `${bytes} bytes`;
  let value = bytes;
  let unit = 'bytes';
  for (const next of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  return `${Number(value.toFixed(1))} ${unit}`;
}

export function tooLarge(maxBytes: number): KnockError {
  return new KnockError('too_large', `The file is too large (at most ${humanBytes(maxBytes)}).`, { maxBytes });
}

/** A source we stop reading: a stream is destroyed so its producer (a socket, a file) is released now. */
interface Destroyable {
  destroy(error?: Error): void;
  destroyed?: boolean;
}

function isDestroyable(source: unknown): source is Destroyable {
  return typeof source === 'object' && source !== null && typeof (source as Partial<Destroyable>).destroy === 'function';
}

/**
 * Reads `source` to its end, one chunk at a time: each chunk is hashed, counted and handed to `write`, which is
 * awaited before the next is read (so a slow store slows the reading down instead of buffering). Rejects with
 * `too_large` before writing the first chunk that would exceed `maxBytes`, with the source's error if it fails,
 * and with `write`'s error if that fails; the source is destroyed in every such case. Resolves with the content's
 * id (its SHA-256) and size. The caller owns what `write` wrote and removes it on rejection.
 */
export async function readLimited(
  source: AsyncIterable<Uint8Array>,
  maxBytes: number,
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<BlobInfo> {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new TypeError(`maxBytes must be a byte count, not ${maxBytes}.`);
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of source) {
      // A stream with an encoding set yields strings: hashing their UTF-8 would store other bytes than were sent.
      if (!(chunk instanceof Uint8Array)) throw new TypeError('A blob source must yield bytes (Uint8Array), not text.');
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge(maxBytes);
      hash.update(chunk);
      await write(chunk);
    }
  } catch (err) {
    // Leaving for-await already ends a Readable's iterator; an iterable that merely wraps a stream needs this.
    if (isDestroyable(source) && source.destroyed !== true) source.destroy();
    throw err;
  }
  return { id: hash.digest('hex'), size };
}
