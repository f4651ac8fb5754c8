/**
 * The KeyValueStores of the browser: localStorage (`browserStore`, shared by the tabs of a site), sessionStorage
 * (`sessionStore`, one tab's, kept across its reloads), and the owner's part of localStorage (`ownerStore`), or
 * memory where storage is blocked (private modes, quotas).
 */
import type { KeyValueStore } from './types.ts';

/** A store that can forget everything it holds at once. */
export interface ClearableStore extends KeyValueStore {
  clear(): void;
}

function memoryStore(): ClearableStore {
  const map = new Map<string, string>();
  return { get: (k) => map.get(k) ?? null, set: (k, v) => void map.set(k, v), remove: (k) => void map.delete(k), clear: () => map.clear() };
}

/** Web storage, every key under `prefix` (so `clear` removes exactly this store's entries); null where it is blocked. */
function webStore(pick: () => Storage, prefix = ''): ClearableStore | null {
  try {
    const ls = pick();
    ls.setItem('knock:probe', '1');
    ls.removeItem('knock:probe');
    const fallback = memoryStore();
    return {
      get: (k) => {
        try {
          return ls.getItem(prefix + k) ?? fallback.get(k);
        } catch {
          return fallback.get(k);
        }
      },
      set: (k, v) => {
        try {
          ls.setItem(prefix + k, v);
        } catch {
          fallback.set(k, v); // quota exceeded: keep it for this page at least
        }
      },
      remove: (k) => {
        try {
          ls.removeItem(prefix + k);
        } catch {
          // nothing to do
        }
        fallback.remove(k);
      },
      clear: () => {
        try {
          const mine: string[] = [];
          for (let i = 0; i < ls.length; i++) {
            const key = ls.key(i);
            if (key !== null && key.startsWith(prefix)) mine.push(key);
          }
          for (const key of mine) ls.removeItem(key);
        } catch {
          // storage went away: nothing left to remove
        }
        fallback.clear();
      },
    };
  } catch {
    return null;
  }
}

export const browserStore: KeyValueStore = webStore(() => globalThis.localStorage) ?? memoryStore();
export const sessionStore: KeyValueStore = webStore(() => globalThis.sessionStorage) ?? memoryStore();
/**
 * What the owner's console keeps in localStorage (unsent replies, copies of documents), apart from what the same
 * browser keeps as a visitor elsewhere: all of it goes when the owner logs out, or learns the session ended, so the
 * next person at this computer finds none of it.
 */
export const ownerStore: ClearableStore = webStore(() => globalThis.localStorage, 'knock:owner:') ?? memoryStore();
export { memoryStore };
