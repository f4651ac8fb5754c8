/**
 * One DNS query in, one response out (or none), with no sockets: reads the query (wire.ts), finds the zone
 * (DnsZoneSource), answers (zone.ts) and writes the response within the transport's size. The DnsServer adds the
 * sockets, the limits and response rate limiting, for which each response says what it counts as (`rrlKey`).
 *
 * @example
 *   const responder = new DnsResponder({ zones, settings });
 *   const response = await responder.respond(packet, 'udp'); // null: drop
 */
import type { DnsZoneFacts, DnsZoneSource } from '../../engine/ports/dnsZones.ts';
import { buildZone, zoneAnswer, type AnswerKind, type Zone, type ZoneSettings } from './zone.ts';
import { QCLASS_IN, QTYPE, RCODE, readQuery, udpLimit, writeHeaderOnly, writeResponse, writeSlip, type DnsAnswer, type DnsQuery } from './wire.ts';

export type DnsTransport = 'udp' | 'tcp';

export interface DnsResponse {
  bytes: Buffer;
  rcode: number;
  kind: AnswerKind | 'formerr' | 'notimp' | 'servfail' | 'badvers';
  /** Set when the answer did not fit in UDP and was sent truncated. */
  truncated: boolean;
  /**
   * What response rate limiting counts this response under, with the client's network (BIND's RRL): the name and
   * type for an answer, the zone for NXDOMAIN and NODATA (a flood of random names is one flood), one key for errors.
   */
  rrlKey: string;
  /** The same response empty and truncated (TC=1), for RRL's slip; null where there is nothing to slip (FORMERR). */
  slip: (() => Buffer) | null;
}

export interface DnsResponderOptions {
  zones: DnsZoneSource;
  settings: ZoneSettings;
}

export class DnsResponder {
  /** Built zones by the facts object they came from: a new list read from storage makes new ones. */
  private readonly built = new WeakMap<DnsZoneFacts, Zone>();

  constructor(private readonly opts: DnsResponderOptions) {}

  /** The response to `packet`, or null when it gets none (not a query, not even a header). Throws only on a bug. */
  async respond(packet: Buffer, transport: DnsTransport): Promise<DnsResponse | null> {
    const read = readQuery(packet);
    switch (read.kind) {
      case 'drop':
        return null;
      case 'formerr':
        return { bytes: writeHeaderOnly(read.header, RCODE.FORMERR), rcode: RCODE.FORMERR, kind: 'formerr', truncated: false, rrlKey: 'error', slip: null };
      case 'notimp':
        return { bytes: writeHeaderOnly(read.header, RCODE.NOTIMP), rcode: RCODE.NOTIMP, kind: 'notimp', truncated: false, rrlKey: 'error', slip: null };
      case 'query':
        return this.answer(read.query, transport);
    }
  }

  private async answer(query: DnsQuery, transport: DnsTransport): Promise<DnsResponse> {
    const { answer, kind, rrlKey } = await this.decide(query);
    const maxBytes = transport === 'udp' ? udpLimit(query) : Infinity;
    const { bytes, truncated } = writeResponse(query, answer, maxBytes);
    return { bytes, rcode: answer.rcode, kind, truncated, rrlKey, slip: () => writeSlip(query, answer) };
  }

  private async decide(query: DnsQuery): Promise<{ answer: DnsAnswer; kind: DnsResponse['kind']; rrlKey: string }> {
    const { question } = query;
    const error = (rcode: number, kind: DnsResponse['kind']) => ({ answer: { rcode, aa: false, answers: [], authorities: [] }, kind, rrlKey: 'error' });
    // RFC 6891 6.1.3: a version we do not speak gets BADVERS, with our OPT saying version 0.
    if (query.edns && query.edns.version > 0) return error(RCODE.BADVERS, 'badvers');
    // RFC 6891 6.1.1: OPT is no type to ask for.
    if (question.type === QTYPE.OPT) return error(RCODE.FORMERR, 'formerr');
    // Only the Internet class is served (CHAOS's version.bind and the like are nobody's business), as BIND refuses them.
    if (question.class !== QCLASS_IN) return error(RCODE.REFUSED, 'refused');
    if (question.type === QTYPE.MAILA || question.type === QTYPE.MAILB) return error(RCODE.NOTIMP, 'notimp');
    let facts: DnsZoneFacts | null;
    try {
      facts = await this.opts.zones.zoneOf(question.key);
    } catch {
      // Storage is down and nothing read before can stand in (logged by the zone source): a resolver tries another server.
      return error(RCODE.SERVFAIL, 'servfail');
    }
    // Not a zone served here (a foreign name): REFUSED, never a referral or a recursive answer.
    if (!facts) return error(RCODE.REFUSED, 'refused');
    // A pending domain: its delegation can be seen (apex SOA and NS), nothing else is served (engine/ports/dnsZones.ts).
    if (facts.pending && !(question.key === facts.name && (question.type === QTYPE.SOA || question.type === QTYPE.NS))) return error(RCODE.REFUSED, 'refused');
    let zone: Zone;
    if (question.key === `_acme-challenge.${facts.name}`) {
      let values: string[];
      try {
        values = await this.opts.zones.acmeValues(facts.name);
      } catch {
        return error(RCODE.SERVFAIL, 'servfail');
      }
      zone = buildZone(facts, this.opts.settings, values);
    } else {
      zone = this.zoneOf(facts);
    }
    const answer = zoneAnswer(question, zone);
    const rrlKey = answer.kind === 'answer' ? `${question.key}/${question.type}` : answer.kind === 'refused' ? 'error' : `${answer.kind}@${facts.name}`;
    return { answer, kind: answer.kind, rrlKey };
  }

  private zoneOf(facts: DnsZoneFacts): Zone {
    let zone = this.built.get(facts);
    if (!zone) {
      zone = buildZone(facts, this.opts.settings);
      this.built.set(facts, zone);
    }
    return zone;
  }
}
