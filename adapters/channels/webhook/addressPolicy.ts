/**
 * Which hosts a webhook may reach. The owner types the URL, so without a check anyone with an account could make
 * Knock POST into its own network (the cloud metadata service at 169.254.169.254, an admin port on 127.0.0.1, a
 * database on 10.0.0.5): server-side request forgery. Every address a webhook's host resolves to is checked, and the
 * connection itself goes through `checkedLookup`, which checks again the addresses it connects to: a DNS answer that
 * changes between the check and the connection (DNS rebinding) is refused too.
 */
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';

/** A webhook host that resolves to an address Knock refuses to call: permanent (the owner must change the URL). */
export class ForbiddenAddressError extends Error {
  readonly permanent = true;
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(`The webhook's host ${host} is at ${address}, a loopback, private, link-local or otherwise non-public address: Knock does not call those.`);
    this.name = 'ForbiddenAddressError';
  }
}

/** Not the public internet: IANA special-purpose ranges a webhook has no business in. */
function forbiddenRanges(): BlockList {
  const list = new BlockList();
  const v4: [string, number][] = [
    ['0.0.0.0', 8], // "this network", unspecified
    ['10.0.0.0', 8], // RFC 1918
    ['100.64.0.0', 10], // CGNAT (RFC 6598)
    ['127.0.0.0', 8], // loopback
    ['169.254.0.0', 16], // link-local, cloud metadata
    ['172.16.0.0', 12], // RFC 1918
    ['192.0.0.0', 24], // IETF protocol assignments
    ['192.168.0.0', 16], // RFC 1918
    ['198.18.0.0', 15], // benchmarking
    ['224.0.0.0', 4], // multicast
    ['240.0.0.0', 4], // reserved, broadcast
  ];
  for (const [net, prefix] of v4) list.addSubnet(net, prefix, 'ipv4');
  const v6: [string, number][] = [
    ['::', 128], // unspecified
    ['::1', 128], // loopback
    ['::', 96], // IPv4-compatible (deprecated)
    ['64:ff9b:1::', 48], // local-use NAT64
    ['fc00::', 7], // unique local
    ['fe80::', 10], // link-local
    ['fec0::', 10], // site-local (deprecated)
    ['ff00::', 8], // multicast
  ];
  for (const [net, prefix] of v6) list.addSubnet(net, prefix, 'ipv6');
  // IPv4-mapped IPv6 (::ffff:10.0.0.1) is checked against the IPv4 ranges by BlockList itself.
  return list;
}

const FORBIDDEN = forbiddenRanges();

/** Whether Knock refuses to call this IP address (v4 or v6, without brackets). */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true; // not an address at all: nothing to connect to
  return FORBIDDEN.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** A URL's hostname as an address, if it is one (`[::1]` → `::1`); else null. */
export function literalAddress(hostname: string): string | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return isIP(bare) === 0 ? null : bare;
}

export type Resolve = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolve: Resolve = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/** Resolves a host (or takes its literal address) and throws ForbiddenAddressError if any address is refused. */
export async function checkHost(hostname: string, resolve: Resolve = systemResolve): Promise<LookupAddress[]> {
  const literal = literalAddress(hostname);
  const addresses = literal ? [{ address: literal, family: isIP(literal) }] : await resolve(hostname);
  // All or nothing: a name with one public and one private address could be steered to the private one.
  for (const { address } of addresses) if (isForbiddenAddress(address)) throw new ForbiddenAddressError(hostname, address);
  return addresses;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net/tls.connect (undici's `connect.lookup`) that resolves with `resolve` and refuses forbidden
 * addresses, answering in the form asked (`all` or one address).
 */
export function checkedLookup(resolve: Resolve = systemResolve) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    checkHost(hostname, resolve).then(
      (addresses) => {
        if (options.all) callback(null, addresses);
        else if (addresses[0]) callback(null, addresses[0].address, addresses[0].family);
        else callback(Object.assign(new Error(`${hostname} has no address.`), { code: 'ENOTFOUND' }), '');
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
}
