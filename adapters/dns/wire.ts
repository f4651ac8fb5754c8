/**
 * DNS messages on the wire (RFC 1035 4.1, RFC 6891 EDNS0): reading a query defensively, writing a response.
 *
 * The query is read here, byte by byte, rather than by dns-packet's decoder: an answer must echo the question exactly
 * as asked (its bytes and case: resolvers using 0x20 mixed case compare them), dns-packet turns labels into UTF-8
 * strings (a label holding a dot, or a byte above 0x7f, would not come back the same), and its decoder allocates
 * arrays as long as the header's counts claim. Records are written with dns-packet's encoder.
 *
 * Nothing here throws on input: every outcome is a value (`drop`, `formerr`, `notimp`, a query).
 *
 * @example
 *   const read = readQuery(packet);
 *   if (read.kind === 'query') writeResponse(read.query, { rcode: RCODE.NOERROR, aa: true, answers, authorities: [] }, 512);
 */
import dnsPacket, { type Answer } from 'dns-packet';

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 } as const;
export const QTYPE = { A: 1, NS: 2, SOA: 6, HINFO: 13, MX: 15, TXT: 16, AAAA: 28, OPT: 41, IXFR: 251, AXFR: 252, MAILB: 253, MAILA: 254, ANY: 255, CAA: 257 } as const;
export const QCLASS_IN = 1;

const HEADER_BYTES = 12;
/** RFC 1035 2.3.4: a name is at most 255 octets on the wire. */
const MAX_NAME_BYTES = 255;
/** Without EDNS a UDP answer holds at most 512 bytes (RFC 1035 4.2.1); EDNS sizes below it count as 512 (RFC 6891 6.2.5). */
export const CLASSIC_UDP_BYTES = 512;

export interface DnsQuestion {
  /** The labels exactly as asked (bytes and case), to echo. */
  labels: Buffer[];
  /** As asked, in presentation form without the root dot (case kept; bytes other than letters, digits, `-` and `_` as \DDD). */
  name: string;
  /** `name` in lower case: what is looked up. */
  key: string;
  type: number;
  class: number;
}

export interface Edns {
  /** The UDP payload size the client says it can take (RFC 6891 6.2.3). */
  udpSize: number;
  version: number;
  /** DO: copied into the response (RFC 3225). */
  dnssecOk: boolean;
}

export interface DnsQuery {
  id: number;
  /** RD is echoed; no recursion is ever done (RA stays 0). */
  rd: boolean;
  cd: boolean;
  question: DnsQuestion;
  edns: Edns | null;
}

/** What a query's header says, when that is all that could be read (for FORMERR and NOTIMP). */
export interface DnsHeader {
  id: number;
  opcode: number;
  rd: boolean;
}

export type ReadQuery =
  | { kind: 'query'; query: DnsQuery }
  /** Unreadable past the header: answered FORMERR (header only, as BIND and Knot do). */
  | { kind: 'formerr'; header: DnsHeader; reason: string }
  /** An opcode other than QUERY (NOTIFY, UPDATE, ...): NOTIMP. */
  | { kind: 'notimp'; header: DnsHeader }
  /** Not even a header, or a response (QR=1: answering it could loop two servers forever): silence. */
  | { kind: 'drop'; reason: string };

class Malformed extends Error {}

