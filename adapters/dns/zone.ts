/**
 * The records of an active domain and the answer to one question about it: pure, no sockets, no storage.
 *
 * A zone `alice.example` holds:
 *   alice.example                    SOA, NS (Knock's name servers), A/AAAA (Knock's public addresses),
 *                                    MX 10 (Knock's SMTP: the domain itself unless a mail host is set), TXT (SPF), CAA
 *   _dmarc.alice.example             TXT v=DMARC1
 *   <selector>._domainkey.alice.example  TXT v=DKIM1 (the key made for the domain)
 *   _acme-challenge.alice.example    TXT, the live ACME dns-01 values (only while there are some)
 * and nothing else: other names are NXDOMAIN, `_domainkey.alice.example` (a name with names below it) is NODATA.
 *
 * @example
 *   const zone = buildZone(facts, settings);
 *   zoneAnswer({ name: 'WWW.Alice.Example', key: 'www.alice.example', type: QTYPE.A }, zone); // NXDOMAIN, SOA in authority
 */
import type { Answer, SoaAnswer } from 'dns-packet';
import type { DnsZoneFacts } from '../../engine/ports/dnsZones.ts';
import { QTYPE, RCODE, type DnsAnswer } from './wire.ts';

/** What every zone shares, from config (engine/config.ts dns*). Names lower-case, no trailing dot. */
export interface ZoneSettings {
  nameservers: string[];
  ipv4: string[];
  ipv6: string[];
  /** The MX target; null: the domain itself (its A/AAAA are Knock's addresses, where the SMTP server listens). */
  mailHost: string | null;
  /** CAA `issue` values; empty: no CAA record. */
  caaIssuers: string[];
  /** The SPF TXT; null: `v=spf1 ip4:.. ip6:.. mx ~all` from the addresses. */
  spf: string | null;
}

/** TTLs in seconds. Addresses short, so a move of Knock's addresses is seen within minutes. */
export const TTL = { soa: 3600, ns: 3600, address: 300, mx: 3600, txt: 3600, caa: 3600, acme: 60, any: 3600 } as const;
/** The SOA minimum: how long resolvers keep a negative answer (RFC 2308 5). */
export const NEGATIVE_TTL = 300;
/** A TXT character-string holds at most 255 octets (RFC 1035 3.3); longer values are split (RFC 7208 3.3, RFC 6376 3.6.2.2). */
const MAX_STRING_BYTES = 255;

/** An RRset by type code, at one owner name. */
type RRsets = Map<number, Answer[]>;

export interface Zone {
  apex: string;
  /** The SOA record (owner: the apex), also the authority of negative answers. */
  soa: SoaAnswer;
  /** Owner name (lower-case) -> its RRsets. Owner names in the records are lower-case; answers use the name as asked. */
  names: Map<string, RRsets>;
  /** Names with no records of their own but names below them (RFC 8020: they exist: NODATA, never NXDOMAIN). */
  emptyNonTerminals: Set<string>;
}

/** Builds a zone's records; `acmeValues` only when `_acme-challenge.<apex>` is being asked (they change by the minute). */
export function buildZone(facts: DnsZoneFacts, settings: ZoneSettings, acmeValues: string[] = []): Zone {
  const apex = facts.name;
  const names = new Map<string, RRsets>();
  const add = (owner: string, type: number, records: Answer[]) => {
    if (records.length === 0) return;
    let rrsets = names.get(owner);
    if (!rrsets) names.set(owner, (rrsets = new Map()));
    rrsets.set(type, records);
  };
  const primary = settings.nameservers[0] ?? apex;
  const soa: SoaAnswer = {
    type: 'SOA',
    name: apex,
    ttl: TTL.soa,
    data: { mname: primary, rname: `hostmaster.${apex}`, serial: facts.serial, refresh: 3600, retry: 600, expire: 1_209_600, minimum: NEGATIVE_TTL },
  };
  add(apex, QTYPE.SOA, [soa]);
  add(apex, QTYPE.NS, settings.nameservers.map((ns) => ({ type: 'NS', name: apex, ttl: TTL.ns, data: ns })));
  // A pending domain holds its delegation only (the responder refuses every other question for it).
  if (facts.pending) return { apex, soa, names, emptyNonTerminals: emptyNonTerminalsOf(apex, names) };
  add(apex, QTYPE.A, settings.ipv4.map((ip) => ({ type: 'A', name: apex, ttl: TTL.address, data: ip })));
  add(apex, QTYPE.AAAA, settings.ipv6.map((ip) => ({ type: 'AAAA', name: apex, ttl: TTL.address, data: ip })));
  add(apex, QTYPE.MX, [{ type: 'MX', name: apex, ttl: TTL.mx, data: { preference: 10, exchange: settings.mailHost ?? apex } }]);
  add(apex, QTYPE.TXT, [txt(apex, settings.spf ?? defaultSpf(settings))]);
  add(apex, QTYPE.CAA, settings.caaIssuers.map((ca) => ({ type: 'CAA', name: apex, ttl: TTL.caa, data: { flags: 0, tag: 'issue', value: ca } })));
  // No reports are asked for (rua): Knock has no mailbox to read them. Relaxed alignment: mail from a subdomain passes.
  add(`_dmarc.${apex}`, QTYPE.TXT, [txt(`_dmarc.${apex}`, 'v=DMARC1; p=quarantine; adkim=r; aspf=r')]);
  const dkimName = `${facts.dkimSelector.toLowerCase()}._domainkey.${apex}`;
  add(dkimName, QTYPE.TXT, [txt(dkimName, dkimRecord(facts.dkimPublicKey))]);
  const acmeName = `_acme-challenge.${apex}`;
  add(acmeName, QTYPE.TXT, acmeValues.map((value) => ({ ...txt(acmeName, value), ttl: TTL.acme })));
  return { apex, soa, names, emptyNonTerminals: emptyNonTerminalsOf(apex, names) };
}

