/**
 * Knock's DNS answers without sockets (adapters/dns/responder.ts, zone.ts, wire.ts): the records of an active domain,
 * negative answers as RFC 2308 has them, REFUSED outside the zones served, RFC 8482 ANY, EDNS0, truncation sizes,
 * and hostile packets, which get FORMERR or silence and never an exception.
 */
import { generateKeyPairSync } from 'node:crypto';
import dnsPacket, { type Answer, type DecodedPacket, type Packet, type TxtAnswer } from 'dns-packet';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DnsResponder } from '../../adapters/dns/responder.ts';
import type { ZoneSettings } from '../../adapters/dns/zone.ts';
import type { DnsZoneFacts, DnsZoneSource } from '../../engine/ports/dnsZones.ts';

const keyOf = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const KEY_2048 = keyOf(2048);
const KEY_4096 = keyOf(4096);

const settings: ZoneSettings = {
  nameservers: ['ns1.knock.test', 'ns2.knock.test'],
  ipv4: ['192.0.2.10'],
  ipv6: ['2001:db8::10'],
  mailHost: null,
  caaIssuers: ['letsencrypt.org'],
  spf: null,
};

/** A zone source in memory: what the port promises, over a map (StoredDnsZones has its own tests). */
function zonesOf(domains: DnsZoneFacts[], acme: Record<string, string[]> = {}): DnsZoneSource {
  const byName = new Map(domains.map((d) => [d.name, d]));
  return {
    async zoneOf(name) {
      for (let rest = name; ; rest = rest.slice(rest.indexOf('.') + 1)) {
        if (byName.has(rest)) return byName.get(rest)!;
        if (!rest.includes('.')) return null;
      }
    },
    async acmeValues(zone) {
      return acme[zone] ?? [];
    },
  };
}

const alice: DnsZoneFacts = { name: 'alice.example', pending: false, serial: 1_765_000_000, dkimSelector: 'knock1', dkimPublicKey: KEY_2048 };
const bigKey: DnsZoneFacts = { name: 'big.example', pending: false, serial: 1_765_000_001, dkimSelector: 'k4096', dkimPublicKey: KEY_4096 };

function responder(opts: { zones?: DnsZoneSource; settings?: Partial<ZoneSettings> } = {}): DnsResponder {
  return new DnsResponder({ zones: opts.zones ?? zonesOf([alice, bigKey], { 'alice.example': ['token-value-1', 'token-value-2'] }), settings: { ...settings, ...opts.settings } });
}

interface Ask {
  name: string;
  type?: string;
  klass?: string;
  rd?: boolean;
  edns?: { udpSize?: number; version?: number; dnssecOk?: boolean };
}

function query({ name, type = 'A', klass = 'IN', rd = false, edns }: Ask): Buffer {
  const packet: Packet = {
    type: 'query',
    id: 4242,
    flags: rd ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ name, type: type as 'A', class: klass as 'IN' }],
    additionals: edns
      ? [{ type: 'OPT', name: '.', udpPayloadSize: edns.udpSize ?? 1232, extendedRcode: 0, ednsVersion: edns.version ?? 0, flags: edns.dnssecOk ? dnsPacket.DNSSEC_OK : 0, flag_do: false, options: [] }]
      : [],
  };
  return dnsPacket.encode(packet);
}

interface Reply {
  bytes: Buffer;
  packet: DecodedPacket & { rcode: string };
  kind: string;
}

async function ask(r: DnsResponder, a: Ask, transport: 'udp' | 'tcp' = 'udp'): Promise<Reply> {
  const response = await r.respond(query(a), transport);
  expect(response).not.toBeNull();
  return { bytes: response!.bytes, packet: decode(response!.bytes) as Reply['packet'], kind: response!.kind };
}

/** dns-packet's decoder also says the RCODE (its types leave it out). */
const decode = (bytes: Buffer) => dnsPacket.decode(bytes) as Reply['packet'];

