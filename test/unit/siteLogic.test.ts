/**
 * SiteLogic without Colyseus (issue 19): the operators' live "Visitors" list, page views, the grace between two pages,
 * invitations, and what is never listed or stored. The clock and timers are moved by hand; storage is real in-memory
 * SQLite; the hub is a fake of `isOnline` (presence events are handed to the logic as the room hands them; the Hub
 * itself is exercised by the integration tests).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../engine/logger.ts';
import { SqliteStorage } from '../../adapters/storage/sqlite/SqliteStorage.ts';
import type { Account, PageView } from '../../engine/ports/storage.ts';
import type { SiteServerMessages, SiteVisitorRecord } from '../../engine/protocol.ts';
import { SiteLogic, type SiteDeps, type SiteJoin } from '../../rooms/site/siteLogic.ts';
import { ManualClock, T0, makePeer, roomyRate, settle, type TestPeer } from '../support/roomHarness.ts';

type SPeer = TestPeer<SiteServerMessages>;

const COMPANY = { handle: 'acme', displayName: 'Acme Ltd' };
const DAY_MS = 24 * 3600_000;
const SITE = 'https://shop.example';
const GRACE_MS = 15_000;
const VISITOR = 'visitor-aaaaaaaaaaaa';
const OTHER = 'visitor-bbbbbbbbbbbb';

/** A visitor's stored page views, oldest first (ties in the order of their ids, which the test hands out in order). */
async function views(visitorId: string): Promise<PageView[]> {
  const stored = await f.storage.pageViewsOf(f.company.id, visitorId, 100);
  return stored.sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));
}

/** A page view kept from before the test's visit. */
async function earlierView(id: string, startedAt: number, endedAt: number): Promise<void> {
  await f.storage.recordPageView({ id, companyId: f.company.id, visitorId: VISITOR, url: `${SITE}/`, title: '', referrer: '', startedAt });
  await f.storage.endPageView(id, endedAt);
}

class FakeHub {
  online = false;
  async isOnline(handle: string): Promise<boolean> {
    return handle === COMPANY.handle && this.online;
  }
}

interface Fixture {
  clock: ManualClock;
  storage: SqliteStorage;
  company: Account;
  hub: FakeHub;
  logic: SiteLogic;
  busy: boolean[];
}

let f: Fixture;
let peerCount = 0;

async function setup(limits: Partial<SiteDeps['limits']> = {}): Promise<Fixture> {
  const clock = new ManualClock();
  const storage = SqliteStorage.open({ file: ':memory:' });
  const company = await storage.createAccount({ handle: COMPANY.handle, displayName: COMPANY.displayName, passwordHash: 'not-a-hash', at: T0 - DAY_MS });
  await storage.makeCompany(company.id, T0 - DAY_MS);
  const hub = new FakeHub();
  const busy: boolean[] = [];
  let ids = 0;
  const logic = new SiteLogic(
    {
      storage,
      hub,
      clock,
      timers: clock,
      logger: createLogger('silent'),
      limits: { graceMs: GRACE_MS, maxVisitors: 100, invitesPerOperator: roomyRate, ...limits },
      onBusy: (b) => busy.push(b),
      newId: () => `view-${String(++ids).padStart(4, '0')}`,
    },
    company,
  );
  f = { clock, storage, company, hub, logic, busy };
  return f;
}

afterEach(async () => {
  await f.logic.dispose();
  await f.storage.close();
});

async function operator(opts: { rates?: Parameters<typeof makePeer>[3]; accountId?: string } = {}): Promise<SPeer> {
  const peer = makePeer<SiteServerMessages>(`op-${++peerCount}`, { role: 'owner', participantId: null, accountId: opts.accountId ?? 'op-account', sessionHash: 'op-session', name: 'Olga' }, f.clock, opts.rates);
  await f.logic.join(peer, { as: 'operator' });
  return peer;
}

