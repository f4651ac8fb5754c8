/**
 * A company's SiteRoom on a real server with real sockets (issue 19): visitors of the company's sites, as the widget's
 * monitor frame joins (raw colyseus.js rooms), and operators, through the SDK the console uses (SiteSession). Who may
 * join on which side, what is listed and stored (and purged), invitations, the company's online status, and the
 * attacks: a site not on the list, the operators' side without being one, a visitor's invitation, a seat in another
 * company's room, malformed, oversized, unknown and too many messages.
 */
import { randomBytes } from 'node:crypto';
import { matchMaker, type AuthContext } from '@colyseus/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SiteSession } from '../../client/src/sdk/siteSession.ts';
import { createLogger } from '../../engine/logger.ts';
import { Retention } from '../../engine/retention.ts';
import { systemClock } from '../../engine/ports/clock.ts';
import type { Account } from '../../engine/ports/storage.ts';
import { CloseCode, type SiteServerMessages, type SiteVisitorRecord } from '../../engine/protocol.ts';
import { Cast, NO_PINGS, testRateLimits } from '../support/cast.ts';
import { Person, waitFor } from '../support/clients.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { recordChanges } from '../support/observe.ts';
import { RawRoom } from '../support/rawRoom.ts';

const SITE = 'https://shop.example';
/**
 * Short, so a visitor who left is gone within a test; long enough for a page change (leave, then join) to fit in
 * on a loaded machine.
 */
const GRACE_MS = 1500;
const DAY_MS = 24 * 3600_000;

let knock: TestKnock;
let cast: Cast;
let count = 0;
const rooms: RawRoom[] = [];
const sessions: SiteSession[] = [];

beforeAll(async () => {
  knock = await startKnock({ pingIntervalMs: NO_PINGS, rateLimits: testRateLimits(), siteVisitorGraceMs: GRACE_MS });
  cast = new Cast(knock);
});
afterEach(async () => {
  await Promise.all([...rooms.splice(0).map((r) => r.leave()), ...sessions.splice(0).map((s) => s.close())]);
  await cast.closeAll();
});
afterAll(() => knock?.close());

interface Company {
  account: Account;
  handle: string;
  /** An operator of the company, signed in. */
  operator: Person;
}

/** A company with one site (SITE) and one operator, each test its own. */
async function company(): Promise<Company> {
  const handle = `acme-${process.pid}-${++count}`;
  await knock.addUser(handle, 'Acme Ltd');
  const account = (await knock.storage.getAccountByHandle(handle))!;
  await knock.storage.makeCompany(account.id, Date.now());
  await knock.storage.addSite(account.id, SITE, Date.now());
  const { handle: operatorHandle, person: operator } = await cast.owner('Olga');
  const operatorAccount = (await knock.storage.getAccountByHandle(operatorHandle))!;
  await knock.storage.addOperator({ companyId: account.id, accountId: operatorAccount.id, role: 'operator', capacity: 3, at: Date.now() });
  return { account, handle, operator };
}

const newVisitorId = () => `v${randomBytes(12).toString('base64url')}`;

async function visitor(handle: string, options: { visitorId?: string; site?: string; monitor?: boolean; declined?: boolean } = {}): Promise<{ room: RawRoom; visitorId: string }> {
  const visitorId = options.visitorId ?? newVisitorId();
  const room = await RawRoom.join(knock.url, 'site', { as: 'visitor', handle, visitorId, site: SITE, monitor: true, ...options });
  rooms.push(room);
  await waitFor(room, (s) => s.of('status').length >= 1, 'the visitor\u2019s status');
  return { room, visitorId };
}

function operatorConsole(c: Company): SiteSession {
  const session = SiteSession.open({ endpoint: knock.url, handle: c.handle, headers: c.operator.headers });
  sessions.push(session);
  return session;
}

const listed = (session: SiteSession, visitorId: string): SiteVisitorRecord | undefined => session.snapshot().visitors.get(visitorId);
const page = (room: RawRoom, path: string, title: string) => room.send('page', { url: `${SITE}${path}`, title, referrer: '' });
const errors = (room: RawRoom) => room.snapshot().of<SiteServerMessages['error']>('error');

/**
 * Resolves once the room has handled what `room` sent so far: a page has no answer, but an answer to an invitation
 * nobody sent is refused, in order after it. (A socket's messages and its leave can reach the server in one read,
 * and the room then handles the leave first.)
 */
async function handled(room: RawRoom): Promise<void> {
  const before = errors(room).length;
  room.send('invite.answer', { accepted: true });
  await waitFor(room, (s) => s.of('error').length > before, 'the room caught up');
}

