/** WalSync: commits count as durable only after an fdatasync that started after them; a failed sync is final. */
import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WalSync } from '../../adapters/storage/sqlite/walSync.ts';

describe('WalSync', () => {
  const dirs: string[] = [];
  const walFile = () => {
    const dir = mkdtempSync(join(tmpdir(), 'knock-wal-'));
    dirs.push(dir);
    const path = join(dir, 'knock.db-wal');
    writeFileSync(path, 'frames');
    return path;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('resolves each commit once a sync covering it finished, in commit order', async () => {
    const wal = new WalSync(walFile());
    const order: number[] = [];
    const commits = [1, 2, 3].map(() => wal.committed());
    await Promise.all(commits.map((n) => wal.until(n).then(() => order.push(n))));
    expect(order).toEqual([1, 2, 3]);
    // Nothing newer than the last sync: settled() needs no further sync.
    await expect(wal.settled()).resolves.toBeUndefined();
    wal.close();
  });

  it('refuses every waiting and later caller once a sync fails, with a message that says what to do', async () => {
    const path = walFile();
    const wal = new WalSync(path);
    await wal.until(wal.committed());
    unlinkSync(path);
    const waiting = wal.until(wal.committed());
    await expect(waiting).rejects.toThrow(/write-ahead log durable .*restart Knock/);
    await expect(wal.until(wal.committed())).rejects.toThrow(/restart Knock/);
    await expect(wal.settled()).rejects.toThrow(/restart Knock/);
    wal.close();
  });
});