/** A person account that is an operator of the company (status online, capacity 2). */
async function operatorAccount(handle: string): Promise<Account> {
  const account = await f.storage.createAccount({ handle, displayName: handle, passwordHash: 'not-a-hash', at: T0 });
  await f.storage.addOperator({ companyId: f.company.id, accountId: account.id, role: 'operator', capacity: 2, at: T0 });
  return account;
}

async function visitor(opts: Partial<Extract<SiteJoin, { as: 'visitor' }>> & { rates?: Parameters<typeof makePeer>[3] } = {}): Promise<SPeer> {
  const { rates, ...join } = opts;
  const peer = makePeer<SiteServerMessages>(`tab-${++peerCount}`, { role: 'visitor', participantId: null, accountId: null, sessionHash: null, name: '' }, f.clock, rates);
  await f.logic.join(peer, { as: 'visitor', visitorId: VISITOR, site: SITE, monitor: true, declined: false, ...join });
  return peer;
}

async function visit(peer: SPeer, path: string, title = `Title of ${path}`): Promise<void> {
  await f.logic.dispatch(peer, 'page', { url: `${SITE}${path}`, title, referrer: '' });
  await settle();
}

/** A fresh room with an operator and a visitor listed on the site's home page. */
async function listedVisitor(): Promise<{ op: SPeer; tab: SPeer }> {
  await setup();
  const op = await operator();
  const tab = await visitor();
  await visit(tab, '/');
  return { op, tab };
}

/** The newest record the operator was sent about `visitorId`. */
function lastRecord(op: SPeer, visitorId = VISITOR): SiteVisitorRecord | undefined {
  return op.transport.of('visitor').filter((r) => r.visitorId === visitorId).at(-1);
}

const errorsOf = (peer: SPeer) => peer.transport.of('error');

describe('SiteLogic: the Visitors list', () => {
  it('gives an operator the company status and the visitors now on the sites when it joins', async () => {
    await setup();
    const tab = await visitor();
    await visit(tab, '/pricing', 'Pricing');
    const op = await operator();

    expect(op.transport.types()).toEqual(['status', 'visitors', 'chats']);
    expect(op.transport.of('status')).toEqual([{ name: 'Acme Ltd', online: false }]);
    const [list] = op.transport.of('visitors');
    expect(list?.visitors).toEqual([
      {
        visitorId: VISITOR,
        page: { url: `${SITE}/pricing`, title: 'Pricing', referrer: '' },
        pageSince: T0,
        pagesSeen: 1,
        returning: false,
        conversationId: null,
        invitation: 'none',
        connected: true,
      },
    ]);
    expect(tab.transport.of('status')).toEqual([{ name: 'Acme Ltd', online: false }]);
  });

  it('lists a visitor only once it reported a page', async () => {
    await setup();
    const op = await operator();
    await visitor();
    await settle();

    expect(op.transport.of('visitor')).toEqual([]);
  });

  it('shows each new page live, ending the previous page view and counting pages seen', async () => {
    const { op, tab } = await listedVisitor();
    f.clock.advance(42_000);
    await visit(tab, '/shoes', 'Shoes');

    expect(lastRecord(op)).toMatchObject({ page: { url: `${SITE}/shoes`, title: 'Shoes' }, pageSince: T0 + 42_000, pagesSeen: 2 });
    expect((await views(VISITOR)).map((v) => [v.url, v.startedAt, v.endedAt])).toEqual([
      [`${SITE}/`, T0, T0 + 42_000],
      [`${SITE}/shoes`, T0 + 42_000, null],
    ]);
  });

  it('stores page views with the company, the visitor id, the page and the referrer, and nothing else', async () => {
    await setup();
    const tab = await visitor();
    await f.logic.dispatch(tab, 'page', { url: `${SITE}/a?q=1`, title: 'A', referrer: 'https://search.example/?q=acme' });
    await settle();

    expect(await views(VISITOR)).toEqual([
      { id: 'view-0001', companyId: f.company.id, visitorId: VISITOR, url: `${SITE}/a?q=1`, title: 'A', referrer: 'https://search.example/?q=acme', startedAt: T0, endedAt: null },
    ]);
  });

  it('counts the pages kept from earlier visits and calls a visitor first seen over 30 minutes before this visit returning', async () => {
    await setup();
    await earlierView('old', T0 - 31 * 60_000, T0 - 30 * 60_000);
    const op = await operator();
    await visit(await visitor(), '/again');

    expect(lastRecord(op)).toMatchObject({ pagesSeen: 2, returning: true });
  });

  it('does not call a visitor returning whose earlier pages are from this same half hour (a room made anew mid-visit)', async () => {
    await setup();
    await earlierView('recent', T0 - 5 * 60_000, T0 - 60_000);
    const op = await operator();
    await visit(await visitor(), '/next');

    expect(lastRecord(op)).toMatchObject({ pagesSeen: 2, returning: false });
  });

  it('shows the newest page of a visitor with two tabs, and the other tab\u2019s page when that one closes', async () => {
    await setup();
    const op = await operator();
    const first = await visitor();
    await visit(first, '/home');
    f.clock.advance(1000);
    const second = await visitor();
    await visit(second, '/cart');
    expect(lastRecord(op)?.page.url).toBe(`${SITE}/cart`);

    f.logic.leave(second.id);
    await settle();
    expect(lastRecord(op)).toMatchObject({ page: { url: `${SITE}/home` }, connected: true });
    expect((await views(VISITOR)).find((v) => v.url === `${SITE}/cart`)?.endedAt).toBe(T0 + 1000);
  });

  it('writes a fast visitor\u2019s page views in order, so none is left open', async () => {
    await setup();
    const tab = await visitor();
    const pages = ['/1', '/2', '/3'].map((p) => f.logic.dispatch(tab, 'page', { url: `${SITE}${p}`, title: p, referrer: '' }));
    f.logic.leave(tab.id);
    await Promise.all(pages);
    await settle();

    expect((await views(VISITOR)).map((v) => v.endedAt)).toEqual([T0, T0, T0]);
  });
});

