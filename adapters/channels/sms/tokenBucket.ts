/**
 * The throughput limit of an SMPP account (carriers set one, in messages a second, and answer ESME_RTHROTTLED past
 * it): a token bucket holding at most one second's worth, refilled continuously; each SMS part takes one token, and
 * callers wait their turn in the order they came.
 *
 * @example
 *   const bucket = new TokenBucket(10, systemClock, systemTimers);
 *   for (const part of parts) { await bucket.take(); submit(part); }
 *   bucket.close(new Error('closing'));   // waiters are rejected
 */
import type { Clock, Timers } from '../../../engine/ports/clock.ts';

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class TokenBucket {
  private tokens: number;
  private refilledAt: number;
  private readonly waiters: Waiter[] = [];
  private cancelTimer: (() => void) | null = null;
  private closedWith: Error | null = null;

  constructor(
    private readonly perSecond: number,
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly capacity = Math.max(1, perSecond),
  ) {
    if (!(perSecond > 0)) throw new RangeError(`throughput must be above 0 a second; got ${perSecond}`);
    this.tokens = this.capacity;
    this.refilledAt = clock.now();
  }

  /** Resolves when it is this caller's turn and a token is free (and takes it). */
  take(): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.drain();
    });
  }

  /** Rejects every waiter with `error`, and every later take. */
  close(error: Error): void {
    this.closedWith = error;
    this.cancelTimer?.();
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  private drain(): void {
    this.refill();
    while (this.waiters.length > 0 && this.tokens >= 1) {
      this.tokens -= 1;
      this.waiters.shift()!.resolve();
    }
    if (this.waiters.length === 0 || this.cancelTimer) return;
    const waitMs = Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
    this.cancelTimer = this.timers.after(waitMs, () => {
      this.cancelTimer = null;
      this.drain();
    });
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = now;
  }
}
