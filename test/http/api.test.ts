/**
 * The JSON API under /_/api/ against a real server (test/support/knockServer.ts) with plain fetch: health,
 * sign-up, log in and out, profiles, knocking, resume links, and the requests it refuses.
 * One server per describe block, started and closed in turn (Colyseus keeps one matchmaker per process).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE, visitorCookieName } from '../../engine/cookies.ts';
import { startKnock, TEST_PASSWORD, type TestKnock } from '../support/knockServer.ts';
import { cookiePair, get, post, setCookies } from '../support/httpClient.ts';

const roomy = { perWindow: 1000, windowMs: 60_000 };
const PASSWORD = 'a long enough password';

interface ErrorBody {
  error: { code: string; message: string; data?: Record<string, unknown> };
}

async function errorOf(res: Response): Promise<ErrorBody['error']> {
  return ((await res.json()) as ErrorBody).error;
}

/** Logs in and returns the Cookie header value of the session. */
async function login(base: string, handle: string, password = TEST_PASSWORD): Promise<string> {
  const res = await post(base, '/_/api/login', { handle, password });
  expect(res.status).toBe(200);
  const session = setCookies(res).get(SESSION_COOKIE);
  if (!session) throw new Error('no session cookie');
  return cookiePair(SESSION_COOKIE, session.value);
}

async function me(base: string, cookie: string): Promise<unknown> {
  return ((await (await get(base, '/_/api/me', { cookie })).json()) as { account: unknown }).account;
}

