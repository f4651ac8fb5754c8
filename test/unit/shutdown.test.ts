/**
 * The parts of a bounded stop, without a server: closeWithin (engine/shutdown.ts) gives a close the time it is given
 * and says what was left; ProcessLog (engine/logger.ts) never waits for a log reader that stalls, holds a bounded
 * amount meanwhile, and its last flush waits only as long as it is told. (test/fault/shutdownTimeout.test.ts runs
 * them in a real Knock process.)
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ProcessLog } from '../../engine/logger.ts';
import { closeWithin } from '../../engine/shutdown.ts';

describe('closeWithin', () => {
  it('resolves as clean once the target has closed', async () => {
    const result = await closeWithin({ close: () => Promise.resolve(), pending: () => 'nothing' }, 1000);
    expect(result).toMatchObject({ clean: true });
  });

  it('gives up at the deadline, with what the target was still doing', async () => {
    const started = Date.now();
    const result = await closeWithin({ close: () => new Promise<void>(() => undefined), pending: () => ({ step: 'rooms', rooms: ['doc'] }) }, 100);
    expect(result).toMatchObject({ clean: false, pending: { step: 'rooms', rooms: ['doc'] } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('reports a close that failed, with its error and what was left', async () => {
    const failure = new Error('database gone');
    const result = await closeWithin({ close: () => Promise.reject(failure), pending: () => ({ step: 'storage' }) }, 1000);
    expect(result).toMatchObject({ clean: false, error: failure, pending: { step: 'storage' } });
  });
});

/** Standard output whose reader takes nothing until `read()` (a stalled pipe), then everything. */
class StalledReader extends Writable {
  readonly taken: string[] = [];
  private stalled = true;
  private readonly held: Array<() => void> = [];

  constructor() {
    super({ highWaterMark: 256, decodeStrings: false });
  }

  override _write(chunk: string, _encoding: BufferEncoding, done: () => void): void {
    const take = () => {
      this.taken.push(String(chunk));
      done();
    };
    if (this.stalled) this.held.push(take);
    else take();
  }

  read(): void {
    this.stalled = false;
    for (const take of this.held.splice(0)) take();
  }
}

const asStdout = (w: Writable) => w as unknown as NodeJS.WriteStream;
const lines = (reader: StalledReader) => reader.taken.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('ProcessLog', () => {
  it('holds at most its limit while the reader stalls, drops the rest, and says how many once the reader is back', async () => {
    const reader = new StalledReader();
    const log = new ProcessLog('info', asStdout(reader), 2000);
    for (let i = 0; i < 100; i++) log.logger.info({ i }, 'a line of about a hundred bytes');
    // Every call returned at once although nothing was taken.
    expect(reader.taken).toEqual([]);
    expect(reader.writableLength).toBeLessThanOrEqual(2000 + 200);

    reader.read();
    expect(await log.flush(1000)).toBe(true);
    const taken = lines(reader);
    const kept = taken.filter((l) => typeof l.i === 'number').map((l) => l.i);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => i));
    expect(kept.length).toBeGreaterThan(5);
    expect(kept.length).toBeLessThan(100);
    expect(taken.at(-1)).toMatchObject({ level: 40, dropped: 100 - kept.length, msg: 'log lines were dropped while standard output was not being read' });
  });

  it('flush waits for a stalled reader only as long as it is told, and resolves once the reader has taken everything', async () => {
    const reader = new StalledReader();
    const log = new ProcessLog('info', asStdout(reader));
    expect(await log.flush(1000), 'nothing pending').toBe(true);
    log.logger.info('stopping');
    const started = Date.now();
    expect(await log.flush(100)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);

    const flushed = log.flush(5000);
    reader.read();
    expect(await flushed).toBe(true);
    expect(lines(reader).map((l) => l.msg)).toEqual(['stopping']);
  });
});
