/**
 * DESIGN "Delivery: nothing acknowledged is ever lost", checked on a real server: receipts, idempotent sends,
 * catch-up on rejoin, repair after a dropped socket, messages for an offline owner, and the outbox across drops
 * and reloads.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bodies, waitFor } from '../support/clients.ts';
import { Cast, NO_PINGS, testRateLimits } from '../support/cast.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { startProxy, type NetProxy } from '../support/netProxy.ts';
import { recordChanges } from '../support/observe.ts';
import { RawRoom } from '../support/rawRoom.ts';
import { memoryStore } from '../../client/src/sdk/browserStore.ts';
import type { ConversationSnapshot } from '../../client/src/sdk/types.ts';
import type { MessageRecord } from '../../engine/protocol.ts';

let knock: TestKnock;
let cast: Cast;
const proxies: NetProxy[] = [];
const rawRooms: RawRoom[] = [];

beforeAll(async () => {
  // Bursts of messages below: the per-socket message limit has its own test (badInput).
  knock = await startKnock({ pingIntervalMs: NO_PINGS, rateLimits: testRateLimits({ socketMessages: { perWindow: 1000, windowMs: 1000 } }) });
  cast = new Cast(knock);
});
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await Promise.all(rawRooms.splice(0).map((r) => r.leave()));
  await cast.closeAll();
});
afterAll(() => knock.close());

const live = (s: ConversationSnapshot) => s.connection === 'live';
const settled = (s: ConversationSnapshot) => s.messages.every((m) => m.seq !== null);
const seqs = (s: ConversationSnapshot) => s.messages.map((m) => m.seq);
const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const stored = (conversationId: string) => knock.storage.messagesAfter(conversationId, 0, 1000);

async function raw(options: Record<string, unknown>, headers?: Record<string, string>): Promise<RawRoom> {
  const room = await RawRoom.join(knock.url, 'conversation', options, headers);
  rawRooms.push(room);
  return room;
}

async function proxied(): Promise<NetProxy> {
  const proxy = await startProxy(knock.url);
  proxies.push(proxy);
  return proxy;
}

describe('receipts', () => {
  it("marks the visitor's message sent when stored, delivered when an owner device holds it, read when the owner reads it", async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const { session: bob, conversationId } = await cast.visitor().knock(handle, 'Bob');
    const statuses = recordChanges(bob, (s) => s.messages[0]?.status ?? null);

    bob.send('are you there?');
    await waitFor(bob, (s) => s.messages[0]?.status === 'sent', 'sent');
    const ownerChat = alice.conversation(conversationId);
    await waitFor(bob, (s) => s.messages[0]?.status === 'delivered', 'delivered');
    await waitFor(ownerChat, (s) => live(s) && bodies(s).length === 1, 'owner holds it');
    ownerChat.markRead();
    await waitFor(bob, (s) => s.messages[0]?.status === 'read', 'read');

    expect(statuses.values).toEqual([null, 'pending', 'sent', 'delivered', 'read']);
  });
});

describe('idempotent sends', () => {
  it('stores a message once and answers a repeated clientMsgId with the same ack', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const { conversationId, token } = await cast.visitor().api.knock(handle, 'Bob');
    const owner = await raw({ conversationId }, alice.headers);
    const visitor = await raw({ conversationId, token });

    visitor.send('send', { clientMsgId: 'resent-message-1', body: 'only once' });
    visitor.send('send', { clientMsgId: 'resent-message-1', body: 'only once' });
    const acks = (await waitFor(visitor, (s) => s.of('ack').length === 2, 'two acks')).of<{ clientMsgId: string; seq: number; at: number }>('ack');
    expect(acks[0]).toEqual(acks[1]);
    expect(acks[0]).toMatchObject({ clientMsgId: 'resent-message-1', seq: 1 });

    // A later message marks the point by which a duplicate broadcast would have arrived.
    visitor.send('send', { clientMsgId: 'next-message-2', body: 'the next one' });
    const seen = await waitFor(owner, (s) => s.of<MessageRecord>('message').some((m) => m.seq === 2), 'owner gets the next one');
    expect(seen.of<MessageRecord>('message').map((m) => [m.seq, m.body])).toEqual([
      [1, 'only once'],
      [2, 'the next one'],
    ]);
    expect((await stored(conversationId)).map((m) => m.body)).toEqual(['only once', 'the next one']);
    expect(visitor.snapshot().of('error')).toEqual([]);
  });

  it('keeps apart the messages of two participants who happen to use the same clientMsgId', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const { conversationId, token } = await cast.visitor().api.knock(handle, 'Bob');
    const owner = await raw({ conversationId }, alice.headers);
    const visitor = await raw({ conversationId, token });

    visitor.send('send', { clientMsgId: 'same-id-for-both', body: 'from the visitor' });
    await waitFor(visitor, (s) => s.of('ack').length === 1, 'visitor acked');
    owner.send('send', { clientMsgId: 'same-id-for-both', body: 'from the owner' });
    const acked = await waitFor(owner, (s) => s.of('ack').length === 1, 'owner acked');
    expect(acked.of('ack')[0]).toMatchObject({ seq: 2 });
    await waitFor(visitor, (s) => s.of('message').length === 1, 'visitor receives the owner message');
    expect((await stored(conversationId)).map((m) => [m.seq, m.senderRole, m.body])).toEqual([
      [1, 'visitor', 'from the visitor'],
      [2, 'owner', 'from the owner'],
    ]);
  });
});

describe('catch-up', () => {
  it('sends a rejoining device exactly the messages after the seq it holds, in order', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const { conversationId, token } = await cast.visitor().api.knock(handle, 'Bob');
    const visitor = await raw({ conversationId, token });
    for (let i = 1; i <= 3; i++) visitor.send('send', { clientMsgId: `before-leaving-${i}`, body: `before ${i}` });
    await waitFor(visitor, (s) => s.of('ack').length === 3, 'three stored');

    const first = await raw({ conversationId }, alice.headers);
    const page = (await waitFor(first, (s) => s.of('messages').length === 1, 'first page')).of<{ items: MessageRecord[] }>('messages')[0]!;
    const lastHeld = page.items.at(-1)!.seq;
    expect(lastHeld).toBe(3);
    await first.leave();

    for (let i = 1; i <= 5; i++) visitor.send('send', { clientMsgId: `while-away-${i}`, body: `away ${i}` });
    await waitFor(visitor, (s) => s.of('ack').length === 8, 'five more stored');

    const back = await raw({ conversationId, since: lastHeld }, alice.headers);
    const catchUp = (await waitFor(back, (s) => s.of('messages').length === 1, 'catch-up')).of<{ afterSeq: number; items: MessageRecord[]; more: boolean }>('messages')[0]!;
    expect(catchUp.afterSeq).toBe(3);
    expect(catchUp.more).toBe(false);
    expect(catchUp.items.map((m) => [m.seq, m.body])).toEqual([4, 5, 6, 7, 8].map((seq) => [seq, `away ${seq - 3}`]));

    visitor.send('send', { clientMsgId: 'after-return-9', body: 'live again' });
    const after = await waitFor(back, (s) => s.of('message').length === 1, 'live message');
    expect(after.of<MessageRecord>('message').map((m) => m.seq)).toEqual([9]);
  });

  it('catches a reconnecting device up on more than a page of missed messages', async () => {
    const proxy = await proxied();
    const { handle } = await cast.owner('Alice');
    const phone = await cast.device(handle, proxy.url);
    const { conversationId, token } = await cast.visitor().api.knock(handle, 'Bob');
    const visitor = await raw({ conversationId, token });
    visitor.send('send', { clientMsgId: 'before-the-tunnel', body: 'missed 1' });
    const chat = phone.conversation(conversationId);
    await waitFor(chat, (s) => live(s) && s.messages.length === 1, 'phone holds the first message');

    proxy.setReachable(false);
    await waitFor(chat, (s) => s.connection === 'reconnecting', 'phone offline');
    for (let i = 2; i <= 251; i++) visitor.send('send', { clientMsgId: `missed-message-${i}`, body: `missed ${i}` });
    await waitFor(visitor, (s) => s.of('ack').length === 251, 'all stored');
    proxy.setReachable(true);

    const s = await waitFor(chat, (s) => live(s) && s.messages.length === 251, 'phone caught up', 10_000);
    expect(seqs(s)).toEqual(oneTo(251));
    expect(bodies(s)).toEqual(oneTo(251).map((i) => `missed ${i}`));
    expect(s.hasOlder).toBe(false);
  });

  it('ends with every message once, in seq order, when the visitor socket drops while messages flow', async () => {
    const proxy = await proxied();
    const { handle, person: alice } = await cast.owner('Alice');
    const bobPerson = cast.visitor(proxy.url);
    const { session: bob, conversationId } = await bobPerson.knock(handle, 'Bob');
    const owner = await raw({ conversationId }, alice.headers);
    await waitFor(bob, live, 'visitor live');
    const ownerSends = (from: number, to: number) => {
      for (let i = from; i <= to; i++) owner.send('send', { clientMsgId: `owner-message-${i}`, body: `owner ${i}` });
    };

    for (let i = 1; i <= 10; i++) bob.send(`bob ${i}`);
    ownerSends(1, 10);
    await waitFor(bob, (s) => bodies(s).filter((b) => b.startsWith('owner')).length >= 3, 'some owner messages arrived');
    proxy.drop();
    ownerSends(11, 20);
    await waitFor(owner, (s) => s.of('ack').length === 20, 'owner messages stored while the visitor is away');
    ownerSends(21, 30);

    const s = await waitFor(bob, (s) => live(s) && settled(s) && s.messages.length === 40, 'visitor holds all 40', 10_000);
    expect(seqs(s)).toEqual(oneTo(40));
    expect(new Set(s.messages.map((m) => m.key)).size).toBe(40);
    expect(bodies(s).filter((b) => b.startsWith('owner'))).toEqual(oneTo(30).map((i) => `owner ${i}`));
    expect(bodies(s).filter((b) => b.startsWith('bob'))).toEqual(oneTo(10).map((i) => `bob ${i}`));
    const inStorage = await stored(conversationId);
    expect(inStorage.map((m) => m.body)).toEqual(bodies(s));
  });
});

describe('offline owner', () => {
  it('keeps what a visitor wrote while the owner was offline and shows it, unread, when the owner comes online', async () => {
    const { handle } = await cast.owner('Alice');
    const { session: bob, conversationId } = await cast.visitor().knock(handle, 'Bob');
    await waitFor(bob, live, 'visitor live');
    expect(bob.snapshot().ownerOnline).toBe(false);
    for (const text of ['hello?', 'anyone?', 'I will wait']) bob.send(text);
    const sent = await waitFor(bob, (s) => s.messages.length === 3 && s.messages.every((m) => m.status === 'sent'), 'stored, not delivered');
    expect(sent.messages.map((m) => m.status)).toEqual(['sent', 'sent', 'sent']);

    const later = await cast.device(handle);
    const list = later.ownerSession(handle);
    const s = await waitFor(list, (s) => s.online, 'owner online');
    expect(s.conversations.find((c) => c.id === conversationId)).toMatchObject({
      visitorName: 'Bob',
      unread: 3,
      lastMessage: { body: 'I will wait', senderRole: 'visitor' },
    });
    await waitFor(bob, (s) => s.ownerOnline, 'visitor sees the owner arrive');
    const chat = later.conversation(conversationId);
    expect(bodies(await waitFor(chat, (s) => live(s) && s.messages.length === 3, 'owner reads them'))).toEqual(['hello?', 'anyone?', 'I will wait']);
    await waitFor(bob, (s) => s.messages.every((m) => m.status === 'delivered'), 'now delivered');
  });
});

describe('outbox', () => {
  it('delivers messages written while the socket was down once, in order, after it reconnects', async () => {
    const proxy = await proxied();
    const { handle, person: alice } = await cast.owner('Alice');
    const { session: bob, conversationId } = await cast.visitor(proxy.url).knock(handle, 'Bob');
    const ownerChat = alice.conversation(conversationId);
    await waitFor(bob, live, 'visitor live');
    await waitFor(ownerChat, live, 'owner live');

    proxy.drop();
    bob.send('written in the tunnel 1');
    bob.send('written in the tunnel 2');
    bob.send('written in the tunnel 3');
    expect(bob.snapshot().messages.map((m) => m.status)).toEqual(['pending', 'pending', 'pending']);

    const expected = ['written in the tunnel 1', 'written in the tunnel 2', 'written in the tunnel 3'];
    await waitFor(bob, (s) => live(s) && s.messages.length === 3 && settled(s), 'acked after reconnecting', 10_000);
    const owners = await waitFor(ownerChat, (s) => s.messages.length === 3, 'owner receives them');
    expect(bodies(owners)).toEqual(expected);
    expect(seqs(owners)).toEqual([1, 2, 3]);
    expect((await stored(conversationId)).map((m) => m.body)).toEqual(expected);
  });

  it('resends, after a reload, a message that was written but never sent', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const bobPerson = cast.visitor();
    const { conversationId, token } = await bobPerson.api.knock(handle, 'Bob');
    const store = memoryStore();
    const outboxKey = `knock:outbox:${conversationId}`;

    // Written, then the tab closed before the socket was even up.
    const before = bobPerson.conversation(conversationId, token, store);
    before.send('written before the reload');
    await before.close();
    expect(JSON.parse(store.get(outboxKey) ?? '[]')).toMatchObject([{ body: 'written before the reload' }]);

    const ownerChat = alice.conversation(conversationId);
    const after = bobPerson.conversation(conversationId, token, store);
    const s = await waitFor(after, (s) => live(s) && s.messages.length === 1 && settled(s), 'resent after the reload');
    expect(bodies(s)).toEqual(['written before the reload']);
    expect(store.get(outboxKey)).toBeNull();
    await waitFor(ownerChat, (s) => bodies(s).includes('written before the reload'), 'owner receives it');
    expect((await stored(conversationId)).map((m) => m.body)).toEqual(['written before the reload']);
  });

  it('resends a pending message found in storage after a reload, exactly once', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const bobPerson = cast.visitor();
    const { conversationId, token } = await bobPerson.api.knock(handle, 'Bob');
    const store = memoryStore();
    store.set(
      `knock:outbox:${conversationId}`,
      JSON.stringify([
        { clientMsgId: 'pending-from-last-visit-1', body: 'first pending', at: Date.now() - 1000 },
        { clientMsgId: 'pending-from-last-visit-2', body: 'second pending', at: Date.now() - 500 },
      ]),
    );
    const ownerChat = alice.conversation(conversationId);
    await waitFor(ownerChat, live, 'owner live');

    const bob = bobPerson.conversation(conversationId, token, store);
    const s = await waitFor(bob, (s) => live(s) && s.messages.length === 2 && settled(s), 'both resent');
    expect(s.messages.map((m) => [m.key, m.body, m.seq])).toEqual([
      ['pending-from-last-visit-1', 'first pending', 1],
      ['pending-from-last-visit-2', 'second pending', 2],
    ]);
    await waitFor(ownerChat, (s) => s.messages.length === 2, 'owner receives both');
    // Another reload must not send anything again.
    await bob.close();
    const again = bobPerson.conversation(conversationId, token, store);
    await waitFor(again, (s) => live(s) && s.messages.length === 2, 'reloaded once more');
    expect((await stored(conversationId)).map((m) => m.body)).toEqual(['first pending', 'second pending']);
    expect(bodies(ownerChat.snapshot())).toEqual(['first pending', 'second pending']);
  });

  it('does not store twice a message that was stored but whose ack was lost before the reload', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const bobPerson = cast.visitor();
    const { conversationId, token } = await bobPerson.api.knock(handle, 'Bob');
    const firstTab = await raw({ conversationId, token });
    firstTab.send('send', { clientMsgId: 'stored-but-unacked', body: 'made it to the server' });
    await waitFor(firstTab, (s) => s.of('ack').length === 1, 'stored');
    await firstTab.leave();
    const store = memoryStore();
    store.set(`knock:outbox:${conversationId}`, JSON.stringify([{ clientMsgId: 'stored-but-unacked', body: 'made it to the server', at: Date.now() }]));

    const bob = bobPerson.conversation(conversationId, token, store);
    const s = await waitFor(bob, (s) => live(s) && settled(s), 'settled');
    expect(s.messages.map((m) => [m.key, m.seq, m.mine])).toEqual([['stored-but-unacked', 1, true]]);
    bob.send('and a new one');
    await waitFor(bob, (s) => s.messages.length === 2 && settled(s), 'new one stored');
    expect((await stored(conversationId)).map((m) => [m.seq, m.body])).toEqual([
      [1, 'made it to the server'],
      [2, 'and a new one'],
    ]);
    const ownerChat = alice.conversation(conversationId);
    expect(bodies(await waitFor(ownerChat, (s) => live(s), 'owner live'))).toEqual(['made it to the server', 'and a new one']);
  });
});
