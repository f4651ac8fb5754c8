/**
 * Knock as the authoritative DNS of its owners' domains (issue 21), asked by Debian's `dig` on 127.0.0.1 as an
 * operator checks a delegation, and attacked with raw UDP and TCP: malformed packets, a flood from one address,
 * too many connections, a slowloris, an oversized message. The server stays up and keeps answering everyone else.
 *
 * alice.example is active (a 2048-bit DKIM key, answers fit 512 bytes), big.example is active with a 4096-bit key
 * (its DKIM TXT needs TCP without EDNS), pending.example is pending (only its delegation is answered).
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { promisify } from 'node:util';
import dnsPacket, { type DecodedPacket, type TxtAnswer } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsServer } from '../../adapters/dns/dnsServer.ts';
import { DnsResponder } from '../../adapters/dns/responder.ts';
import { createLogger } from '../../engine/logger.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';

const run = promisify(execFile);
const keyOf = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const KEY_2048 = keyOf(2048);
const KEY_4096 = keyOf(4096);

let knock: TestKnock;
let port: number;

beforeAll(async () => {
  knock = await startKnock({
    dnsPort: 0,
    dnsHost: '127.0.0.1',
    dnsNameservers: ['ns1.knock.test', 'ns2.knock.test'],
    publicIps: ['192.0.2.10', '2001:db8::10'],
    // Read storage for every query, so a change is seen at once (the cache has its own tests: dnsZones.test.ts).
    dnsCacheMs: 0,
    dnsTcpIdleTimeoutMs: 1000,
  });
  port = knock.dnsPort!;
  const alice = await knock.accounts.add('alice', 'Alice', 'correct horse battery');
  const add = async (name: string, selector: string, key: string, active: boolean) => {
    await knock.storage.addDomain({ name, accountId: alice.id, dkimSelector: selector, dkimPublicKey: key, dkimPrivateKey: 'unused here', at: Date.now() });
    if (active) await knock.storage.recordDomainCheck(name, { active: true, error: null, at: Date.now() });
  };
  await add('alice.example', 'knock1', KEY_2048, true);
  await add('big.example', 'k4096', KEY_4096, true);
  await add('pending.example', 'knock1', KEY_2048, false);
});

afterAll(async () => {
  await knock?.close();
});

interface Dig {
  status: string;
  flags: string[];
  answer: string[];
  authority: string[];
  text: string;
}

/** Runs dig against Knock's DNS server; reads the status, the header flags and the answer and authority lines. */
async function dig(...args: string[]): Promise<Dig> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), '+time=3', '+tries=1', ...args]);
  const section = (title: string) => {
    const start = stdout.indexOf(`;; ${title} SECTION:\n`);
    if (start < 0) return [];
    return stdout.slice(start).split('\n').slice(1).filter((line, i, lines) => lines.slice(0, i + 1).every((l) => l.trim() !== '')).map((l) => l.replace(/\s+/g, ' ').trim());
  };
  return {
    status: /status: (\w+)/.exec(stdout)?.[1] ?? 'none',
    flags: (/;; flags: ([a-z ]*);/.exec(stdout)?.[1] ?? '').trim().split(' '),
    answer: section('ANSWER'),
    authority: section('AUTHORITY'),
    text: stdout,
  };
}

const short = async (...args: string[]) => (await run('dig', ['@127.0.0.1', '-p', String(port), '+time=3', '+tries=1', '+short', ...args])).stdout.trim().split('\n');

