/**
 * Issue 22, two-factor sign-in, through a real Knock (its clock moved by the test, for what expires): an owner turns
 * on an authenticator app (codes computed here with otpauth, as the app would) and gets recovery codes once; the
 * password then opens no session, a ticket and a second factor do. The attacks: a wrong code, a code replayed, codes
 * guessed (rate-limited per account and per address), a recovery code used twice, a ticket used twice, expired, taken
 * to another account or made up, turning the app off without the password or a code, a mail device login around it.
 * And passkeys with a software authenticator (ES256, attestation 'none'): added with the password, a second factor
 * after the password, and a sign-in alone; an answer for another origin or a challenge used twice is refused.
 */
import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { SESSION_COOKIE } from '../../engine/cookies.ts';
import {
  secondFactorAnswer,
  secondFactorChange,
  totpEnrolment,
  webAuthnOptions,
  type SecondFactorChange,
  type SecondFactorLogin,
} from '../../engine/protocol.ts';
import { testRateLimits } from '../support/cast.ts';
import { Person, loggedInOwner, refusal } from '../support/clients.ts';
import { post, setCookies } from '../support/httpClient.ts';
import { TEST_PASSWORD, startKnock, type TestKnock } from '../support/knockServer.ts';
import { SoftAuthenticator, type CreationOptions, type RequestOptions } from '../support/softAuthenticator.ts';

const SETTINGS = '/_/api/security/second-factor';
const STEP_MS = 30_000;
const many = { perWindow: 10_000, windowMs: 60_000 };

/** The server's time: the system's, moved on by the tests (a ticket's 5 minutes, a code's next step). */
const clock = { offset: 0, now: () => Date.now() + clock.offset };
let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock({ rateLimits: testRateLimits({ loginsPerHandleAndIp: many, secondFactorTriesPerIp: many }) }, { clock });
});
afterAll(() => knock?.close());

/** The code an app with `secret` shows `steps` 30-second steps from the server's now. */
function codeOf(secret: string, steps = 0): string {
  return new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: clock.now() + steps * STEP_MS });
}

function settings<S extends z.ZodType>(person: Person, method: string, path: string, body: unknown, schema: S): Promise<z.infer<S>> {
  return person.api.request(method, `${SETTINGS}${path}`, body, schema);
}

/** Alice with her app on: its secret and her recovery codes. The code that turned it on used the current step. */
async function ownerWithApp(handle: string): Promise<{ person: Person; secret: string; recoveryCodes: string[] }> {
  const person = await loggedInOwner(knock, handle);
  const { secret } = await settings(person, 'POST', '/totp', {}, totpEnrolment);
  const change = await settings(person, 'POST', '/totp/confirm', { code: codeOf(secret), password: TEST_PASSWORD }, secondFactorChange);
  return { person, secret, recoveryCodes: change.recoveryCodes ?? [] };
}

/** The password step, as the login form sends it: the raw answer, to see what it sets. */
async function passwordStep(handle: string, password = TEST_PASSWORD): Promise<{ status: number; ticket: SecondFactorLogin | null; cookie: boolean }> {
  const res = await post(knock.url, '/_/api/login', { handle, password });
  const body = (await res.json()) as { secondFactor?: SecondFactorLogin };
  return { status: res.status, ticket: body.secondFactor ?? null, cookie: setCookies(res).has(SESSION_COOKIE) };
}

/** The second step: its status, answer, and the session it opened (its cookie), if any. */
async function secondStep(body: Record<string, unknown>): Promise<{ status: number; body: { handle?: string; error?: { message: string } }; session: string | null }> {
  const res = await post(knock.url, '/_/api/login/second-factor', body);
  return { status: res.status, body: (await res.json()) as never, session: setCookies(res).get(SESSION_COOKIE)?.value ?? null };
}

async function ticketOf(handle: string): Promise<SecondFactorLogin> {
  const step = await passwordStep(handle);
  if (!step.ticket) throw new Error(`no second step for ${handle}`);
  return step.ticket;
}

async function signedInAs(session: string | null): Promise<string | null> {
  const res = await fetch(`${knock.url}/_/api/me`, { headers: { cookie: `${SESSION_COOKIE}=${session ?? ''}` } });
  return ((await res.json()) as { account: { handle: string } | null }).account?.handle ?? null;
}

async function auditKinds(handle: string): Promise<Array<{ kind: string; detail: unknown }>> {
  const account = await knock.storage.getAccountByHandle(handle);
  return (await knock.audit.page(account!.id)).entries.map(({ kind, detail }) => ({ kind, detail }));
}

