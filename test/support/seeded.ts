/**
 * Seeded randomness for fault and fuzz tests (CONVENTIONS 14): a run takes its seed from KNOCK_TEST_SEED or picks
 * one, prints it, and every random choice comes from it, so a failure replays with `KNOCK_TEST_SEED=<seed>`.
 *
 * @example
 *   const seed = testSeed('crash');
 *   const rand = seededRandom(seed);
 *   rand.int(1, 6); // the same sequence for the same seed
 */

export interface SeededRandom {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
}

/** mulberry32: small, fast and good enough to pick test cases (not for anything secret). */
export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
  };
}

/** The seed of this run: KNOCK_TEST_SEED when set (replay), else a fresh one; printed either way. */
export function testSeed(label: string): number {
  const given = process.env.KNOCK_TEST_SEED;
  const seed = given !== undefined && given !== '' ? Number(given) >>> 0 : Math.floor(Math.random() * 2 ** 32) >>> 0;
  console.info(`[${label}] seed ${seed} (replay with KNOCK_TEST_SEED=${seed})`);
  return seed;
}
