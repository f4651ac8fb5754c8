/** Time, injected so tests can control it (CONVENTIONS 14). */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };
