/**
 * The local adapter of Blobs: the contract in a fresh temporary directory per test, then what only a directory has:
 * the file layout, the sweep of a crash's temporary files, staying inside the directory.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../engine/logger.ts';
import type { Blobs } from '../../engine/ports/blobs.ts';
import { LocalBlobs } from '../../adapters/blobs/local/LocalBlobs.ts';
import { blobsContract } from './blobs.contract.ts';
import { bytesOf, sha256 } from './blobsSources.ts';

blobsContract('local directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'knock-blobs-'));
  const opened: Blobs[] = [await LocalBlobs.open({ dir })];
  return {
    blobs: opened[0] as Blobs,
    openAnother: async () => {
      const another = await LocalBlobs.open({ dir });
      opened.push(another);
      return another;
    },
    storedBytes: async () => filesUnder(dir, ['tmp']).reduce((sum, path) => sum + statSync(path).size, 0),
    leftovers: async () => readdirSync(join(dir, 'tmp')).length,
    close: async () => {
      for (const blobs of opened) await blobs.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

/** Every file below `dir`, except in its top-level directories named in `skip`. */
function filesUnder(dir: string, skip: string[] = []): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (!entry.isDirectory()) return [path];
    return skip.includes(entry.name) ? [] : filesUnder(path);
  });
}

describe('local Blobs adapter', () => {
  const dirs: string[] = [];
  const newDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'knock-blobs-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps blob ab12… at <dir>/ab/12/ab12…, two levels of fan-out, and nothing else but tmp/', async () => {
    const dir = newDir();
    const blobs = await LocalBlobs.open({ dir });
    const bytes = bytesOf(1, 5000);
    const { id } = await blobs.put(Readable.from([bytes]), { maxBytes: 10_000 });
    const path = join(dir, id.slice(0, 2), id.slice(2, 4), id);
    expect(filesUnder(dir, ['tmp'])).toEqual([path]);
    expect(sha256(readFileSync(path))).toBe(id);
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
    await blobs.close();
  });

  it('creates its directory when missing', async () => {
    const dir = join(newDir(), 'data', 'blobs');
    const blobs = await LocalBlobs.open({ dir });
    const { id } = await blobs.put(Readable.from([Buffer.from('hello')]), { maxBytes: 10 });
    expect(await blobs.stat(id)).toEqual({ size: 5 });
  });

  it('removes the temporary files a crash left over a minute ago when it opens, and keeps newer ones', async () => {
    const dir = newDir();
    mkdirSync(join(dir, 'tmp'));
    const abandoned = join(dir, 'tmp', 'abandoned.part');
    const inProgress = join(dir, 'tmp', 'in-progress.part');
    writeFileSync(abandoned, 'half a file');
    writeFileSync(inProgress, 'another process is writing this');
    const now = Date.now();
    const twoMinutesAgo = new Date(now - 120_000);
    utimesSync(abandoned, twoMinutesAgo, twoMinutesAgo);
    const logged: unknown[] = [];
    // pino's info() is a set of overloads; a recorder of its first argument is all this test needs of it.
    const logger = { info: (obj: unknown) => logged.push(obj) } as unknown as Pick<Logger, 'info'>;
    await LocalBlobs.open({ dir, now: () => now, logger });
    expect(existsSync(abandoned)).toBe(false);
    expect(existsSync(inProgress)).toBe(true);
    expect(logged).toEqual([{ dir, removed: 1 }]);
  });

  it('never deletes or reads outside its directory, whatever id it is given', async () => {
    const root = newDir();
    const dir = join(root, 'blobs');
    const blobs = await LocalBlobs.open({ dir });
    const outside = join(root, 'secret');
    writeFileSync(outside, 'not a blob');
    for (const id of ['../secret', '../../secret', `${'0'.repeat(64)}/../../../../secret`]) {
      expect(await blobs.get(id)).toBeNull();
      await blobs.delete(id);
    }
    expect(existsSync(outside)).toBe(true);
  });
});
