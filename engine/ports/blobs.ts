/**
 * The Blobs port (DESIGN "Storage"): file contents (attachments, thumbnails), stored by what they are. Adapters:
 * adapters/blobs/local (a directory under KNOCK_DATA_DIR, the default) and adapters/blobs/postgres (when DATABASE_URL
 * is set, so several processes need no shared disk). One contract suite (test/contract/blobs.contract.ts) runs
 * against both.
 *
 * Content-addressed: a blob's id is the SHA-256 of its bytes (64 lowercase hex digits), so the same file uploaded
 * twice is stored once, and a blob is verified against its id. Which blobs are still referenced is Storage's business
 * (attachments): Blobs only stores, reads and deletes.
 *
 * @example
 *   const blob = await blobs.put(request, { maxBytes: 25 * 1024 * 1024 });  // KnockError too_large past the limit
 *   const body = await blobs.get(blob.id, { start: 0, end: 1023 });          // the first KiB, or null if gone
 *   await blobs.delete(blob.id);
 */
import type { Readable } from 'node:stream';

export interface BlobInfo {
  /** The SHA-256 of the bytes, 64 lowercase hex digits. */
  id: string;
  size: number;
}

export interface Blobs {
  /**
   * Reads `source` to its end and stores it durably (written, flushed, then made visible: a crash leaves either the
   * whole blob or none). Rejects with KnockError `too_large` (data.maxBytes) as soon as more than `maxBytes` arrive,
   * and with the source's error if it fails (a cut-off upload); either way nothing of it remains. Storing bytes that
   * are there already costs the read and keeps one copy. A source that is a stream is destroyed when the put stops
   * reading it early (too large, or the store failed): for an HTTP request that closes the connection, so refuse a
   * declared Content-Length over the limit before calling put if the client should get a 413.
   */
  put(source: AsyncIterable<Uint8Array>, opts: { maxBytes: number }): Promise<BlobInfo>;
  /**
   * The bytes from `start` to `end` inclusive (the whole blob without a range), or null when there is no such blob.
   * An `end` past the last byte is clamped to it (HTTP's rule for a last-byte-pos beyond the end). A range that starts
   * past the last byte (so any range of an empty blob), or is malformed (negative, not an integer, end before start),
   * is refused with KnockError `bad_request` and `data.size`, so a caller answers 416 instead of an empty 206.
   * An id that is not 64 lowercase hex digits names no blob: null here and in `stat`, nothing done by `delete`.
   * If the blob is deleted while it is being read, the stream still delivers every byte or fails: it never ends short.
   */
  get(id: string, range?: { start: number; end: number }): Promise<Readable | null>;
  /** The blob's size, or null when there is none. */
  stat(id: string): Promise<{ size: number } | null>;
  /** Removes the blob; harmless if it is gone already. */
  delete(id: string): Promise<void>;
  /** Releases what the adapter holds. Idempotent. */
  close(): Promise<void>;
}
