/**
 * The one contract suite of the Blobs port (CONVENTIONS 5): the local directory and PostgreSQL run it unchanged.
 * Rules are checked through the port, plus two counts each adapter takes from outside itself (what it stores, and
 * what unfinished puts left), so "one copy" and "nothing remains" are checked where the bytes really are.
 *
 * @example
 *   blobsContract('local directory', async () => localBlobsUnderTest());
 */
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KnockError } from '../../engine/errors.ts';
import type { Blobs } from '../../engine/ports/blobs.ts';
import { seededRandom, testSeed } from '../support/seeded.ts';
import {
  KiB, MiB, MemoryGauge, bytesOf, digestOf, endless, failingAfter, generated, inPieces, paused, readAll, sha256,
} from './blobsSources.ts';

export interface BlobsUnderTest {
  blobs: Blobs;
  /** Another adapter on the same store, as a second process would open it. Closed by `close()`. */
  openAnother(): Promise<Blobs>;
  /** The bytes of blob content the store holds (files; chunk rows), counted without the adapter. */
  storedBytes(): Promise<number>;
  /** The pieces of unfinished puts still in the store (temporary files; chunk rows of no blob). */
  leftovers(): Promise<number>;
  /** Closes the adapters and removes the store. */
  close(): Promise<void>;
}

