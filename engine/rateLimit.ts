/**
 * Token buckets: `perWindow` tokens that refill evenly over `windowMs`. A request takes one token or is refused
 * with the time until the next one. Used per connection (one bucket) and per IP / per target (keyed buckets).
 */
import type { RateLimitConfig } from './config.ts';
import type { Clock } from './ports/clock.ts';
import { KnockError } from './errors.ts';

export type Verdict = { ok: true } | { ok: false; retryAfterMs: number };

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly config: RateLimitConfig,
    private readonly clock: Clock,
  ) {
    this.tokens = config.perWindow;
    this.updatedAt = clock.now();
  }

  take(): Verdict {
    const refillPerMs = this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil((1 - this.tokens) / refillPerMs) };
  }

  /**
   * Takes a token even from an empty bucket, going at most `overdraft` tokens below zero, and returns how many whole
   * tokens the bucket owes afterwards (0 when it had one to give). For limits that slow down rather than refuse: the
   * debt says how far over its rate the key is, and repays itself at the refill rate.
   */
  borrow(overdraft: number): number {
    this.refill();
    this.tokens = Math.max(-overdraft, this.tokens - 1);
    return this.tokens >= 0 ? 0 : Math.ceil(-this.tokens);
  }

  /** Adds the tokens earned since the last update; returns the refill rate (tokens per ms). */
  private refill(): number {
    const now = this.clock.now();
    const refillPerMs = this.config.perWindow / this.config.windowMs;
    this.tokens = Math.min(this.config.perWindow, this.tokens + (now - this.updatedAt) * refillPerMs);
    this.updatedAt = now;
    return refillPerMs;
  }

  /** True once the bucket has refilled completely, so a keyed limiter may forget it. */
  isFull(): boolean {
    const elapsed = this.clock.now() - this.updatedAt;
    return this.tokens + (elapsed * this.config.perWindow) / this.config.windowMs >= this.config.perWindow;
  }
}

/** Buckets by key (an IP, a handle). Full buckets are forgotten so the map cannot grow without bound. */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private takesSinceSweep = 0;

  constructor(
    private readonly config: RateLimitConfig,
    private readonly clock: Clock,
    private readonly maxKeys = 100_000,
  ) {}

  take(key: string): Verdict {
    return this.bucketOf(key).take();
  }

  /** `TokenBucket.borrow` on the key's bucket: how many tokens it owes after this action (0: within its rate). */
  borrow(key: string, overdraft: number): number {
    return this.bucketOf(key).borrow(overdraft);
  }

  /** Takes a token or throws `rate_limited` with a readable message. */
  takeOrThrow(key: string, what: string): void {
    const verdict = this.take(key);
    if (!verdict.ok) throw rateLimited(what, verdict.retryAfterMs);
  }

  private bucketOf(key: string): TokenBucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys || ++this.takesSinceSweep >= 1000) this.sweep();
      bucket = new TokenBucket(this.config, this.clock);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  private sweep(): void {
    this.takesSinceSweep = 0;
    for (const [key, bucket] of this.buckets) if (bucket.isFull()) this.buckets.delete(key);
    // Under a flood of distinct keys nothing is full yet: drop the oldest half rather than grow.
    if (this.buckets.size >= this.maxKeys) {
      let drop = Math.floor(this.buckets.size / 2);
      for (const key of this.buckets.keys()) {
        if (drop-- <= 0) break;
        this.buckets.delete(key);
      }
    }
  }
}

export function rateLimited(what: string, retryAfterMs: number): KnockError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new KnockError('rate_limited', `${what}: too many, too fast. Try again in ${seconds} s.`, { retryAfterMs });
}
