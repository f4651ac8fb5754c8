/**
 * Records what a person saw over time, so a test can assert a sequence ("offline, then online, then offline")
 * or that something never happened (no "offline" while a second device was still connected).
 *
 * @example
 *   const seen = recordChanges(visitorPresence, (s) => s.online);
 *   ... // later
 *   expect(seen.values).toEqual([false, true, false]);
 */
export interface ChangeLog<V> {
  /** Every distinct successive value, starting with the value at the time of the call. */
  readonly values: V[];
  stop(): void;
}

export function recordChanges<S, V>(source: { snapshot(): S; subscribe(listener: () => void): () => void }, select: (s: S) => V): ChangeLog<V> {
  const values: V[] = [select(source.snapshot())];
  const stop = source.subscribe(() => {
    const value = select(source.snapshot());
    if (!Object.is(values.at(-1), value)) values.push(value);
  });
  return { values, stop };
}
