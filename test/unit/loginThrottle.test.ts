/**
 * Login limits (engine/loginThrottle.ts) on a clock the test moves: a client over its own limits is refused; an
 * account tried too often from everywhere is slowed down, never refused, and recovers at its rate.
 */
import { describe, expect, it } from 'vitest';
import { KnockError } from '../../engine/errors.ts';
import { LOGIN_DELAY_MAX_MS, LoginThrottle, loginDelayMs } from '../../engine/loginThrottle.ts';
import { ManualClock } from '../support/roomHarness.ts';

const perMinute = (n: number) => ({ perWindow: n, windowMs: 60_000 });

/** How an attempt ends on `clock`: refused (the error's code), or admitted after how many ms. */
async function attempt(throttle: LoginThrottle, clock: ManualClock, handle: string, client: string): Promise<number | string> {
  const started = clock.now();
  let outcome: number | string | null = null;
  const admitted = throttle.admit(handle, client).then(
    () => (outcome = clock.now() - started),
    (err: unknown) => (outcome = err instanceof KnockError ? err.code : String(err)),
  );
  // Runs the delay, if any, in steps, so the measured wait is the delay itself.
  for (let waited = 0; outcome === null && waited <= LOGIN_DELAY_MAX_MS; waited += 50) {
    await Promise.resolve();
    if (outcome === null) clock.advance(50);
  }
  await admitted;
  return outcome!;
}

describe('LoginThrottle', () => {
  it('refuses a client over its per-address limit, whatever account it tries', async () => {
    const clock = new ManualClock();
    const throttle = new LoginThrottle({ loginsPerIp: perMinute(2), loginsPerHandleAndIp: perMinute(10), loginsPerHandle: perMinute(10) }, clock, clock);
    expect(await attempt(throttle, clock, 'alice', '10.0.0.1')).toBe(0);
    expect(await attempt(throttle, clock, 'bob', '10.0.0.1')).toBe(0);
    expect(await attempt(throttle, clock, 'carol', '10.0.0.1')).toBe('rate_limited');
    expect(await attempt(throttle, clock, 'carol', '10.0.0.2')).toBe(0);
  });

  it('counts a sign-in naming no account (a passkey alone) against the same per-address limit as password logins', async () => {
    const clock = new ManualClock();
    const throttle = new LoginThrottle({ loginsPerIp: perMinute(2), loginsPerHandleAndIp: perMinute(10), loginsPerHandle: perMinute(10) }, clock, clock);
    throttle.admitAddress('10.0.0.1');
    expect(await attempt(throttle, clock, 'alice', '10.0.0.1')).toBe(0);
    expect(() => throttle.admitAddress('10.0.0.1')).toThrow(expect.objectContaining({ code: 'rate_limited' }));
    expect(() => throttle.admitAddress('10.0.0.2')).not.toThrow();
  });

  it('refuses one address over its limit for one account, and lets the owner in from another address', async () => {
    const clock = new ManualClock();
    const throttle = new LoginThrottle({ loginsPerIp: perMinute(100), loginsPerHandleAndIp: perMinute(3), loginsPerHandle: perMinute(100) }, clock, clock);
    for (let i = 0; i < 3; i++) expect(await attempt(throttle, clock, 'alice', 'attacker')).toBe(0);
    expect(await attempt(throttle, clock, 'alice', 'attacker')).toBe('rate_limited');
    expect(await attempt(throttle, clock, 'alice', 'owner')).toBe(0);
    expect(await attempt(throttle, clock, 'bob', 'attacker')).toBe(0);
  });

  it('beyond the account\u2019s rate slows every attempt down by a doubling, capped delay, and never refuses', async () => {
    const clock = new ManualClock();
    const throttle = new LoginThrottle({ loginsPerIp: perMinute(1000), loginsPerHandleAndIp: perMinute(1000), loginsPerHandle: perMinute(2) }, clock, clock);
    const delays: Array<number | string> = [];
    // Attempts from ever new addresses, as from a botnet; no time passes between them beyond their own delays.
    for (let i = 0; i < 9; i++) delays.push(await attempt(throttle, clock, 'alice', `bot-${i}`));
    // The delays doubled from 250 ms and stopped growing at the cap; the steps of 50 ms round them up.
    expect(delays.slice(0, 2)).toEqual([0, 0]);
    expect(delays.slice(2).every((d) => typeof d === 'number')).toBe(true);
    const slowed = delays.slice(2) as number[];
    expect(slowed[0]).toBeGreaterThanOrEqual(250);
    expect(slowed[1]).toBeGreaterThanOrEqual(500);
    expect(slowed[2]).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...slowed)).toBeLessThanOrEqual(LOGIN_DELAY_MAX_MS + 50);
    // The owner, meanwhile, is slowed too but admitted.
    const owner = await attempt(throttle, clock, 'alice', 'owner');
    expect(typeof owner).toBe('number');
    expect(owner).toBeLessThanOrEqual(LOGIN_DELAY_MAX_MS + 50);

    // Once the guessing stops, the account recovers at its rate: no delay a few minutes later.
    clock.advance(5 * 60_000);
    expect(await attempt(throttle, clock, 'alice', 'owner')).toBe(0);
  });

  it('computes the delay from how far over the rate the account is', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map(loginDelayMs)).toEqual([0, 250, 500, 1000, 2000, 4000, 5000, 5000]);
  });
});