describe('an authenticator app', () => {
  it('turns on with its first code, gives 10 recovery codes once, and then the password alone opens no session', async () => {
    const alice = await loggedInOwner(knock, 'alice');
    const enrolment = await settings(alice, 'POST', '/totp', {}, totpEnrolment);
    expect(enrolment.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(enrolment.uri).toBe(`otpauth://totp/Knock%20(127.0.0.1):alice?issuer=Knock%20(127.0.0.1)&secret=${enrolment.secret}&algorithm=SHA1&digits=6&period=30`);
    // Pending: the password still signs in alone until a code confirms the app.
    expect((await passwordStep('alice')).cookie).toBe(true);
    const confirm = (body: object) => settings(alice, 'POST', '/totp/confirm', body, secondFactorChange);
    const wrong = await refusal(confirm({ code: codeOf(enrolment.secret, 5), password: TEST_PASSWORD }));
    expect(wrong.message).toContain('not the app\u2019s current code');
    // A session alone (a browser left open) cannot turn an app on: the password is asked again.
    expect((await refusal(confirm({ code: codeOf(enrolment.secret) }))).status).toBe(400);
    expect((await refusal(confirm({ code: codeOf(enrolment.secret), password: 'not her password' }))).message).toBe('That is not your password.');
    const change = await confirm({ code: codeOf(enrolment.secret), password: TEST_PASSWORD });
    expect(change.recoveryCodes).toHaveLength(10);
    expect(new Set(change.recoveryCodes).size).toBe(10);
    for (const code of change.recoveryCodes ?? []) expect(code).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
    expect(change.state).toEqual({ totp: true, recoveryCodesLeft: 10, passkeys: [] });
    // Shown once: the state never gives them again.
    expect(JSON.stringify(await settings(alice, 'GET', '', undefined, secondFactorAnswer))).not.toContain(change.recoveryCodes?.[0]);

    const step = await passwordStep('alice');
    expect(step).toMatchObject({ status: 200, cookie: false, ticket: { methods: ['totp', 'recovery'] } });
    expect(step.ticket?.ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const done = await secondStep({ ticket: step.ticket?.ticket, code: codeOf(enrolment.secret, 1) });
    expect(done.status).toBe(200);
    expect(done.body).toEqual({ handle: 'alice', displayName: 'Alice' });
    expect(await signedInAs(done.session)).toBe('alice');
    expect(await auditKinds('alice')).toEqual(expect.arrayContaining([
      { kind: 'totp.enabled', detail: null },
      { kind: 'recovery_codes.created', detail: null },
      { kind: 'login', detail: { method: 'password+totp' } },
    ]));
  });

  it('refuses a wrong code, writes it in the audit log, and keeps the ticket for the right one', async () => {
    const { secret } = await ownerWithApp('wendy');
    const { ticket } = await ticketOf('wendy');
    const wrong = await secondStep({ ticket, code: codeOf(secret, 1) === '000000' ? '111111' : '000000' });
    expect(wrong).toMatchObject({ status: 401, session: null });
    expect(wrong.body.error?.message).toBe('That code is not right. Type the code your authenticator app shows now.');
    expect((await auditKinds('wendy'))[0]).toEqual({ kind: 'second_factor.failed', detail: { method: 'totp' } });
    expect(await signedInAs((await secondStep({ ticket, code: codeOf(secret, 1) })).session)).toBe('wendy');
  });

  it('refuses a code replayed: a time step signs in once, and no earlier one after it', async () => {
    const { secret } = await ownerWithApp('rita');
    const code = codeOf(secret, 1);
    expect(await signedInAs((await secondStep({ ticket: (await ticketOf('rita')).ticket, code })).session)).toBe('rita');
    const replayed = await secondStep({ ticket: (await ticketOf('rita')).ticket, code });
    expect(replayed).toMatchObject({ status: 401, session: null });
    expect(replayed.body.error?.message).toBe('This code was used already: wait for the next one of your app.');
    // The current step's code is older than the one used: refused as well.
    expect((await secondStep({ ticket: (await ticketOf('rita')).ticket, code: codeOf(secret) })).status).toBe(401);
  });

  it('refuses the 6th try after 5 wrong codes even when it is right, until the window has passed', async () => {
    const { secret } = await ownerWithApp('gus');
    const right = codeOf(secret, 1);
    const wrongCode = right === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) expect((await secondStep({ ticket: (await ticketOf('gus')).ticket, code: wrongCode })).status).toBe(401);
    const sixth = await secondStep({ ticket: (await ticketOf('gus')).ticket, code: right });
    expect(sixth).toMatchObject({ status: 429, session: null });
    expect(sixth.body.error?.message).toBe('Too many wrong codes. Wait 15 minutes or use a recovery code.');
    clock.offset += 15 * 60_000; // only ever forward: the server's rate limits count on time not going back
    expect(await signedInAs((await secondStep({ ticket: (await ticketOf('gus')).ticket, code: codeOf(secret, 1) })).session)).toBe('gus');
  });
});

describe('recovery codes', () => {
  it('sign in once each, typed in any case and spacing, also while codes are refused after wrong tries', async () => {
    const { secret, recoveryCodes } = await ownerWithApp('rob');
    const [first] = recoveryCodes;
    const wrongCode = codeOf(secret, 1) === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) await secondStep({ ticket: (await ticketOf('rob')).ticket, code: wrongCode });
    const typed = ` ${first!.toUpperCase().replace('-', ' ')} `;
    const done = await secondStep({ ticket: (await ticketOf('rob')).ticket, recoveryCode: typed });
    expect(await signedInAs(done.session)).toBe('rob');
    const again = await secondStep({ ticket: (await ticketOf('rob')).ticket, recoveryCode: first });
    expect(again.status).toBe(401);
    expect(again.body.error?.message).toBe('That recovery code is not right, or it was used already.');
    expect(await auditKinds('rob')).toEqual(expect.arrayContaining([
      { kind: 'recovery_code.used', detail: { left: 9 } },
      { kind: 'login', detail: { method: 'password+recovery' } },
      { kind: 'second_factor.failed', detail: { method: 'recovery' } },
    ]));
    // A right recovery code ends the refusal of codes it came after.
    expect(await signedInAs((await secondStep({ ticket: (await ticketOf('rob')).ticket, code: codeOf(secret, 1) })).session)).toBe('rob');
    expect((await ticketOf('rob')).methods).toEqual(['totp', 'recovery']);
  });

  it('are made anew with a code of the app; the old ones stop working', async () => {
    const { person, secret, recoveryCodes } = await ownerWithApp('nina');
    expect((await refusal(settings(person, 'POST', '/recovery-codes', {}, secondFactorChange))).message).toContain('Give one of');
    const fresh = await settings(person, 'POST', '/recovery-codes', { code: codeOf(secret, 1) }, secondFactorChange);
    expect(fresh.recoveryCodes).toHaveLength(10);
    expect(fresh.recoveryCodes).not.toContain(recoveryCodes[0]);
    expect((await secondStep({ ticket: (await ticketOf('nina')).ticket, recoveryCode: recoveryCodes[0] })).status).toBe(401);
    expect(await signedInAs((await secondStep({ ticket: (await ticketOf('nina')).ticket, recoveryCode: fresh.recoveryCodes?.[0] })).session)).toBe('nina');
  });
});

