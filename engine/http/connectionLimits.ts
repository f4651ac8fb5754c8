/**
 * What one client may hold open at once, and how long an HTTP request may take to arrive, so that a single address
 * cannot exhaust the server's sockets and memory (2,000 idle sockets from one address were all accepted before):
 *
 * - WebSockets per client address (`maxWebSocketsPerIp`, KNOCK_MAX_WEBSOCKETS_PER_IP): counted by the address
 *   clientAddress.ts gives (the proxy's X-Forwarded-For entry when KNOCK_TRUST_PROXY is set; IPv6 by /64); one more is
 *   refused at the handshake with 429. Counted from the handshake until the socket closes.
 * - TCP connections per remote address (`maxConnectionsPerIp`, KNOCK_MAX_CONNECTIONS_PER_IP), only when no proxy is
 *   trusted (behind one, every connection comes from the proxy, which must do this itself): one more is closed at
 *   once, before a byte is read.
 * - Node's own timeouts, set on purpose: all headers within `headersTimeoutMs`, the whole request within
 *   `requestTimeoutMs` (a slow-loris or a connection that sends nothing gets 408 and is closed), an idle keep-alive
 *   connection closed after `keepAliveTimeoutMs`. Node checks them every CHECK_INTERVAL_MS (its default is 30 s, which
 *   would let a slow request live half a minute longer than its timeout).
 *
 * @example
 *   const limits = new ConnectionLimits(config, logger);
 *   const server = http.createServer(limits.serverOptions, listener);
 *   limits.attach(server);
 *   new WebSocketTransport({ server, verifyClient: limits.webSocketVerifier((info) => isAllowedOrigin(...)) });
 */
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../logger.ts';
import { addressKey, clientKeyOf } from './clientAddress.ts';

export interface ConnectionLimitsConfig {
  maxWebSocketsPerIp: number;
  maxConnectionsPerIp: number;
  /** Reverse proxies trusted for X-Forwarded-For (config.trustProxy). */
  trustProxy: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

/** How often Node looks for requests past their timeouts. */
const CHECK_INTERVAL_MS = 1000;
/** A refusal is logged at most this often (a flood must not flood the log too). */
const LOG_EVERY_MS = 60_000;

/** What `ws` gives verifyClient. */
export interface UpgradeInfo {
  origin: string;
  req: http.IncomingMessage;
}
type VerifyDone = (ok: boolean, status?: number, message?: string) => void;

export class ConnectionLimits {
  /** Options for `http.createServer`. */
  readonly serverOptions: http.ServerOptions = { connectionsCheckingInterval: CHECK_INTERVAL_MS };
  private readonly webSockets = new Map<string, number>();
  private readonly connections = new Map<string, number>();
  private lastLogAt = -Infinity;

  constructor(
    private readonly config: ConnectionLimitsConfig,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  /** Sets the server's timeouts and, when no proxy is trusted, caps its TCP connections per remote address. */
  attach(server: http.Server): void {
    server.headersTimeout = this.config.headersTimeoutMs;
    server.requestTimeout = this.config.requestTimeoutMs;
    server.keepAliveTimeout = this.config.keepAliveTimeoutMs;
    if (this.config.trustProxy > 0) return;
    server.on('connection', (socket: Socket) => {
      const key = addressKey(socket.remoteAddress ?? 'unknown');
      if (!this.take(this.connections, key, this.config.maxConnectionsPerIp)) {
        this.refused('TCP connections', key, this.config.maxConnectionsPerIp);
        socket.destroy();
        return;
      }
      socket.once('close', () => this.give(this.connections, key));
    });
  }

  /**
   * A `verifyClient` for the WebSocket server: `allowed` first (the Origin rule), then the client's share of
   * WebSockets. An admitted socket counts until it closes.
   */
  webSocketVerifier(allowed: (info: UpgradeInfo) => boolean): (info: UpgradeInfo, done: VerifyDone) => void {
    return (info, done) => {
      if (!allowed(info)) return done(false, 403, 'Connections from this page are not allowed.');
      const key = clientKeyOf(info.req, this.config.trustProxy);
      if (!this.take(this.webSockets, key, this.config.maxWebSocketsPerIp)) {
        this.refused('WebSockets', key, this.config.maxWebSocketsPerIp);
        return done(false, 429, 'Too many connections from your address.');
      }
      // The upgrade's TCP socket is the WebSocket's: it closes when the WebSocket does, or when the upgrade fails.
      info.req.socket.once('close', () => this.give(this.webSockets, key));
      done(true);
    };
  }

  /** Open WebSockets of a client key (for tests and logs). */
  webSocketsOf(key: string): number {
    return this.webSockets.get(key) ?? 0;
  }

  private take(counts: Map<string, number>, key: string, max: number): boolean {
    const held = counts.get(key) ?? 0;
    if (held >= max) return false;
    counts.set(key, held + 1);
    return true;
  }

  private give(counts: Map<string, number>, key: string): void {
    const held = (counts.get(key) ?? 1) - 1;
    if (held <= 0) counts.delete(key);
    else counts.set(key, held);
  }

  private refused(what: string, key: string, max: number): void {
    const now = Date.now();
    if (now - this.lastLogAt < LOG_EVERY_MS) return;
    this.lastLogAt = now;
    this.logger.warn(
      { client: key, max },
      `${what} refused: this address already holds ${max}. Behind a reverse proxy, set KNOCK_TRUST_PROXY so that clients are told apart`,
    );
  }
}
