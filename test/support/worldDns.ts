/**
 * The rest of the Internet's DNS, as the resolver Knock checks delegations through sees it (KNOCK_DNS_CHECK_RESOLVER):
 * a UDP server on 127.0.0.1 that answers NS queries from a table the test sets (`delegate`), NXDOMAIN for names it
 * does not have, SERVFAIL for names set to fail. Its own answers only, no recursion: the test decides what "the
 * parent points at" is. It is not Knock's DNS server (adapters/dns/), which answers for the domains themselves.
 *
 * @example
 *   const world = await WorldDns.start();
 *   world.delegate('alice.example', ['ns1.knock.test', 'ns2.knock.test']);
 *   startKnock({ dnsCheckResolver: world.address, dnsNameservers: ['ns1.knock.test', 'ns2.knock.test'] });
 */
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import dnsPacket from 'dns-packet';

export class WorldDns {
  private readonly ns = new Map<string, string[] | 'fail'>();
  /** NS queries answered, by name. */
  readonly asked: string[] = [];

  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (message, from) => this.answer(message, from));
  }

  static async start(): Promise<WorldDns> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new WorldDns(socket);
  }

  /** `host:port`, as KNOCK_DNS_CHECK_RESOLVER takes it. */
  get address(): string {
    const { port } = this.socket.address() as AddressInfo;
    return `127.0.0.1:${port}`;
  }

  /** The domain's NS records as the world sees them ('fail': the lookup fails, SERVFAIL); an empty list removes them. */
  delegate(name: string, nameservers: string[] | 'fail'): void {
    if (nameservers !== 'fail' && nameservers.length === 0) this.ns.delete(name);
    else this.ns.set(name, nameservers);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private answer(message: Buffer, from: dgram.RemoteInfo): void {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (!question) return;
    const name = question.name.toLowerCase().replace(/\.$/, '');
    this.asked.push(name);
    const set = this.ns.get(name);
    const rcode = set === 'fail' ? 'SERVFAIL' : set === undefined ? 'NXDOMAIN' : 'NOERROR';
    const answers: dnsPacket.Answer[] =
      Array.isArray(set) && question.type === 'NS' ? set.map((data) => ({ type: 'NS', name: question.name, ttl: 300, class: 'IN', data })) : [];
    const reply = dnsPacket.encode({
      id: query.id,
      type: 'response',
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcodeFlag(rcode),
      questions: [question],
      answers,
    });
    this.socket.send(reply, from.port, from.address);
  }
}

function rcodeFlag(rcode: 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL'): number {
  return { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 }[rcode];
}
