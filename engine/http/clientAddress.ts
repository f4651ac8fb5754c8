/**
 * The client's address of a request, the one rule for everything that counts per client (HTTP API limits, WebSocket
 * connection caps, matchmaking): the TCP peer, or, behind `trustedHops` reverse proxies (KNOCK_TRUST_PROXY), the
 * X-Forwarded-For entry the outermost trusted proxy added.
 *
 * Every proxy appends the address it received the request from, so the header reads, left to right,
 * `<whatever the client sent>, <added by proxy 1>, ..., <added by proxy N-1>` and the TCP peer is proxy N. With N
 * trusted hops the client is the N-th entry from the right; everything left of it was written by the client itself
 * and is never believed (taking the leftmost entry, as Knock once did, let anyone choose their own address and
 * escape every per-address limit). This is how Express's `trust proxy` counts hops too.
 *
 * @example
 *   clientIpOf(req, 0); // '203.0.113.7' (the TCP peer; X-Forwarded-For ignored)
 *   // behind nginx (1 hop), X-Forwarded-For: "1.1.1.1, 203.0.113.7", peer 127.0.0.1:
 *   clientIpOf(req, 1); // '203.0.113.7'
 *   clientKeyOf(req, 1); // '203.0.113.7'; an IPv6 client counts by its /64: '2001:db8:1:2::/64'
 */
import { isIP } from 'node:net';

/** What a request offers to tell its client: headers and the socket's peer. */
export interface AddressedRequest {
  headers: Record<string, string | string[] | undefined>;
  socket: { remoteAddress?: string | undefined };
}

/**
 * The client's IP address: the socket's peer when `trustedHops` is 0, else the X-Forwarded-For entry `trustedHops`
 * from the right (the leftmost one when the header has fewer, as when a proxy was bypassed; the peer when it has none
 * or the entry is not an address).
 */
export function clientIpOf(req: AddressedRequest, trustedHops: number): string {
  const peer = normalizeIp(req.socket.remoteAddress ?? '') ?? 'unknown';
  if (trustedHops <= 0) return peer;
  const header = req.headers['x-forwarded-for'];
  const entries = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) return peer;
  const chosen = entries[Math.max(0, entries.length - trustedHops)]!;
  return normalizeIp(chosen) ?? peer;
}

/**
 * The key a client is counted under by per-address limits: its IPv4 address, or the /64 network of its IPv6 address
 * (one subscriber usually holds a whole /64, so counting single IPv6 addresses would let one client be millions).
 */
export function addressKey(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const groups = expandIpv6(ip);
  return groups === null ? ip : `${groups.slice(0, 4).join(':')}::/64`;
}

/** `addressKey(clientIpOf(req, trustedHops))`: what per-client limits count by. */
export function clientKeyOf(req: AddressedRequest, trustedHops: number): string {
  return addressKey(clientIpOf(req, trustedHops));
}

/** An address as written by a proxy or the socket, without port or brackets; IPv4-mapped IPv6 as IPv4; else null. */
function normalizeIp(raw: string): string | null {
  let text = raw.trim();
  const bracketed = text.match(/^\[([^\]]+)\](?::\d+)?$/);
  if (bracketed) text = bracketed[1]!;
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(text)) text = text.slice(0, text.lastIndexOf(':'));
  const zone = text.indexOf('%');
  if (zone > 0) text = text.slice(0, zone);
  const kind = isIP(text);
  if (kind === 0) return null;
  if (kind === 6) {
    const mapped = text.match(/^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i);
    if (mapped) return mapped[1]!;
    return text.toLowerCase();
  }
  return text;
}

/** The eight 16-bit groups of an IPv6 address, lower-case, without leading zeros; null if it cannot be read. */
function expandIpv6(ip: string): string[] | null {
  let text = ip.toLowerCase();
  // An embedded IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) becomes two groups.
  const tail = text.match(/(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - rest.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  return [...head, ...Array<string>(missing).fill('0'), ...rest].map((g) => (parseInt(g, 16) || 0).toString(16));
}