/** Reads a query; never throws. */
export function readQuery(packet: Buffer): ReadQuery {
  if (packet.length < HEADER_BYTES) return { kind: 'drop', reason: 'shorter than a header' };
  const flags = packet.readUInt16BE(2);
  if (flags & 0x8000) return { kind: 'drop', reason: 'a response, not a query' };
  const header: DnsHeader = { id: packet.readUInt16BE(0), opcode: (flags >> 11) & 0xf, rd: (flags & 0x0100) !== 0 };
  if (header.opcode !== 0) return { kind: 'notimp', header };
  const qdcount = packet.readUInt16BE(4);
  if (qdcount !== 1) return { kind: 'formerr', header, reason: `${qdcount} questions` };
  try {
    const reader = new Reader(packet, HEADER_BYTES);
    const question = readQuestion(reader);
    // Answers and authorities have no place in a query; read past them (they must still be well formed).
    const skipped = packet.readUInt16BE(6) + packet.readUInt16BE(8);
    for (let i = 0; i < skipped; i++) readRecord(reader);
    let edns: Edns | null = null;
    const additionals = packet.readUInt16BE(10);
    for (let i = 0; i < additionals; i++) {
      const record = readRecord(reader);
      if (record.type !== QTYPE.OPT) continue;
      // RFC 6891 6.1.1: one OPT at most, owned by the root.
      if (edns) throw new Malformed('two OPT records');
      if (record.nameBytes !== 1) throw new Malformed('an OPT record not at the root');
      edns = { udpSize: record.class, version: (record.ttl >>> 16) & 0xff, dnssecOk: (record.ttl & 0x8000) !== 0 };
    }
    if (reader.offset !== packet.length) throw new Malformed('bytes after the last record');
    return { kind: 'query', query: { id: header.id, rd: header.rd, cd: (flags & 0x0010) !== 0, question, edns } };
  } catch (err) {
    if (err instanceof Malformed) return { kind: 'formerr', header, reason: err.message };
    throw err;
  }
}

class Reader {
  constructor(
    readonly packet: Buffer,
    public offset: number,
  ) {}

