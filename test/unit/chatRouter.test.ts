/**
 * The routing of a company's chats to its operators (issue 19), without Colyseus: which operator a new chat goes to
 * (online, console open, under capacity, fewest chats, then the one whose last chat came longest ago), the queue
 * (first come first served), what frees an operator, takes, transfers and ends. Storage is real in-memory SQLite;
 * the clock is moved by hand; who is connected is what the test says.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStorage } from '../../adapters/storage/sqlite/SqliteStorage.ts';
import { createLogger } from '../../engine/logger.ts';
import type { Account } from '../../engine/ports/storage.ts';
import type { ConversationSummary } from '../../engine/protocol.ts';
import { ChatRouter } from '../../rooms/site/chatRouter.ts';
import { ManualClock, T0 } from '../support/roomHarness.ts';

interface Fixture {
  clock: ManualClock;
  storage: SqliteStorage;
  company: Account;
  ops: Record<'ann' | 'bob' | 'cat', Account>;
  connected: Set<string>;
  router: ChatRouter;
  changes: number;
}

let f: Fixture;
let chatCount = 0;

beforeEach(async () => {
  const clock = new ManualClock();
  const storage = SqliteStorage.open({ file: ':memory:' });
  const account = (handle: string) => storage.createAccount({ handle, displayName: handle.toUpperCase(), passwordHash: 'x', at: T0 });
  const company = await account('acme');
  await storage.makeCompany(company.id, T0);
  const ops = { ann: await account('ann'), bob: await account('bob'), cat: await account('cat') };
  let at = T0;
  for (const op of Object.values(ops)) await storage.addOperator({ companyId: company.id, accountId: op.id, role: 'operator', capacity: 1, at: at++ });
  const connected = new Set<string>();
  f = { clock, storage, company, ops, connected, changes: 0, router: null as never };
  f.router = new ChatRouter(
    { storage, clock, logger: createLogger('silent'), connected: () => connected, onChange: () => f.changes++ },
    { id: company.id, displayName: 'Acme' },
  );
  await f.router.load();
});

afterEach(async () => {
  await f.storage.close();
});

/** A new chat of the company, as the hub tells it; the clock moves a second first so queue order is plain. */
async function newChat(kind: 'chat' | 'email' = 'chat'): Promise<string> {
  f.clock.t += 1000;
  const { conversation } = await f.storage.createConversation({ ownerAccountId: f.company.id, tokenHash: `hash-${++chatCount}`, visitorName: `Vic ${chatCount}`, at: f.clock.t });
  const summary: ConversationSummary = { id: conversation.id, visitorName: `Vic ${chatCount}`, lastSeq: 0, lastMessage: null, unread: 0, updatedAt: f.clock.t, kind };
  await f.router.heard(summary);
  return conversation.id;
}

function holder(conversationId: string): string | null {
  const chat = f.router.openChats().find((c) => c.conversationId === conversationId);
  return chat?.state === 'assigned' ? chat.operatorId : null;
}

function online(...names: Array<keyof Fixture['ops']>): void {
  for (const name of names) f.connected.add(f.ops[name].id);
}

