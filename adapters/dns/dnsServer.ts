/**
 * Knock's authoritative DNS server (issue 21): UDP (node:dgram) and TCP (node:net) on one port, answering from
 * storage through a DnsResponder. The limits are ours, not a library's:
 *
 * - UDP: responses rate-limited per client network and response (responseRateLimiter.ts); at most `maxUdpInFlight`
 *   queries waiting on storage at once (beyond: dropped; a resolver asks again).
 * - TCP (RFC 7766, tcpConnection.ts): framing, pipelining and the limits of one connection; here, at most
 *   `tcpMaxConnectionsPerIp` from one address (IPv6: its /64) and `tcpMaxConnections` in all.
 *
 * Nothing a client sends can throw out of a listener: a packet that cannot be read gets FORMERR when its header can
 * be, else nothing. `stats()` counts what happened, for the log and the bench.
 *
 * @example
 *   const server = new DnsServer({ responder, logger, clock, host: '0.0.0.0', port: 53, responsesPerSecond: 20 });
 *   const { port } = await server.listen();
 *   await server.close();
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { KnockError } from '../../engine/errors.ts';
import { addressKey } from '../../engine/http/clientAddress.ts';
import type { Logger } from '../../engine/logger.ts';
import type { Clock } from '../../engine/ports/clock.ts';
import type { DnsResponder, DnsTransport } from './responder.ts';
import { ResponseRateLimiter } from './responseRateLimiter.ts';
import { DnsTcpConnection } from './tcpConnection.ts';

export interface DnsServerOptions {
  responder: Pick<DnsResponder, 'respond'>;
  logger: Logger;
  clock: Clock;
  /** config.dnsHost: 0.0.0.0 also listens on :: (IPv6 only) when the machine has IPv6. */
  host: string;
  /** config.dnsPort; 0: a free port (the same for UDP and TCP). */
  port: number;
  /** config.dnsResponsesPerSecond; 0: no response rate limiting (the bench). */
  responsesPerSecond: number;
  /** RRL slip (see ResponseRateLimiter). Default 2, as BIND. */
  slip?: number;
  /** Default 1000. */
  maxUdpInFlight?: number;
  /** Default 10 s (RFC 7766 6.2.3 suggests seconds). */
  tcpIdleTimeoutMs?: number;
  /** Default 256. */
  tcpMaxConnections?: number;
  /** Default 8. */
  tcpMaxConnectionsPerIp?: number;
  /** The largest query taken over TCP. Default 4096 (a query is a question and an OPT: well under 600 bytes). */
  tcpMaxMessageBytes?: number;
}

export interface DnsServerStats {
  /** Responses sent (including truncated ones and errors). */
  answered: number;
  /** Responses withheld by rate limiting, and those of them sent truncated instead (slipped). */
  rateLimited: number;
  slipped: number;
  /** Packets that could not be read (answered FORMERR or dropped), and TCP connections cut for bad framing. */
  malformed: number;
  /** UDP queries dropped because too many were waiting on storage. */
  overloaded: number;
  /** TCP connections refused (over a limit) or cut (idle, slow, not reading). */
  tcpRefused: number;
  tcpCut: number;
}

const LIMITING_REPORT_MS = 60_000;

interface Listener {
  udp: dgram.Socket;
  tcp: net.Server;
}

export class DnsServer {
  private readonly listeners: Listener[] = [];
  private readonly connections = new Set<net.Socket>();
  private readonly perIp = new Map<string, number>();
  private readonly rrl: ResponseRateLimiter | null;
  private udpInFlight = 0;
  private limitingReportedAt = -Infinity;
  private closed: Promise<void> | null = null;
  private readonly counts: DnsServerStats = { answered: 0, rateLimited: 0, slipped: 0, malformed: 0, overloaded: 0, tcpRefused: 0, tcpCut: 0 };

  constructor(private readonly opts: DnsServerOptions) {
    this.rrl = opts.responsesPerSecond > 0 ? new ResponseRateLimiter({ responsesPerSecond: opts.responsesPerSecond, slip: opts.slip ?? 2, clock: opts.clock }) : null;
  }

  stats(): DnsServerStats {
    return { ...this.counts };
  }

  /** Binds UDP and TCP on one port; rejects with a readable error when the port is taken. */
  async listen(): Promise<{ port: number }> {
    const { host } = this.opts;
    let port = this.opts.port;
    // With port 0 the UDP port is chosen first; TCP may find it taken by someone else: choose again, a few times.
    for (let attempt = 0; ; attempt++) {
      try {
        const listener = await this.bind(host, port, false);
        this.listeners.push(listener);
        port = (listener.udp.address() as net.AddressInfo).port;
        break;
      } catch (err) {
        if (this.opts.port === 0 && attempt < 5 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
        throw this.bindError(err, host, port);
      }
    }
    if (host === '0.0.0.0') {
      try {
        this.listeners.push(await this.bind('::', port, true));
      } catch (err) {
        this.opts.logger.info({ err: (err as Error).message }, 'DNS over IPv6 is off: [::]:%d could not be bound', port);
      }
    }
    return { port };
  }

  private bindError(err: unknown, host: string, port: number): Error {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      return new KnockError('unavailable', `The DNS port ${host}:${port} is taken (by mDNS/avahi, if it is 5353 on a desktop, or another DNS server): set KNOCK_DNS_PORT, or -1 to turn Knock's DNS server off.`);
    }
    if (code === 'EACCES') return new KnockError('unavailable', `Binding the DNS port ${port} needs privileges (CAP_NET_BIND_SERVICE for port 53): see adapters/dns/README.md.`);
    return err instanceof Error ? err : new Error(String(err));
  }

