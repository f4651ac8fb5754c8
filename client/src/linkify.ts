/**
 * Splits message text into plain text and http(s) links, so views can render links as <a> elements and everything
 * else as text. It never produces HTML: the caller renders each part as a text node or an anchor.
 *
 * @example
 *   linkify('see https://example.com/a.')
 *   // [{ kind: 'text', text: 'see ' }, { kind: 'link', text: 'https://example.com/a', href: 'https://example.com/a' },
 *   //  { kind: 'text', text: '.' }]
 */
export type TextPart = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

/** Characters that end a sentence rather than a URL when they come last. */
const TRAILING_PUNCTUATION = new Set(['.', ',', ';', ':', '!', '?', "'", '"', '*', '_']);
const CLOSERS: Readonly<Record<string, string>> = { ')': '(', ']': '[', '}': '{' };

export function linkify(text: string): TextPart[] {
  const parts: TextPart[] = [];
  // A fresh regex per call: a global regex carries `lastIndex` state.
  const candidates = /\bhttps?:\/\/[^\s<>"`]+/gi;
  let textStart = 0;
  for (const match of text.matchAll(candidates)) {
    const start = match.index;
    const raw = trimTrailing(match[0]);
    const href = safeHref(raw);
    if (href === null) continue;
    if (start > textStart) parts.push({ kind: 'text', text: text.slice(textStart, start) });
    parts.push({ kind: 'link', text: raw, href });
    textStart = start + raw.length;
  }
  if (textStart < text.length) parts.push({ kind: 'text', text: text.slice(textStart) });
  return parts;
}

/** Drops sentence punctuation and unbalanced closing brackets from the end: "(see https://x.org/a_(b))." */
function trimTrailing(candidate: string): string {
  let url = candidate;
  for (;;) {
    const last = url.at(-1);
    if (last === undefined) return url;
    if (TRAILING_PUNCTUATION.has(last)) {
      url = url.slice(0, -1);
      continue;
    }
    const opener = CLOSERS[last];
    if (opener !== undefined && count(url, opener) < count(url, last)) {
      url = url.slice(0, -1);
      continue;
    }
    return url;
  }
}

function count(s: string, ch: string): number {
  let n = 0;
  for (const c of s) if (c === ch) n++;
  return n;
}

/** The normalized URL if it parses as http: or https: with a host; null otherwise (e.g. "https://"). */
function safeHref(raw: string): string | null {
  try {
    const url = new URL(raw);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return null;
    return url.href;
  } catch {
    return null;
  }
}