describe('a login ticket', () => {
  it('signs in once: a second answer with it is refused, even a right one', async () => {
    const { secret, recoveryCodes } = await ownerWithApp('una');
    const { ticket } = await ticketOf('una');
    expect(await signedInAs((await secondStep({ ticket, code: codeOf(secret, 1) })).session)).toBe('una');
    const reused = await secondStep({ ticket, recoveryCode: recoveryCodes[0] });
    expect(reused).toMatchObject({ status: 401, session: null });
    expect(reused.body.error?.message).toBe('This sign-in has expired: log in with your password again.');
  });

  it('expires 5 minutes after the password', async () => {
    const { secret } = await ownerWithApp('eve');
    const { ticket } = await ticketOf('eve');
    clock.offset += 5 * 60_000 + 1000;
    const late = await secondStep({ ticket, code: codeOf(secret, 1) });
    expect(late).toMatchObject({ status: 401, session: null });
    expect(late.body.error?.message).toBe('This sign-in has expired: log in with your password again.');
  });

  it('is bound to its account: another account\u2019s code or recovery code does not complete it', async () => {
    await ownerWithApp('ann');
    const bob = await ownerWithApp('bob');
    const { ticket } = await ticketOf('ann');
    for (const answer of [{ code: codeOf(bob.secret, 1) }, { recoveryCode: bob.recoveryCodes[0] }]) {
      expect(await secondStep({ ticket, ...answer })).toMatchObject({ status: 401, session: null });
    }
    // Bob's code and recovery code are still his, unspent.
    expect(await signedInAs((await secondStep({ ticket: (await ticketOf('bob')).ticket, recoveryCode: bob.recoveryCodes[0] })).session)).toBe('bob');
  });

  it('cannot be made up: the second step without the password step opens nothing', async () => {
    const { secret } = await ownerWithApp('fay');
    const forged = await secondStep({ ticket: randomBytes(32).toString('base64url'), code: codeOf(secret, 1) });
    expect(forged).toMatchObject({ status: 401, session: null });
    expect((await passwordStep('fay', 'not her password')).ticket).toBeNull();
    // Counted and refused before it: a body without any second factor, or with two.
    const { ticket } = await ticketOf('fay');
    expect((await secondStep({ ticket })).status).toBe(400);
    expect((await secondStep({ ticket, code: codeOf(secret, 1), recoveryCode: 'abcde-fghij' })).status).toBe(400);
  });

  it('goes void after 10 answers', async () => {
    const { recoveryCodes } = await ownerWithApp('tim');
    const { ticket } = await ticketOf('tim');
    for (let i = 0; i < 10; i++) expect((await secondStep({ ticket, recoveryCode: 'aaaaa-aaaaa' })).status).toBe(401);
    const eleventh = await secondStep({ ticket, recoveryCode: recoveryCodes[0] });
    expect(eleventh.body.error?.message).toBe('Too many wrong answers for this sign-in: log in with your password again.');
    expect(eleventh.session).toBeNull();
  });
});

