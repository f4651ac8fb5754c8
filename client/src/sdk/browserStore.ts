/** The KeyValueStore of the browser: localStorage, or memory where storage is blocked (private modes, quotas). */
import type { KeyValueStore } from './types.ts';

function memoryStore(): KeyValueStore {
  const map = new Map<string, string>();
  return { get: (k) => map.get(k) ?? null, set: (k, v) => void map.set(k, v), remove: (k) => void map.delete(k) };
}

function localStore(): KeyValueStore | null {
  try {
    const ls = globalThis.localStorage;
    ls.setItem('knock:probe', '1');
    ls.removeItem('knock:probe');
    const fallback = memoryStore();
    return {
      get: (k) => {
        try {
          return ls.getItem(k) ?? fallback.get(k);
        } catch {
          return fallback.get(k);
        }
      },
      set: (k, v) => {
        try {
          ls.setItem(k, v);
        } catch {
          fallback.set(k, v); // quota exceeded: keep it for this page at least
        }
      },
      remove: (k) => {
        try {
          ls.removeItem(k);
        } catch {
          // nothing to do
        }
        fallback.remove(k);
      },
    };
  } catch {
    return null;
  }
}

export const browserStore: KeyValueStore = localStore() ?? memoryStore();
export { memoryStore };
