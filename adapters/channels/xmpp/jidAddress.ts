/**
 * Bare JIDs as Knock stores channel addresses: `local@domain`, lower case, no resource (RFC 7622, simplified). An
 * owner types the address; a stanza's `from` is written by a server. Both go through here, so what `watch` follows,
 * what `send` writes to, and what an inbound text's `from` says are spelled alike.
 *
 * @example
 *   bareJid('Owner@Example.org/phone') // 'owner@example.org'
 *   bareJid('owner')                   // null: no domain
 */

/** Characters RFC 7622 forbids in a localpart, plus whitespace and controls. */
const FORBIDDEN_LOCAL = /[\s"&'/:<>@\p{Cc}]/u;
/** A domain: DNS labels (letters, digits, hyphens; IDN letters too), or an IPv4 address, or `localhost`. */
const DOMAIN = /^(?!-)[\p{L}\p{N}-]{1,63}(?<!-)(\.(?!-)[\p{L}\p{N}-]{1,63}(?<!-))*$/u;
/** RFC 7622: each part at most 1023 bytes; a shorter limit keeps hostile addresses out of logs and maps. */
const MAX_PART_CHARS = 255;

/**
 * The bare JID of `address` (a resource is dropped), in lower case, or null when it is not a JID of a user:
 * no localpart, an empty or forbidden domain, forbidden characters, or parts too long.
 */
export function bareJid(address: string): string | null {
  const trimmed = address.trim();
  const slash = trimmed.indexOf('/');
  const bare = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const at = bare.indexOf('@');
  if (at <= 0) return null;
  const local = bare.slice(0, at);
  const domain = bare.slice(at + 1).replace(/\.$/, '');
  if (local.length > MAX_PART_CHARS || domain.length > MAX_PART_CHARS) return null;
  if (FORBIDDEN_LOCAL.test(local) || !DOMAIN.test(domain)) return null;
  return `${local}@${domain}`.toLowerCase();
}

/** The resource of a full JID (`owner@example.org/phone` → `phone`); '' for a bare JID. */
export function resourceOf(address: string): string {
  const slash = address.indexOf('/');
  return slash === -1 ? '' : address.slice(slash + 1);
}
