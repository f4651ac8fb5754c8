/**
 * The browser's side of Knock's conference signalling socket (SFU_PATH, issue 23): requests answered by `id`, and
 * the server's notices. The socket's URL comes in the member's SfuJoin: a path on the page's own server, or
 * `//host/...` of the process holding the call; either way resolved against the page, its scheme turned to ws(s).
 *
 * @example
 *   const socket = await SfuSocket.open(join.url, { onNotice, onClose });
 *   const { routerRtpCapabilities } = await socket.request('join', { room: join.room, token: join.token });
 */
import type { SfuAnswers, SfuMethod, SfuRequest, SfuServerMessage } from '../../../engine/sfuProtocol.ts';

type Params<M extends SfuMethod> = Omit<Extract<SfuRequest, { method: M }>, 'id' | 'method'>;
export type SfuNotice = Extract<SfuServerMessage, { notice: string }>;

/** A request not answered by then is taken as a lost connection. */
const REQUEST_TIMEOUT_MS = 15_000;

export interface SfuSocketHandlers {
  onNotice(notice: SfuNotice): void;
  /** The socket closed (the server's close code says why: SfuCloseCode.rejoin after a worker died). */
  onClose(code: number, reason: string): void;
}

export class SfuSocket {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(data: unknown): void; reject(err: Error): void; timer: ReturnType<typeof setTimeout> }>();
  private closed = false;

  private constructor(
    private readonly socket: WebSocket,
    private readonly handlers: SfuSocketHandlers,
  ) {
    socket.onmessage = (event) => this.received(String(event.data));
    socket.onclose = (event) => this.ended(event.code, event.reason || 'the conference connection closed');
  }

  static open(url: string, handlers: SfuSocketHandlers): Promise<SfuSocket> {
    const address = new URL(url, location.href);
    address.protocol = address.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(address);
    return new Promise((resolve, reject) => {
      socket.onopen = () => resolve(new SfuSocket(socket, handlers));
      socket.onerror = () => reject(new Error('Could not reach the conference server.'));
    });
  }

  request<M extends SfuMethod>(method: M, params: Params<M>): Promise<SfuAnswers[M]> {
    if (this.closed) return Promise.reject(new Error('The conference connection is closed.'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`The conference server did not answer "${method}".`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve: resolve as (data: unknown) => void, reject, timer });
      this.socket.send(JSON.stringify({ ...params, id, method }));
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.onclose = null;
    this.socket.close();
    this.failPending('The conference connection is closed.');
  }

  private received(text: string): void {
    let message: SfuServerMessage;
    try {
      message = JSON.parse(text) as SfuServerMessage;
    } catch {
      return;
    }
    if ('notice' in message) return this.handlers.onNotice(message);
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    clearTimeout(waiter.timer);
    if (message.ok) waiter.resolve(message.data);
    else waiter.reject(new Error(message.error.message));
  }

  private ended(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.failPending(reason);
    this.handlers.onClose(code, reason);
  }

  private failPending(reason: string): void {
    for (const waiter of this.pending.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(reason));
    }
    this.pending.clear();
  }
}