const txtOf = (answer: Answer) => ((answer as TxtAnswer).data as Buffer[]).map((b) => b.toString()).join('');

describe('the records of an active domain', () => {
  it('answers SOA at the apex, authoritatively, without recursion, with the first name server as primary', async () => {
    const { packet } = await ask(responder(), { name: 'alice.example', type: 'SOA', rd: true });
    expect(packet).toMatchObject({ rcode: 'NOERROR', flag_aa: true, flag_ra: false, flag_rd: true, flag_qr: true, id: 4242 });
    expect(packet.answers).toEqual([
      expect.objectContaining({ type: 'SOA', name: 'alice.example', data: { mname: 'ns1.knock.test', rname: 'hostmaster.alice.example', serial: 1_765_000_000, refresh: 3600, retry: 600, expire: 1_209_600, minimum: 300 } }),
    ]);
  });

  it('answers NS, A, AAAA, MX, the SPF TXT and CAA at the apex from the settings', async () => {
    const r = responder();
    const data = async (type: string) => (await ask(r, { name: 'alice.example', type })).packet.answers!.map((a) => ('data' in a ? a.data : null));
    expect(await data('NS')).toEqual(['ns1.knock.test', 'ns2.knock.test']);
    expect(await data('A')).toEqual(['192.0.2.10']);
    expect(await data('AAAA')).toEqual(['2001:db8::10']);
    expect(await data('MX')).toEqual([{ preference: 10, exchange: 'alice.example' }]);
    expect((await ask(r, { name: 'alice.example', type: 'TXT' })).packet.answers!.map(txtOf)).toEqual(['v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 mx ~all']);
    expect(await data('CAA')).toEqual([expect.objectContaining({ flags: 0, tag: 'issue', value: 'letsencrypt.org' })]);
  });

  it('takes the mail host, the SPF record and the CAs from the settings, and has no CAA without CAs', async () => {
    const r = responder({ settings: { mailHost: 'mx.knock.test', spf: 'v=spf1 include:_spf.relay.test ~all', caaIssuers: [] } });
    expect((await ask(r, { name: 'alice.example', type: 'MX' })).packet.answers![0]).toMatchObject({ data: { preference: 10, exchange: 'mx.knock.test' } });
    expect((await ask(r, { name: 'alice.example', type: 'TXT' })).packet.answers!.map(txtOf)).toEqual(['v=spf1 include:_spf.relay.test ~all']);
    const caa = await ask(r, { name: 'alice.example', type: 'CAA' });
    expect(caa.kind).toBe('nodata');
    expect(caa.packet.answers).toEqual([]);
  });

  it('answers DMARC, and the DKIM key in character-strings of at most 255 octets that join into the record', async () => {
    const r = responder();
    expect((await ask(r, { name: '_dmarc.alice.example', type: 'TXT' })).packet.answers!.map(txtOf)).toEqual(['v=DMARC1; p=quarantine; adkim=r; aspf=r']);
    const dkim = (await ask(r, { name: 'knock1._domainkey.alice.example', type: 'TXT' })).packet.answers!;
    expect(dkim).toHaveLength(1);
    const strings = ((dkim[0] as TxtAnswer).data as Buffer[]).map((b) => b.length);
    expect(strings.length).toBeGreaterThan(1);
    expect(Math.max(...strings)).toBeLessThanOrEqual(255);
    expect(txtOf(dkim[0]!)).toBe(`v=DKIM1; k=rsa; p=${KEY_2048}`);
  });

  it('publishes an Ed25519 DKIM key as its bare 32 bytes (RFC 8463)', async () => {
    const ed = generateKeyPairSync('ed25519').publicKey;
    const spki = ed.export({ type: 'spki', format: 'der' }).toString('base64');
    const raw = Buffer.from(ed.export({ format: 'jwk' }).x!, 'base64url').toString('base64');
    const r = responder({ zones: zonesOf([{ ...alice, dkimPublicKey: spki }]) });
    expect(txtOf((await ask(r, { name: 'knock1._domainkey.alice.example', type: 'TXT' })).packet.answers![0]!)).toBe(`v=DKIM1; k=ed25519; p=${raw}`);
  });

  it('serves the live ACME dns-01 values at _acme-challenge with a short TTL, and NXDOMAIN when there are none', async () => {
    const acme = await ask(responder(), { name: '_acme-challenge.alice.example', type: 'TXT' });
    expect(acme.packet.answers!.map(txtOf).sort()).toEqual(['token-value-1', 'token-value-2']);
    expect(acme.packet.answers!.every((a) => 'ttl' in a && a.ttl === 60)).toBe(true);
    const none = await ask(responder({ zones: zonesOf([alice]) }), { name: '_acme-challenge.alice.example', type: 'TXT' });
    expect(none.packet.rcode).toBe('NXDOMAIN');
  });
});