describe('SiteLogic: moving between pages, and leaving', () => {
  it('keeps a visitor whose last tab closed listed as not connected for the grace period, then tells operators they are gone', async () => {
    const { op, tab } = await listedVisitor();
    f.logic.leave(tab.id);
    await settle();
    expect(lastRecord(op)?.connected).toBe(false);
    expect((await views(VISITOR))[0]?.endedAt).toBe(T0);

    f.clock.advance(GRACE_MS - 1);
    expect(op.transport.of('visitor.gone')).toEqual([]);
    f.clock.advance(1);
    expect(op.transport.of('visitor.gone')).toEqual([{ visitorId: VISITOR }]);
    expect(f.logic.visitorCount).toBe(0);
    expect(f.busy).toEqual([true, false]);
  });

  it('continues the visit when the visitor opens the next page within the grace period', async () => {
    await setup();
    const op = await operator();
    const page1 = await visitor();
    await visit(page1, '/');
    f.logic.leave(page1.id);
    f.clock.advance(800);
    const page2 = await visitor();
    await visit(page2, '/next');
    f.clock.advance(GRACE_MS * 2);

    expect(op.transport.of('visitor.gone')).toEqual([]);
    expect(lastRecord(op)).toMatchObject({ page: { url: `${SITE}/next` }, pagesSeen: 2, connected: true });
    expect(op.transport.of('visitor').map((r) => r.connected)).toEqual([true, false, true, true]);
  });

  it('says nothing to operators about a visitor who left before reporting a page', async () => {
    await setup();
    const op = await operator();
    const tab = await visitor();
    f.logic.leave(tab.id);
    f.clock.advance(GRACE_MS);

    expect(op.transport.types()).toEqual(['status', 'visitors', 'chats']);
    expect(f.logic.visitorCount).toBe(0);
  });
});

