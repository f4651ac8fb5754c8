/**
 * A Colyseus room that stays joined: it joins, validates every server message against the protocol's schemas,
 * and when the socket drops for any reason but a deliberate one, joins again with backoff (asking `options()`
 * anew each time, so a conversation rejoins from the last seq it holds).
 *
 * In a browser it also follows the device's network (issue 20): when the browser says it went offline, the link
 * counts as dropped at once (a phone in a tunnel keeps a dead socket open for minutes, and what is sent on it waits
 * nowhere visible), so the page says "Reconnecting…" and new messages stay in the outbox as "Sending…"; when the
 * network is back, it joins again without waiting out its backoff.
 */
import { Client, type Room } from 'colyseus.js';
import type { z } from 'zod';
import { CloseCode, ROOMS_PATH } from '../../../engine/protocol.ts';

/** Colyseus's "left on purpose" close code. */
const CONSENTED = 4000;
/**
 * Join refusals that retrying cannot fix: a room's refusal carries Knock's code, the matchmaking route's own an HTTP
 * status (429 and 503 are worth another try, so they are not here).
 */
const FATAL_CODES: ReadonlySet<string | number> = new Set(['forbidden', 'not_found', 'unauthorized', 'bad_request', 400, 401, 403, 404, 405, 413]);
const FATAL_CLOSES: ReadonlySet<number> = new Set([CONSENTED, CloseCode.loggedOut, CloseCode.forbidden, CloseCode.gone]);

export interface RoomLinkConfig<S extends Record<string, z.ZodType>> {
  endpoint: string;
  roomName: string;
  options: () => Record<string, unknown>;
  schemas: S;
  /** Node only (tests, bots): headers for matchmaking and the socket, e.g. a session cookie. */
  headers?: Record<string, string>;
  onMessage: <K extends keyof S & string>(type: K, payload: z.infer<S[K]>) => void;
  onJoined: () => void;
  onDisconnected: () => void;
  /** The link gave up for good: refused, logged out, or closed on purpose. */
  onEnded: (reason: { code: string | number; message: string }) => void;
}

export class RoomLink<S extends Record<string, z.ZodType>> {
  private readonly client: Client;
  private room: Room | null = null;
  private ended = false;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly config: RoomLinkConfig<S>) {
    this.client = new Client(config.endpoint + ROOMS_PATH, config.headers ? { headers: config.headers } : undefined);
  }

  start(): void {
    this.network?.addEventListener('offline', this.onNetwork);
    this.network?.addEventListener('online', this.onNetwork);
    void this.connect();
  }

  /** The window's network events, in a browser; none in Node (tests, bots). */
  private readonly network: Pick<Window, 'addEventListener' | 'removeEventListener'> | null =
    typeof window === 'undefined' || typeof window.addEventListener !== 'function' ? null : window;

  private unwatchNetwork(): void {
    this.network?.removeEventListener('offline', this.onNetwork);
    this.network?.removeEventListener('online', this.onNetwork);
  }

  private readonly onNetwork = (event: Event): void => {
    if (this.ended) return;
    const room = this.room;
    if (event.type === 'offline' && room !== null) {
      this.room = null;
      // The socket may never answer a close now: the link is dropped without waiting for its close event.
      room.connection.close();
      this.config.onDisconnected();
      this.scheduleRetry();
    } else if (event.type === 'online' && room === null && this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.attempt = 0;
      void this.connect();
    }
  };

  get connected(): boolean {
    return this.room !== null;
  }

  /** This connection's id in the room (a call's device id), while joined. */
  get sessionId(): string | null {
    return this.room?.sessionId ?? null;
  }

  /** Sends if joined; returns false otherwise (the caller keeps what must be resent). */
  send(type: string, payload: unknown): boolean {
    if (!this.room) return false;
    this.room.send(type, payload);
    return true;
  }

  async close(): Promise<void> {
    this.ended = true;
    this.unwatchNetwork();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const room = this.room;
    this.room = null;
    if (room) await room.leave(true).catch(() => undefined);
  }

  private async connect(): Promise<void> {
    this.retryTimer = null;
    if (this.ended) return;
    let room: Room;
    try {
      room = await this.client.joinOrCreate(this.config.roomName, this.config.options());
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if ((typeof code === 'string' || typeof code === 'number') && FATAL_CODES.has(code)) {
        this.end({ code, message: (err as Error).message });
        return;
      }
      this.config.onDisconnected();
      this.scheduleRetry();
      return;
    }
    if (this.ended) {
      await room.leave(true).catch(() => undefined);
      return;
    }
    this.room = room;
    this.attempt = 0;
    for (const type of Object.keys(this.config.schemas)) {
      room.onMessage(type, (payload: unknown) => {
        const parsed = this.config.schemas[type]!.safeParse(payload);
        if (parsed.success) this.config.onMessage(type as keyof S & string, parsed.data as never);
      });
    }
    room.onLeave((code: number, reason?: string) => this.onClosed(room, code, reason));
    this.config.onJoined();
  }

  private onClosed(room: Room, code: number, reason: string | undefined): void {
    if (this.room !== room) return;
    this.room = null;
    if (this.ended) return;
    if (FATAL_CLOSES.has(code)) {
      this.end({ code, message: reason || 'The connection was closed.' });
      return;
    }
    this.config.onDisconnected();
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.ended || this.retryTimer) return;
    // 250 ms doubling to 5 s, with jitter so a restarted server is not hit by every client at once.
    const base = Math.min(5000, 250 * 2 ** this.attempt++);
    this.retryTimer = setTimeout(() => void this.connect(), base / 2 + Math.random() * (base / 2));
  }

  private end(reason: { code: string | number; message: string }): void {
    this.ended = true;
    this.unwatchNetwork();
    this.config.onEnded(reason);
  }
}
