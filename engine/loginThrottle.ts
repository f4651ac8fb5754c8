/**
 * How fast passwords may be tried (OWASP Authentication Cheat Sheet, "Protect against automated attacks"), without
 * handing anyone a way to lock an owner out:
 *
 * - per client address (`loginsPerIp`) and per account from one address (`loginsPerHandleAndIp`): a client over
 *   either is refused (`rate_limited`, 429 with Retry-After). Those limits only ever stop the client that made them.
 * - per account from everywhere (`loginsPerHandle`): beyond this rate every attempt for the account is answered
 *   later, by a delay that doubles with each attempt over the rate (250 ms, 500 ms, ... up to 5 s) and shrinks again
 *   at the rate, but never refused: a distributed guesser is slowed, and the owner still gets in, a few seconds late,
 *   whatever anybody else does. (A global per-account refusal, as Knock had, let anyone lock an owner out with ten
 *   bad tries a minute.)
 *
 * The delay comes before the password is checked, and applies to right and wrong passwords alike, so it tells an
 * attacker nothing.
 *
 * @example
 *   const throttle = new LoginThrottle(config.rateLimits, clock, timers);
 *   await throttle.admit('alice', clientKeyOf(req, config.trustProxy)); // throws rate_limited, or waits, then resolves
 */
import type { RateLimitConfig } from './config.ts';
import type { Clock, Timers } from './ports/clock.ts';
import { KeyedRateLimiter } from './rateLimit.ts';

export interface LoginLimits {
  loginsPerIp: RateLimitConfig;
  loginsPerHandleAndIp: RateLimitConfig;
  loginsPerHandle: RateLimitConfig;
}

/** The delay of the first attempt over an account's rate; each further one doubles it. */
export const LOGIN_DELAY_FIRST_MS = 250;
/** The longest an attempt is delayed, however many came before it. */
export const LOGIN_DELAY_MAX_MS = 5_000;
/** How many attempts over the rate are remembered: enough to reach the longest delay, and no more (it is repaid at the rate). */
const OVERDRAFT = Math.ceil(Math.log2(LOGIN_DELAY_MAX_MS / LOGIN_DELAY_FIRST_MS)) + 1;

/** The delay of an attempt when the account is `over` attempts beyond its rate (0: within it). */
export function loginDelayMs(over: number): number {
  return over <= 0 ? 0 : Math.min(LOGIN_DELAY_MAX_MS, LOGIN_DELAY_FIRST_MS * 2 ** (over - 1));
}

export class LoginThrottle {
  private readonly perIp: KeyedRateLimiter;
  private readonly perHandleAndIp: KeyedRateLimiter;
  private readonly perHandle: KeyedRateLimiter;

  constructor(
    limits: LoginLimits,
    clock: Clock,
    private readonly timers: Timers,
  ) {
    this.perIp = new KeyedRateLimiter(limits.loginsPerIp, clock);
    this.perHandleAndIp = new KeyedRateLimiter(limits.loginsPerHandleAndIp, clock);
    this.perHandle = new KeyedRateLimiter(limits.loginsPerHandle, clock);
  }

  /**
   * Counts one attempt to log in to `handle` from `client` (an address key): throws `rate_limited` when this client is
   * over its limits, else resolves once the account's slow-down, if any, has passed.
   */
  async admit(handle: string, client: string): Promise<void> {
    this.perIp.takeOrThrow(client, 'Login attempts from your address');
    // A newline cannot be part of a handle or an address: the pair cannot be confused with another.
    this.perHandleAndIp.takeOrThrow(`${handle}\n${client}`, 'Login attempts for this account from your address');
    const delay = loginDelayMs(this.perHandle.borrow(handle, OVERDRAFT));
    if (delay > 0) await new Promise<void>((resolve) => this.timers.after(delay, resolve));
  }

  /**
   * Counts one sign-in that names no account (a passkey alone, issue 22: the passkey says whose it is) against the
   * client's address; throws `rate_limited` when the client is over `loginsPerIp`.
   */
  admitAddress(client: string): void {
    this.perIp.takeOrThrow(client, 'Login attempts from your address');
  }
}
