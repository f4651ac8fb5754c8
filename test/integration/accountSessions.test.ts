/**
 * Issue 22, Settings → Sessions and Password over the real API, with real sockets: the owner sees their own live
 * sessions (device, address, times, which one is this browser), ends one or all, and changes their password; every
 * session that ends has its sockets closed at once (the Hub's `sessionEnded`), not at the session watch's next round,
 * which these servers run only every ten minutes. And the attacks: another account's sessions are never listed nor
 * ended, a wrong current password is refused and counted by the login throttle, a mail device or a company's console
 * reaches none of it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LAST_SEEN_EVERY_MS, newDeviceToken, secretHash } from '../../engine/auth.ts';
import { SESSION_COOKIE } from '../../engine/cookies.ts';
import { CloseCode } from '../../engine/errors.ts';
import { SiteSession } from '../../client/src/sdk/siteSession.ts';
import { auditAnswer, sessionsAnswer, type AuditEntryView, type SessionView } from '../../engine/protocol.ts';
import { Cast, NO_PINGS, testRateLimits } from '../support/cast.ts';
import { Person, refusal, waitFor } from '../support/clients.ts';
import { post, setCookies } from '../support/httpClient.ts';
import { startKnock, TEST_PASSWORD, type TestKnock } from '../support/knockServer.ts';
import { SkewedClock } from '../support/skewedClock.ts';

const CHROME_131 = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const CHROME_132 = CHROME_131.replace('131.0.0.0', '132.0.0.0');
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';
/** "At once": well within this, while the periodic check would take ten minutes. */
const AT_ONCE_MS = 3000;
const NEW_PASSWORD = 'a much newer password';

let knock: TestKnock;
let cast: Cast;
const clock = new SkewedClock();

beforeAll(async () => {
  knock = await startKnock(
    {
      pingIntervalMs: NO_PINGS,
      // The throttle of one account from one address: the wrong current passwords below run into it.
      rateLimits: testRateLimits({ loginsPerHandleAndIp: { perWindow: 6, windowMs: 600_000 } }),
      sessionCheckIntervalMs: 600_000,
    },
    { clock },
  );
  cast = new Cast(knock);
});
afterEach(() => cast.closeAll());
afterAll(() => knock?.close());

/** A browser of `handle` signed in with this User-Agent: a Person holding its session cookie. */
async function browserOf(handle: string, userAgent: string, password = TEST_PASSWORD): Promise<Person> {
  const res = await post(knock.url, '/_/api/login', { handle, password }, { headers: { 'user-agent': userAgent } });
  expect(res.status).toBe(200);
  const person = cast.visitor();
  person.cookies.set(SESSION_COOKIE, setCookies(res).get(SESSION_COOKIE)!.value);
  return person;
}

async function sessionsOf(person: Person): Promise<SessionView[]> {
  return (await person.api.request('GET', '/_/api/security/sessions', undefined, sessionsAnswer)).sessions;
}

async function auditOf(handle: string): Promise<AuditEntryView[]> {
  const account = (await knock.storage.getAccountByHandle(handle))!;
  return (await knock.audit.page(account.id)).entries;
}

let owners = 0;
/** A new owner who never signed in yet. */
async function newOwner(name: string): Promise<string> {
  const handle = `${name.toLowerCase()}-${process.pid}-${++owners}`;
  await knock.addUser(handle, name);
  return handle;
}

/** The owner's console socket of `person`, live. */
async function liveConsole(person: Person, handle: string) {
  const console_ = person.ownerSession(handle);
  await waitFor(console_, (s) => s.connection === 'live', 'owner console live');
  return console_;
}