describe('with the default server', () => {
  let knock: TestKnock;
  let base: string;
  beforeAll(async () => {
    knock = await startKnock({
      rateLimits: { knocksPerIp: roomy, loginsPerIp: roomy, signupsPerIp: roomy, loginsPerHandle: roomy },
    });
    base = knock.url;
    await knock.addUser('alice', 'Alice');
  });
  afterAll(() => knock.close());

  describe('health', () => {
    it('answers GET /_/health with 200 {status: "ok"}', async () => {
      const res = await get(base, '/_/health');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    });
  });

  describe('sign-up', () => {
    it('says sign-up is open', async () => {
      expect(await (await get(base, '/_/api/signup')).json()).toEqual({ open: true });
    });

    it('creates an account and signs the new owner in with an HttpOnly, SameSite=Lax session cookie', async () => {
      const res = await post(base, '/_/api/signup', { handle: 'carol', displayName: 'Carol', password: PASSWORD });

      expect(res.status).toBe(201);
      expect(await res.json()).toEqual({ handle: 'carol', displayName: 'Carol' });
      const session = setCookies(res).get(SESSION_COOKIE);
      expect(session?.value).toBeTruthy();
      expect(session?.attributes.has('httponly')).toBe(true);
      expect(session?.attributes.get('samesite')).toBe('Lax');
      expect(session?.attributes.get('path')).toBe('/');
      expect(await me(base, cookiePair(SESSION_COOKIE, session!.value))).toEqual({ handle: 'carol', displayName: 'Carol' });
      expect(await login(base, 'carol', PASSWORD)).toBeTruthy();
    });

    it('refuses a second account with the same handle with 409 and a readable message', async () => {
      await post(base, '/_/api/signup', { handle: 'dave', displayName: 'Dave', password: PASSWORD });
      const res = await post(base, '/_/api/signup', { handle: 'dave', displayName: 'Another Dave', password: PASSWORD });

      expect(res.status).toBe(409);
      expect(await errorOf(res)).toMatchObject({ code: 'conflict', message: 'The handle "dave" is taken.' });
      expect(setCookies(res).has(SESSION_COOKIE)).toBe(false);
    });

    it('refuses an invalid handle with 400 and says what a handle is', async () => {
      const res = await post(base, '/_/api/signup', { handle: 'Not Valid!', displayName: 'X', password: PASSWORD });

      expect(res.status).toBe(400);
      expect(await errorOf(res)).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/^handle: A handle is 2 to 32 characters/) });
    });

    it('refuses a reserved handle', async () => {
      const res = await post(base, '/_/api/signup', { handle: 'robots.txt', displayName: 'Robot', password: PASSWORD });

      expect(res.status).toBe(400);
      expect((await errorOf(res)).message).toBe('handle: This handle is reserved.');
    });
  });

  describe('log in and out', () => {
    it('refuses a wrong password with 401 and the same message as an unknown handle', async () => {
      const wrong = await post(base, '/_/api/login', { handle: 'alice', password: 'not the password' });
      const unknown = await post(base, '/_/api/login', { handle: 'nobody', password: 'not the password' });

      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(await wrong.json()).toEqual(await unknown.json());
      expect(setCookies(wrong).has(SESSION_COOKIE)).toBe(false);
    });

    it('logs out: clears the cookie and the session no longer works', async () => {
      const cookie = await login(base, 'alice');
      expect(await me(base, cookie)).toEqual({ handle: 'alice', displayName: 'Alice' });

      const res = await post(base, '/_/api/logout', {}, { cookie });
      expect(res.status).toBe(200);
      const cleared = setCookies(res).get(SESSION_COOKIE);
      expect(cleared?.value).toBe('');
      expect(cleared?.attributes.get('max-age')).toBe('0');
      expect(await me(base, cookie)).toBeNull();
    });

    it('answers /_/api/me with a null account for anyone not signed in', async () => {
      expect(await me(base, '')).toBeNull();
      expect(await me(base, cookiePair(SESSION_COOKIE, 'made-up-session-token'))).toBeNull();
    });
  });

  describe('profiles', () => {
    it('answers 404 for a handle nobody has', async () => {
      const res = await get(base, '/_/api/profile/nobody');
      expect(res.status).toBe(404);
      expect(await errorOf(res)).toMatchObject({ code: 'not_found', message: 'There is nobody at /nobody.' });
    });

    it('shows a visitor the owner, without a conversation yet', async () => {
      const res = await get(base, '/_/api/profile/alice');
      expect(await res.json()).toEqual({
        handle: 'alice', displayName: 'Alice', online: false, viewer: null, isOwner: false, conversation: null, linked: null,
        // What a message's files may be here (the defaults: 25 MiB a file, 10 files a message), checked before uploading.
        uploads: { maxFileBytes: 25 * 1024 * 1024, maxFilesPerMessage: 10 },
      });
    });

    it('recognizes the owner by their session', async () => {
      const cookie = await login(base, 'alice');
      const profile = (await (await get(base, '/_/api/profile/alice', { cookie })).json()) as { isOwner: boolean; viewer: unknown };
      expect(profile.isOwner).toBe(true);
      expect(profile.viewer).toEqual({ handle: 'alice', displayName: 'Alice' });
    });
  });

  describe('knocking', () => {
    it('starts a conversation with 201 and a per-owner visitor cookie', async () => {
      const res = await post(base, '/_/api/u/alice/knock', { name: 'Vic' });

      expect(res.status).toBe(201);
      const answer = (await res.json()) as { conversationId: string; token: string; resumePath: string };
      expect(answer.resumePath).toBe(`/alice/c/${answer.token}`);
      const cookie = setCookies(res).get(visitorCookieName('alice'));
      expect(cookie?.value).toBe(answer.token);
      expect(cookie?.attributes.has('httponly')).toBe(true);
      expect(cookie?.attributes.get('samesite')).toBe('Lax');
    });

    it('continues the same conversation when the visitor knocks again with the cookie', async () => {
      const first = await post(base, '/_/api/u/alice/knock', {});
      const { conversationId, token } = (await first.json()) as { conversationId: string; token: string };

      const again = await post(base, '/_/api/u/alice/knock', {}, { cookie: cookiePair(visitorCookieName('alice'), token) });

      expect(again.status).toBe(200);
      expect(await again.json()).toMatchObject({ conversationId, token });
    });

    it('refuses the owner knocking on their own URL with 400', async () => {
      const cookie = await login(base, 'alice');
      const res = await post(base, '/_/api/u/alice/knock', {}, { cookie });

      expect(res.status).toBe(400);
      expect(await errorOf(res)).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/your own URL/) });
    });

    it('answers 404 to a knock on a handle nobody has', async () => {
      expect((await post(base, '/_/api/u/nobody/knock', {})).status).toBe(404);
    });

    it('refuses an invalid visitor name with a readable message', async () => {
      const res = await post(base, '/_/api/u/alice/knock', { name: '   ' });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).message).toBe('name: The name cannot be empty.');
    });
  });

  describe('resume links', () => {
    type Knocked = { conversationId: string; token: string };
    const knockAs = async (name: string): Promise<Knocked> => (await (await post(base, '/_/api/u/alice/knock', { name })).json()) as Knocked;
    const visitorCookie = (token: string) => cookiePair(visitorCookieName('alice'), token);
    const resume = (token: unknown, opts: Parameters<typeof post>[3] = {}) => post(base, '/_/api/u/alice/resume', { token }, { origin: base, ...opts });

    it('shows the conversation of ?resume= as the linked one, and sets no cookie: a GET changes nothing', async () => {
      const knocked = await knockAs('Vic');

      const res = await get(base, `/_/api/profile/alice?resume=${knocked.token}`);

      const profile = (await res.json()) as { conversation: unknown; linked: unknown };
      expect(profile.conversation).toBeNull();
      expect(profile.linked).toEqual({
        id: knocked.conversationId, token: knocked.token, resumePath: `/alice/c/${knocked.token}`, visitorName: 'Vic',
      });
      expect(setCookies(res).has(visitorCookieName('alice'))).toBe(false);
    });

    it('never moves a visitor into the conversation of an attacker\u2019s link by a GET (resume-link fixation)', async () => {
      const attacker = await knockAs('Mallory');
      const victim = await knockAs('Victoria');

      const res = await get(base, `/_/api/profile/alice?resume=${attacker.token}`, { cookie: visitorCookie(victim.token) });

      // No Set-Cookie at all: the victim's browser keeps her own conversation.
      expect(setCookies(res).has(visitorCookieName('alice'))).toBe(false);
      const profile = (await res.json()) as { conversation: { id: string } | null; linked: { id: string } | null };
      expect(profile.conversation?.id).toBe(victim.conversationId);
      expect(profile.linked?.id).toBe(attacker.conversationId);
    });

    it('adopts the linked conversation in this browser only by an explicit POST from Knock\u2019s own page', async () => {
      const mine = await knockAs('Vic');
      const linked = await knockAs('Vic on the laptop');

      const res = await resume(linked.token, { cookie: visitorCookie(mine.token) });

      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ id: linked.conversationId, token: linked.token, resumePath: `/alice/c/${linked.token}`, visitorName: 'Vic on the laptop' });
      const cookie = setCookies(res).get(visitorCookieName('alice'));
      expect(cookie?.value).toBe(linked.token);
      expect(cookie?.attributes.has('httponly')).toBe(true);
      const after = (await (await get(base, '/_/api/profile/alice', { cookie: visitorCookie(cookie!.value) })).json()) as { conversation: { id: string } };
      expect(after.conversation.id).toBe(linked.conversationId);
    });

    it.each([
      ['from another site', 403, 'forbidden', { origin: 'http://evil.example' }],
      ['sent as a form (no CORS preflight)', 400, 'bad_request', { contentType: 'text/plain' }],
    ])('refuses to adopt a conversation %s (%i), setting no cookie', async (_what, status, code, opts) => {
      const attacker = await knockAs('Mallory');
      const victim = await knockAs('Victoria');

      const res = await resume(attacker.token, { cookie: visitorCookie(victim.token), ...opts });

      expect(res.status).toBe(status);
      expect(await errorOf(res)).toMatchObject({ code });
      expect(setCookies(res).has(visitorCookieName('alice'))).toBe(false);
    });

    it('refuses to adopt a token that opens nothing here, one of another owner, or one of absurd size', async () => {
      await knock.addUser('zoe', 'Zoe');
      const withZoe = (await (await post(base, '/_/api/u/zoe/knock', {})).json()) as Knocked;

      for (const [token, status] of [['x'.repeat(43), 404], [withZoe.token, 404], ['short', 400], ['y'.repeat(129), 400], [42, 400]] as const) {
        const res = await resume(token);
        expect(res.status).toBe(status);
        expect(setCookies(res).has(visitorCookieName('alice'))).toBe(false);
      }
      const huge = await post(base, '/_/api/u/alice/resume', JSON.stringify({ token: 'z'.repeat(1024 * 1024) }), { origin: base });
      expect(huge.status).toBe(413);
    });

    it('refuses the owner adopting a conversation at their own URL', async () => {
      const knocked = await knockAs('Vic');
      const res = await resume(knocked.token, { cookie: await login(base, 'alice') });
      expect(res.status).toBe(400);
      expect(setCookies(res).has(visitorCookieName('alice'))).toBe(false);
    });

    it('ignores a resume token that opens nothing, and sets no cookie', async () => {
      const res = await get(base, `/_/api/profile/alice?resume=${'x'.repeat(43)}`);

      expect(await res.json()).toMatchObject({ conversation: null, linked: null });
      expect(setCookies(res).has(visitorCookieName('alice'))).toBe(false);
    });

    it('clears a visitor cookie that no longer opens a conversation', async () => {
      const res = await get(base, '/_/api/profile/alice', { cookie: cookiePair(visitorCookieName('alice'), 'y'.repeat(43)) });
      expect(setCookies(res).get(visitorCookieName('alice'))?.attributes.get('max-age')).toBe('0');
    });
  });

  describe('requests the API refuses', () => {
    const knockBody = JSON.stringify({ name: 'Vic' });
    it.each([
      ['a foreign Origin', 403, 'forbidden', { origin: 'http://evil.example' }, knockBody],
      ['Content-Type text/plain', 400, 'bad_request', { contentType: 'text/plain' }, knockBody],
      ['a 1 MB body', 413, 'too_large', {}, JSON.stringify({ name: 'x'.repeat(1024 * 1024) })],
      ['invalid JSON', 400, 'bad_request', {}, '{"name": '],
    ])('refuses a POST with %s (%i) and keeps answering', async (_what, status, code, opts, body) => {
      const res = await post(base, '/_/api/u/alice/knock', body, opts);

      expect(res.status).toBe(status);
      expect(await errorOf(res)).toMatchObject({ code, message: expect.any(String) });
      expect(setCookies(res).has(visitorCookieName('alice'))).toBe(false);
      expect((await get(base, '/_/health')).status).toBe(200);
      expect((await get(base, '/_/api/profile/alice')).status).toBe(200);
    });

    it('accepts a POST from the server\u2019s own pages', async () => {
      const res = await post(base, '/_/api/u/alice/knock', { name: 'Vic' }, { origin: base });
      expect(res.status).toBe(201);
    });

    it('answers an unknown API path with 404 JSON', async () => {
      const res = await get(base, '/_/api/nothing-here');
      expect(res.status).toBe(404);
      expect(await errorOf(res)).toMatchObject({ code: 'not_found' });
    });
  });
});

