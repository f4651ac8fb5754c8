/**
 * Issue 22, password recovery by email, over the real API with a real relay (the SMTP sink): a one-time link to the
 * verified address sets a new password, ends every session with its sockets at once, and never signs in; each password
 * change is followed by a notice mail. And the attacks: a link used twice, an expired one, an older one after a newer,
 * a link of one account used for another, guessing which accounts exist from the answers, and asking too often.
 *
 * The server looks up what was asked for after it answered, one request after the other: a test knows a request is
 * done once one asked after it is (its link mailed, its audit entry written).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../engine/cookies.ts';
import { CloseCode } from '../../engine/errors.ts';
import { LINK_EXPIRED, RECOVERY_LINK_TTL_MS } from '../../engine/passwords.ts';
import { Cast, NO_PINGS, testRateLimits } from '../support/cast.ts';
import { Person, refusal, waitFor } from '../support/clients.ts';
import { post, setCookies } from '../support/httpClient.ts';
import { startKnock, TEST_PASSWORD, type TestKnock } from '../support/knockServer.ts';
import { MailSink, type SunkMail } from '../support/mailSink.ts';
import { SkewedClock } from '../support/skewedClock.ts';

const DOMAIN = 'example.test';
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const NEW_PASSWORD = 'a password from the link';
const AT_ONCE_MS = 3000;
const PER_ACCOUNT = 3;

let sink: MailSink;
let knock: TestKnock;
let cast: Cast;
const clock = new SkewedClock();

beforeAll(async () => {
  sink = await MailSink.start();
  knock = await startKnock(
    {
      mailDomain: DOMAIN,
      smtpRelayUrl: sink.url,
      outboxRetryBaseMs: 50,
      outboxPollMs: 100,
      pingIntervalMs: NO_PINGS,
      sessionCheckIntervalMs: 600_000,
      rateLimits: testRateLimits({
        recoveriesPerIp: { perWindow: 1000, windowMs: 3600_000 },
        recoveriesPerAccount: { perWindow: PER_ACCOUNT, windowMs: 3600_000 },
      }),
    },
    { clock },
  );
  cast = new Cast(knock);
});
afterEach(() => cast.closeAll());
afterAll(async () => {
  await knock?.close();
  await sink?.close();
});

let count = 0;
/** A new account; with `email`, that address verified (as the CLI sets it). */
async function account(name: string, email: string | null = `${name.toLowerCase()}-${process.pid}-${count + 1}@inbox.test`) {
  const handle = `${name.toLowerCase()}-${process.pid}-${++count}`;
  await knock.addUser(handle, name);
  const { id } = (await knock.storage.getAccountByHandle(handle))!;
  if (email !== null) {
    await knock.storage.setAccountEmail(id, { address: email, verifyTokenHash: `verify-${handle}`, at: clock.now() });
    await knock.storage.verifyAccountEmail(`verify-${handle}`, clock.now());
  }
  return { handle, id, email };
}

const recover = (handleOrEmail: string) => post(knock.url, '/_/api/password/recover', { handleOrEmail }, { headers: { 'user-agent': CHROME } });
const reset = (token: string, newPassword = NEW_PASSWORD) => post(knock.url, '/_/api/password/reset', { token, newPassword }, { headers: { 'user-agent': CHROME } });

/** The recovery mails that reached `address` so far. */
const linksTo = (address: string) => sink.received.filter((m) => m.envelope.to.includes(address) && m.subject === 'Set a new password for Knock');

/** The link's token of the next recovery mail to `address` that is not one of `seen`. */
async function nextLink(address: string, seen: readonly SunkMail[] = []): Promise<string> {
  const mail = await sink.next((m) => m.envelope.to.includes(address) && m.subject === 'Set a new password for Knock' && !seen.includes(m));
  const link = new RegExp(`${knock.url.replace(/[.]/g, '\\.')}/_/reset#([A-Za-z0-9_-]{43})`).exec(mail.parsed.text ?? '');
  expect(link, mail.parsed.text).not.toBeNull();
  return link![1]!;
}

async function audited(accountId: string, kind: string): Promise<number> {
  return (await knock.audit.page(accountId)).entries.filter((e) => e.kind === kind).length;
}

async function canLogIn(handle: string, password: string): Promise<boolean> {
  return cast.visitor().api.login(handle, password).then(
    () => true,
    () => false,
  );
}