describe('names as asked', () => {
  it('echoes a mixed-case question with a trailing dot byte for byte, answers under the name as asked, and finds it case-insensitively', async () => {
    const asked = query({ name: 'aLiCe.ExAmPlE.', type: 'A' });
    const response = (await responder().respond(asked, 'udp'))!;
    // The question section: from byte 12 to the end of the question in the query (it has nothing else).
    expect(response.bytes.subarray(12, asked.length).equals(asked.subarray(12))).toBe(true);
    const packet = decode(response.bytes);
    expect(packet.questions![0]!.name).toBe('aLiCe.ExAmPlE');
    expect(packet.answers).toEqual([expect.objectContaining({ name: 'aLiCe.ExAmPlE', type: 'A', data: '192.0.2.10' })]);
  });

  it('never matches a label holding a dot or a byte no host name has to a served name', async () => {
    // The label "knock1._domainkey" as ONE label (a dot inside): not the DKIM name, whatever it reads like.
    const packet = Buffer.concat([
      Buffer.from([0x10, 0x92, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
      Buffer.from([17]), Buffer.from('knock1._domainkey'), Buffer.from([5]), Buffer.from('alice'), Buffer.from([7]), Buffer.from('example'), Buffer.from([0]),
      Buffer.from([0, 16, 0, 1]),
    ]);
    const response = (await responder().respond(packet, 'udp'))!;
    expect(response.kind).toBe('nxdomain');
    expect(response.bytes.subarray(12, packet.length).equals(packet.subarray(12))).toBe(true);
  });
});

describe('negative answers and zones not served', () => {
  it('answers NXDOMAIN for a name it does not hold, with the SOA in authority at the negative TTL', async () => {
    const { packet, kind } = await ask(responder(), { name: 'www.Alice.example', type: 'A' });
    expect(kind).toBe('nxdomain');
    expect(packet).toMatchObject({ rcode: 'NXDOMAIN', flag_aa: true, answers: [] });
    expect(packet.authorities).toEqual([expect.objectContaining({ type: 'SOA', name: 'Alice.example', ttl: 300 })]);
  });

  it('answers NODATA (NOERROR, no answer, the SOA) for a name that exists with another type, and for a name with names below it', async () => {
    for (const [name, type] of [['alice.example', 'SRV'], ['_dmarc.alice.example', 'A'], ['_domainkey.alice.example', 'TXT']] as const) {
      const { packet, kind } = await ask(responder(), { name, type });
      expect(kind, name).toBe('nodata');
      expect(packet).toMatchObject({ rcode: 'NOERROR', flag_aa: true, answers: [] });
      expect(packet.authorities).toEqual([expect.objectContaining({ type: 'SOA', ttl: 300 })]);
    }
  });

  it('refuses names outside every active zone, recursion asked or not, and a challenge for a domain it does not hold', async () => {
    for (const a of [
      { name: 'example.com', type: 'A', rd: true },
      { name: 'alice.example.com', type: 'A' },
      { name: 'example', type: 'SOA' },
      { name: '_acme-challenge.nobody.example', type: 'TXT' },
      { name: '.', type: 'NS', rd: true },
    ]) {
      const { packet, kind } = await ask(responder(), a);
      expect(kind, a.name).toBe('refused');
      expect(packet).toMatchObject({ rcode: 'REFUSED', flag_aa: false, flag_ra: false, answers: [], authorities: [] });
    }
  });

  it('answers a domain inside another from its own zone', async () => {
    const chat: DnsZoneFacts = { name: 'chat.alice.example', pending: false, serial: 7, dkimSelector: 'k2', dkimPublicKey: KEY_2048 };
    const r = responder({ zones: zonesOf([alice, chat]) });
    expect((await ask(r, { name: 'x.chat.alice.example', type: 'A' })).packet.authorities![0]).toMatchObject({ name: 'chat.alice.example', data: { serial: 7 } });
    expect((await ask(r, { name: 'k2._domainkey.chat.alice.example', type: 'TXT' })).kind).toBe('answer');
  });

  it('answers SERVFAIL when the zones cannot be read', async () => {
    const broken: DnsZoneSource = { zoneOf: () => Promise.reject(new Error('database down')), acmeValues: () => Promise.resolve([]) };
    expect((await ask(responder({ zones: broken }), { name: 'alice.example' })).packet.rcode).toBe('SERVFAIL');
  });
});

describe('query types and classes', () => {
  it('answers ANY with one HINFO "RFC8482" (RFC 8482), far smaller than everything the name holds', async () => {
    const { packet, bytes } = await ask(responder(), { name: 'alice.example', type: 'ANY', edns: {} });
    expect(packet.answers).toEqual([expect.objectContaining({ type: 'HINFO', name: 'alice.example', data: { cpu: 'RFC8482', os: '' } })]);
    expect(bytes.length).toBeLessThan(100);
    expect((await ask(responder(), { name: 'nope.alice.example', type: 'ANY' })).packet.rcode).toBe('NXDOMAIN');
  });

  it('refuses zone transfers and classes other than IN; NOTIMP for MAILA', async () => {
    expect((await ask(responder(), { name: 'alice.example', type: 'AXFR' }, 'tcp')).packet.rcode).toBe('REFUSED');
    expect((await ask(responder(), { name: 'alice.example', type: 'IXFR' })).packet.rcode).toBe('REFUSED');
    expect((await ask(responder(), { name: 'version.bind', type: 'TXT', klass: 'CH' })).packet.rcode).toBe('REFUSED');
    expect((await ask(responder(), { name: 'alice.example', type: 'A', klass: 'CH' })).packet.rcode).toBe('REFUSED');
    const maila = Buffer.from(query({ name: 'alice.example' }));
    maila.writeUInt16BE(254, maila.length - 4);
    expect(decode((await responder().respond(maila, 'udp'))!.bytes).rcode).toBe('NOTIMP');
  });

  it('answers NOTIMP to opcodes other than QUERY (NOTIFY, UPDATE)', async () => {
    for (const opcode of [4, 5, 2]) {
      const packet = Buffer.from(query({ name: 'alice.example', rd: true }));
      packet.writeUInt16BE((opcode << 11) | 0x0100, 2);
      const response = (await responder().respond(packet, 'udp'))!;
      const decoded = decode(response.bytes);
      expect(decoded).toMatchObject({ id: 4242, rcode: 'NOTIMP', flag_qr: true, flag_rd: true });
      expect((response.bytes.readUInt16BE(2) >> 11) & 0xf).toBe(opcode);
    }
  });
});

describe('EDNS0 (RFC 6891)', () => {
  it('answers with an OPT of its own (1232 bytes, version 0), copying DO', async () => {
    const { packet } = await ask(responder(), { name: 'alice.example', edns: { udpSize: 4096, dnssecOk: true } });
    expect(packet.additionals).toEqual([expect.objectContaining({ type: 'OPT', udpPayloadSize: 1232, ednsVersion: 0, flag_do: true })]);
    expect((await ask(responder(), { name: 'alice.example' })).packet.additionals).toEqual([]);
  });

  it('answers BADVERS to an EDNS version it does not speak, and includes an OPT in its errors too', async () => {
    const { packet } = await ask(responder(), { name: 'alice.example', edns: { version: 1 } });
    expect(packet.answers).toEqual([]);
    // BADVERS is 16: the header's 4 bits say 0, the OPT's extended RCODE says 1.
    expect(packet.rcode).toBe('NOERROR');
    expect(packet.additionals![0]).toMatchObject({ type: 'OPT', extendedRcode: 1, ednsVersion: 0 });
    expect((await ask(responder(), { name: 'example.com', edns: {} })).packet.additionals![0]).toMatchObject({ type: 'OPT' });
  });

  it('refuses two OPT records, an OPT not at the root, and OPT as the type asked with FORMERR', async () => {
    const opt = { type: 'OPT' as const, name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
    const twice = dnsPacket.encode({ type: 'query', id: 1, questions: [{ name: 'alice.example', type: 'A' }], additionals: [opt, opt] });
    expect(decode((await responder().respond(twice, 'udp'))!.bytes).rcode).toBe('FORMERR');
    const notRoot = Buffer.from(dnsPacket.encode({ type: 'query', id: 1, questions: [{ name: 'alice.example', type: 'A' }], additionals: [opt] }));
    // Make the OPT's owner "a." instead of the root: rebuild its name bytes.
    const optAt = notRoot.length - 11;
    const withName = Buffer.concat([notRoot.subarray(0, optAt), Buffer.from([1, 0x61, 0]), notRoot.subarray(optAt + 1)]);
    expect(decode((await responder().respond(withName, 'udp'))!.bytes).rcode).toBe('FORMERR');
    const asked = Buffer.from(query({ name: 'alice.example' }));
    asked.writeUInt16BE(41, asked.length - 4);
    expect(decode((await responder().respond(asked, 'udp'))!.bytes).rcode).toBe('FORMERR');
  });
});

describe('answers too big for UDP', () => {
  it('fits a 2048-bit DKIM key in 512 bytes, and truncates a 4096-bit one without EDNS (TC=1, no records, the question kept)', async () => {
    expect((await ask(responder(), { name: 'knock1._domainkey.alice.example', type: 'TXT' })).bytes.length).toBeLessThanOrEqual(512);
    const { packet, bytes } = await ask(responder(), { name: 'k4096._domainkey.big.example', type: 'TXT' });
    expect(packet).toMatchObject({ flag_tc: true, flag_aa: true, rcode: 'NOERROR', answers: [], authorities: [] });
    expect(packet.questions).toEqual([{ name: 'k4096._domainkey.big.example', type: 'TXT', class: 'IN' }]);
    expect(bytes.length).toBeLessThanOrEqual(512);
  });

  it('sends the 4096-bit key whole over TCP and over UDP with an EDNS size that holds it, truncating under a smaller one', async () => {
    const name = 'k4096._domainkey.big.example';
    const tcp = await ask(responder(), { name, type: 'TXT' }, 'tcp');
    expect(tcp.packet.flag_tc).toBe(false);
    expect(txtOf(tcp.packet.answers![0]!)).toBe(`v=DKIM1; k=rsa; p=${KEY_4096}`);
    expect(tcp.bytes.length).toBeGreaterThan(512);
    const edns = await ask(responder(), { name, type: 'TXT', edns: { udpSize: 1232 } });
    expect(edns.packet.flag_tc).toBe(false);
    expect(edns.packet.answers).toHaveLength(1);
    const small = await ask(responder(), { name, type: 'TXT', edns: { udpSize: 700 } });
    expect(small.packet.flag_tc).toBe(true);
    expect(small.bytes.length).toBeLessThanOrEqual(700);
    // Sizes under 512 count as 512; sizes over 1232 as 1232 (no fragmented UDP).
    const tiny = await ask(responder(), { name, type: 'TXT', edns: { udpSize: 100 } });
    expect(tiny.packet.flag_tc).toBe(true);
  });
});

describe('hostile packets', () => {
  const header = (qd: number, extra: number[] = []) => Buffer.from([0xab, 0xcd, 0x01, 0x00, 0, qd, 0, 0, 0, 0, 0, 0, ...extra]);
  const formerr = async (packet: Buffer) => {
    const response = await responder().respond(packet, 'udp');
    expect(response).not.toBeNull();
    const decoded = decode(response!.bytes);
    expect(decoded).toMatchObject({ id: 0xabcd, rcode: 'FORMERR', flag_qr: true, questions: [] });
    expect(response!.bytes.length).toBe(12);
  };

  it('drops what is no query: shorter than a header, empty, or a response', async () => {
    expect(await responder().respond(Buffer.alloc(0), 'udp')).toBeNull();
    expect(await responder().respond(Buffer.from([1, 2, 3, 4, 5]), 'udp')).toBeNull();
    const response = Buffer.from(query({ name: 'alice.example' }));
    response[2]! |= 0x80;
    expect(await responder().respond(response, 'udp')).toBeNull();
  });

  it('answers FORMERR (header only) to no question, a header claiming 5 questions, a cut-short question and bytes after it', async () => {
    await formerr(header(0));
    await formerr(Buffer.concat([header(5), query({ name: 'alice.example' }).subarray(12)]));
    await formerr(header(1, [5, 0x61, 0x6c]));
    await formerr(Buffer.concat([header(1), query({ name: 'alice.example' }).subarray(12), Buffer.from('garbage')]));
    await formerr(header(1, [0, 0, 1])); // root name, then a type cut in half
  });

  it('answers FORMERR to compression pointer loops and forward pointers, and to names over 255 octets', async () => {
    // A pointer to itself (offset 12), and two pointing at each other.
    await formerr(header(1, [0xc0, 12, 0, 1, 0, 1]));
    await formerr(header(1, [1, 0x61, 0xc0, 12, 0, 1, 0, 1]));
    await formerr(header(1, [0xc0, 14, 0xc0, 12, 0, 1, 0, 1]));
    // 5 labels of 63: 320 octets.
    const long = Array.from({ length: 5 }, () => [63, ...new Array<number>(63).fill(0x61)]).flat();
    await formerr(header(1, [...long, 0, 0, 1, 0, 1]));
    await formerr(header(1, [0x80, 0, 0, 1, 0, 1])); // an unknown label type
  });

  it('never throws on random bytes: silence, or a response carrying the query id (seeded)', async () => {
    const r = responder();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 600 }), async (bytes) => {
        const packet = Buffer.from(bytes);
        const response = await r.respond(packet, 'udp');
        if (response === null) return;
        expect(response.bytes.readUInt16BE(0)).toBe(packet.readUInt16BE(0));
        expect(response.bytes.length).toBeLessThanOrEqual(Math.max(512, packet.length));
      }),
      { seed: 2126, numRuns: 3000 },
    );
  });

  it('never throws on mutations of a good query (seeded)', async () => {
    const r = responder();
    const good = query({ name: 'knock1._domainkey.alice.example', type: 'TXT', edns: {} });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat(good.length), async (edits, cut) => {
        const packet = Buffer.from(good.subarray(0, Math.max(cut, 12)));
        for (const [at, value] of edits) if (at < packet.length) packet[at] = value;
        await r.respond(packet, 'udp');
      }),
      { seed: 2127, numRuns: 3000 },
    );
  });
});