describe('with sign-up closed', () => {
  let knock: TestKnock;
  beforeAll(async () => {
    knock = await startKnock({ signupOpen: false });
  });
  afterAll(() => knock.close());

  it('says so on GET /_/api/signup and refuses a sign-up with 403 signup_closed', async () => {
    expect(await (await get(knock.url, '/_/api/signup')).json()).toEqual({ open: false });

    const res = await post(knock.url, '/_/api/signup', { handle: 'carol', displayName: 'Carol', password: PASSWORD });
    expect(res.status).toBe(403);
    expect(await errorOf(res)).toMatchObject({ code: 'signup_closed', message: expect.stringMatching(/closed/) });
    expect(await knock.storage.getAccountByHandle('carol')).toBeNull();
  });
});

describe('with small knock and login limits', () => {
  let knock: TestKnock;
  beforeAll(async () => {
    knock = await startKnock({
      rateLimits: { knocksPerIp: { perWindow: 2, windowMs: 60_000 }, loginsPerHandleAndIp: { perWindow: 3, windowMs: 60_000 } },
    });
    await knock.addUser('alice', 'Alice');
    await knock.addUser('bob', 'Bob');
  });
  afterAll(() => knock.close());

  it('refuses new conversations from one address beyond the limit with 429, whoever they are with', async () => {
    const first = await post(knock.url, '/_/api/u/alice/knock', {});
    const second = await post(knock.url, '/_/api/u/bob/knock', {});
    const third = await post(knock.url, '/_/api/u/alice/knock', {});

    expect([first.status, second.status, third.status]).toEqual([201, 201, 429]);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await errorOf(third)).toMatchObject({ code: 'rate_limited' });

    // Continuing an existing conversation is not a new one.
    const { token } = (await first.json()) as { token: string };
    const again = await post(knock.url, '/_/api/u/alice/knock', {}, { cookie: cookiePair(visitorCookieName('alice'), token) });
    expect(again.status).toBe(200);
  });

  it('limits login attempts per handle from one address with 429 and Retry-After, leaving other handles alone', async () => {
    await knock.addUser('erin', 'Erin');
    const attempts = [];
    for (let i = 0; i < 4; i++) attempts.push(await post(knock.url, '/_/api/login', { handle: 'erin', password: `wrong ${i}` }));

    expect(attempts.map((r) => r.status)).toEqual([401, 401, 401, 429]);
    const limited = attempts[3]!;
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await errorOf(limited)).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/Try again in \d+ s\./) });
    const correct = await post(knock.url, '/_/api/login', { handle: 'erin', password: TEST_PASSWORD });
    expect(correct.status).toBe(429);
    expect((await post(knock.url, '/_/api/login', { handle: 'alice', password: 'wrong' })).status).toBe(401);
  });
});
