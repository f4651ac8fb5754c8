/**
 * Routing of a company's chats on a real server with real sockets (issue 19, Done-when 4): operators' consoles join
 * the company's SiteRoom through the SDK the console uses (SiteSession); visitors knock over the API from a page of
 * the company's site and their monitor frame (a raw room) says which chat is theirs. New chats go to an online
 * operator with room, the rest wait in the queue (the visitor's tab is told its place), ending a chat gives its
 * operator the next one, a transfer moves a chat and counts against its new operator's capacity; and the attacks:
 * a visitor's chat.*, a removed operator, another company's conversation, a transfer to someone who is no operator.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SiteSession } from '../../client/src/sdk/siteSession.ts';
import type { Account } from '../../engine/ports/storage.ts';
import type { ChatAssignmentRecord, SiteServerMessages } from '../../engine/protocol.ts';
import { Cast, NO_PINGS, testRateLimits } from '../support/cast.ts';
import { Person, waitFor } from '../support/clients.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { RawRoom } from '../support/rawRoom.ts';

const SITE = 'https://shop.example';

let knock: TestKnock;
let cast: Cast;
let count = 0;
const rooms: RawRoom[] = [];
const sessions: SiteSession[] = [];

beforeAll(async () => {
  knock = await startKnock({ pingIntervalMs: NO_PINGS, rateLimits: testRateLimits() });
  cast = new Cast(knock);
});
afterEach(async () => {
  await Promise.all([...rooms.splice(0).map((r) => r.leave()), ...sessions.splice(0).map((s) => s.close())]);
  await cast.closeAll();
});
afterAll(() => knock?.close());

interface Operator {
  handle: string;
  account: Account;
  person: Person;
  console: SiteSession;
}

interface Company {
  account: Account;
  handle: string;
}

async function company(): Promise<Company> {
  const handle = `acme-${process.pid}-${++count}`;
  await knock.addUser(handle, 'Acme Ltd');
  const account = (await knock.storage.getAccountByHandle(handle))!;
  await knock.storage.makeCompany(account.id, Date.now());
  await knock.storage.addSite(account.id, SITE, Date.now());
  return { account, handle };
}

/** An operator of the company with this capacity, their console open and live. */
async function operator(c: Company, name: string, capacity: number): Promise<Operator> {
  const { handle, person } = await cast.owner(name);
  const account = (await knock.storage.getAccountByHandle(handle))!;
  await knock.storage.addOperator({ companyId: c.account.id, accountId: account.id, role: 'operator', capacity, at: Date.now() });
  const session = SiteSession.open({ endpoint: knock.url, handle: c.handle, headers: person.headers });
  sessions.push(session);
  await waitFor(session, (s) => s.connection === 'live', `${name}\u2019s console live`);
  return { handle, account, person, console: session };
}

interface Visitor {
  room: RawRoom;
  conversationId: string;
}

/** A visitor on a page of the site who starts a chat there: its monitor frame joins, then it knocks and says so. */
async function visitor(c: Company, name: string, monitor = true): Promise<Visitor> {
  const room = await RawRoom.join(knock.url, 'site', { as: 'visitor', handle: c.handle, visitorId: `v${randomBytes(12).toString('base64url')}`, site: SITE, monitor });
  rooms.push(room);
  await waitFor(room, (s) => s.of('status').length >= 1, 'the visitor\u2019s status');
  room.send('page', { url: `${SITE}/shoes`, title: 'Shoes', referrer: '' });
  const knocked = await cast.visitor().api.knock(c.handle, name, undefined, { url: `${SITE}/shoes`, title: 'Shoes' });
  room.send('chatting', { conversationId: knocked.conversationId });
  return { room, conversationId: knocked.conversationId };
}

const chatOf = (op: Operator, v: Visitor): ChatAssignmentRecord | undefined =>
  op.console.snapshot().chats.find((chat) => chat.conversationId === v.conversationId);