describe('SiteLogic: invitations', () => {
  it('pops the invitation ("Can we help?") on every tab of the visitor and shows it pending', async () => {
    await setup();
    const op = await operator();
    const tab1 = await visitor();
    const tab2 = await visitor();
    await visit(tab1, '/');
    await f.logic.dispatch(op, 'invite', { visitorId: VISITOR });

    expect(tab1.transport.of('invited')).toEqual([{ text: 'Can we help?' }]);
    expect(tab2.transport.of('invited')).toEqual([{ text: 'Can we help?' }]);
    expect(lastRecord(op)?.invitation).toBe('pending');
    expect(errorsOf(op)).toEqual([]);
  });

  it('sends the operator\u2019s own words when given', async () => {
    const { op, tab } = await listedVisitor();
    await f.logic.dispatch(op, 'invite', { visitorId: VISITOR, text: 'Looking for shoes?' });

    expect(tab.transport.of('invited')).toEqual([{ text: 'Looking for shoes?' }]);
  });

  it('shows an accepted invitation to operators', async () => {
    const { op, tab } = await listedVisitor();
    await f.logic.dispatch(op, 'invite', { visitorId: VISITOR });
    await f.logic.dispatch(tab, 'invite.answer', { accepted: true });

    expect(lastRecord(op)?.invitation).toBe('accepted');
  });

  it('does not invite again a visitor who declined during this visit, and says why', async () => {
    const { op, tab } = await listedVisitor();
    await f.logic.dispatch(op, 'invite', { visitorId: VISITOR });
    await f.logic.dispatch(tab, 'invite.answer', { accepted: false });
    expect(lastRecord(op)?.invitation).toBe('declined');

    await f.logic.dispatch(op, 'invite', { visitorId: VISITOR });
    expect(errorsOf(op)).toEqual([{ code: 'conflict', message: expect.stringMatching(/No thanks.*not asked again/), ref: 'invite' }]);
    expect(tab.transport.of('invited')).toHaveLength(1);
  });

  it('remembers a decline across pages: a visitor joining with `declined` is shown declined and not invited', async () => {
    await setup();
    const op = await operator();
    const tab = await visitor({ declined: true });
    await visit(tab, '/');
    expect(lastRecord(op)?.invitation).toBe('declined');

    await f.logic.dispatch(op, 'invite', { visitorId: VISITOR });
    expect(errorsOf(op).map((e) => e.code)).toEqual(['conflict']);
    expect(tab.transport.of('invited')).toEqual([]);
  });

  it('refuses a second invitation while one is open, and one to a visitor who is not there', async () => {
    const { op, tab } = await listedVisitor();
    await f.logic.dispatch(op, 'invite', { visitorId: VISITOR });
    await f.logic.dispatch(op, 'invite', { visitorId: VISITOR });
    await f.logic.dispatch(op, 'invite', { visitorId: OTHER });
    f.logic.leave(tab.id);
    await f.logic.dispatch(op, 'invite', { visitorId: VISITOR });

    expect(errorsOf(op).map((e) => [e.code, e.message])).toEqual([
      ['conflict', 'This visitor has an invitation open already.'],
      ['not_found', 'This visitor is not on your site any more.'],
      ['not_found', 'This visitor is not on your site any more.'],
    ]);
    expect(tab.transport.of('invited')).toHaveLength(1);
  });

  it('lets only operators invite and only visitors answer or report pages', async () => {
    const { op, tab } = await listedVisitor();
    await f.logic.dispatch(tab, 'invite', { visitorId: VISITOR });
    await f.logic.dispatch(op, 'page', { url: `${SITE}/x`, title: '', referrer: '' });
    await f.logic.dispatch(op, 'invite.answer', { accepted: true });

    expect(errorsOf(tab).map((e) => [e.code, e.ref])).toEqual([['forbidden', 'invite']]);
    expect(errorsOf(op).map((e) => [e.code, e.ref])).toEqual([
      ['forbidden', 'page'],
      ['forbidden', 'invite.answer'],
    ]);
    expect(tab.transport.of('invited')).toEqual([]);
  });

  it('refuses an answer when no invitation is open', async () => {
    await setup();
    const tab = await visitor();
    await visit(tab, '/');
    await f.logic.dispatch(tab, 'invite.answer', { accepted: false });

    expect(errorsOf(tab).map((e) => e.code)).toEqual(['conflict']);
  });

  it('limits the invitations of one operator account across its tabs', async () => {
    await setup({ invitesPerOperator: { perWindow: 2, windowMs: 60_000 } });
    const laptop = await operator();
    const phone = await operator();
    for (const id of [VISITOR, OTHER]) await visit(await visitor({ visitorId: id }), '/');
    await f.logic.dispatch(laptop, 'invite', { visitorId: VISITOR });
    await f.logic.dispatch(phone, 'invite', { visitorId: OTHER });
    await f.logic.dispatch(phone, 'invite', { visitorId: OTHER });

    expect(errorsOf(laptop)).toEqual([]);
    expect(errorsOf(phone).map((e) => e.code)).toEqual(['rate_limited']);
  });
});