describe('SiteRoom: visitors and the operators\u2019 list', () => {
  it('lists a visitor of an allowed site for an operator and shows each page change live', async () => {
    const c = await company();
    const ops = operatorConsole(c);
    await waitFor(ops, (s) => s.connection === 'live', 'the console live');
    const { room, visitorId } = await visitor(c.handle);
    expect(room.snapshot().of('status')).toEqual([{ name: 'Acme Ltd', online: false }]);

    page(room, '/', 'Home');
    await waitFor(ops, () => listed(ops, visitorId)?.page.title === 'Home', 'the first page listed');
    page(room, '/shoes', 'Shoes');
    const record = (await waitFor(ops, () => listed(ops, visitorId)?.page.title === 'Shoes', 'the next page listed')).visitors.get(visitorId);

    expect(record).toMatchObject({ page: { url: `${SITE}/shoes`, title: 'Shoes' }, pagesSeen: 2, returning: false, invitation: 'none', connected: true, conversationId: null });
  });

  it('gives an operator who opens the console later every visitor now on the sites', async () => {
    const c = await company();
    const { room, visitorId } = await visitor(c.handle);
    page(room, '/cart', 'Cart');
    const early = operatorConsole(c);
    await waitFor(early, () => listed(early, visitorId) !== undefined, 'the visitor listed');

    const late = operatorConsole(c);
    const snap = await waitFor(late, (s) => s.connection === 'live', 'the late console live');
    expect(snap.visitors.get(visitorId)?.page.title).toBe('Cart');
  });

  it('keeps a visitor listed while they move to the next page, and drops them when they leave the site', async () => {
    const c = await company();
    const ops = operatorConsole(c);
    const first = await visitor(c.handle);
    page(first.room, '/', 'Home');
    await waitFor(ops, () => listed(ops, first.visitorId)?.connected === true, 'listed');
    const shown = recordChanges(ops, () => listed(ops, first.visitorId)?.connected ?? 'not listed');
    await first.room.leave();
    const next = await visitor(c.handle, { visitorId: first.visitorId });
    page(next.room, '/next', 'Next');
    await waitFor(ops, () => listed(ops, first.visitorId)?.page.title === 'Next', 'the next page');
    expect(listed(ops, first.visitorId)).toMatchObject({ pagesSeen: 2, connected: true });
    expect(shown.values).toEqual([true, false, true]);

    await next.room.leave();
    await waitFor(ops, () => listed(ops, first.visitorId) === undefined, 'the visitor gone after the grace period');
  });

  it('keeps the room, and a lone visitor\u2019s visit, open between two pages when nobody else is in it', async () => {
    const c = await company();
    const { room, visitorId } = await visitor(c.handle);
    page(room, '/', 'Home');
    await handled(room);
    await room.leave();
    // Within the grace period: the visit is still there, between pages (a room disposed with its last socket would
    // have forgotten it).
    const ops = operatorConsole(c);
    const snap = await waitFor(ops, (s) => s.connection === 'live', 'the console live');
    expect(snap.visitors.get(visitorId)).toMatchObject({ page: { title: 'Home' }, connected: false });
    await waitFor(ops, () => listed(ops, visitorId) === undefined, 'gone after the grace period');
  });

  it('neither lists nor stores a visitor with monitoring off, who still gets the company\u2019s status', async () => {
    const c = await company();
    const ops = operatorConsole(c);
    await waitFor(ops, (s) => s.connection === 'live', 'the console live');
    const { room, visitorId } = await visitor(c.handle, { monitor: false });
    page(room, '/private', 'Private');
    // Answered after the page, on the same socket: the page was handled by then.
    room.send('no.such.type', {});
    await waitFor(room, (s) => s.of('error').length === 1, 'the answer to the unknown message');

    expect(room.snapshot().of('status')).toHaveLength(1);
    expect(errors(room).map((e) => e.code)).toEqual(['unknown_type']);
    expect(ops.snapshot().visitors.has(visitorId)).toBe(false);
    expect(await knock.storage.visitorHistory(c.account.id, visitorId)).toEqual({ pages: 0, firstSeenAt: null });
  });
});