const holderOf = (op: Operator, v: Visitor): string | null | undefined => {
  const chat = chatOf(op, v);
  return chat === undefined ? undefined : (chat.operator?.handle ?? null);
};
const positions = (v: Visitor) => v.room.snapshot().of<SiteServerMessages['queue']>('queue').map((q) => q.position);
const lastError = async (op: Operator, what: string) => (await waitFor(op.console, (s) => s.lastError !== null, what)).lastError;

describe('routing of a company\u2019s chats', () => {
  it('queues an ended chat again when its visitor writes after the end, and routes it', async () => {
    const c = await company();
    const olga = await operator(c, 'Olga', 1);
    const knocked = await cast.visitor().api.knock(c.handle, 'Gus', undefined, { url: `${SITE}/shoes`, title: 'Shoes' });
    await waitFor(olga.console, () => olga.console.snapshot().chats.some((chat) => chat.conversationId === knocked.conversationId && chat.operator?.handle === olga.handle), 'the chat given to Olga');
    olga.console.end(knocked.conversationId);
    await waitFor(olga.console, () => !olga.console.snapshot().chats.some((chat) => chat.conversationId === knocked.conversationId), 'the chat ended');

    const gus = await RawRoom.join(knock.url, 'conversation', { conversationId: knocked.conversationId, token: knocked.token });
    rooms.push(gus);
    await waitFor(gus, (s) => s.of('welcome').length === 1, 'the visitor back in the conversation');
    gus.send('send', { clientMsgId: 'gus-after-the-end-1', body: 'One more question: do you ship abroad?' });
    await waitFor(olga.console, () => olga.console.snapshot().chats.some((chat) => chat.conversationId === knocked.conversationId && chat.operator?.handle === olga.handle), 'the chat given to Olga again');
    expect(await knock.storage.getChatAssignment(knocked.conversationId)).toMatchObject({ state: 'assigned', operatorId: olga.account.id, endedAt: null });
  });

  it('shows visitors “online” only while an operator with an open console is not away, and queues their chats meanwhile', async () => {
    const c = await company();
    const olga = await operator(c, 'Olga', 2);
    // The console also holds the company's URL (its UserRoom), as the real console does: the company is present.
    const url = await RawRoom.join(knock.url, 'user', { handle: c.handle }, olga.person.headers);
    rooms.push(url);
    const room = await RawRoom.join(knock.url, 'site', { as: 'visitor', handle: c.handle, visitorId: `v${randomBytes(12).toString('base64url')}`, site: SITE, monitor: true });
    rooms.push(room);
    const online = () => room.snapshot().of<SiteServerMessages['status']>('status').at(-1)?.online;
    await waitFor(room, () => online() === true, 'the button saying someone is online');

    const api = olga.person.api;
    api.setAccount(c.handle);
    await api.setMyStatus('away');
    await waitFor(room, () => online() === false, 'the button turning to “Leave a message” when the only operator is away');
    const v = await visitor(c, 'Fay');
    await waitFor(v.room, () => positions(v).at(-1) === 1, 'the chat waiting while everyone is away');

    await api.setMyStatus('online');
    await waitFor(room, () => online() === true, 'the button back to online');
    await waitFor(olga.console, () => holderOf(olga, v) === olga.handle, 'the waiting chat given to Olga, back online');
  });

  it('queues a chat started while no console and no widget of the company is open, and gives it to the first operator who opens the console', async () => {
    const c = await company();
    // Nobody of the company is connected: no room of the company runs. The knock alone must put the chat in the queue.
    const knocked = await cast.visitor().api.knock(c.handle, 'Dora', undefined, { url: `${SITE}/hats`, title: 'Hats' });
    expect(await knock.storage.getChatAssignment(knocked.conversationId)).toMatchObject({ state: 'queued', operatorId: null });
    const olga = await operator(c, 'Olga', 1);
    await waitFor(olga.console, () => olga.console.snapshot().chats.some((chat) => chat.conversationId === knocked.conversationId && chat.operator?.handle === olga.handle), 'the waiting chat given to Olga');
    expect((await knock.storage.getChatAssignment(knocked.conversationId))?.operatorId).toBe(olga.account.id);
  });

  it('queues a chat once whether the knock or the room hears of it first, and routes it while the room runs', async () => {
    const c = await company();
    const olga = await operator(c, 'Olga', 2);
    const v = await visitor(c, 'Eve');
    await waitFor(olga.console, () => holderOf(olga, v) === olga.handle, 'the chat assigned to Olga');
    expect(olga.console.snapshot().chats.filter((chat) => chat.conversationId === v.conversationId)).toHaveLength(1);
  });

  it('gives each of two operators of capacity 1 a chat, queues the third, and assigns it when a chat ends', async () => {
    const c = await company();
    const olga = await operator(c, 'Olga', 1);
    const pete = await operator(c, 'Pete', 1);

    const first = await visitor(c, 'Ann');
    await waitFor(olga.console, () => holderOf(olga, first) !== undefined && holderOf(olga, first) !== null, 'the first chat assigned');
    const second = await visitor(c, 'Bea');
    await waitFor(olga.console, () => typeof holderOf(olga, second) === 'string', 'the second chat assigned');
    expect([holderOf(olga, first), holderOf(olga, second)].sort()).toEqual([olga.handle, pete.handle].sort());

    const third = await visitor(c, 'Cid');
    await waitFor(third.room, () => positions(third).at(-1) === 1, 'the third visitor told they are next');
    const queued = chatOf(pete, third) ?? (await waitFor(pete.console, () => chatOf(pete, third) !== undefined, 'the queue on Pete\u2019s console'), chatOf(pete, third));
    expect(queued).toMatchObject({ state: 'queued', operator: null, visitorName: 'Cid', startedOn: { url: `${SITE}/shoes`, title: 'Shoes' } });
    expect(positions(first)).toEqual([]);

    const freed = holderOf(olga, first) === olga.handle ? olga : pete;
    freed.console.end(first.conversationId);
    await waitFor(olga.console, () => holderOf(olga, third) === freed.handle, 'the queued chat assigned to the operator freed');
    await waitFor(third.room, () => positions(third).at(-1) === null, 'the third visitor no longer waiting');
    expect(chatOf(olga, first)).toBeUndefined();
    expect((await knock.storage.getChatAssignment(first.conversationId))?.state).toBe('ended');
    expect((await knock.storage.getChatAssignment(third.conversationId))?.operatorId).toBe(freed.account.id);
  });

  it('moves a chat to the operator it is transferred to, whose capacity then counts it', async () => {
    const c = await company();
    const olga = await operator(c, 'Olga', 1);
    const pete = await operator(c, 'Pete', 2);

    const first = await visitor(c, 'Ann');
    await waitFor(olga.console, () => holderOf(olga, first) === olga.handle, 'the first chat with Olga (added first)');
    olga.console.transfer(first.conversationId, pete.handle);
    await waitFor(pete.console, () => holderOf(pete, first) === pete.handle, 'the chat with Pete');

    const second = await visitor(c, 'Bea');
    await waitFor(olga.console, () => holderOf(olga, second) === olga.handle, 'the next chat with Olga, who has none');
    const third = await visitor(c, 'Cid');
    await waitFor(olga.console, () => holderOf(olga, third) === pete.handle, 'the one after with Pete (1 of 2)');
    const fourth = await visitor(c, 'Dee');
    await waitFor(fourth.room, () => positions(fourth).at(-1) === 1, 'the fourth queued: everyone is full');
    expect(chatOf(olga, fourth)?.state).toBe('queued');
  });

  it('lets an operator take a queued chat beyond routing (an away operator gets none)', async () => {
    const c = await company();
    const olga = await operator(c, 'Olga', 1);
    await knock.storage.setOperatorStatus(c.account.id, olga.account.id, 'away');
    const first = await visitor(c, 'Ann');
    await waitFor(first.room, () => positions(first).at(-1) === 1, 'waiting: the only operator is away');
    olga.console.take(first.conversationId);
    await waitFor(olga.console, () => holderOf(olga, first) === olga.handle, 'taken');
    await waitFor(first.room, () => positions(first).at(-1) === null, 'no longer waiting');
  });

  it('tells a visitor who is not monitored (Global Privacy Control) their place too, and lists nothing about them', async () => {
    const c = await company();
    const olga = await operator(c, 'Olga', 1);
    await knock.storage.setOperatorStatus(c.account.id, olga.account.id, 'away');
    const v = await visitor(c, 'Ann', false);
    await waitFor(v.room, () => positions(v).at(-1) === 1, 'told they are next');
    expect(olga.console.snapshot().visitors.size).toBe(0);
  });
});