describe('turning the app off', () => {
  it('needs the password and a code; then the password signs in alone and the recovery codes are gone', async () => {
    const { person, secret, recoveryCodes } = await ownerWithApp('olga');
    const off = (body: object) => settings(person, 'POST', '/totp/off', body, secondFactorChange);
    expect((await refusal(new Person(knock.url).api.request('POST', `${SETTINGS}/totp/off`, { password: TEST_PASSWORD, code: codeOf(secret, 1) }, null))).status).toBe(401);
    expect((await refusal(off({ password: 'not her password', code: codeOf(secret, 1) }))).message).toBe('That is not your password.');
    expect((await refusal(off({ password: TEST_PASSWORD }))).status).toBe(400);
    expect((await refusal(off({ password: TEST_PASSWORD, code: codeOf(secret, 1) === '000000' ? '111111' : '000000' }))).status).toBe(401);
    expect((await settings(person, 'GET', '', undefined, secondFactorAnswer)).totp).toBe(true);
    const done = await off({ password: TEST_PASSWORD, code: codeOf(secret, 1) });
    expect(done.state).toEqual({ totp: false, recoveryCodesLeft: 0, passkeys: [] });
    expect((await auditKinds('olga'))[0]).toEqual({ kind: 'totp.disabled', detail: null });
    expect(await passwordStep('olga')).toMatchObject({ cookie: true, ticket: null });
    // Her recovery codes went with the app: they sign nothing in, and make no second step due.
    expect(await knock.storage.countRecoveryCodes((await knock.storage.getAccountByHandle('olga'))!.id)).toBe(0);
    expect(recoveryCodes).toHaveLength(10);
  });

  it('is the owner\u2019s own at the console: a mail device may not change it', async () => {
    await knock.addUser('dora', 'Dora');
    const device = await post(knock.url, '/_/api/devices', { handle: 'dora', password: TEST_PASSWORD, name: 'laptop' });
    const { token } = (await device.json()) as { token: string };
    const res = await fetch(`${knock.url}${SETTINGS}/totp`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(403);
  });
});

describe('a mail device login', () => {
  it('needs a second factor too when the account has one', async () => {
    const { secret, recoveryCodes } = await ownerWithApp('max');
    const login = (extra: object) => post(knock.url, '/_/api/devices', { handle: 'max', password: TEST_PASSWORD, name: 'laptop', ...extra });
    const bare = await login({});
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { error: { message: string } }).error.message).toContain('two-factor sign-in: log in with --code');
    expect((await login({ code: '000000' === codeOf(secret, 1) ? '111111' : '000000' })).status).toBe(401);
    expect((await login({ code: codeOf(secret, 1) })).status).toBe(201);
    expect((await login({ code: recoveryCodes[0] })).status).toBe(201);
  });
});

