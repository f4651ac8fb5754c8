/**
 * Small text helpers shared by the modules that put outside text into conversations (mail, forwarding).
 *
 * @example
 *   cut('a long subject line', 10) // 'a long su…'
 */

/** Cuts to `max` UTF-16 units (the ellipsis included) without splitting a surrogate pair. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  if (/[\uD800-\uDBFF]/.test(text[end - 1] ?? '')) end -= 1;
  return `${text.slice(0, end)}\u2026`;
}