/** Registers the suite. `open` must return an empty store each time. */
export function blobsContract(name: string, open: () => Promise<BlobsUnderTest>): void {
  describe(`Blobs contract: ${name}`, () => {
    const seed = testSeed(`blobs ${name}`);
    let t: BlobsUnderTest;
    let blobs: Blobs;

    beforeEach(async () => {
      t = await open();
      blobs = t.blobs;
    });
    afterEach(() => t.close());

    const put = (bytes: Buffer, maxBytes = 64 * MiB) => blobs.put(inPieces(bytes, seededRandom(seed)), { maxBytes });
    const expectNothingStored = async (id: string): Promise<void> => {
      expect(await blobs.stat(id)).toBeNull();
      expect(await blobs.get(id)).toBeNull();
      expect(await t.storedBytes()).toBe(0);
      expect(await t.leftovers()).toBe(0);
    };

    it('returns the bytes of a 3 MiB file exactly as they were put, under their SHA-256 as id', async () => {
      const bytes = bytesOf(seed, 3 * MiB + 123);
      const info = await put(bytes);
      expect(info).toEqual({ id: sha256(bytes), size: bytes.length });
      expect(info.id).toMatch(/^[0-9a-f]{64}$/);
      expect(await blobs.stat(info.id)).toEqual({ size: bytes.length });
      expect(await digestOf(nonNull(await blobs.get(info.id)))).toEqual({ sha256: info.id, size: bytes.length });
      expect(await t.leftovers()).toBe(0);
    });

    it('keeps the blob for another adapter opened on the same store (another process, a restart)', async () => {
      const bytes = bytesOf(seed + 1, 300 * KiB);
      const { id } = await put(bytes);
      const other = await t.openAnother();
      expect(await other.stat(id)).toEqual({ size: bytes.length });
      expect(bytesSummary(await readAll(nonNull(await other.get(id))))).toEqual(bytesSummary(bytes));
    });

    it('stores the same bytes put twice once, under one id, and one delete removes them', async () => {
      const bytes = bytesOf(seed + 2, 700 * KiB);
      const first = await put(bytes);
      const second = await put(bytes);
      expect(second).toEqual(first);
      expect(await t.storedBytes()).toBe(bytes.length);
      await blobs.delete(first.id);
      await expectNothingStored(first.id);
    });

    it('stores the same bytes once when they are put at the same time, also through two adapters', async () => {
      const bytes = bytesOf(seed + 3, 1 * MiB + 5);
      const other = await t.openAnother();
      const results = await Promise.all([put(bytes), put(bytes), other.put(inPieces(bytes, seededRandom(seed + 3)), { maxBytes: 2 * MiB })]);
      for (const info of results) expect(info).toEqual({ id: sha256(bytes), size: bytes.length });
      expect(await t.storedBytes()).toBe(bytes.length);
      expect(await t.leftovers()).toBe(0);
      expect(bytesSummary(await readAll(nonNull(await blobs.get(sha256(bytes)))))).toEqual(bytesSummary(bytes));
    });

    describe('ranges (inclusive; an end past the last byte is clamped, a start past it is bad_request)', () => {
      // 600 KiB + 7: crosses 64, 256 and 512 KiB, where a file is read in pieces or a database cuts its chunks.
      const bytes = bytesOf(seed + 4, 600 * KiB + 7);
      const last = bytes.length - 1;
      const slice = async (id: string, start: number, end: number): Promise<Bytes> =>
        bytesSummary(await readAll(nonNull(await blobs.get(id, { start, end }))));
      const expected = (start: number, endExclusive?: number): Bytes => bytesSummary(bytes.subarray(start, endExclusive));

      it('reads the first byte and the last byte alone', async () => {
        const { id } = await put(bytes);
        expect(await slice(id, 0, 0)).toEqual(expected(0, 1));
        expect(await slice(id, last, last)).toEqual(expected(last));
        expect(await slice(id, 0, last)).toEqual(expected(0));
      });

      it('reads a middle range across chunk boundaries, and random ranges, byte-exact', async () => {
        const { id } = await put(bytes);
        expect(await slice(id, 256 * KiB - 3, 512 * KiB + 2)).toEqual(expected(256 * KiB - 3, 512 * KiB + 3));
        expect(await slice(id, 256 * KiB, 256 * KiB)).toEqual(expected(256 * KiB, 256 * KiB + 1));
        const rand = seededRandom(seed + 5);
        for (let i = 0; i < 20; i++) {
          const start = rand.int(0, last);
          const end = rand.int(start, Math.min(last, start + rand.int(0, 300 * KiB)));
          expect(await slice(id, start, end), `range ${start}-${end}`).toEqual(expected(start, end + 1));
        }
      });

      it('clamps a range that ends past the last byte to the last byte', async () => {
        const { id } = await put(bytes);
        expect(await slice(id, last - 9, last + 1000)).toEqual(expected(last - 9));
        expect(await slice(id, 0, Number.MAX_SAFE_INTEGER)).toEqual(expected(0));
      });

      it('refuses a range that starts past the last byte, or is malformed, with bad_request and the size', async () => {
        const { id } = await put(bytes);
        for (const range of [{ start: bytes.length, end: bytes.length + 5 }, { start: 5, end: 4 }, { start: -1, end: 3 }, { start: 0.5, end: 3 }]) {
          const read = blobs.get(id, range);
          await expect(read, JSON.stringify(range)).rejects.toBeInstanceOf(KnockError);
          await expect(read).rejects.toMatchObject({ code: 'bad_request', data: { size: bytes.length } });
        }
      });
    });

    it('stores an empty file: the SHA-256 of nothing, size 0, read back empty, no range satisfiable', async () => {
      const info = await blobs.put(inPieces(Buffer.alloc(0), seededRandom(seed)), { maxBytes: 0 });
      expect(info).toEqual({ id: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', size: 0 });
      expect(await blobs.stat(info.id)).toEqual({ size: 0 });
      expect((await readAll(nonNull(await blobs.get(info.id)))).length).toBe(0);
      await expect(blobs.get(info.id, { start: 0, end: 0 })).rejects.toMatchObject({ code: 'bad_request', data: { size: 0 } });
    });

    it('accepts a file of exactly maxBytes', async () => {
      const bytes = bytesOf(seed + 6, 300 * KiB);
      expect(await put(bytes, bytes.length)).toEqual({ id: sha256(bytes), size: bytes.length });
    });

    it('refuses a file over maxBytes with too_large, a readable limit and data.maxBytes, storing nothing', async () => {
      const bytes = bytesOf(seed + 7, 300 * KiB + 1);
      const attempt = put(bytes, 300 * KiB);
      await expect(attempt).rejects.toBeInstanceOf(KnockError);
      await expect(attempt).rejects.toMatchObject({
        code: 'too_large', message: 'The file is too large (at most 300 KiB).', data: { maxBytes: 300 * KiB },
      });
      await expectNothingStored(sha256(bytes));
    });

    it('stops reading a source that goes on past maxBytes, and destroys it if it is a stream', async () => {
      const { source, pulled } = endless();
      await expect(blobs.put(source, { maxBytes: MiB })).rejects.toMatchObject({ code: 'too_large' });
      expect(pulled()).toBeLessThanOrEqual(MiB + 64 * KiB);
      const stream = Readable.from(endless().source, { objectMode: false });
      await expect(blobs.put(stream, { maxBytes: MiB })).rejects.toMatchObject({ code: 'too_large' });
      expect(stream.destroyed).toBe(true);
      expect(await t.storedBytes()).toBe(0);
      expect(await t.leftovers()).toBe(0);
    });

    it('rejects with the source\u2019s own error when an upload is cut off half-way, storing nothing', async () => {
      const bytes = bytesOf(seed + 8, 2 * MiB);
      const cutOff = new Error('the client went away');
      await expect(blobs.put(failingAfter(bytes, MiB + 100, cutOff), { maxBytes: 4 * MiB })).rejects.toBe(cutOff);
      await expectNothingStored(sha256(bytes));
      await expectNothingStored(sha256(bytes.subarray(0, MiB + 100)));
    });

    it('shows nothing of a put until it has completed', async () => {
      const bytes = bytesOf(seed + 9, 600 * KiB);
      const { source, halfway, release } = paused(bytes);
      const putting = blobs.put(source, { maxBytes: MiB });
      await halfway;
      expect(await blobs.stat(sha256(bytes))).toBeNull();
      expect(await blobs.get(sha256(bytes))).toBeNull();
      expect(await t.storedBytes()).toBe(0);
      release();
      const { id } = await putting;
      expect(await blobs.stat(id)).toEqual({ size: bytes.length });
    });

    it('answers null for an unknown id and for anything that is not an id, and deletes them without error', async () => {
      const { id } = await put(bytesOf(seed + 10, 1000));
      const unknown = sha256(Buffer.from('never stored'));
      // Nothing here names a real file: an adapter that lets one through must fail this test, not delete something.
      for (const other of [unknown, '../../not-a-blob', id.toUpperCase(), id.slice(0, 63), '', `${id}/..`]) {
        expect(await blobs.stat(other), other).toBeNull();
        expect(await blobs.get(other), other).toBeNull();
        expect(await blobs.get(other, { start: 0, end: 0 }), other).toBeNull();
        await expect(blobs.delete(other)).resolves.toBeUndefined();
      }
      await blobs.delete(id);
      await expect(blobs.delete(id)).resolves.toBeUndefined();
      expect(await blobs.stat(id)).toBeNull();
    });

    it('puts and reads back a 64 MiB stream holding less than 16 MiB of memory at any time', { timeout: 120_000 }, async () => {
      const gauge = new MemoryGauge();
      const upload = generated(seed + 11, 64 * MiB, () => gauge.sample());
      const info = await blobs.put(upload.source, { maxBytes: 64 * MiB });
      gauge.sample();
      expect(info).toEqual({ id: upload.sha256(), size: 64 * MiB });
      expect(gauge.peak, `peak while putting: ${(gauge.peak / MiB).toFixed(1)} MiB`).toBeLessThan(16 * MiB);
      expect(await digestOf(nonNull(await blobs.get(info.id)), () => gauge.sample())).toEqual({ sha256: info.id, size: 64 * MiB });
      expect(gauge.peak, `peak while reading: ${(gauge.peak / MiB).toFixed(1)} MiB`).toBeLessThan(16 * MiB);
    });

    it('closes idempotently, also when close is called twice at once', async () => {
      await Promise.all([blobs.close(), blobs.close()]);
      await expect(blobs.close()).resolves.toBeUndefined();
    });
  });
}

/** Bytes compared by length and hash: equal or not, without a diff of megabytes when they are not. */
interface Bytes {
  size: number;
  sha256: string;
}

function bytesSummary(bytes: Buffer): Bytes {
  return { size: bytes.length, sha256: sha256(bytes) };
}

function nonNull<T>(value: T | null): T {
  expect(value).not.toBeNull();
  return value as T;
}