function defaultSpf(settings: ZoneSettings): string {
  // ~all, not -all: Knock may send through a relay (KNOCK_SMTP_RELAY_URL) whose addresses are not these; the DKIM
  // signature is what makes DMARC pass. An operator who knows where mail leaves sets KNOCK_DNS_SPF.
  return ['v=spf1', ...settings.ipv4.map((ip) => `ip4:${ip}`), ...settings.ipv6.map((ip) => `ip6:${ip}`), 'mx', '~all'].join(' ');
}

/** The DKIM key record (RFC 6376 3.6.1; Ed25519 keys, RFC 8463, carry the bare 32-byte key, not its DER wrapping). */
export function dkimRecord(publicKey: string): string {
  const ED25519_SPKI_PREFIX = 'MCowBQYDK2VwAyEA';
  if (publicKey.startsWith(ED25519_SPKI_PREFIX)) {
    const raw = Buffer.from(publicKey, 'base64').subarray(-32).toString('base64');
    return `v=DKIM1; k=ed25519; p=${raw}`;
  }
  return `v=DKIM1; k=rsa; p=${publicKey}`;
}

/** A TXT record whose text is split into character-strings of at most 255 octets. */
function txt(owner: string, text: string): Answer {
  const bytes = Buffer.from(text, 'utf8');
  const strings: Buffer[] = [];
  for (let at = 0; at < bytes.length || strings.length === 0; at += MAX_STRING_BYTES) strings.push(bytes.subarray(at, at + MAX_STRING_BYTES));
  return { type: 'TXT', name: owner, ttl: TTL.txt, data: strings };
}

function emptyNonTerminalsOf(apex: string, names: Map<string, RRsets>): Set<string> {
  const result = new Set<string>();
  for (const owner of names.keys()) {
    let parent = owner;
    while (parent !== apex && parent.endsWith(`.${apex}`)) {
      parent = parent.slice(parent.indexOf('.') + 1);
      if (!names.has(parent)) result.add(parent);
    }
  }
  return result;
}

/** What zoneAnswer reads of a question. */
export interface ZoneQuestion {
  /** As asked (case kept), no trailing dot. */
  name: string;
  /** Lower-case. */
  key: string;
  type: number;
}

/** How an answer counts for response rate limiting and logs. */
export type AnswerKind = 'answer' | 'nodata' | 'nxdomain' | 'refused';

/**
 * The authoritative answer to a question inside `zone` (class IN, opcode QUERY: the caller checked). Answer owner
 * names take the case of the question, as BIND's and Knot's do (their compression points into the question).
 */
export function zoneAnswer(question: ZoneQuestion, zone: Zone): DnsAnswer & { kind: AnswerKind } {
  if (question.type === QTYPE.AXFR || question.type === QTYPE.IXFR) {
    // No zone transfers: Knock has no secondaries, every process answers from storage.
    return { rcode: RCODE.REFUSED, aa: false, answers: [], authorities: [], kind: 'refused' };
  }
  const rrsets = zone.names.get(question.key);
  const exists = rrsets !== undefined || zone.emptyNonTerminals.has(question.key);
  if (!exists) return { rcode: RCODE.NXDOMAIN, aa: true, answers: [], authorities: [negativeSoa(question, zone)], kind: 'nxdomain' };
  if (question.type === QTYPE.ANY) {
    // RFC 8482: not everything the name holds (the amplification ANY was known for), a single synthesized HINFO.
    const hinfo: Answer = { type: 'HINFO', name: question.name, ttl: TTL.any, data: { cpu: 'RFC8482', os: '' } };
    return { rcode: RCODE.NOERROR, aa: true, answers: [hinfo], authorities: [], kind: 'answer' };
  }
  const records = rrsets?.get(question.type);
  if (!records) return { rcode: RCODE.NOERROR, aa: true, answers: [], authorities: [negativeSoa(question, zone)], kind: 'nodata' };
  return { rcode: RCODE.NOERROR, aa: true, answers: records.map((record) => ({ ...record, name: question.name }) as Answer), authorities: [], kind: 'answer' };
}

/** The zone's SOA as the authority of a negative answer (RFC 2308 3): its TTL no longer than the negative TTL. */
function negativeSoa(question: ZoneQuestion, zone: Zone): SoaAnswer {
  // The apex spelled as in the question: its last labels.
  const apexLabels = zone.apex.split('.').length;
  const owner = question.name.split('.').slice(-apexLabels).join('.');
  return { ...zone.soa, name: owner, ttl: Math.min(zone.soa.ttl ?? NEGATIVE_TTL, NEGATIVE_TTL) };
}

/** The zone settings of a config. */
export function zoneSettingsOf(config: {
  dnsNameservers: string[];
  publicIps: string[];
  dnsMailHost?: string | undefined;
  dnsCaaIssuers: string[];
  dnsSpf?: string | undefined;
}): ZoneSettings {
  return {
    nameservers: config.dnsNameservers,
    ipv4: config.publicIps.filter((ip) => !ip.includes(':')),
    ipv6: config.publicIps.filter((ip) => ip.includes(':')),
    mailHost: config.dnsMailHost ?? null,
    caaIssuers: config.dnsCaaIssuers,
    spf: config.dnsSpf ?? null,
  };
}