describe('SiteRoom: who may join', () => {
  it('refuses a visitor naming a site that is not on the company\u2019s list', async () => {
    const c = await company();
    const joined = RawRoom.join(knock.url, 'site', { as: 'visitor', handle: c.handle, visitorId: newVisitorId(), site: 'https://evil.example', monitor: true });
    await expect(joined).rejects.toMatchObject({ code: 'forbidden', message: expect.stringMatching(/https:\/\/evil\.example is not one of Acme Ltd.s sites/) });
  });

  it('refuses the site room of an account that is not a company', async () => {
    const { handle } = await cast.owner('Plain');
    const joined = RawRoom.join(knock.url, 'site', { as: 'visitor', handle, visitorId: newVisitorId(), site: SITE, monitor: true });
    await expect(joined).rejects.toMatchObject({ code: 'forbidden', message: expect.stringMatching(/is not a company/) });
  });

  it('refuses the operators\u2019 side to a signed-in account that is not an operator, and to anyone not signed in', async () => {
    const c = await company();
    const { person: mallory } = await cast.owner('Mallory');
    await expect(RawRoom.join(knock.url, 'site', { as: 'operator', handle: c.handle }, mallory.headers)).rejects.toMatchObject({ code: 'forbidden', message: 'You are not an operator of Acme Ltd.' });
    await expect(RawRoom.join(knock.url, 'site', { as: 'operator', handle: c.handle })).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it('admits the company\u2019s own account on the operators\u2019 side', async () => {
    const c = await company();
    const self = await cast.device(c.handle);
    const room = await RawRoom.join(knock.url, 'site', { as: 'operator', handle: c.handle }, self.headers);
    rooms.push(room);
    await waitFor(room, (s) => s.of('visitors').length === 1, 'the visitors list');
  });

  it('closes an operator\u2019s console when the operator logs out', async () => {
    const c = await company();
    const ops = operatorConsole(c);
    await waitFor(ops, (s) => s.connection === 'live', 'the console live');
    await c.operator.api.logout();
    // Found by the periodic session check (KNOCK_SESSION_CHECK_INTERVAL_MS, 2 s by default).
    const snap = await waitFor(ops, (s) => s.ended !== null, 'the console closed');
    expect(snap.ended?.code).toBe(CloseCode.loggedOut);
  });

  it('refuses a client seated in a company\u2019s room with what was authorized for another company\u2019s', async () => {
    const victim = await company();
    const attacker = await company();
    const { room } = await visitor(victim.handle);
    const context = { token: undefined, headers: {}, ip: '127.0.0.1' } as unknown as AuthContext;
    const seat = await matchMaker.joinById(room.room.roomId, { as: 'visitor', handle: attacker.handle, visitorId: newVisitorId(), site: SITE, monitor: true }, context);
    await expect(RawRoom.consume(knock.url, seat)).rejects.toThrow(/may not join this room/);
  });
});

describe('SiteRoom: invitations', () => {
  it('pops the invitation on the visitor\u2019s page; a decline is shown to operators and no second invitation is sent', async () => {
    const c = await company();
    const ops = operatorConsole(c);
    const { room, visitorId } = await visitor(c.handle);
    page(room, '/', 'Home');
    await waitFor(ops, () => listed(ops, visitorId) !== undefined, 'listed');

    ops.invite(visitorId);
    await waitFor(room, (s) => s.of('invited').length === 1, 'the invitation');
    expect(room.snapshot().of('invited')).toEqual([{ text: 'Can we help?' }]);
    await waitFor(ops, () => listed(ops, visitorId)?.invitation === 'pending', 'shown pending');
    room.send('invite.answer', { accepted: false });
    await waitFor(ops, () => listed(ops, visitorId)?.invitation === 'declined', 'shown declined');

    ops.invite(visitorId);
    const snap = await waitFor(ops, (s) => s.lastError !== null, 'the refusal');
    expect(snap.lastError).toMatchObject({ code: 'conflict', ref: 'invite', message: expect.stringMatching(/No thanks/) });
    expect(room.snapshot().of('invited')).toHaveLength(1);
  });

  it('does not let a visitor invite anyone', async () => {
    const c = await company();
    const target = await visitor(c.handle);
    page(target.room, '/', 'Home');
    const { room: attacker } = await visitor(c.handle);
    attacker.send('invite', { visitorId: target.visitorId, text: 'Give me your password' });
    await waitFor(attacker, (s) => s.of('error').length === 1, 'the refusal');

    expect(errors(attacker)).toEqual([{ code: 'forbidden', message: 'Only Acme Ltd\u2019s operators can invite visitors to chat.', ref: 'invite' }]);
    expect(target.room.snapshot().of('invited')).toEqual([]);
  });

  it('shows the visitor chatting in one of the company\u2019s conversations, and refuses another account\u2019s', async () => {
    const c = await company();
    const ops = operatorConsole(c);
    const { room, visitorId } = await visitor(c.handle);
    page(room, '/', 'Home');
    const mine = await new Person(knock.url).api.knock(c.handle, 'Vic');
    const { handle: other } = await cast.owner('Other');
    const theirs = await new Person(knock.url).api.knock(other, 'Vic');

    room.send('chatting', { conversationId: theirs.conversationId });
    await waitFor(room, (s) => s.of('error').length === 1, 'the refusal');
    room.send('chatting', { conversationId: mine.conversationId });
    await waitFor(ops, () => listed(ops, visitorId)?.conversationId === mine.conversationId, 'shown chatting');
    expect(errors(room).map((e) => e.code)).toEqual(['not_found']);
  });
});

describe('SiteRoom: bad input', () => {
  it('answers malformed, oversized, unknown and too many messages with an error, and the room and the connection stay', async () => {
    const c = await company();
    const ops = operatorConsole(c);
    const { room, visitorId } = await visitor(c.handle);
    room.send('page', { url: 'javascript:alert(1)', title: 'x', referrer: '' });
    room.send('page', { url: `${SITE}/big`, title: 'x'.repeat(70_000), referrer: '' });
    room.send('page', 'not an object');
    room.send('invite.answer', { accepted: 'yes' });
    room.send('page', { url: 'https://evil.example/', title: 'Elsewhere', referrer: '' });
    room.sendFrame(new Uint8Array([13, 0xc1, 0xc1]));
    await waitFor(room, (s) => s.of('error').length === 6, 'six errors');
    expect(errors(room).map((e) => e.code)).toEqual(['bad_request', 'too_large', 'bad_request', 'bad_request', 'bad_request', 'bad_request']);

    page(room, '/fine', 'Fine');
    await waitFor(ops, () => listed(ops, visitorId)?.page.title === 'Fine', 'a good page after the bad ones');
    expect(room.snapshot().closedWith).toBeNull();
    expect(await knock.storage.pageViewsOf(c.account.id, visitorId, 10)).toHaveLength(1);

    // Pages come at most socketMessages per window (30 per 10 s here; the good page above took one).
    for (let i = 0; i < 35; i++) page(room, `/fast/${i}`, `Fast ${i}`);
    const snap = await waitFor(room, (s) => s.of('error').some((e) => e.code === 'rate_limited'), 'a rate limit');
    expect(snap.closedWith).toBeNull();
  });
});

describe('SiteRoom: page views and the company\u2019s status', () => {
  it('stores page views without an IP address, and the retention purge deletes those past KNOCK_PAGEVIEW_RETENTION_DAYS', async () => {
    const c = await company();
    const ops = operatorConsole(c);
    const { room, visitorId } = await visitor(c.handle);
    room.send('page', { url: `${SITE}/a`, title: 'A', referrer: 'https://search.example/' });
    page(room, '/b', 'B');
    await waitFor(ops, () => listed(ops, visitorId)?.page.title === 'B', 'the second page');

    // Both may start in the same millisecond: in the order of their addresses.
    const views = (await knock.storage.pageViewsOf(c.account.id, visitorId, 10)).sort((x, y) => x.url.localeCompare(y.url));
    expect(views.map((v) => [v.url, v.title, v.referrer, v.endedAt === null])).toEqual([
      [`${SITE}/a`, 'A', 'https://search.example/', false],
      [`${SITE}/b`, 'B', '', true],
    ]);
    expect(Object.keys(views[0]!).sort()).toEqual(['companyId', 'endedAt', 'id', 'referrer', 'startedAt', 'title', 'url', 'visitorId']);

    const retention = new Retention({ what: 'page views', purge: (before) => knock.storage.purgePageViews(before), clock: systemClock, logger: createLogger('silent'), retentionDays: 30 });
    const newest = Math.max(...views.map((v) => v.startedAt));
    await retention.purge(newest + 29 * DAY_MS);
    expect(await knock.storage.pageViewsOf(c.account.id, visitorId, 10)).toHaveLength(2);
    expect(await retention.purge(newest + 30 * DAY_MS + 1)).toBeGreaterThanOrEqual(2);
    expect(await knock.storage.pageViewsOf(c.account.id, visitorId, 10)).toEqual([]);
    await retention.close();
  });

  it('tells visitors the company is online while an operator’s console is open (its URL and its site), and offline after', async () => {
    const c = await company();
    const { room } = await visitor(c.handle);
    expect(room.snapshot().of('status')).toEqual([{ name: 'Acme Ltd', online: false }]);
    const status = () => room.snapshot().of<SiteServerMessages['status']>('status').at(-1)?.online;

    // The console holds both: the company's URL (its UserRoom: the company is present) and its site's room.
    const url = await RawRoom.join(knock.url, 'user', { handle: c.handle }, c.operator.headers);
    const session = operatorConsole(c);
    await waitFor(room, () => status() === true, 'online');
    await url.leave();
    await waitFor(room, () => status() === false, 'offline once the company’s URL has no device');
    rooms.push(await RawRoom.join(knock.url, 'user', { handle: c.handle }, c.operator.headers));
    await waitFor(room, () => status() === true, 'online again');
    await session.close();
    await waitFor(room, () => status() === false, 'offline once no operator’s console is in the site’s room');
  });
});