describe('Settings → Sessions', () => {
  it('lists the owner\u2019s live sessions with their browser, address and times, this browser marked current', async () => {
    const handle = await newOwner('Alice');
    const laptop = await browserOf(handle, CHROME_131);
    await browserOf(handle, FIREFOX);
    const listed = await sessionsOf(laptop);
    expect(listed).toHaveLength(2);
    const byDevice = new Map(listed.map((s) => [s.device, s]));
    expect(byDevice.get('Chrome 131 on Linux')).toMatchObject({ ip: '127.0.0.1', current: true });
    expect(byDevice.get('Firefox 133 on Windows')).toMatchObject({ ip: '127.0.0.1', current: false });
    for (const s of listed) {
      expect(s.lastSeenAt).toBeGreaterThanOrEqual(s.createdAt);
      // The public id is no secret of the session: not its cookie, not the cookie's hash.
      expect(s.id).not.toBe(laptop.sessionToken);
      expect(JSON.stringify(s)).not.toContain(laptop.sessionToken!);
    }
  });

  it('never lists another account\u2019s sessions, and refuses to end one of them (404), which stays signed in', async () => {
    const alice = await browserOf(await newOwner('Alice'), CHROME_131);
    const bobHandle = await newOwner('Bob');
    const bob = await browserOf(bobHandle, FIREFOX);
    const bobsId = (await sessionsOf(bob))[0]!.id;
    expect((await sessionsOf(alice)).map((s) => s.id)).not.toContain(bobsId);

    const refused = await refusal(alice.api.request('DELETE', `/_/api/security/sessions/${bobsId}`, undefined, null));
    expect(refused).toMatchObject({ status: 404, message: 'This session has already ended.' });
    expect((await sessionsOf(bob)).map((s) => s.id)).toEqual([bobsId]);
  });

  it('ends one session: that browser\u2019s live socket closes at once, logged out; this one stays', async () => {
    const handle = await newOwner('Alice');
    const laptop = await browserOf(handle, CHROME_131);
    const phone = await browserOf(handle, FIREFOX);
    const laptopConsole = await liveConsole(laptop, handle);
    const phoneConsole = await liveConsole(phone, handle);
    const phoneId = (await sessionsOf(laptop)).find((s) => !s.current)!.id;

    const after = await laptop.api.request('DELETE', `/_/api/security/sessions/${phoneId}`, undefined, sessionsAnswer);
    expect(after.sessions.map((s) => s.device)).toEqual(['Chrome 131 on Linux']);
    await waitFor(phoneConsole, (s) => s.connection === 'closed', 'the phone\u2019s console closed', AT_ONCE_MS);
    expect(phoneConsole.endReason).toMatchObject({ code: CloseCode.loggedOut });
    expect(laptopConsole.snapshot().connection).toBe('live');
    expect((await refusal(sessionsOf(phone))).status).toBe(401);
    expect((await auditOf(handle)).map((e) => e.kind)).toContain('session.ended');
  });

  it('logs out everywhere: every session ends, this one too, its cookie is cleared and every socket closes at once', async () => {
    const handle = await newOwner('Alice');
    const laptop = await browserOf(handle, CHROME_131);
    const phone = await browserOf(handle, FIREFOX);
    const sockets = [await liveConsole(laptop, handle), await liveConsole(phone, handle)];

    const res = await post(knock.url, '/_/api/security/logout-everywhere', {}, { headers: laptop.headers });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ended: 2 });
    expect(setCookies(res).get(SESSION_COOKIE)).toMatchObject({ value: '', attributes: expect.any(Map) });
    expect(setCookies(res).get(SESSION_COOKIE)!.attributes.get('max-age')).toBe('0');
    for (const socket of sockets) {
      await waitFor(socket, (s) => s.connection === 'closed', 'a console closed', AT_ONCE_MS);
      expect(socket.endReason).toMatchObject({ code: CloseCode.loggedOut });
    }
    for (const person of [laptop, phone]) expect((await refusal(sessionsOf(person))).status).toBe(401);
    const ended = (await auditOf(handle)).find((e) => e.kind === 'sessions.ended');
    expect(ended?.detail).toMatchObject({ count: 2 });
  });

  it('closes at once the company console an operator has open, when the operator logs out everywhere', async () => {
    const company = await newOwner('Acme');
    const { id: companyId } = (await knock.storage.getAccountByHandle(company))!;
    await knock.storage.makeCompany(companyId, Date.now());
    const operatorHandle = await newOwner('Olga');
    const { id: operatorId } = (await knock.storage.getAccountByHandle(operatorHandle))!;
    await knock.storage.addOperator({ companyId, accountId: operatorId, role: 'operator', capacity: 3, at: Date.now() });
    const operator = await browserOf(operatorHandle, CHROME_131);
    const desk = SiteSession.open({ endpoint: knock.url, handle: company, headers: operator.headers });
    try {
      await waitFor(desk, (s) => s.connection === 'live', 'the company console live');
      await operator.api.request('POST', '/_/api/security/logout-everywhere', {}, null);
      const ended = await waitFor(desk, (s) => s.ended !== null, 'the company console closed', AT_ONCE_MS);
      expect(ended.ended?.code).toBe(CloseCode.loggedOut);
    } finally {
      await desk.close();
    }
  });

  it('records a new device the first time a browser signs in to the account, not a browser seen before in another version', async () => {
    const handle = await newOwner('Alice');
    const kinds = async () => (await auditOf(handle)).filter((e) => e.kind === 'device.new' || e.kind === 'login');
    await browserOf(handle, CHROME_131);
    await browserOf(handle, CHROME_132);
    expect((await kinds()).filter((e) => e.kind === 'device.new')).toEqual([]);
    await browserOf(handle, FIREFOX);
    const [newest] = await kinds();
    expect(newest).toMatchObject({ kind: 'device.new', device: 'Firefox 133 on Windows', ip: '127.0.0.1', detail: { device: 'Firefox 133 on Windows' } });
  });

  it('refreshes a session\u2019s last use when it is used, at most every five minutes', async () => {
    const handle = await newOwner('Alice');
    const laptop = await browserOf(handle, CHROME_131);
    const [first] = await sessionsOf(laptop);
    expect(first!.lastSeenAt).toBe(first!.createdAt);
    clock.advance(LAST_SEEN_EVERY_MS - 60_000);
    expect((await sessionsOf(laptop))[0]!.lastSeenAt).toBe(first!.createdAt);
    clock.advance(60_000);
    const seen = (await sessionsOf(laptop))[0]!.lastSeenAt;
    expect(seen).toBeGreaterThanOrEqual(first!.createdAt + LAST_SEEN_EVERY_MS);
    clock.advance(60_000);
    expect((await sessionsOf(laptop))[0]!.lastSeenAt).toBe(seen);
  });

  it('is the person\u2019s own: refused without a session, to a mail device, and to a console acting for a company', async () => {
    const { handle: companyAdmin, person } = await cast.owner('Ann');
    expect((await refusal(cast.visitor().api.request('GET', '/_/api/security/sessions', undefined, null))).status).toBe(401);
    // A mail device's token (`npx knock mail login`) that works for mail reaches none of it.
    const account = (await knock.storage.getAccountByHandle(companyAdmin))!;
    const token = newDeviceToken();
    await knock.storage.createDeviceToken({ accountId: account.id, name: 'laptop', tokenHash: secretHash(token), at: Date.now() });
    for (const path of ['/_/api/security/sessions', '/_/api/security/audit']) {
      expect((await fetch(`${knock.url}${path}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    }
    expect((await post(knock.url, '/_/api/security/logout-everywhere', {}, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    await knock.companies.add({ handle: `acme-${process.pid}`, name: 'Acme', adminHandle: companyAdmin });
    person.api.setAccount(`acme-${process.pid}`);
    const refused = await refusal(person.api.request('GET', '/_/api/security/sessions', undefined, null));
    expect(refused).toMatchObject({ status: 403, message: 'Your password, sessions and audit log are your own: open them from your own console.' });
  });
});

describe('Settings → Password', () => {
  const change = (person: Person, currentPassword: string, newPassword: string) =>
    person.api.request('POST', '/_/api/security/password', { currentPassword, newPassword }, null);

  it('keeps this session and ends every other at once, sockets closed; the new password signs in, the old does not', async () => {
    const handle = await newOwner('Alice');
    const laptop = await browserOf(handle, CHROME_131);
    const phone = await browserOf(handle, FIREFOX);
    const laptopConsole = await liveConsole(laptop, handle);
    const phoneConsole = await liveConsole(phone, handle);

    expect(await change(laptop, TEST_PASSWORD, NEW_PASSWORD)).toEqual({ ended: 1 });
    await waitFor(phoneConsole, (s) => s.connection === 'closed', 'the phone\u2019s console closed', AT_ONCE_MS);
    expect(phoneConsole.endReason).toMatchObject({ code: CloseCode.loggedOut });
    expect(laptopConsole.snapshot().connection).toBe('live');
    expect((await sessionsOf(laptop)).map((s) => s.current)).toEqual([true]);

    expect((await refusal(cast.visitor().api.login(handle, TEST_PASSWORD))).status).toBe(401);
    await cast.visitor().api.login(handle, NEW_PASSWORD);
    const kinds = (await auditOf(handle)).map((e) => e.kind);
    expect(kinds).toContain('password.changed');
    expect(kinds).toContain('sessions.ended');
  });

  it('refuses a wrong current password with a clear error, changes nothing, and counts it as a failed login', async () => {
    const handle = await newOwner('Alice');
    const laptop = await browserOf(handle, CHROME_131);
    const phone = await browserOf(handle, FIREFOX);
    const refused = await refusal(change(laptop, 'not my password', NEW_PASSWORD));
    expect(refused).toMatchObject({ status: 403, message: 'Your current password is not this one. Nothing was changed.' });
    expect(await sessionsOf(phone)).toHaveLength(2);
    expect((await auditOf(handle))[0]).toMatchObject({ kind: 'login.failed', detail: { during: 'password change' } });
    // Two sign-ins and the first wrong guess made three of the six attempts per address allowed; guessing on runs into the limit.
    const outcomes: number[] = [];
    for (let i = 0; i < 5; i++) outcomes.push((await refusal(change(laptop, `guess ${i}`, NEW_PASSWORD))).status);
    expect(outcomes).toEqual([403, 403, 403, 429, 429]);
    // The login from this address is held back too: the guesses were logins as far as the throttle goes.
    expect((await refusal(cast.visitor().api.login(handle, TEST_PASSWORD))).status).toBe(429);
  });

  it('refuses a new password shorter than sign-up allows, or the same as the current one', async () => {
    const handle = await newOwner('Alice');
    const laptop = await browserOf(handle, CHROME_131);
    expect(await refusal(change(laptop, TEST_PASSWORD, 'short'))).toMatchObject({ status: 400, message: 'newPassword: The password needs at least 8 characters.' });
    expect(await refusal(change(laptop, TEST_PASSWORD, TEST_PASSWORD))).toMatchObject({ status: 400, message: 'The new password is your current one: choose another.' });
    expect(await sessionsOf(laptop)).toHaveLength(1);
  });
});

describe('Settings → Audit log', () => {
  it('gives the owner\u2019s entries newest first with address and browser, in pages of 50', async () => {
    const handle = await newOwner('Alice');
    const laptop = await browserOf(handle, CHROME_131);
    const account = (await knock.storage.getAccountByHandle(handle))!;
    for (let i = 0; i < 55; i++) await knock.audit.record(account.id, 'login.failed', { ip: '198.51.100.9', userAgent: FIREFOX });
    const first = await laptop.api.request('GET', '/_/api/security/audit', undefined, auditAnswer);
    expect(first.entries).toHaveLength(50);
    expect(first.entries[0]).toMatchObject({ kind: 'login.failed', ip: '198.51.100.9', device: 'Firefox 133 on Windows' });
    const older = await laptop.api.request('GET', `/_/api/security/audit?before=${first.next}`, undefined, auditAnswer);
    expect(older.next).toBeNull();
    expect(older.entries.map((e) => e.kind)).toEqual(['login.failed', 'login.failed', 'login.failed', 'login.failed', 'login.failed', 'login']);
    expect(older.entries.at(-1)).toMatchObject({ device: 'Chrome 131 on Linux', ip: '127.0.0.1', detail: { method: 'password' } });
    expect(await refusal(laptop.api.request('GET', '/_/api/security/audit?before=abc', undefined, null))).toMatchObject({ status: 400 });
  });
});
