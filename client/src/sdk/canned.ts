/**
 * A company's canned responses (issue 19) as its console uses them: the calls of Settings → Company's "Canned
 * responses" (sdk/api.ts `request`, acting for the company as every call of its console does), and what the composer
 * makes of a draft that starts with `/` (cannedExpander). Loaded with the company-only views (views/companyViews.ts).
 *
 * @example
 *   const expander = cannedExpander((await cannedCalls.list()).responses);
 *   expander.match('/hel'); // { name: 'hello', text: 'Hello! How can we help?', exact: false }
 */
import { cannedAnswer, type CannedRecord } from '../../../engine/protocol.ts';
import type { DraftExpander } from '../views/Composer.tsx';
import { api } from './api.ts';

export const cannedCalls = {
  list: () => api.request('GET', '/_/api/company/canned', undefined, cannedAnswer),
  /** Adds the response for `/shortcut`, or replaces its text (admins). */
  set: (shortcut: string, text: string) => api.request('PUT', `/_/api/company/canned/${encodeURIComponent(shortcut)}`, { text }, cannedAnswer),
  remove: (shortcut: string) => api.request('DELETE', `/_/api/company/canned/${encodeURIComponent(shortcut)}`, undefined, cannedAnswer),
};

/** `/name` alone, or followed by a space and more text; `name` may be the start of a shortcut. */
const SLASHED = /^\/([a-z0-9][a-z0-9_-]{0,31})(?=$|\s)/;

/**
 * What a draft becomes: `/hello` (or `/hello` and more after a space) is the response of `hello` (and the rest);
 * `/hel` alone is the first response whose shortcut starts so (by shortcut), for Tab to complete. Anything else: null.
 */
export function cannedExpander(responses: readonly CannedRecord[]): DraftExpander {
  const sorted = [...responses].sort((a, b) => (a.shortcut < b.shortcut ? -1 : 1));
  return {
    match(draft) {
      const typed = SLASHED.exec(draft)?.[1];
      if (typed === undefined) return null;
      const rest = draft.slice(typed.length + 1);
      const exact = sorted.find((c) => c.shortcut === typed);
      if (exact) return { name: exact.shortcut, text: exact.text + rest, exact: true };
      const started = rest === '' ? sorted.find((c) => c.shortcut.startsWith(typed)) : undefined;
      return started ? { name: started.shortcut, text: started.text, exact: false } : null;
    },
  };
}

/** The company's responses as an expander for its console's composer. */
export async function loadCannedExpander(): Promise<DraftExpander> {
  return cannedExpander((await cannedCalls.list()).responses);
}