describe('password recovery by email', () => {
  it('mails a link that sets the password, ends every session with its sockets at once, never signs in, and is told by mail', async () => {
    const alice = await account('Alice');
    const device = await cast.device(alice.handle);
    const console_ = device.ownerSession(alice.handle);
    await waitFor(console_, (s) => s.connection === 'live', 'console live');

    const asked = await recover(alice.handle);
    expect(asked.status).toBe(202);
    expect(await asked.json()).toEqual({ ok: true });
    const token = await nextLink(alice.email!);

    const done = await reset(token);
    expect(done.status).toBe(200);
    expect(await done.json()).toEqual({ signedIn: false, handle: alice.handle });
    expect(setCookies(done).has(SESSION_COOKIE)).toBe(false);
    await waitFor(console_, (s) => s.connection === 'closed', 'console closed', AT_ONCE_MS);
    expect(console_.endReason).toMatchObject({ code: CloseCode.loggedOut });
    expect(await canLogIn(alice.handle, TEST_PASSWORD)).toBe(false);
    expect(await canLogIn(alice.handle, NEW_PASSWORD)).toBe(true);

    const kinds = (await knock.audit.page(alice.id)).entries.map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['password.recovery_requested', 'password.recovered', 'sessions.ended']));
    const notice = await sink.next((m) => m.envelope.to.includes(alice.email!) && m.subject === 'Your Knock password was changed');
    expect(notice.parsed.text).toContain(`${knock.url}/${alice.handle} was set anew with a recovery link`);
    expect(notice.parsed.text).toContain('from Chrome 131 on Linux at 127.0.0.1');
    expect(notice.parsed.text).toContain(`If it was not you, someone else can sign in as you. Get a recovery link at ${knock.url}/_/reset`);
  });

  it('finds the account by its verified address, whatever its case', async () => {
    const bea = await account('Bea');
    expect((await recover(bea.email!.toUpperCase())).status).toBe(202);
    await nextLink(bea.email!);
  });

  it('works once: the same link used again gets the one clear error and sets nothing', async () => {
    const cid = await account('Cid');
    await recover(cid.handle);
    const token = await nextLink(cid.email!);
    expect((await reset(token)).status).toBe(200);
    const again = await reset(token, 'the attacker\u2019s password');
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({ error: { code: 'not_found', message: LINK_EXPIRED } });
    expect(await canLogIn(cid.handle, 'the attacker\u2019s password')).toBe(false);
    expect(await canLogIn(cid.handle, NEW_PASSWORD)).toBe(true);
  });

  it('expires after 30 minutes', async () => {
    const dan = await account('Dan');
    await recover(dan.handle);
    const token = await nextLink(dan.email!);
    clock.advance(RECOVERY_LINK_TTL_MS);
    const late = await reset(token);
    expect(late.status).toBe(404);
    expect(await late.json()).toEqual({ error: { code: 'not_found', message: LINK_EXPIRED } });
    expect(await canLogIn(dan.handle, TEST_PASSWORD)).toBe(true);
  });

  it('voids the older link when a newer one is asked for', async () => {
    const eve = await account('Eve');
    await recover(eve.handle);
    const older = await nextLink(eve.email!);
    await recover(eve.handle);
    const newer = await nextLink(eve.email!, linksTo(eve.email!));
    expect(newer).not.toBe(older);
    expect((await reset(older)).status).toBe(404);
    expect((await reset(newer)).status).toBe(200);
  });

  it('sets only the password of the account the link was mailed for, whatever account is attacked', async () => {
    const victim = await account('Vera');
    const victimDevice = await cast.device(victim.handle);
    const mallory = await account('Mallory');
    await recover(mallory.handle);
    const token = await nextLink(mallory.email!);
    // The link names no account in the request: there is nothing to point at another one.
    const attempt = await post(knock.url, '/_/api/password/reset', { token, newPassword: NEW_PASSWORD, handle: victim.handle });
    expect(attempt.status).toBe(200);
    expect(await canLogIn(victim.handle, TEST_PASSWORD)).toBe(true);
    expect(await canLogIn(victim.handle, NEW_PASSWORD)).toBe(false);
    expect(await canLogIn(mallory.handle, NEW_PASSWORD)).toBe(true);
    expect(await victimDevice.api.request('GET', '/_/api/me', undefined, null)).toMatchObject({ account: { handle: victim.handle } });
  });

  it('refuses an unknown, malformed or empty token with the same words, and a weak new password before spending the link', async () => {
    for (const token of ['A'.repeat(43), 'not a token!', '', 'x'.repeat(256)]) {
      const res = await reset(token);
      expect(res.status, token).toBe(404);
      expect(await res.json()).toEqual({ error: { code: 'not_found', message: LINK_EXPIRED } });
    }
    const fay = await account('Fay');
    await recover(fay.handle);
    const token = await nextLink(fay.email!);
    const weak = await reset(token, 'short');
    expect(weak.status).toBe(400);
    expect((await reset(token)).status).toBe(200);
  });

  it('answers alike for a real account, an account with no verified address and nobody, and mails only the real one', async () => {
    const gus = await account('Gus');
    const hal = await account('Hal', null);
    const answers: Array<{ status: number; body: string; type: string | null; cache: string | null }> = [];
    for (const asked of [gus.handle, gus.email!, hal.handle, `nobody-${process.pid}`, `nobody-${process.pid}@inbox.test`, 'not a handle at all']) {
      const res = await recover(asked);
      answers.push({ status: res.status, body: await res.text(), type: res.headers.get('content-type'), cache: res.headers.get('cache-control') });
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]).toEqual({ status: 202, body: '{"ok":true}', type: 'application/json; charset=utf-8', cache: 'no-store' });
    // A request after them all is done only once they are: then Gus had his two links, and Hal none.
    const probe = await account('Ian');
    await recover(probe.handle);
    await nextLink(probe.email!);
    expect(await audited(gus.id, 'password.recovery_requested')).toBe(2);
    expect(await audited(hal.id, 'password.recovery_requested')).toBe(0);
  });

  it(`mails at most ${PER_ACCOUNT} links an hour to one account; asking more answers the same and sends nothing`, async () => {
    const jo = await account('Jo');
    for (let i = 0; i < PER_ACCOUNT + 2; i++) expect((await recover(jo.handle)).status).toBe(202);
    const probe = await account('Kit');
    await recover(probe.handle);
    await nextLink(probe.email!);
    expect(await audited(jo.id, 'password.recovery_requested')).toBe(PER_ACCOUNT);
    await sink.next(() => linksTo(jo.email!).length >= PER_ACCOUNT);
    expect(linksTo(jo.email!)).toHaveLength(PER_ACCOUNT);
  });
});