describe('routing: attacks', () => {
  it('refuses chat.* from a visitor\u2019s frame', async () => {
    const c = await company();
    const olga = await operator(c, 'Olga', 1);
    await knock.storage.setOperatorStatus(c.account.id, olga.account.id, 'away');
    const v = await visitor(c, 'Ann');
    await waitFor(v.room, () => positions(v).at(-1) === 1, 'queued');
    v.room.send('chat.take', { conversationId: v.conversationId });
    v.room.send('chat.end', { conversationId: v.conversationId });
    v.room.send('chat.transfer', { conversationId: v.conversationId, to: olga.handle });
    const errors = await waitFor(v.room, (s) => s.of('error').length >= 3, 'three refusals');
    expect(errors.of<SiteServerMessages['error']>('error').map((e) => [e.ref, e.code])).toEqual([
      ['chat.take', 'forbidden'], ['chat.end', 'forbidden'], ['chat.transfer', 'forbidden'],
    ]);
    expect((await knock.storage.getChatAssignment(v.conversationId))?.state).toBe('queued');
  });

  it('refuses an operator removed from the company while their console is open', async () => {
    const c = await company();
    const olga = await operator(c, 'Olga', 1);
    await knock.storage.setOperatorStatus(c.account.id, olga.account.id, 'away');
    const v = await visitor(c, 'Ann');
    await waitFor(olga.console, () => chatOf(olga, v) !== undefined, 'queued');
    await knock.storage.removeOperator(c.account.id, olga.account.id);
    olga.console.take(v.conversationId);
    expect(await lastError(olga, 'the refusal')).toMatchObject({ code: 'forbidden', ref: 'chat.take' });
    expect((await knock.storage.getChatAssignment(v.conversationId))?.state).toBe('queued');
  });

  it('refuses a conversation of another company, one that is no chat, and a transfer to someone who is no operator', async () => {
    const c = await company();
    const other = await company();
    const olga = await operator(c, 'Olga', 1);
    const stranger = await operator(other, 'Sam', 1);
    const theirs = await visitor(other, 'Zed');
    await waitFor(stranger.console, () => holderOf(stranger, theirs) === stranger.handle, 'the other company\u2019s chat');

    olga.console.take(theirs.conversationId);
    expect(await lastError(olga, 'another company\u2019s chat refused')).toMatchObject({ code: 'not_found', ref: 'chat.take' });
    olga.console.end('no-such-conversation');
    expect(await lastError(olga, 'no such chat')).toMatchObject({ code: 'not_found', ref: 'chat.end' });

    const mine = await visitor(c, 'Ann');
    await waitFor(olga.console, () => holderOf(olga, mine) === olga.handle, 'Olga\u2019s chat');
    olga.console.transfer(mine.conversationId, stranger.handle);
    expect(await lastError(olga, 'a transfer to a non-operator refused')).toMatchObject({ code: 'not_found', ref: 'chat.transfer' });
    expect(holderOf(olga, mine)).toBe(olga.handle);
    expect((await knock.storage.getChatAssignment(theirs.conversationId))?.operatorId).toBe(stranger.account.id);
  });
});
