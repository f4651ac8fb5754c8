/**
 * What the Blobs contract uploads and how it reads results back: deterministic bytes, sources that arrive in uneven
 * pieces, fail half-way, never end or pause, and a gauge of how much memory a put or a read holds.
 */
import { createCipheriv, createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { SeededRandom } from '../support/seeded.ts';

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** `size` pseudo-random bytes, the same for the same seed (AES-CTR keystream: fast for tens of MiB). */
export function bytesOf(seed: number, size: number): Buffer {
  return keystream(seed).update(Buffer.alloc(size));
}

function keystream(seed: number): ReturnType<typeof createCipheriv> {
  const key = createHash('sha256').update(`blobs ${seed}`).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
}

export { sha256 } from '../support/uploads.ts';

/** `bytes` in pieces of 1 byte to 100 KiB, as a network delivers them, so no piece lines up with an adapter's chunks. */
export async function* inPieces(bytes: Buffer, rand: SeededRandom): AsyncGenerator<Buffer> {
  let offset = 0;
  while (offset < bytes.length) {
    const size = rand.next() < 0.1 ? rand.int(1, 16) : rand.int(1, 100 * KiB);
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
}

/** Yields the first `failAt` bytes of `bytes`, then throws `error`: an upload cut off half-way. */
export async function* failingAfter(bytes: Buffer, failAt: number, error: Error): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < failAt; offset += 64 * KiB) yield bytes.subarray(offset, Math.min(failAt, offset + 64 * KiB));
  throw error;
}

/** A source that never ends, counting what was taken from it. */
export function endless(): { source: AsyncGenerator<Buffer>; pulled: () => number } {
  let pulled = 0;
  const piece = Buffer.alloc(64 * KiB, 7);
  async function* source(): AsyncGenerator<Buffer> {
    for (;;) {
      pulled += piece.length;
      yield piece;
    }
  }
  return { source: source(), pulled: () => pulled };
}

/**
 * Yields the first half of `bytes`, then waits for `release()` before the rest: a put caught in the middle.
 * `halfway` resolves once the first half has been taken.
 */
export function paused(bytes: Buffer): { source: AsyncGenerator<Buffer>; halfway: Promise<void>; release: () => void } {
  let reached!: () => void;
  let release!: () => void;
  const halfway = new Promise<void>((resolve) => (reached = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  const half = Math.floor(bytes.length / 2);
  async function* source(): AsyncGenerator<Buffer> {
    yield bytes.subarray(0, half);
    reached();
    await gate;
    yield bytes.subarray(half);
  }
  return { source: source(), halfway, release };
}

/**
 * `total` fresh pseudo-random bytes in 64 KiB pieces, generated as they are taken (never all in memory), calling
 * `every8MiB` each time another 8 MiB has been taken. `sha256()` is their hash once the source has ended.
 */
export function generated(seed: number, total: number, every8MiB: () => void): { source: AsyncGenerator<Buffer>; sha256: () => string } {
  const stream = keystream(seed);
  const hash = createHash('sha256');
  async function* source(): AsyncGenerator<Buffer> {
    const zeros = Buffer.alloc(64 * KiB);
    for (let offset = 0; offset < total; offset += zeros.length) {
      if (offset % (8 * MiB) === 0) every8MiB();
      const piece = stream.update(zeros.subarray(0, Math.min(zeros.length, total - offset)));
      hash.update(piece);
      yield piece;
    }
  }
  return { source: source(), sha256: () => hash.digest('hex') };
}

/** Everything a stream yields, concatenated (for small blobs only). */
export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part as Uint8Array));
  return Buffer.concat(parts);
}

/** The SHA-256 and length of what a stream yields, read as it arrives, calling `every8MiB` as `generated` does. */
export async function digestOf(stream: Readable, every8MiB: () => void = () => undefined): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const part of stream) {
    const bytes = part as Uint8Array;
    if (Math.floor((size + bytes.byteLength) / (8 * MiB)) > Math.floor(size / (8 * MiB))) every8MiB();
    hash.update(bytes);
    size += bytes.byteLength;
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * The growth of memory held (JS heap plus Buffers) above a baseline, sampled when told, after a full collection so
 * that only what is still referenced counts. Vitest here does not start its workers with --expose-gc, so the
 * collector is reached by enabling the flag at run time (V8 lets `gc` be fetched from a new context afterwards).
 */
export class MemoryGauge {
  readonly collect: (() => void) | undefined = exposedGc();
  private readonly base: number;
  peak = 0;

  constructor() {
    this.base = this.held();
  }

  sample(): void {
    this.peak = Math.max(this.peak, this.held() - this.base);
  }

  private held(): number {
    // Twice: a collection frees Buffers' memory on a background thread, and the next one starts by finishing that.
    this.collect?.();
    this.collect?.();
    const usage = process.memoryUsage();
    // Without a collector, garbage counts too; Buffers (arrayBuffers) are then the only fair measure.
    return this.collect ? usage.heapUsed + usage.arrayBuffers : usage.arrayBuffers;
  }
}

function exposedGc(): (() => void) | undefined {
  const global = globalThis as { gc?: () => void };
  if (typeof global.gc === 'function') return global.gc;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}
