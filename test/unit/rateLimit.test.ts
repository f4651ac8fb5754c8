/** Token buckets (engine/rateLimit.ts) with a clock the test moves by hand. */
import { describe, expect, it } from 'vitest';
import { KnockError } from '../../engine/errors.ts';
import { KeyedRateLimiter, TokenBucket, rateLimited } from '../../engine/rateLimit.ts';
import { ManualClock } from '../support/roomHarness.ts';

function takes(bucket: { take(): { ok: boolean } }, n: number): boolean[] {
  return Array.from({ length: n }, () => bucket.take().ok);
}

describe('TokenBucket', () => {
  it('starts full: perWindow takes succeed at once, the next one is refused', () => {
    const bucket = new TokenBucket({ perWindow: 4, windowMs: 1000 }, new ManualClock());
    expect(takes(bucket, 5)).toEqual([true, true, true, true, false]);
  });

  it('says how long until the next token: windowMs / perWindow when empty', () => {
    const bucket = new TokenBucket({ perWindow: 4, windowMs: 1000 }, new ManualClock());
    takes(bucket, 4);
    expect(bucket.take()).toEqual({ ok: false, retryAfterMs: 250 });
  });

  it('refills evenly over the window, counting partial tokens', () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ perWindow: 4, windowMs: 1000 }, clock);
    takes(bucket, 4);

    clock.advance(100);
    expect(bucket.take()).toEqual({ ok: false, retryAfterMs: 150 });
    clock.advance(150);
    expect(takes(bucket, 2)).toEqual([true, false]);
    clock.advance(500);
    expect(takes(bucket, 3)).toEqual([true, true, false]);
  });

  it('never holds more than perWindow tokens, however long it rested', () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ perWindow: 3, windowMs: 1000 }, clock);
    clock.advance(24 * 3600_000);
    expect(takes(bucket, 4)).toEqual([true, true, true, false]);
  });

  it('rounds the wait up to a whole millisecond', () => {
    const bucket = new TokenBucket({ perWindow: 3, windowMs: 1000 }, new ManualClock());
    takes(bucket, 3);
    expect(bucket.take()).toEqual({ ok: false, retryAfterMs: 334 });
  });

  it('lends tokens beyond empty, up to the overdraft, and says how many it owes; the debt is repaid at the refill rate', () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ perWindow: 2, windowMs: 1000 }, clock);
    expect([1, 2, 3, 4, 5, 6].map(() => bucket.borrow(3))).toEqual([0, 0, 1, 2, 3, 3]);
    clock.advance(1000); // two tokens earned: one still owed
    expect(bucket.borrow(3)).toBe(2);
    clock.advance(3000);
    expect(bucket.borrow(3)).toBe(0);
  });

  it('is full again only once it has refilled completely', () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ perWindow: 2, windowMs: 1000 }, clock);
    expect(bucket.isFull()).toBe(true);
    bucket.take();
    expect(bucket.isFull()).toBe(false);
    clock.advance(499);
    expect(bucket.isFull()).toBe(false);
    clock.advance(1);
    expect(bucket.isFull()).toBe(true);
  });
});

describe('KeyedRateLimiter', () => {
  it('keeps one bucket per key', () => {
    const limiter = new KeyedRateLimiter({ perWindow: 1, windowMs: 60_000 }, new ManualClock());
    expect(limiter.take('10.0.0.1').ok).toBe(true);
    expect(limiter.take('10.0.0.1').ok).toBe(false);
    expect(limiter.take('10.0.0.2').ok).toBe(true);
  });

  it('throws a readable rate_limited KnockError carrying retryAfterMs', () => {
    const limiter = new KeyedRateLimiter({ perWindow: 1, windowMs: 60_000 }, new ManualClock());
    limiter.takeOrThrow('bob', 'Login attempts for this account');

    let error: unknown;
    try {
      limiter.takeOrThrow('bob', 'Login attempts for this account');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(KnockError);
    expect(error).toMatchObject({
      code: 'rate_limited',
      httpStatus: 429,
      message: 'Login attempts for this account: too many, too fast. Try again in 60 s.',
      data: { retryAfterMs: 60_000 },
    });
  });

  it('forgets only refilled keys when it sweeps, remembering the ones still limited', () => {
    const clock = new ManualClock();
    const limiter = new KeyedRateLimiter({ perWindow: 1, windowMs: 60_000 }, clock, 3);
    limiter.take('rested');
    clock.advance(60_000);
    limiter.take('busy-1');
    limiter.take('busy-2');

    limiter.take('newcomer'); // the map is at its bound: a sweep runs first

    expect(limiter.take('busy-1').ok).toBe(false);
    expect(limiter.take('busy-2').ok).toBe(false);
    expect(limiter.take('newcomer').ok).toBe(false);
  });

  it('stays bounded under a flood of distinct keys by forgetting the oldest half', () => {
    const limiter = new KeyedRateLimiter({ perWindow: 1, windowMs: 60_000 }, new ManualClock(), 4);
    for (const key of ['a', 'b', 'c', 'd']) limiter.take(key);

    limiter.take('e'); // nothing has refilled: 'a' and 'b', the oldest, are dropped

    expect(limiter.take('a').ok).toBe(true);
    expect(limiter.take('d').ok).toBe(false);
    expect(limiter.take('e').ok).toBe(false);
  });
});

describe('rateLimited', () => {
  it('never tells people to wait 0 seconds', () => {
    expect(rateLimited('Messages', 20).message).toBe('Messages: too many, too fast. Try again in 1 s.');
    expect(rateLimited('Messages', 1001).message).toBe('Messages: too many, too fast. Try again in 2 s.');
  });
});
