/**
 * What the browser kept for an owner, forgotten when they log out, learn their session ended, or delete their account
 * (issue 22), so the next person at this computer finds none of it: the owner's part of localStorage (replies not
 * sent yet, copies of documents: browserStore.ts ownerStore), and the pages and assets the service worker keeps
 * (serviceWorker.js, caches named `knock-…`; it keeps them again as pages are opened). Knock keeps nothing of an owner
 * in IndexedDB. What the same browser keeps as a visitor of other owners (their cookies, unsent messages) stays.
 *
 * @example
 *   await forgetOwnerTraces(); // after api.logout()
 */
import { ownerStore } from './browserStore.ts';

export async function forgetOwnerTraces(): Promise<void> {
  ownerStore.clear();
  // Where there is no Cache Storage (an insecure origin, an old browser), there is nothing kept in it.
  const cacheStorage = (globalThis as { caches?: CacheStorage }).caches;
  if (cacheStorage === undefined) return;
  try {
    const names = await cacheStorage.keys();
    await Promise.all(names.filter((name) => name.startsWith('knock-')).map((name) => cacheStorage.delete(name)));
  } catch {
    // Storage went away (private mode, quota): nothing left to delete.
  }
}
