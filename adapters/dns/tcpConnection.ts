/**
 * One DNS client over TCP (RFC 7766): 2-byte length framing, several queries per connection answered in order, and
 * the limits that keep a connection from holding the server: its next whole query within `idleMs` of the last answer
 * (bytes dribbled in do not extend it: a slowloris is cut), a length under 12 or over `maxMessageBytes` cuts it, at
 * most 32 queries read ahead (then the socket is not read), and a client leaving 256 KiB of answers unread is cut.
 *
 * @example
 *   new DnsTcpConnection(socket, { idleMs: 10_000, maxMessageBytes: 4096, answer: (query) => respond(query), onCut, onError });
 */
import type net from 'node:net';

export interface DnsTcpConnectionOptions {
  idleMs: number;
  maxMessageBytes: number;
  /** The response to one query (without framing), or null for none. */
  answer: (query: Buffer) => Promise<Buffer | null>;
  /** Told why the connection was cut; `malformed` when the client broke the framing. */
  onCut: (why: string, malformed: boolean) => void;
  /** A query that failed on our side (a bug): logged by the owner. */
  onError: (err: unknown) => void;
}

/** Bytes a client may leave unread before it is cut: a few large answers. */
const MAX_UNREAD_BYTES = 256 * 1024;
/** Queries read and not yet answered, beyond which the socket is not read further (backpressure). */
const MAX_PENDING = 32;
/** The smallest DNS message: a header. */
const HEADER_BYTES = 12;

export class DnsTcpConnection {
  private buffered: Buffer = Buffer.alloc(0);
  private pending = 0;
  private chain: Promise<void> = Promise.resolve();
  private idle: NodeJS.Timeout;

  constructor(
    private readonly socket: net.Socket,
    private readonly opts: DnsTcpConnectionOptions,
  ) {
    this.idle = setTimeout(() => this.cut('idle', false), opts.idleMs);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('close', () => clearTimeout(this.idle));
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 2) {
      const length = this.buffered.readUInt16BE(0);
      if (length < HEADER_BYTES || length > this.opts.maxMessageBytes) {
        this.cut(`a message of ${length} bytes`, true);
        return;
      }
      if (this.buffered.length < 2 + length) return;
      const query = this.buffered.subarray(2, 2 + length);
      this.buffered = this.buffered.subarray(2 + length);
      this.enqueue(query);
    }
  }

  /** In order, one at a time: answers leave in the order asked (RFC 7766 allows either; this needs no ids kept). */
  private enqueue(query: Buffer): void {
    this.pending += 1;
    if (this.pending >= MAX_PENDING) this.socket.pause();
    this.chain = this.chain
      .then(() => this.opts.answer(query))
      .then((response) => this.send(response))
      .catch((err: unknown) => this.opts.onError(err))
      .finally(() => {
        this.pending -= 1;
        if (this.pending < MAX_PENDING && this.socket.isPaused() && !this.socket.destroyed) this.socket.resume();
      });
  }

  private send(response: Buffer | null): void {
    if (!response || this.socket.destroyed) return;
    const frame = Buffer.alloc(2 + response.length);
    frame.writeUInt16BE(response.length, 0);
    response.copy(frame, 2);
    this.socket.write(frame);
    if (this.socket.writableLength > MAX_UNREAD_BYTES) {
      this.cut('not reading its answers', false);
      return;
    }
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.cut('idle', false), this.opts.idleMs);
  }

  private cut(why: string, malformed: boolean): void {
    if (this.socket.destroyed) return;
    this.opts.onCut(why, malformed);
    this.socket.destroy();
  }
}