  need(bytes: number): void {
    if (this.offset + bytes > this.packet.length) throw new Malformed('cut short');
  }
  u8(): number {
    this.need(1);
    return this.packet[this.offset++]!;
  }
  u16(): number {
    this.need(2);
    const value = this.packet.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }
  u32(): number {
    this.need(4);
    const value = this.packet.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
}

/**
 * A name's labels. Compression pointers (RFC 1035 4.1.4) must point strictly backwards, so they cannot loop; the
 * name may not pass 255 octets however it is spelled.
 */
function readName(reader: Reader): { labels: Buffer[]; wireBytes: number } {
  const { packet } = reader;
  const labels: Buffer[] = [];
  let at = reader.offset;
  let end: number | null = null;
  let length = 1;
  let floor = at;
  for (;;) {
    if (at >= packet.length) throw new Malformed('a name runs past the end');
    const len = packet[at]!;
    if (len === 0) {
      at += 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (at + 1 >= packet.length) throw new Malformed('a name runs past the end');
      const target = ((len & 0x3f) << 8) | packet[at + 1]!;
      if (target >= floor) throw new Malformed('a compression pointer that does not point backwards');
      end ??= at + 2;
      at = target;
      floor = target;
      continue;
    }
    if (kind !== 0) throw new Malformed('an unknown label type');
    if (at + 1 + len > packet.length) throw new Malformed('a label runs past the end');
    length += len + 1;
    if (length > MAX_NAME_BYTES) throw new Malformed('a name longer than 255 octets');
    labels.push(packet.subarray(at + 1, at + 1 + len));
    at += 1 + len;
  }
  const stop = end ?? at;
  const wireBytes = stop - reader.offset;
  reader.offset = stop;
  return { labels, wireBytes };
}

function readQuestion(reader: Reader): DnsQuestion {
  const { labels } = readName(reader);
  const type = reader.u16();
  const klass = reader.u16();
  const name = labels.map(presentLabel).join('.');
  return { labels, name, key: name.toLowerCase(), type, class: klass };
}

function readRecord(reader: Reader): { type: number; class: number; ttl: number; nameBytes: number } {
  const { wireBytes } = readName(reader);
  const type = reader.u16();
  const klass = reader.u16();
  const ttl = reader.u32();
  const rdlength = reader.u16();
  reader.need(rdlength);
  reader.offset += rdlength;
  return { type, class: klass, ttl, nameBytes: wireBytes };
}

/**
 * A label as text: letters, digits, `-` and `_` as they are, every other byte as \DDD (RFC 1035 5.1). A dot inside a
 * label, or any byte a host name cannot hold, can then never match a name Knock serves (those are LDH only).
 */
function presentLabel(label: Buffer): string {
  let text = '';
  for (const byte of label) {
    const isPlain = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte === 0x2d || byte === 0x5f;
    text += isPlain ? String.fromCharCode(byte) : `\\${String(byte).padStart(3, '0')}`;
  }
  return text;
}

/** The question as asked, to echo: the labels' own bytes, without compression. */
function questionBytes(question: DnsQuestion): Buffer {
  const nameBytes = question.labels.reduce((sum, label) => sum + label.length + 1, 1);
  const out = Buffer.alloc(nameBytes + 4);
  let at = 0;
  for (const label of question.labels) {
    out[at++] = label.length;
    label.copy(out, at);
    at += label.length;
  }
  out[at++] = 0;
  out.writeUInt16BE(question.type, at);
  out.writeUInt16BE(question.class, at + 2);
  return out;
}

export interface DnsAnswer {
  rcode: number;
  /** Authoritative (AA): every answer from a zone Knock serves. */
  aa: boolean;
  answers: Answer[];
  authorities: Answer[];
}

/** Our EDNS payload size, told in every OPT we send: 1232 (the DNS flag day 2020's default, no IP fragmentation). */
export const EDNS_UDP_BYTES = 1232;

/**
 * A response to `query`. Over `maxBytes` it is truncated (TC=1, no records but the OPT) so the client retries over
 * TCP (RFC 2181 9, RFC 7766). `maxBytes` Infinity: TCP (its own 65,535 limit is checked by the caller's framing).
 */
export function writeResponse(query: DnsQuery, answer: DnsAnswer, maxBytes: number): { bytes: Buffer; truncated: boolean } {
  const full = encode(query, answer, false);
  if (full.length <= maxBytes) return { bytes: full, truncated: false };
  return { bytes: encode(query, { ...answer, answers: [], authorities: [] }, true), truncated: true };
}

/** What RRL's slip sends instead of a limited answer: the header and question, TC=1, so a real resolver asks over TCP. */
export function writeSlip(query: DnsQuery, answer: DnsAnswer): Buffer {
  return encode(query, { ...answer, answers: [], authorities: [] }, true);
}

function encode(query: DnsQuery, answer: DnsAnswer, truncated: boolean): Buffer {
  let flags = answer.rcode & 0xf;
  if (answer.aa) flags |= dnsPacket.AUTHORITATIVE_ANSWER;
  if (truncated) flags |= dnsPacket.TRUNCATED_RESPONSE;
  if (query.rd) flags |= dnsPacket.RECURSION_DESIRED;
  if (query.cd) flags |= dnsPacket.CHECKING_DISABLED;
  const additionals: Answer[] = [];
  if (query.edns) {
    additionals.push({
      type: 'OPT',
      name: '.',
      udpPayloadSize: EDNS_UDP_BYTES,
      extendedRcode: answer.rcode >> 4,
      ednsVersion: 0,
      flags: query.edns.dnssecOk ? dnsPacket.DNSSEC_OK : 0,
      flag_do: query.edns.dnssecOk,
      options: [],
    });
  }
  const rest = dnsPacket.encode({ type: 'response', id: query.id, flags, questions: [], answers: answer.answers, authorities: answer.authorities, additionals });
  const question = questionBytes(query.question);
  const out = Buffer.concat([rest.subarray(0, HEADER_BYTES), question, rest.subarray(HEADER_BYTES)]);
  out.writeUInt16BE(1, 4);
  return out;
}

/** FORMERR or NOTIMP for a query read no further than its header: the header alone, no question (as BIND and Knot). */
export function writeHeaderOnly(header: DnsHeader, rcode: number): Buffer {
  const out = Buffer.alloc(HEADER_BYTES);
  out.writeUInt16BE(header.id, 0);
  out.writeUInt16BE(0x8000 | (header.opcode << 11) | (header.rd ? 0x0100 : 0) | (rcode & 0xf), 2);
  return out;
}

/** The most a UDP response to this query may hold: 512 without EDNS; with it, the client's size, 512 to 1232. */
export function udpLimit(query: DnsQuery): number {
  if (!query.edns) return CLASSIC_UDP_BYTES;
  return Math.min(Math.max(query.edns.udpSize, CLASSIC_UDP_BYTES), EDNS_UDP_BYTES);
}
