/**
 * The KeyValueStores of the browser: localStorage (`browserStore`, shared by the tabs of a site) and sessionStorage
 * (`sessionStore`, one tab's, kept across its reloads), or memory where storage is blocked (private modes, quotas).
 */
import type { KeyValueStore } from './types.ts';

function memoryStore(): KeyValueStore {
  const map = new Map<string, string>();
  return { get: (k) => map.get(k) ?? null, set: (k, v) => void map.set(k, v), remove: (k) => void map.delete(k) };
}

function webStore(pick: () => Storage): KeyValueStore | null {
  try {
    const ls = pick();
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

export const browserStore: KeyValueStore = webStore(() => globalThis.localStorage) ?? memoryStore();
export const sessionStore: KeyValueStore = webStore(() => globalThis.sessionStorage) ?? memoryStore();
export { memoryStore };
