/**
 * WAL checkpoints in a worker thread: the database file takes the committed pages while the event loop only
 * commits; the main connection never checkpoints below its backstop; a worker that cannot open the database hands
 * checkpoints back to SQLite's default and says so.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { BACKSTOP_PAGES, Checkpointer } from '../../adapters/storage/sqlite/checkpointer.ts';
import { SqliteStorage } from '../../adapters/storage/sqlite/SqliteStorage.ts';

async function eventually(check: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Checkpointer', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'knock-ckpt-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('copies appended messages into the database file from its thread, and the data survives close and reopen', async () => {
    const file = join(tempDir(), 'knock.db');
    const storage = SqliteStorage.open({ file });
    const account = await storage.createAccount({ handle: 'ckpt', displayName: 'C', passwordHash: 'x', at: Date.now() });
    const { conversation, visitor } = await storage.createConversation({ ownerAccountId: account.id, tokenHash: 't', visitorName: 'V', at: Date.now() });
    const before = statSync(file).size;
    const body = 'x'.repeat(1000);
    // ~3 MB of pages: far below the main connection's own threshold (BACKSTOP_PAGES pages), so only the worker copies.
    for (let round = 0; round < 30; round++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          storage.appendMessage({ conversationId: conversation.id, senderId: visitor.id, clientMsgId: `m-${round}-${i}`, body, event: { kind: 'text' }, at: Date.now() }),
        ),
      );
    }
    expect(3000 * 1000).toBeLessThan(BACKSTOP_PAGES * 4096);
    await eventually(() => statSync(file).size > before + 3_000_000);
    await storage.close();
    expect(existsSync(`${file}-wal`)).toBe(false); // the last connection to close checkpoints and removes the WAL

    const reopened = SqliteStorage.open({ file });
    const last = await reopened.messagesBefore(conversation.id, Number.MAX_SAFE_INTEGER, 1);
    expect(last[0]?.seq).toBe(3000);
    expect(last[0]?.body).toBe(body);
    await reopened.close();
  });

  it('gives checkpoints back to the main connection, and says why, when the worker cannot open the database', async () => {
    const dir = tempDir();
    const db = new Database(join(dir, 'main.db'));
    db.pragma('journal_mode = WAL');
    const errors: Error[] = [];
    const checkpoints = new Checkpointer(db, join(dir, 'missing', 'nowhere.db'), (err) => errors.push(err));
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(BACKSTOP_PAGES);
    await eventually(() => errors.length > 0);
    expect(errors[0]!.message).toMatch(/directory does not exist|unable to open/i);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    checkpoints.committed(); // harmless once the worker is gone
    await checkpoints.close();
    db.close();
  });
});
