/**
 * Several processes at their own addresses (README "Running several processes"): a page's Content-Security-Policy
 * names the processes live when it was served, and a page cannot change its policy. A process started later (one
 * added, or one replacing a dead one at another address) may then hold a room this page needs (a document someone
 * opened through it, a conversation made again there), and the page's own policy refuses the room's socket: the
 * page would retry forever. A fresh page gets a policy naming every live process, so the page reloads itself (the
 * conversation, the open document and messages not yet acknowledged are kept in the browser and come back; a
 * message typed but not sent is lost).
 *
 * At most once a minute per tab: a socket refused for another reason (an address not announced, a misconfigured
 * Janus URL) must not reload the page in a loop.
 *
 * @example
 *   reloadWhenPolicyIsStale(window, sessionStore);  // once, at start (main.tsx)
 */
import type { KeyValueStore } from './sdk/types.ts';

const RELOADED_AT_KEY = 'knock:stale-policy-reload-at';
const MIN_RELOAD_INTERVAL_MS = 60_000;

/** What this needs of a window: its document's events and a reload. */
export type ReloadableWindow = { document: Pick<Document, 'addEventListener'>; location: Pick<Location, 'reload'> };

export function reloadWhenPolicyIsStale(win: ReloadableWindow, store: KeyValueStore, clock: () => number = Date.now): void {
  win.document.addEventListener('securitypolicyviolation', (event) => {
    if (event.effectiveDirective !== 'connect-src' || !/^wss?:/i.test(event.blockedURI)) return;
    const now = clock();
    const last = Number(store.get(RELOADED_AT_KEY) ?? 0);
    if (now - last >= 0 && now - last < MIN_RELOAD_INTERVAL_MS) return;
    store.set(RELOADED_AT_KEY, String(now));
    win.location.reload();
  });
}
