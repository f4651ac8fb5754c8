/** Time, injected so tests can control it (CONVENTIONS 14). */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

/**
 * Deferred work (ring timeouts, rejoin grace periods), injected next to the Clock so a test moves time by hand
 * and sees exactly the timers that are due fire.
 *
 * @example
 *   const cancel = timers.after(45_000, () => endAsMissed());
 *   cancel(); // answered in time
 */
export interface Timers {
  /** Runs `fn` once, `ms` from now; the returned function cancels it (harmless after it ran). */
  after(ms: number, fn: () => void): () => void;
}
export const systemTimers: Timers = {
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};
