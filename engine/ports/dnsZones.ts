/**
 * What Knock's DNS server (adapters/dns/) needs to know of own domains (issue 21): the active domain holding a name,
 * and the live ACME dns-01 values of a domain. The server builds every record from these and from its settings.
 */

/** An active domain as the DNS server serves it: a zone of its own. */
export interface DnsZoneFacts {
  /** Lower-case ASCII, no trailing dot: the zone's apex. */
  name: string;
  /** The SOA serial: changes when what the zone holds from storage changes (in seconds, fits 32 bits). */
  serial: number;
  dkimSelector: string;
  /** Base64 DER (SubjectPublicKeyInfo), as storage holds it. */
  dkimPublicKey: string;
}

export interface DnsZoneSource {
  /**
   * The zone holding `name` (lower-case, no trailing dot): the longest ACTIVE domain equal to it or a suffix of it;
   * null when none (a name of a foreign zone, or of a pending domain). Throws only when storage cannot be read and
   * nothing read before can stand in.
   */
  zoneOf(name: string): Promise<DnsZoneFacts | null>;
  /** The TXT values live now at `_acme-challenge.<zone>` (ACME dns-01), for a zone zoneOf returned. */
  acmeValues(zone: string): Promise<string[]>;
}
