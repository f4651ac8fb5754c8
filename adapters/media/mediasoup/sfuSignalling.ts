/**
 * The signalling socket of conferences on mediasoup (SFU_PATH): a plain WebSocket on the HTTP server's upgrade, one
 * ConferenceSession per socket. The socket only carries: every message is checked against the protocol
 * (sfuRequestSchema), paced by a token bucket, and answered once by its `id`; authorization is the session's (its
 * pass). Origin and per-address caps are checked at the handshake like the rooms' sockets (`verifyClient`).
 *
 * @example
 *   const signalling = new SfuSignalling({ router, verifyClient, rate, clock, logger });
 *   server.on('upgrade', (req, socket, head) => signalling.handles(req) ? signalling.upgrade(req, socket, head) : colyseus(...));
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RateLimitConfig } from '../../../engine/config.ts';
import { asKnockError, KnockError } from '../../../engine/errors.ts';
import type { ConnectionLimits } from '../../../engine/http/connectionLimits.ts';
import type { Logger } from '../../../engine/logger.ts';
import type { Clock } from '../../../engine/ports/clock.ts';
import { CloseCode, describeIssues } from '../../../engine/protocol.ts';
import { SFU_MAX_MESSAGE_BYTES, SFU_PATH, sfuRequestSchema, type SfuServerMessage } from '../../../engine/sfuProtocol.ts';
import { TokenBucket } from '../../../engine/rateLimit.ts';
import { ConferenceSession } from './conferenceSession.ts';
import type { MediasoupRouter } from './MediasoupRouter.ts';

type VerifyClient = ReturnType<ConnectionLimits['webSocketVerifier']>;

export interface SfuSignallingOptions {
  router: MediasoupRouter;
  /** The handshake's checks (Origin, sockets per address): the same as the rooms' sockets. */
  verifyClient: VerifyClient;
  /** Requests one socket may make (a join takes about 8; renegotiating a screen share a few more). */
  rate: RateLimitConfig;
  clock: Clock;
  logger: Logger;
}

/** A socket that has not joined by then is closed (it holds a connection slot for nothing). */
const JOIN_DEADLINE_MS = 10_000;
/** Dead sockets (a laptop closed) are found by a missed pong: their media is released for the others. */
const PING_INTERVAL_MS = 15_000;

export class SfuSignalling {
  private readonly wss: WebSocketServer;
  private readonly alive = new WeakSet<WebSocket>();
  private readonly pinger: ReturnType<typeof setInterval>;
  private closed = false;

  constructor(private readonly options: SfuSignallingOptions) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: SFU_MAX_MESSAGE_BYTES, perMessageDeflate: false, verifyClient: options.verifyClient });
    this.wss.on('connection', (socket: WebSocket) => this.opened(socket));
    this.pinger = setInterval(() => this.ping(), PING_INTERVAL_MS);
    this.pinger.unref();
  }

  /** True for an upgrade to the signalling path (anything else goes to the rooms' sockets). */
  handles(req: http.IncomingMessage): boolean {
    return (req.url ?? '').split('?')[0] === SFU_PATH;
  }

  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  }

  /** Closes every socket (their sessions end) and stops accepting. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pinger);
    for (const socket of this.wss.clients) socket.close(1001, 'the server is stopping');
    this.wss.close();
  }

  private opened(socket: WebSocket): void {
    const { router, clock, logger } = this.options;
    const bucket = new TokenBucket(this.options.rate, clock);
    const session = new ConferenceSession({
      roomOf: (ref) => router.roomOf(ref),
      listenInfos: router.listenInfos,
      logger,
      link: {
        send: (message: SfuServerMessage) => {
          if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
        },
        close: (code, reason) => socket.close(code, reason.slice(0, 120)),
      },
    });
    const deadline = setTimeout(() => {
      if (session.pass === null) session.end(CloseCode.forbidden, 'join first');
    }, JOIN_DEADLINE_MS);
    deadline.unref();
    this.alive.add(socket);
    socket.on('pong', () => this.alive.add(socket));
    socket.on('close', () => {
      clearTimeout(deadline);
      session.end(1000, 'closed');
    });
    socket.on('error', (err) => logger.debug({ err }, 'signalling socket error'));
    // One request at a time, in order: a consume must not overtake the ready before it.
    let queue = Promise.resolve();
    socket.on('message', (data, isBinary) => {
      queue = queue.then(() => this.answer(session, socket, bucket, data.toString(), isBinary));
    });
  }

  private async answer(session: ConferenceSession, socket: WebSocket, bucket: TokenBucket, text: string, isBinary: boolean): Promise<void> {
    let id = -1;
    try {
      if (isBinary) throw new KnockError('bad_request', 'Signalling messages are JSON text.');
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        throw new KnockError('bad_request', 'A signalling message is a JSON object.');
      }
      if (typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'number') id = (raw as { id: number }).id;
      const verdict = bucket.take();
      if (!verdict.ok) throw new KnockError('rate_limited', 'Too many conference requests: slow down.', { retryAfterMs: verdict.retryAfterMs });
      const parsed = sfuRequestSchema.safeParse(raw);
      if (!parsed.success) throw new KnockError('bad_request', `Bad conference request: ${describeIssues(parsed.error)}`);
      const data = await session.handle(parsed.data);
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ id, ok: true, data }));
    } catch (err) {
      const error = asKnockError(err);
      if (error.code === 'internal') this.options.logger.error({ err }, 'a conference request failed');
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ id, ok: false, error: error.toJSON() }));
      // A refused join leaves nothing to do on this socket.
      if (session.pass === null && error.code !== 'rate_limited') session.end(CloseCode.forbidden, error.message);
    }
  }

  private ping(): void {
    for (const socket of this.wss.clients) {
      if (!this.alive.has(socket)) {
        socket.terminate();
        continue;
      }
      this.alive.delete(socket);
      socket.ping();
    }
  }
}
