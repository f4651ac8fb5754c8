/**
 * Janus's WebSocket API (subprotocol `janus-protocol`), just what the VideoRoom client needs: one session, plugin
 * handles, requests matched to their answers by transaction, events routed to their handle, keep-alives.
 * (janus.js does the same and much more; it is 130 KB and brings jQuery-era globals, so Knock speaks the API itself.)
 *
 * @example
 *   const janus = await JanusSocket.open(url, { apiToken });
 *   const handle = await janus.attach('janus.plugin.videoroom', (event) => ...);
 *   const { data, jsep } = await handle.message({ request: 'join', ... });
 */
import { newClientMsgId } from './ids.ts';

export type JanusMessage = Record<string, unknown> & { janus?: string; transaction?: string; sender?: number };
export type PluginData = Record<string, unknown> & { videoroom?: string; error?: string; error_code?: number };

export interface PluginAnswer {
  data: PluginData;
  jsep?: { type: 'offer' | 'answer'; sdp: string };
}

export interface JanusHandle {
  readonly id: number;
  /** A plugin request; resolves with the plugin's answer (after Janus's `ack`, for asynchronous requests). */
  message(body: Record<string, unknown>, jsep?: RTCSessionDescriptionInit): Promise<PluginAnswer>;
  trickle(candidate: RTCIceCandidateInit | null): void;
  detach(): void;
}

/** Janus events without a transaction, for one handle: plugin events, `webrtcup`, `hangup`, trickled candidates. */
export type HandleListener = (message: JanusMessage) => void;

const REQUEST_TIMEOUT_MS = 10_000;
/** Janus drops a session after `session_timeout` (60 s by default) without a word from it. */
const KEEPALIVE_MS = 25_000;

export class JanusSocket {
  private readonly pending = new Map<
    string,
    { kind: string; resolve: (m: JanusMessage) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> }
  >();
  private readonly handles = new Map<number, HandleListener>();
  private sessionId = 0;
  private keepalive: ReturnType<typeof setInterval> | null = null;
  private closed = false;
  /** Called once when the socket or the session is lost without `close()` (Janus restarted, the network dropped). */
  onLost: (reason: string) => void = () => undefined;

  private constructor(
    private readonly socket: WebSocket,
    private readonly apiToken: string | undefined,
  ) {
    socket.onmessage = (e) => this.onMessage(e.data);
    socket.onclose = () => this.lost('the connection to the conference server closed');
  }

  static async open(url: string, options: { apiToken?: string | undefined }): Promise<JanusSocket> {
    const socket = new WebSocket(url, 'janus-protocol');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.close();
        reject(new Error('The conference server did not answer.'));
      }, REQUEST_TIMEOUT_MS);
      socket.onopen = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.onerror = () => {
        clearTimeout(timer);
        reject(new Error('Could not reach the conference server.'));
      };
    });
    const janus = new JanusSocket(socket, options.apiToken);
    const created = await janus.request({ janus: 'create' });
    janus.sessionId = (created.data as { id: number }).id;
    janus.keepalive = setInterval(() => void janus.request({ janus: 'keepalive', session_id: janus.sessionId }).catch(() => undefined), KEEPALIVE_MS);
    return janus;
  }

  async attach(plugin: string, listener: HandleListener): Promise<JanusHandle> {
    const attached = await this.request({ janus: 'attach', session_id: this.sessionId, plugin });
    const id = (attached.data as { id: number }).id;
    this.handles.set(id, listener);
    return {
      id,
      message: async (body, jsep) => {
        const answer = await this.request({ janus: 'message', session_id: this.sessionId, handle_id: id, body, ...(jsep ? { jsep } : {}) });
        const data = ((answer.plugindata as { data?: PluginData } | undefined)?.data ?? {}) as PluginData;
        if (data.error !== undefined) throw new Error(`The conference server refused: ${data.error}`);
        const answerJsep = answer.jsep as PluginAnswer['jsep'];
        return answerJsep ? { data, jsep: answerJsep } : { data };
      },
      trickle: (candidate) => {
        const payload = candidate === null ? { completed: true } : candidate;
        this.request({ janus: 'trickle', session_id: this.sessionId, handle_id: id, candidate: payload }).catch(() => undefined);
      },
      detach: () => {
        this.handles.delete(id);
        if (!this.closed) this.request({ janus: 'detach', session_id: this.sessionId, handle_id: id }).catch(() => undefined);
      },
    };
  }

  /** Ends the session and closes the socket. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.keepalive) clearInterval(this.keepalive);
    if (this.socket.readyState === WebSocket.OPEN && this.sessionId !== 0) {
      this.socket.send(JSON.stringify({ janus: 'destroy', session_id: this.sessionId, transaction: nextTransaction(), ...this.tokenField() }));
    }
    this.socket.onclose = null;
    this.socket.close();
    this.failPending(new Error('closed'));
    this.handles.clear();
  }

  private request(message: JanusMessage): Promise<JanusMessage> {
    if (this.closed) return Promise.reject(new Error('The conference connection is closed.'));
    const transaction = nextTransaction();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(transaction);
        reject(new Error(`The conference server did not answer "${String(message.janus)}".`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(transaction, { kind: String(message.janus), resolve, reject, timer });
      this.socket.send(JSON.stringify({ ...message, transaction, ...this.tokenField() }));
    });
  }

  private onMessage(raw: unknown): void {
    let message: JanusMessage;
    try {
      message = JSON.parse(String(raw)) as JanusMessage;
    } catch {
      return;
    }
    const kind = message.janus;
    if (kind === 'timeout') return this.lost('the conference session timed out');
    const waiting = message.transaction !== undefined ? this.pending.get(message.transaction) : undefined;
    // `ack` only says Janus got an asynchronous request; its answer (an `event`) follows with the same transaction.
    // Keep-alives and trickles are answered by the ack alone.
    if (waiting && kind === 'ack' && waiting.kind !== 'keepalive' && waiting.kind !== 'trickle') return;
    if (waiting) {
      this.pending.delete(message.transaction!);
      clearTimeout(waiting.timer);
      if (kind === 'error') {
        const error = message.error as { code?: number; reason?: string } | undefined;
        waiting.reject(new Error(`The conference server refused: ${error?.reason ?? 'unknown error'}`));
      } else {
        waiting.resolve(message);
      }
      return;
    }
    if (typeof message.sender === 'number') this.handles.get(message.sender)?.(message);
  }

  private tokenField(): { token?: string } {
    return this.apiToken === undefined ? {} : { token: this.apiToken };
  }

  private lost(reason: string): void {
    if (this.closed) return;
    this.close();
    this.onLost(reason);
  }

  private failPending(error: Error): void {
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    this.pending.clear();
  }
}

function nextTransaction(): string {
  return newClientMsgId();
}