  private async bind(host: string, port: number, ipv6Only: boolean): Promise<Listener> {
    const udp = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4', ipv6Only });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: host, port, exclusive: true }, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    udp.on('error', (err) => this.opts.logger.warn({ err }, 'DNS UDP socket error'));
    udp.on('message', (packet, remote) => this.onUdp(udp, packet, remote));
    const boundPort = (udp.address() as net.AddressInfo).port;
    const tcp = net.createServer({ noDelay: true }, (socket) => this.onTcp(socket));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host, port: boundPort, ipv6Only, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      throw err;
    }
    tcp.on('error', (err) => this.opts.logger.warn({ err }, 'DNS TCP server error'));
    return { udp, tcp };
  }

  private onUdp(udp: dgram.Socket, packet: Buffer, remote: dgram.RemoteInfo): void {
    if (this.udpInFlight >= (this.opts.maxUdpInFlight ?? 1000)) {
      this.counts.overloaded += 1;
      return;
    }
    this.udpInFlight += 1;
    this.respond(packet, 'udp', remote.address)
      .then((bytes) => {
        if (bytes && !this.closed) udp.send(bytes, remote.port, remote.address, (err) => err && this.opts.logger.debug({ err }, 'DNS UDP send failed'));
      })
      .catch((err: unknown) => this.opts.logger.error({ err }, 'DNS query failed'))
      .finally(() => {
        this.udpInFlight -= 1;
      });
  }

  /** The bytes to send back to `client`, after rate limiting (UDP only), or null for silence. */
  private async respond(packet: Buffer, transport: DnsTransport, client: string): Promise<Buffer | null> {
    const response = await this.opts.responder.respond(packet, transport);
    if (!response) {
      this.counts.malformed += 1;
      return null;
    }
    if (response.kind === 'formerr') this.counts.malformed += 1;
    if (transport === 'udp' && this.rrl) {
      const verdict = this.rrl.check(client, response.rrlKey);
      if (verdict !== 'send') {
        this.counts.rateLimited += 1;
        this.reportLimiting();
        if (verdict === 'drop' || !response.slip) return null;
        this.counts.slipped += 1;
        return response.slip();
      }
    }
    this.counts.answered += 1;
    return response.bytes;
  }

  /** A warning at most once a minute while responses are being rate-limited (a flood, or a client behind a big NAT). */
  private reportLimiting(): void {
    const now = this.opts.clock.now();
    if (now - this.limitingReportedAt < LIMITING_REPORT_MS) return;
    this.limitingReportedAt = now;
    this.opts.logger.warn({ stats: this.stats() }, 'DNS responses are being rate-limited');
  }

  private onTcp(socket: net.Socket): void {
    const ip = socket.remoteAddress ?? 'unknown';
    const key = addressKey(ip.replace(/^::ffff:(?=\d+\.)/i, ''));
    const fromIp = this.perIp.get(key) ?? 0;
    if (this.closed || this.connections.size >= (this.opts.tcpMaxConnections ?? 256) || fromIp >= (this.opts.tcpMaxConnectionsPerIp ?? 8)) {
      this.counts.tcpRefused += 1;
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    this.perIp.set(key, fromIp + 1);
    new DnsTcpConnection(socket, {
      idleMs: this.opts.tcpIdleTimeoutMs ?? 10_000,
      maxMessageBytes: this.opts.tcpMaxMessageBytes ?? 4096,
      answer: (query) => this.respond(query, 'tcp', ip),
      onCut: (why, malformed) => {
        this.counts.tcpCut += 1;
        if (malformed) this.counts.malformed += 1;
        this.opts.logger.debug({ client: ip, why }, 'DNS TCP connection cut');
      },
      onError: (err) => this.opts.logger.error({ err }, 'DNS query over TCP failed'),
    });
    socket.on('error', (err) => this.opts.logger.debug({ err: err.message, client: ip }, 'DNS TCP connection error'));
    socket.on('close', () => {
      this.connections.delete(socket);
      const left = (this.perIp.get(key) ?? 1) - 1;
      if (left <= 0) this.perIp.delete(key);
      else this.perIp.set(key, left);
    });
  }

  /** Stops answering: the sockets close, open TCP connections are cut. Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      if (this.listeners.length > 0) this.opts.logger.info({ stats: this.stats() }, 'DNS server stopping');
      for (const socket of this.connections) socket.destroy();
      await Promise.all(
        this.listeners.map(
          ({ udp, tcp }) =>
            new Promise<void>((resolve) => {
              udp.close();
              tcp.close(() => resolve());
            }),
        ),
      );
    })();
    return this.closed;
  }
}