describe('passkeys', () => {
  /** A passkey of `person` made by `authenticator`, with the password; resolves with the change it made. */
  async function addPasskey(person: Person, authenticator: SoftAuthenticator, name: string): Promise<SecondFactorChange> {
    const { challengeId, options } = await settings(person, 'POST', '/passkeys/options', { password: TEST_PASSWORD }, webAuthnOptions);
    return settings(person, 'POST', '/passkeys', { challengeId, name, response: authenticator.register(options as unknown as CreationOptions) }, secondFactorChange);
  }

  it('are added with the password, and sign in after it as the second factor, and alone', async () => {
    const pia = await loggedInOwner(knock, 'pia');
    const authenticator = new SoftAuthenticator(knock.url);
    expect((await refusal(settings(pia, 'POST', '/passkeys/options', { password: 'nope' }, webAuthnOptions))).message).toBe('That is not your password.');
    const { options } = await settings(pia, 'POST', '/passkeys/options', { password: TEST_PASSWORD }, webAuthnOptions);
    expect(options).toMatchObject({
      rp: { id: '127.0.0.1', name: 'Knock' },
      user: { name: 'pia', displayName: 'Pia' },
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      excludeCredentials: [],
    });
    const added = await addPasskey(pia, authenticator, 'Laptop');
    // The first second factor brings the recovery codes.
    expect(added.recoveryCodes).toHaveLength(10);
    expect(added.state).toMatchObject({ totp: false, recoveryCodesLeft: 10, passkeys: [{ name: 'Laptop', lastUsedAt: null }] });
    const again = await settings(pia, 'POST', '/passkeys/options', { password: TEST_PASSWORD }, webAuthnOptions);
    expect(again.options.excludeCredentials).toHaveLength(1);

    const step = await passwordStep('pia');
    expect(step).toMatchObject({ cookie: false, ticket: { methods: ['recovery', 'passkey'], passkey: { rpId: '127.0.0.1', userVerification: 'required' } } });
    const passkey = authenticator.sign(step.ticket?.passkey as unknown as RequestOptions);
    expect(await signedInAs((await secondStep({ ticket: step.ticket?.ticket, passkey })).session)).toBe('pia');

    const alone = await post(knock.url, '/_/api/login/passkey/options', {});
    const { challengeId, options: loginOptions } = webAuthnOptions.parse(await alone.json());
    expect(loginOptions).not.toHaveProperty('allowCredentials');
    const signedIn = await post(knock.url, '/_/api/login/passkey', { challengeId, response: authenticator.sign(loginOptions as unknown as RequestOptions) });
    expect(await signedIn.json()).toEqual({ handle: 'pia', displayName: 'Pia' });
    expect(await signedInAs(setCookies(signedIn).get(SESSION_COOKIE)?.value ?? null)).toBe('pia');
    expect((await settings(pia, 'GET', '', undefined, secondFactorAnswer)).passkeys[0]?.lastUsedAt).not.toBeNull();
    expect(await auditKinds('pia')).toEqual(expect.arrayContaining([
      { kind: 'passkey.added', detail: { name: 'Laptop' } },
      { kind: 'login', detail: { method: 'password+passkey' } },
      { kind: 'login', detail: { method: 'passkey' } },
    ]));
  });

  it('refuse an answer made for another site, a challenge answered twice, and another account\u2019s passkey', async () => {
    const quinn = await loggedInOwner(knock, 'quinn');
    const quinnKey = new SoftAuthenticator(knock.url);
    await addPasskey(quinn, quinnKey, 'Phone');
    const mallory = await loggedInOwner(knock, 'mallory');
    const malloryKey = new SoftAuthenticator(knock.url);
    await addPasskey(mallory, malloryKey, 'Mine');

    const optionsOf = async () => webAuthnOptions.parse(await (await post(knock.url, '/_/api/login/passkey/options', {})).json());
    const phished = await optionsOf();
    const elsewhere = quinnKey.sign(phished.options as unknown as RequestOptions, { origin: 'http://evil.example' });
    const refused = await post(knock.url, '/_/api/login/passkey', { challengeId: phished.challengeId, response: elsewhere });
    expect(refused.status).toBe(401);
    expect(setCookies(refused).has(SESSION_COOKIE)).toBe(false);

    const once = await optionsOf();
    const answer = quinnKey.sign(once.options as unknown as RequestOptions);
    expect((await post(knock.url, '/_/api/login/passkey', { challengeId: once.challengeId, response: answer })).status).toBe(200);
    const replay = await post(knock.url, '/_/api/login/passkey', { challengeId: once.challengeId, response: answer });
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { error: { message: string } }).error.message).toBe('This passkey sign-in has expired: try again.');

    // At Quinn's ticket, Mallory's passkey (signing Quinn's challenge) is not Quinn's.
    const step = await passwordStep('quinn');
    const options = { ...(step.ticket?.passkey as unknown as RequestOptions), allowCredentials: [] };
    expect(await secondStep({ ticket: step.ticket?.ticket, passkey: malloryKey.sign(options) })).toMatchObject({ status: 401, session: null });
  });

  it('are renamed and removed; without the last one the password signs in alone again', async () => {
    const ray = await loggedInOwner(knock, 'ray');
    const { state } = await addPasskey(ray, new SoftAuthenticator(knock.url), 'Old laptop');
    const id = state.passkeys[0]!.id;
    const renamed = await settings(ray, 'PUT', `/passkeys/${id}`, { name: 'Work laptop' }, secondFactorChange);
    expect(renamed.state.passkeys.map((k) => k.name)).toEqual(['Work laptop']);
    const other = await loggedInOwner(knock, 'sam');
    expect((await refusal(settings(other, 'DELETE', `/passkeys/${id}`, undefined, secondFactorChange))).status).toBe(404);
    const removed = await settings(ray, 'DELETE', `/passkeys/${id}`, undefined, secondFactorChange);
    expect(removed.state).toEqual({ totp: false, recoveryCodesLeft: 0, passkeys: [] });
    expect((await auditKinds('ray'))[0]).toEqual({ kind: 'passkey.removed', detail: { name: 'Work laptop' } });
    expect(await passwordStep('ray')).toMatchObject({ cookie: true, ticket: null });
  });

  it('confirm the owner at a Settings action through a challenge of their own passkeys', async () => {
    const vera = await loggedInOwner(knock, 'vera');
    const key = new SoftAuthenticator(knock.url);
    await addPasskey(vera, key, 'Key');
    const { challengeId, options } = await settings(vera, 'POST', '/challenge', {}, webAuthnOptions);
    const fresh = await settings(vera, 'POST', '/recovery-codes', { challengeId, passkey: key.sign(options as unknown as RequestOptions) }, secondFactorChange);
    expect(fresh.recoveryCodes).toHaveLength(10);
    // That challenge is spent.
    expect((await refusal(settings(vera, 'POST', '/recovery-codes', { challengeId, passkey: key.sign(options as unknown as RequestOptions) }, secondFactorChange))).status).toBe(401);
  });
});