describe('ChatRouter', () => {
  it('gives a new chat to the connected online operator with the fewest chats, under capacity', async () => {
    await f.storage.setOperatorCapacity(f.company.id, f.ops.ann.id, 3);
    await f.storage.setOperatorCapacity(f.company.id, f.ops.bob.id, 3);
    online('ann', 'bob');
    await f.router.refresh();
    const first = await newChat();
    const second = await newChat();
    const third = await newChat();
    expect([holder(first), holder(second)].sort()).toEqual([f.ops.ann.id, f.ops.bob.id].sort());
    // A tie of one chat each: the one whose last chat came longest ago (the first one's operator).
    expect(holder(third)).toBe(holder(first));
    expect((await f.storage.getChatAssignment(third))?.operatorId).toBe(holder(first));
  });

  it('breaks a tie of no chats yet by the order operators were added, then by who waited longest', async () => {
    online('ann', 'bob');
    await f.router.refresh();
    expect(holder(await newChat())).toBe(f.ops.ann.id);
    expect(holder(await newChat())).toBe(f.ops.bob.id);
  });

  it('queues chats first come first served when nobody has room, and says their places', async () => {
    online('ann');
    await f.router.refresh();
    const first = await newChat();
    const second = await newChat();
    const third = await newChat();
    expect(holder(first)).toBe(f.ops.ann.id);
    expect([f.router.positionOf(first), f.router.positionOf(second), f.router.positionOf(third)]).toEqual([null, 1, 2]);
    expect(f.router.records().map((r) => r.state)).toEqual(['assigned', 'queued', 'queued']);
  });

  it('gives the oldest queued chat to the operator a chat ended for, and stores the end', async () => {
    online('ann');
    await f.router.refresh();
    const first = await newChat();
    const second = await newChat();
    const third = await newChat();
    await f.router.end(f.ops.ann.id, first);
    expect(holder(second)).toBe(f.ops.ann.id);
    expect(f.router.positionOf(third)).toBe(1);
    expect((await f.storage.getChatAssignment(first))?.state).toBe('ended');
    await expect(f.router.end(f.ops.ann.id, first)).rejects.toMatchObject({ code: 'conflict' });
  });

  it('gives nothing to an operator who is away, nor to one whose console is closed, until they are back', async () => {
    await f.storage.setOperatorStatus(f.company.id, f.ops.ann.id, 'away');
    online('ann');
    await f.router.refresh();
    const chat = await newChat();
    expect(holder(chat)).toBeNull();
    await f.storage.setOperatorStatus(f.company.id, f.ops.ann.id, 'online');
    f.connected.clear();
    await f.router.refresh();
    expect(holder(chat)).toBeNull();
    online('ann');
    await f.router.refresh();
    expect(holder(chat)).toBe(f.ops.ann.id);
  });

  it('transfers a chat to another operator, whose capacity then counts it', async () => {
    online('ann', 'bob');
    await f.router.refresh();
    const first = await newChat();
    expect(holder(first)).toBe(f.ops.ann.id);
    await f.router.transfer(f.ops.ann.id, first, 'bob');
    expect(holder(first)).toBe(f.ops.bob.id);
    expect(f.router.records()[0]?.operator).toEqual({ handle: 'bob', displayName: 'BOB' });
    const second = await newChat();
    expect(holder(second)).toBe(f.ops.ann.id);
    const third = await newChat();
    expect(f.router.positionOf(third)).toBe(1);
    await expect(f.router.transfer(f.ops.ann.id, first, 'acme')).rejects.toMatchObject({ code: 'not_found' });
    await expect(f.router.transfer(f.ops.ann.id, first, 'bob')).rejects.toMatchObject({ code: 'conflict' });
  });

  it('lets an operator take a queued chat, or another operator\u2019s, beyond routing', async () => {
    const chat = await newChat();
    expect(f.router.positionOf(chat)).toBe(1);
    await f.router.take(f.ops.cat.id, chat);
    expect(holder(chat)).toBe(f.ops.cat.id);
    await f.router.take(f.ops.bob.id, chat);
    expect(holder(chat)).toBe(f.ops.bob.id);
    await expect(f.router.take(f.ops.bob.id, chat)).rejects.toMatchObject({ code: 'conflict' });
  });

  it('refuses chats to anyone who is not an operator, and conversations that are not the company\u2019s chats', async () => {
    const chat = await newChat();
    await expect(f.router.take(f.company.id, chat)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(f.router.end('someone-else', chat)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(f.router.take(f.ops.ann.id, 'no-such-conversation')).rejects.toMatchObject({ code: 'not_found' });
    expect(f.router.positionOf(chat)).toBe(1);
  });

  it('does not route email conversations, and queues a chat once however often it is heard of', async () => {
    online('ann');
    await f.router.refresh();
    const email = await newChat('email');
    expect(f.router.openChats()).toEqual([]);
    expect(await f.storage.getChatAssignment(email)).toBeNull();
    const chat = await newChat();
    const changes = f.changes;
    await f.router.heard({ id: chat, visitorName: 'Vic again', lastSeq: 1, lastMessage: null, unread: 1, updatedAt: f.clock.t });
    expect(f.router.records()[0]?.visitorName).toBe('Vic again');
    expect(f.changes).toBe(changes + 1);
    expect(f.router.openChats()).toHaveLength(1);
  });

  it('takes up the open chats from storage, and queues again a chat whose operator is no longer one', async () => {
    online('ann');
    await f.router.refresh();
    const first = await newChat();
    const second = await newChat();
    await f.storage.removeOperator(f.company.id, f.ops.ann.id);
    online('bob');
    const again = new ChatRouter(
      { storage: f.storage, clock: f.clock, logger: createLogger('silent'), connected: () => f.connected, onChange: () => undefined },
      { id: f.company.id, displayName: 'Acme' },
    );
    await again.load();
    // Bob has room for one: the chat queued first (ann's, queued again) goes to him, the other waits.
    expect(again.openChats().map((c) => [c.conversationId, c.state, c.operatorId])).toEqual([
      [first, 'assigned', f.ops.bob.id],
      [second, 'queued', null],
    ]);
    expect(again.records()[1]?.visitorName).toBe((await f.storage.getConversationSummary(second))?.visitorName);
  });
});