describe('dig against Knock', () => {
  it('answers SOA and NS authoritatively (aa), never offering recursion (no ra)', async () => {
    const soa = await dig('alice.example', 'SOA');
    expect(soa.status).toBe('NOERROR');
    expect(soa.flags).toContain('aa');
    expect(soa.flags).not.toContain('ra');
    expect(soa.answer).toEqual([expect.stringMatching(/^alice\.example\. 3600 IN SOA ns1\.knock\.test\. hostmaster\.alice\.example\. \d+ 3600 600 1209600 300$/)]);
    expect((await short('alice.example', 'NS')).sort()).toEqual(['ns1.knock.test.', 'ns2.knock.test.']);
  });

  it('answers A, AAAA, MX, CAA and the SPF, DMARC and DKIM TXT records', async () => {
    expect(await short('alice.example', 'A')).toEqual(['192.0.2.10']);
    expect(await short('alice.example', 'AAAA')).toEqual(['2001:db8::10']);
    expect(await short('alice.example', 'MX')).toEqual(['10 alice.example.']);
    expect(await short('alice.example', 'CAA')).toEqual(['0 issue "letsencrypt.org"']);
    expect(await short('alice.example', 'TXT')).toEqual(['"v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 mx ~all"']);
    expect(await short('_dmarc.alice.example', 'TXT')).toEqual(['"v=DMARC1; p=quarantine; adkim=r; aspf=r"']);
    const dkim = await short('knock1._domainkey.alice.example', 'TXT');
    expect(dkim).toHaveLength(1);
    // dig prints the character-strings quoted, one after the other: joined, they are the record.
    expect(dkim[0]!.split('" "').map((s) => s.replace(/"/g, '')).join('')).toBe(`v=DKIM1; k=rsa; p=${KEY_2048}`);
  });

  it('answers a name asked in mixed case with the root dot, echoing it as asked', async () => {
    const mixed = await dig('+norec', 'aLiCe.ExAmPlE.', 'A');
    expect(mixed.status).toBe('NOERROR');
    expect(mixed.text).toContain(';aLiCe.ExAmPlE.\t\t\tIN\tA');
    expect(mixed.answer).toEqual(['aLiCe.ExAmPlE. 300 IN A 192.0.2.10']);
    expect(mixed.text).not.toMatch(/mismatch/i);
  });

  it('answers NXDOMAIN with the SOA for a name it does not hold, NODATA for a type a name does not have', async () => {
    const nx = await dig('nobody.alice.example', 'A');
    expect(nx.status).toBe('NXDOMAIN');
    expect(nx.flags).toContain('aa');
    expect(nx.authority).toEqual([expect.stringMatching(/^alice\.example\. 300 IN SOA ns1\.knock\.test\. /)]);
    const nodata = await dig('_dmarc.alice.example', 'A');
    expect(nodata.status).toBe('NOERROR');
    expect(nodata.answer).toEqual([]);
    expect(nodata.authority).toHaveLength(1);
  });

  it('answers only the delegation of a pending domain (apex SOA and NS), so its delegation can be seen', async () => {
    const soa = await dig('pending.example', 'SOA');
    expect(soa.status).toBe('NOERROR');
    expect(soa.flags).toContain('aa');
    expect(soa.answer).toEqual([expect.stringMatching(/^pending\.example\. \d+ IN SOA ns1\.knock\.test\. /)]);
    expect((await dig('pending.example', 'NS')).answer).toEqual([expect.stringMatching(/^pending\.example\. \d+ IN NS ns1\.knock\.test\.$/), expect.stringMatching(/IN NS ns2\.knock\.test\.$/)]);
    for (const [name, type] of [['pending.example', 'A'], ['pending.example', 'MX'], ['pending.example', 'TXT'], ['www.pending.example', 'SOA'], ['knock1._domainkey.pending.example', 'TXT']]) {
      expect((await dig(name!, type!)).status, `${name} ${type}`).toBe('REFUSED');
    }
  });

  it('refuses a foreign zone and a pending domain\u2019s records, even with recursion desired, and does no recursion', async () => {
    for (const name of ['example.com', 'pending.example', 'www.pending.example']) {
      const refused = await dig('+rec', name, 'A');
      expect(refused.status, name).toBe('REFUSED');
      expect(refused.flags).toContain('rd');
      expect(refused.flags).not.toContain('ra');
      expect(refused.flags).not.toContain('aa');
      expect(refused.answer).toEqual([]);
    }
  });

  it('truncates the large DKIM TXT over UDP without EDNS, and dig gets it whole over TCP', async () => {
    const name = 'k4096._domainkey.big.example';
    const udp = await dig('+noedns', '+ignore', name, 'TXT');
    expect(udp.flags).toContain('tc');
    expect(udp.answer).toEqual([]);
    const retried = await dig('+noedns', name, 'TXT');
    expect(retried.text).toContain('Truncated, retrying in TCP mode');
    expect(retried.text).toMatch(/SERVER: 127\.0\.0\.1#\d+\(127\.0\.0\.1\) \(TCP\)/);
    expect(retried.answer).toHaveLength(1);
    expect(retried.answer[0]!.replace(/^.* TXT /, '').split('" "').map((s) => s.replace(/"/g, '')).join('')).toBe(`v=DKIM1; k=rsa; p=${KEY_4096}`);
    expect(Number(/MSG SIZE\s+rcvd: (\d+)/.exec(retried.text)?.[1])).toBeGreaterThan(512);
  });

  it('serves an ACME dns-01 value while storage holds it, and refuses a challenge for a domain not in storage', async () => {
    const at = '_acme-challenge.alice.example';
    expect((await dig(at, 'TXT')).status).toBe('NXDOMAIN');
    await knock.storage.putAcmeChallenge({ kind: 'dns-01', name: 'alice.example', token: 'order-1', value: 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0', expiresAt: Date.now() + 60_000 });
    const live = await dig(at, 'TXT');
    expect(live.answer).toEqual(['_acme-challenge.alice.example. 60 IN TXT "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"']);
    await knock.storage.removeAcmeChallenge('dns-01', 'alice.example', 'order-1');
    expect((await dig(at, 'TXT')).status).toBe('NXDOMAIN');
    expect((await dig('_acme-challenge.nobody.example', 'TXT')).status).toBe('REFUSED');
    expect((await dig('_acme-challenge.pending.example', 'TXT')).status).toBe('REFUSED');
  });
});

// --- raw sockets: what an attacker sends ------------------------------------------------------------------------

/** A UDP client bound to `address` (127.0.1.1 is another /24 than 127.0.0.1: another client for rate limiting). */
async function udpClient(address = '127.0.0.1') {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  const received: Buffer[] = [];
  const waiters: Array<{ id: number; resolve: (packet: DecodedPacket) => void }> = [];
  socket.on('message', (message) => {
    received.push(message);
    const id = message.length >= 2 ? message.readUInt16BE(0) : -1;
    const index = waiters.findIndex((w) => w.id === id);
    if (index >= 0) waiters.splice(index, 1)[0]!.resolve(dnsPacket.decode(message));
  });
  return {
    received,
    send: (bytes: Buffer) => new Promise<void>((resolve, reject) => socket.send(bytes, port, '127.0.0.1', (err) => (err ? reject(err) : resolve()))),
    /** Sends `bytes` and waits (5 s at most) for the response carrying `id`, sending again every 500 ms as a resolver does (UDP loses packets). */
    ask(bytes: Buffer, id: number): Promise<DecodedPacket> {
      let again: NodeJS.Timeout | undefined;
      const answered = new Promise<DecodedPacket>((resolve, reject) => {
        waiters.push({ id, resolve });
        setTimeout(() => reject(new Error(`no response to id ${id} in 5 s`)), 5000).unref();
      }).finally(() => clearInterval(again));
      void this.send(bytes);
      again = setInterval(() => void this.send(bytes), 500);
      return answered;
    },
    close: () => socket.close(),
  };
}

const query = (id: number, name: string, type = 'A', opts: { edns?: boolean } = {}) =>
  dnsPacket.encode({
    type: 'query',
    id,
    questions: [{ name, type: type as 'A' }],
    additionals: opts.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
  });
const rcodeOf = (packet: DecodedPacket) => (packet as DecodedPacket & { rcode: string }).rcode;

async function healthy(): Promise<boolean> {
  const response = await fetch(`${knock.url}/_/health`);
  return response.ok;
}

describe('attacks over UDP', () => {
  it('answers malformed packets with FORMERR or nothing, and still answers the next good query', async () => {
    const client = await udpClient();
    const header = (id: number, qd: number, extra: number[] = []) => Buffer.from([id >> 8, id & 255, 1, 0, 0, qd, 0, 0, 0, 0, 0, 0, ...extra]);
    // A truncated header, random bytes (seeded by hand: the same each run), 5 questions claimed, a pointer loop.
    await client.send(Buffer.from([0x12, 0x34, 0x01]));
    let seed = 2126;
    const random = Buffer.from(Array.from({ length: 300 }, () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 255));
    await client.send(random);
    expect(rcodeOf(await client.ask(header(0x0505, 5, [1, 0x61, 0, 0, 1, 0, 1]), 0x0505))).toBe('FORMERR');
    expect(rcodeOf(await client.ask(header(0x0606, 1, [1, 0x61, 0xc0, 12, 0, 1, 0, 1]), 0x0606))).toBe('FORMERR');
    expect(rcodeOf(await client.ask(header(0x0707, 1, [0xc0, 13, 0xc0, 12, 0, 1, 0, 1]), 0x0707))).toBe('FORMERR');
    const good = await client.ask(query(0x0808, 'alice.example'), 0x0808);
    expect(good.answers).toEqual([expect.objectContaining({ type: 'A', data: '192.0.2.10' })]);
    client.close();
  });

  it('answers ANY with a single HINFO (RFC 8482), not everything the name holds', async () => {
    const client = await udpClient();
    const any = await client.ask(query(0x0909, 'alice.example', 'ANY', { edns: true }), 0x0909);
    expect(any.answers).toEqual([expect.objectContaining({ type: 'HINFO', data: { cpu: 'RFC8482', os: '' } })]);
    client.close();
  });

  it('rate-limits a flood from one address (most dropped, some slipped TC=1) while another client and /_/health are answered', async () => {
    const flooder = await udpClient();
    const FLOOD = 2000;
    for (let i = 0; i < FLOOD; i++) await flooder.send(query(i, 'alice.example', 'A'));
    // Another question from the same client counts apart (RRL is per response): when it is answered, the flood was read.
    const marker = await flooder.ask(query(60_000, 'alice.example', 'MX'), 60_000);
    expect(marker.answers).toHaveLength(1);
    const flood = flooder.received.map((b) => dnsPacket.decode(b)).filter((p) => p.id! < FLOOD);
    const answered = flood.filter((p) => !p.flag_tc && (p.answers?.length ?? 0) > 0);
    const slipped = flood.filter((p) => p.flag_tc && (p.answers?.length ?? 0) === 0);
    expect(answered.length + slipped.length).toBe(flood.length);
    expect(answered.length).toBeLessThan(FLOOD / 4);
    expect(slipped.length).toBeGreaterThan(0);
    expect(flood.length).toBeLessThan(FLOOD);
    const other = await udpClient('127.0.1.1');
    expect((await other.ask(query(1, 'alice.example', 'A'), 1)).answers).toEqual([expect.objectContaining({ data: '192.0.2.10' })]);
    expect(await healthy()).toBe(true);
    other.close();
    flooder.close();
  });
});

/** A TCP connection to the DNS server; `closed` resolves when the server closes it. */
async function tcpClient() {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let buffered = Buffer.alloc(0);
  const messages: DecodedPacket[] = [];
  const waiters: Array<() => void> = [];
  socket.on('data', (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
      messages.push(dnsPacket.decode(buffered.subarray(2, 2 + buffered.readUInt16BE(0))));
      buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
      waiters.splice(0).forEach((wake) => wake());
    }
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    messages,
    closed,
    /** Waits (5 s at most) until `n` answers have arrived. */
    async answers(n: number): Promise<DecodedPacket[]> {
      const deadline = Date.now() + 5000;
      while (messages.length < n) {
        if (Date.now() > deadline) throw new Error(`${messages.length} of ${n} answers in 5 s`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200).unref();
        });
      }
      return messages;
    },
  };
}
const framed = (bytes: Buffer) => Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 255]), bytes]);
const within = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);

describe('attacks over TCP', () => {
  it('answers several queries sent at once on one connection, in order (RFC 7766)', async () => {
    const client = await tcpClient();
    client.socket.write(Buffer.concat([framed(query(1, 'alice.example', 'A')), framed(query(2, 'alice.example', 'MX')), framed(query(3, 'example.com', 'A'))]));
    const answers = await client.answers(3);
    expect(answers.map((a) => [a.id, rcodeOf(a)])).toEqual([[1, 'NOERROR'], [2, 'NOERROR'], [3, 'REFUSED']]);
    client.socket.destroy();
  });

  it('closes a connection that sends nothing, and a slowloris dribbling a query byte by byte', async () => {
    const idle = await tcpClient();
    await within(idle.closed, 5000, 'the idle connection closed');
    const slow = await tcpClient();
    const message = framed(query(7, 'alice.example'));
    let sent = 0;
    const dribble = setInterval(() => {
      if (sent < message.length && !slow.socket.destroyed) slow.socket.write(message.subarray(sent, ++sent));
    }, 100);
    await within(slow.closed, 5000, 'the slowloris closed');
    clearInterval(dribble);
    expect(sent).toBeLessThan(message.length);
    expect(slow.messages).toEqual([]);
  });

  it('closes a connection announcing an oversized or undersized message, without answering it', async () => {
    for (const length of [65_535, 5000, 3]) {
      const client = await tcpClient();
      client.socket.write(Buffer.concat([Buffer.from([length >> 8, length & 255]), Buffer.alloc(Math.min(length, 1000), 0x41)]));
      await within(client.closed, 5000, `the ${length}-byte message closed its connection`);
      expect(client.messages).toEqual([]);
    }
  });

  it('refuses connections from one address beyond its limit, and still answers over TCP once they are gone', async () => {
    // 20 connections at once, each asking one query: the server keeps 8 per address and cuts the rest unanswered.
    const clients = await Promise.all(Array.from({ length: 20 }, () => tcpClient()));
    clients.forEach((c, i) => c.socket.write(framed(query(100 + i, 'alice.example'))));
    // Every one closes: the refused at once, the kept after their idle timeout (1 s here).
    await within(Promise.all(clients.map((c) => c.closed)), 10_000, 'every connection closed');
    const answered = clients.filter((c) => c.messages.length > 0);
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.length).toBeLessThanOrEqual(8);
    expect(answered.every((c) => c.messages.length === 1 && rcodeOf(c.messages[0]!) === 'NOERROR')).toBe(true);
    const fresh = await tcpClient();
    fresh.socket.write(framed(query(9, 'alice.example')));
    expect((await fresh.answers(1))[0]).toMatchObject({ id: 9, answers: [expect.objectContaining({ data: '192.0.2.10' })] });
    fresh.socket.destroy();
    expect(await healthy()).toBe(true);
  });
});

describe('large answers', () => {
  it('gives the 4096-bit DKIM key whole over TCP', async () => {
    const client = await tcpClient();
    client.socket.write(framed(query(11, 'k4096._domainkey.big.example', 'TXT')));
    const [answer] = await client.answers(1);
    const text = ((answer!.answers![0] as TxtAnswer).data as Buffer[]).map((b) => b.toString()).join('');
    expect(text).toBe(`v=DKIM1; k=rsa; p=${KEY_4096}`);
    client.socket.destroy();
  });
});

describe('binding', () => {
  const responder = () =>
    new DnsResponder({
      zones: { zoneOf: async (name) => (name === 'alice.example' ? { name, pending: false, serial: 1, dkimSelector: 'k', dkimPublicKey: KEY_2048 } : null), acmeValues: async () => [] },
      settings: { nameservers: ['ns1.knock.test'], ipv4: ['192.0.2.10'], ipv6: [], mailHost: null, caaIssuers: [], spf: null },
    });
  const server = (host: string, port: number) =>
    new DnsServer({ responder: responder(), logger: createLogger('silent'), clock: { now: () => Date.now() }, host, port, responsesPerSecond: 20 });
  const hasIpv6Loopback = async () =>
    new Promise<boolean>((resolve) => {
      const probe = dgram.createSocket('udp6');
      probe.once('error', () => resolve(false));
      probe.bind(0, '::1', () => probe.close(() => resolve(true)));
    });

  it('answers over IPv6 too, UDP and TCP on the same port, when bound to 0.0.0.0', async (ctx) => {
    if (!(await hasIpv6Loopback())) ctx.skip();
    const dns = server('0.0.0.0', 0);
    const { port: v6port } = await dns.listen();
    try {
      const { stdout: udp } = await run('dig', ['@::1', '-p', String(v6port), '+short', '+time=3', '+tries=1', 'alice.example', 'A']);
      const { stdout: tcp } = await run('dig', ['@::1', '-p', String(v6port), '+short', '+tcp', '+time=3', '+tries=1', 'alice.example', 'A']);
      expect([udp.trim(), tcp.trim()]).toEqual(['192.0.2.10', '192.0.2.10']);
    } finally {
      await dns.close();
      await dns.close();
    }
  });

  it('refuses to start on a taken port with a message naming KNOCK_DNS_PORT', async () => {
    const taken = server('127.0.0.1', 0);
    const { port: takenPort } = await taken.listen();
    try {
      await expect(server('127.0.0.1', takenPort).listen()).rejects.toThrow(/DNS port 127\.0\.0\.1:\d+ is taken.*KNOCK_DNS_PORT/);
    } finally {
      await taken.close();
    }
  });
});