describe('answers from one address', () => {
  it('are limited whatever the account (secondFactorTriesPerIp)', async () => {
    const limited = await startKnock({ rateLimits: testRateLimits({ loginsPerHandleAndIp: many, secondFactorTriesPerIp: { perWindow: 3, windowMs: 15 * 60_000 } }) });
    try {
      const answers = [];
      for (let i = 0; i < 4; i++) {
        answers.push((await post(limited.url, '/_/api/login/second-factor', { ticket: randomBytes(32).toString('base64url'), code: '123456' })).status);
      }
      expect(answers).toEqual([401, 401, 401, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe('deleting an account with a second factor', () => {
  const remove = (person: Person, body: Record<string, unknown>) =>
    person.api.request('POST', '/_/api/account/delete', { password: TEST_PASSWORD, ...body }, null);

  it('asks for a code as well as the password (the refusal says so), refuses a wrong one, and deletes with the right one', async () => {
    const { person, secret } = await ownerWithApp('zelda');
    const missing = await refusal(remove(person, { handle: 'zelda' }));
    expect(missing.status).toBe(401);
    expect(missing.message).toBe('Confirm with a code of your authenticator app (or a recovery code).');
    expect(missing.data?.secondFactor).toBe(true); // the dialog shows its code field
    const wrong = await refusal(remove(person, { handle: 'zelda', code: codeOf(secret, 40) }));
    expect(wrong.status).toBe(401);
    expect(wrong.data?.secondFactor).toBe(true);
    expect(await knock.storage.getAccountByHandle('zelda')).not.toBeNull();
    clock.offset += STEP_MS; // the app's next code: the one that turned the app on is spent
    await remove(person, { handle: 'zelda', code: codeOf(secret) });
    expect(await knock.storage.getAccountByHandle('zelda')).toBeNull();
  });

  it('takes a recovery code typed where the dialog asks for the code', async () => {
    const { person, recoveryCodes } = await ownerWithApp('yusuf');
    await remove(person, { handle: 'yusuf', code: recoveryCodes[0] });
    expect(await knock.storage.getAccountByHandle('yusuf')).toBeNull();
  });
});
