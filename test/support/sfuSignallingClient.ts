/**
 * A bare client of Knock's conference signalling socket (SFU_PATH), for tests: what a browser's mediasoup client
 * says, without the media. `trySfuJoin` is the contract's canJoin: a pass opens its room when the server answers the
 * join with the router's RTP capabilities.
 *
 * @example
 *   const client = await SfuSignallingClient.open(knock.url, join);
 *   const { routerRtpCapabilities } = await client.request('join', { room: join.room, token: join.token });
 *   client.close();
 */
import WebSocket from 'ws';
import type { SfuJoin } from '../../engine/protocol.ts';
import type { SfuAnswers, SfuMethod, SfuRequest, SfuServerMessage } from '../../engine/sfuProtocol.ts';

type Params<M extends SfuMethod> = Omit<Extract<SfuRequest, { method: M }>, 'id' | 'method'>;

export class SfuRefusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class SfuSignallingClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(data: unknown): void; reject(err: Error): void }>();
  readonly notices: SfuServerMessage[] = [];
  /** Resolves with the close code once the server (or the client) closed the socket. */
  readonly closed: Promise<number>;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as SfuServerMessage;
      if (!('id' in message)) return void this.notices.push(message);
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.ok) waiter?.resolve(message.data);
      else waiter?.reject(new SfuRefusal(message.error.code, message.error.message));
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', (code) => {
        for (const waiter of this.pending.values()) waiter.reject(new Error(`the signalling socket closed (${code})`));
        this.pending.clear();
        resolve(code);
      }),
    );
  }

  /** Opens the socket `join.url` names, resolved against the server's base URL (as a page does against itself). */
  static open(baseUrl: string, join: Pick<SfuJoin, 'url'>, headers: Record<string, string> = {}): Promise<SfuSignallingClient> {
    const url = new URL(join.url, baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url, { headers });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new SfuSignallingClient(socket)));
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => reject(new Error(`handshake refused: ${res.statusCode}`)));
    });
  }

  request<M extends SfuMethod>(method: M, params: Params<M>): Promise<SfuAnswers[M]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (data: unknown) => void, reject });
      this.socket.send(JSON.stringify({ ...params, id, method }));
    });
  }

  /** Sends anything, as a hostile client would. */
  sendRaw(text: string): void {
    this.socket.send(text);
  }

  /** Resolves with the first notice (already received or to come) that `match` accepts. */
  async notice(match: (m: SfuServerMessage) => boolean, timeoutMs = 5000): Promise<SfuServerMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.notices.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('the expected notice did not come');
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.socket.off('message', done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.socket.on('message', done);
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

/** True when `join` opens its room: the server answers the join with the router's RTP capabilities. */
export async function trySfuJoin(baseUrl: string, join: SfuJoin): Promise<boolean> {
  const client = await SfuSignallingClient.open(baseUrl, join);
  try {
    const answer = await client.request('join', { room: join.room, token: join.token });
    return Array.isArray((answer.routerRtpCapabilities as { codecs?: unknown }).codecs);
  } catch (err) {
    if (err instanceof SfuRefusal) return false;
    throw err;
  } finally {
    client.close();
  }
}