describe('SiteLogic: chatting', () => {
  it('shows the visitor chatting in one of the company\u2019s conversations, and invites no more', async () => {
    const { op, tab } = await listedVisitor();
    const { conversation } = await f.storage.createConversation({ ownerAccountId: f.company.id, tokenHash: 'hash-vic', visitorName: 'Vic', at: T0 });
    await f.logic.dispatch(tab, 'chatting', { conversationId: conversation.id });
    expect(lastRecord(op)?.conversationId).toBe(conversation.id);

    await f.logic.dispatch(op, 'invite', { visitorId: VISITOR });
    expect(errorsOf(op).map((e) => e.message)).toEqual(['This visitor is chatting already.']);
  });

  it('refuses a conversation that does not exist or is another account\u2019s', async () => {
    const { op, tab } = await listedVisitor();
    const other = await f.storage.createAccount({ handle: 'bob', displayName: 'Bob', passwordHash: 'not-a-hash', at: T0 });
    const { conversation: theirs } = await f.storage.createConversation({ ownerAccountId: other.id, tokenHash: 'hash-vic', visitorName: 'Vic', at: T0 });
    await f.logic.dispatch(tab, 'chatting', { conversationId: theirs.id });
    await f.logic.dispatch(tab, 'chatting', { conversationId: 'conv-missing' });

    expect(errorsOf(tab).map((e) => e.code)).toEqual(['not_found', 'not_found']);
    expect(lastRecord(op)?.conversationId).toBeNull();
  });
});

