/**
 * engine/visitorBlocks.ts on real SQLite storage and an injected clock: a blocked visitor's address is refused for 30
 * days and then let in again (addresses are reassigned), their cookie until the owner unblocks; no address is ever
 * stored as such, only a keyed hash that is the same for the same address and differs between installs.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStorage } from '../../adapters/storage/sqlite/SqliteStorage.ts';
import { AuditLog } from '../../engine/auditLog.ts';
import { createLogger } from '../../engine/logger.ts';
import type { Account, Storage } from '../../engine/ports/storage.ts';
import { ADDRESS_BLOCK_MS, VisitorBlocks } from '../../engine/visitorBlocks.ts';
import { ManualClock } from '../support/roomHarness.ts';

const ADDRESS = '203.0.113.7';
const DAY = 24 * 3600_000;
let storage: Storage;
let clock: ManualClock;
let blocks: VisitorBlocks;
let alice: Account;

function blocksOn(s: Storage): VisitorBlocks {
  const logger = createLogger('silent');
  return new VisitorBlocks({ storage: s, audit: new AuditLog({ storage: s, clock, logger }), clock, logger });
}

beforeEach(async () => {
  storage = SqliteStorage.open({ file: ':memory:' });
  clock = new ManualClock();
  blocks = blocksOn(storage);
  alice = await storage.createAccount({ handle: 'alice', displayName: 'Alice', passwordHash: 'x', at: clock.now() });
});
afterEach(() => storage.close());

async function conversation(tokenHash: string): Promise<string> {
  return (await storage.createConversation({ ownerAccountId: alice.id, tokenHash, visitorName: 'Mallory', at: clock.now() })).conversation.id;
}

describe('VisitorBlocks', () => {
  it('refuses the address for 30 days and the cookie until unblocked', async () => {
    const id = await conversation('cookie-token-hash');
    await blocks.seen(id, ADDRESS);
    const block = await blocks.block(alice.id, id, { accountId: alice.id, context: { ip: null, userAgent: null } });
    expect(block.addressUntil).toBe(clock.now() + ADDRESS_BLOCK_MS);
    expect(ADDRESS_BLOCK_MS).toBe(30 * DAY);

    const refusal = blocks.checkVisitor(alice, { addressKey: ADDRESS });
    await expect(refusal).rejects.toMatchObject({ code: 'forbidden', message: 'Alice does not accept messages from you.' });
    clock.t += 30 * DAY - 1;
    expect(await blocks.isBlocked(alice.id, { addressKey: ADDRESS })).toBe(true);
    clock.t += 1;
    expect(await blocks.isBlocked(alice.id, { addressKey: ADDRESS })).toBe(false);
    expect(await blocks.isBlocked(alice.id, { tokenHash: 'cookie-token-hash' })).toBe(true);
    expect(await blocks.isBlocked(alice.id, { conversationId: id })).toBe(true);

    await blocks.unblock(alice.id, block.id, { accountId: alice.id, context: { ip: null, userAgent: null } });
    expect(await blocks.isBlocked(alice.id, { tokenHash: 'cookie-token-hash' })).toBe(false);
  });

  it('keeps only a keyed hash of the address: the same in every process of an install, another in another install', async () => {
    const id = await conversation('token-a');
    const hash = await blocks.seen(id, ADDRESS);
    expect(hash).not.toBeNull();
    expect(hash).not.toContain(ADDRESS);
    expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Another process of the same install reads the same secret from storage.
    expect(await blocksOn(storage).addressHash(ADDRESS)).toBe(hash);
    expect(await blocks.addressHash('203.0.113.8')).not.toBe(hash);
    const other = SqliteStorage.open({ file: ':memory:' });
    try {
      expect(await blocksOn(other).addressHash(ADDRESS)).not.toBe(hash);
    } finally {
      await other.close();
    }
  });

  it('says which account blocked by handle, and names an operator in the company\u2019s audit entry', async () => {
    const oscar = await storage.createAccount({ handle: 'oscar', displayName: 'Oscar', passwordHash: 'x', at: clock.now() });
    const id = await conversation('token-b');
    const block = await blocks.block(alice.id, id, { accountId: oscar.id, context: { ip: '198.51.100.1', userAgent: null } });
    expect((await blocks.records([block]))[0]).toMatchObject({ blockedBy: 'oscar', visitorName: 'Mallory', addressUntil: null });
    expect((await storage.listAudit(alice.id, { limit: 1 }))[0]).toMatchObject({ kind: 'visitor.blocked', ip: '198.51.100.1', detail: { visitor: 'Mallory', by: 'oscar' } });
  });
});
