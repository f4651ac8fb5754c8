/**
 * What Knock's DNS server (adapters/dns/) needs to know of own domains (issue 21): the active domain holding a name,
 * and the live ACME dns-01 values of a domain. The server builds every record from these and from its settings.
 */

/**
 * A domain as the DNS server serves it: a zone of its own. A pending domain is served only as far as its delegation
 * needs (its SOA and NS at the apex): Knock checks the delegation through a resolver, which asks the name servers the
 * parent names, Knock's; if they refused the zone, the check could never see it delegated. Nothing else is answered
 * for it (REFUSED) until it is active.
 */
export interface DnsZoneFacts {
  /** Lower-case ASCII, no trailing dot: the zone's apex. */
  name: string;
  /** Not active yet: only the apex SOA and NS are answered. */
  pending: boolean;
  /** The SOA serial: changes when what the zone holds from storage changes (in seconds, fits 32 bits). */
  serial: number;
  dkimSelector: string;
  /** Base64 DER (SubjectPublicKeyInfo), as storage holds it. */
  dkimPublicKey: string;
}

export interface DnsZoneSource {
  /**
   * The zone holding `name` (lower-case, no trailing dot): the longest domain (active or pending) equal to it or a
   * suffix of it; null when none (a name of a foreign zone). Throws only when storage cannot be read and
   * nothing read before can stand in.
   */
  zoneOf(name: string): Promise<DnsZoneFacts | null>;
  /** The TXT values live now at `_acme-challenge.<zone>` (ACME dns-01), for a zone zoneOf returned. */
  acmeValues(zone: string): Promise<string[]>;
}