describe('SiteLogic: what is not monitored', () => {
  it('gives a visitor with monitoring off the status only: not listed, nothing stored, its pages ignored', async () => {
    await setup();
    const op = await operator();
    const tab = await visitor({ monitor: false });
    await visit(tab, '/secret');
    await f.logic.dispatch(tab, 'chatting', { conversationId: 'conv-x' });
    await f.logic.dispatch(tab, 'invite.answer', { accepted: true });
    await f.logic.dispatch(op, 'invite', { visitorId: VISITOR });

    expect(tab.transport.types()).toEqual(['status']);
    expect(op.transport.of('visitor')).toEqual([]);
    expect(await f.storage.visitorHistory(f.company.id, VISITOR)).toEqual({ pages: 0, firstSeenAt: null });
    expect(f.logic.visitorCount).toBe(0);
    expect(f.busy).toEqual([]);
  });

  it('treats new visitors over the cap as not monitored, while a monitored visitor\u2019s next tab still is', async () => {
    await setup({ maxVisitors: 1 });
    const op = await operator();
    const first = await visitor();
    await visit(first, '/');
    const overCap = await visitor({ visitorId: OTHER });
    await visit(overCap, '/');
    const firstAgain = await visitor();
    await visit(firstAgain, '/two');

    expect(op.transport.of('visitor').map((r) => r.visitorId)).toEqual([VISITOR, VISITOR]);
    expect(await views(OTHER)).toEqual([]);
    expect(overCap.transport.types()).toEqual(['status']);
    expect(errorsOf(overCap)).toEqual([]);
  });

  it('refuses a page of another origin than the visit\u2019s site, stores nothing, and keeps the visitor connected', async () => {
    await setup();
    const op = await operator();
    const tab = await visitor();
    await f.logic.dispatch(tab, 'page', { url: 'https://evil.example/phish', title: 'Evil', referrer: '' });
    await f.logic.dispatch(tab, 'page', { url: 'http://shop.example/', title: 'Other scheme', referrer: '' });
    await settle();

    expect(errorsOf(tab).map((e) => [e.code, e.message, e.ref])).toEqual([
      ['bad_request', 'This page is not on https://shop.example, the site this visit is on.', 'page'],
      ['bad_request', 'This page is not on https://shop.example, the site this visit is on.', 'page'],
    ]);
    expect(await f.storage.visitorHistory(f.company.id, VISITOR)).toEqual({ pages: 0, firstSeenAt: null });
    expect(op.transport.of('visitor')).toEqual([]);
    expect(tab.transport.closes).toEqual([]);

    await visit(tab, '/ok');
    expect(lastRecord(op)?.page.url).toBe(`${SITE}/ok`);
  });

  it('limits how fast one tab reports pages', async () => {
    await setup();
    const tab = await visitor({ rates: { messages: { perWindow: 2, windowMs: 10_000 } } });
    for (const p of ['/1', '/2', '/3']) await visit(tab, p);

    expect(errorsOf(tab).map((e) => e.code)).toEqual(['rate_limited']);
    expect(await views(VISITOR)).toHaveLength(2);
  });
});

describe('SiteLogic: the company\u2019s status', () => {
  it('tells visitors and operators when the company comes online and goes offline', async () => {
    await setup();
    const op = await operator({ accountId: (await operatorAccount('olga')).id });
    const tab = await visitor();
    await settle();
    f.logic.onPresenceEvent({ type: 'online', online: true });
    f.logic.onPresenceEvent({ type: 'online', online: false });

    for (const peer of [op, tab]) {
      expect(peer.transport.of('status').map((s) => s.online)).toEqual([false, true, false]);
    }
  });

  it('tells a visitor who joins while an operator is online that the company is online', async () => {
    await setup();
    f.hub.online = true;
    await operator({ accountId: (await operatorAccount('olga')).id });
    await settle();
    const tab = await visitor();

    expect(tab.transport.of('status')).toEqual([{ name: 'Acme Ltd', online: true }]);
  });

  it('says the company is offline while its only operator here is away, or when nobody of the team is here', async () => {
    await setup();
    f.hub.online = true;
    const tab = await visitor();
    const olga = await operatorAccount('olga');
    const op = await operator({ accountId: olga.id });
    await settle();
    await f.storage.setOperatorStatus(f.company.id, olga.id, 'away');
    await f.logic.onTeamChanged();
    await f.storage.setOperatorStatus(f.company.id, olga.id, 'online');
    await f.logic.onTeamChanged();
    f.logic.leave(op.id);
    // A console of someone who is no operator (the company's own login) makes nobody available either.
    await operator({ accountId: f.company.id });
    await settle();

    expect(tab.transport.of('status').map((s) => s.online)).toEqual([false, true, false, true, false]);
  });

  it('closes the operator sockets of a session that logged out', async () => {
    await setup();
    const op = await operator();
    const tab = await visitor();
    f.logic.onPresenceEvent({ type: 'sessionEnded', sessionHash: 'op-session' });

    expect(op.transport.closes).toHaveLength(1);
    expect(tab.transport.closes).toEqual([]);
  });
});