describe('the notice after a password change', () => {
  it('is mailed to the verified address, saying when, from which browser and address, and what to do if it was not you', async () => {
    const lea = await account('Lea');
    const res = await post(knock.url, '/_/api/login', { handle: lea.handle, password: TEST_PASSWORD }, { headers: { 'user-agent': CHROME } });
    const person = new Person(knock.url);
    person.cookies.set(SESSION_COOKIE, setCookies(res).get(SESSION_COOKIE)!.value);
    const before = clock.now();
    await post(knock.url, '/_/api/security/password', { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD }, { headers: { ...person.headers, 'user-agent': CHROME } });
    const notice = await sink.next((m) => m.envelope.to.includes(lea.email!) && m.subject === 'Your Knock password was changed');
    const text = notice.parsed.text ?? '';
    expect(text).toContain(`The password of ${knock.url}/${lea.handle} was changed on `);
    const when = /was changed on (.+ GMT), from/.exec(text)?.[1];
    expect(Math.abs(Date.parse(when!) - before)).toBeLessThan(60_000);
    expect(text).toContain('from Chrome 131 on Linux at 127.0.0.1.');
    expect(text).toContain('If it was not you');
    expect(notice.envelope.from).toBe(`knock@${DOMAIN}`);
  });
});

describe('password recovery limits per address', () => {
  it('refuses more requests and more link uses from one address than its limit, with 429', async () => {
    const limited = await startKnock({ rateLimits: testRateLimits({ recoveriesPerIp: { perWindow: 2, windowMs: 3600_000 } }) });
    try {
      const ask = () => post(limited.url, '/_/api/password/recover', { handleOrEmail: 'anyone' });
      expect([(await ask()).status, (await ask()).status, (await ask()).status]).toEqual([202, 202, 429]);
      const use = () => post(limited.url, '/_/api/password/reset', { token: 'A'.repeat(43), newPassword: NEW_PASSWORD });
      expect([(await use()).status, (await use()).status, (await use()).status]).toEqual([404, 404, 429]);
    } finally {
      await limited.close();
    }
  });
});
