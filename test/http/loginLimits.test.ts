/**
 * Login limits attacked over HTTP (engine/loginThrottle.ts): an attacker guessing an owner's password from one
 * address, and a botnet guessing from many, must never keep the owner out. Knock runs behind a "proxy" (this test,
 * KNOCK_TRUST_PROXY=true), so each request says which client address it comes from.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKnock, TEST_PASSWORD, type TestKnock } from '../support/knockServer.ts';
import { post } from '../support/httpClient.ts';
import { testRateLimits } from '../support/cast.ts';

const perMinute = (n: number) => ({ perWindow: n, windowMs: 60_000 });
let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock({
    trustProxy: true,
    rateLimits: testRateLimits({ loginsPerIp: perMinute(100), loginsPerHandleAndIp: perMinute(3), loginsPerHandle: perMinute(3) }),
  });
});
afterAll(() => knock?.close());

/** A login attempt from `client`; resolves with its status and how long the answer took. */
async function loginFrom(client: string, handle: string, password: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await post(knock.url, '/_/api/login', { handle, password }, { headers: { 'x-forwarded-for': client } });
  await res.body?.cancel();
  return { status: res.status, ms: performance.now() - started };
}

describe('login limits', () => {
  it('stop an attacker guessing from one address, and still let the owner log in from hers', async () => {
    await knock.addUser('alice', 'Alice');
    const guesses = [];
    for (let i = 0; i < 6; i++) guesses.push((await loginFrom('198.51.100.66', 'alice', `guess ${i}`)).status);
    expect(guesses).toEqual([401, 401, 401, 429, 429, 429]);

    expect((await loginFrom('203.0.113.7', 'alice', TEST_PASSWORD)).status).toBe(200);
  });

  it('slow down guesses from many addresses beyond the account\u2019s rate instead of refusing them, and the owner gets in', async () => {
    await knock.addUser('bob', 'Bob');
    const guesses = [];
    for (let i = 0; i < 6; i++) guesses.push(await loginFrom(`198.51.100.${i + 1}`, 'bob', `guess ${i}`));

    expect(guesses.map((g) => g.status)).toEqual([401, 401, 401, 401, 401, 401]);
    // The 4th, 5th and 6th attempt were over the rate (3 a minute): delayed 250, 500 and 1000 ms.
    expect(guesses[3]!.ms).toBeGreaterThanOrEqual(240);
    expect(guesses[4]!.ms).toBeGreaterThanOrEqual(490);
    expect(guesses[5]!.ms).toBeGreaterThanOrEqual(990);

    const owner = await loginFrom('203.0.113.8', 'bob', TEST_PASSWORD);
    expect(owner.status).toBe(200);
    expect(owner.ms).toBeGreaterThanOrEqual(1990);
  });
});
