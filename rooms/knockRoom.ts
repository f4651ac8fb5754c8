/**
 * The Colyseus base of Knock's rooms. It owns:
 * - who gets in (DESIGN "A room trusts nobody's options"): a room claims its scope (`user:alice`, `game:<id>`: one
 *   room per scope in the whole cluster, engine/ports/roomClaims.ts) before it sets itself up, and admits a socket
 *   only if the identity it carries was established, by the room type's `onAuth`, for this very scope. Colyseus
 *   seats a client in whatever room a roomId names (joinById) with options checked for another; this check inside
 *   the room holds whatever path seated the client.
 * - the one place where socket bytes become messages: size check, decoding, a typed handler map with zod
 *   validation (CONVENTIONS 2). Unlike Colyseus's own `onMessage(type, cb, validate)`, which closes the socket when
 *   validation throws, every bad message here gets an `error` reply and the connection, the room and the stored
 *   data stay as they were.
 */
import { Room, Protocol, ClientState, type Client } from '@colyseus/core';
import { decode } from '@colyseus/schema';
import { unpack } from '@colyseus/msgpackr';
import type { z } from 'zod';
import { KnockError, asKnockError, CloseCode } from '../engine/errors.ts';
import { clientMsgIdSchema, describeIssues, type ErrorPayload } from '../engine/protocol.ts';
import type { Logger } from '../engine/logger.ts';
import type { RoomClaims } from '../engine/ports/roomClaims.ts';
import type { Identity, PeerTransport } from './peer.ts';
import { containsReplacementChar, hasMalformedText } from './malformedText.ts';
import type { WriteCoalescer } from './writeCoalescer.ts';

/** What a room type's `onAuth` established: who joins, and for which room (its scope, e.g. `conversation:<id>`). */
export interface Admission extends Identity {
  readonly scope: string;
}

export type KnockClient = Client<unknown, Admission>;
type Handler = (client: KnockClient, message: unknown) => void;

export abstract class KnockRoom<Options = unknown> extends Room {
  /**
   * No Schema state to patch. Left at Colyseus's default (50 ms), every room runs a 20 Hz timer (broadcastPatch,
   * which also drives the room clock, unused here): 0.25 cores for 5,000 idle rooms in the bench.
   */
  override patchRate = 0;
  private readonly handlers = new Map<string, Handler>();
  /** The scope this room holds the claim of, once claimed. */
  private scope: string | null = null;
  private stopping = false;
  private markClosed: () => void = () => undefined;
  /** Resolves once the room has closed: its `onDispose` (the last writes to storage) has finished. */
  readonly closed = new Promise<void>((resolve) => {
    this.markClosed = resolve;
  });
  protected abstract readonly log: Logger;
  protected abstract readonly maxMessageBytes: number;
  protected abstract readonly claims: RoomClaims;
  /** Per-tick write coalescing, one for the whole process (RoomDeps.writes): `protected readonly writes = deps.writes;`. */
  protected abstract readonly writes: WriteCoalescer;

  /** The scope of the room these (matchmaking) options name, as the room type's `onAuth` names it too. */
  protected abstract scopeOf(options: Options): string;
  /** What `onCreate` does once the room holds its scope. */
  protected abstract setUp(options: Options): Promise<void>;

  /** Claims the scope first: a second room for it is refused before it subscribes, loads or ticks anything. */
  override async onCreate(options: Options): Promise<void> {
    const scope = this.scopeOf(options);
    if (!(await this.claims.claim(scope, this.roomId))) {
      throw new KnockError('unavailable', 'This room is moving to another server. Trying again…');
    }
    this.scope = scope;
    try {
      await this.setUp(options);
    } catch (err) {
      await this.releaseScope();
      throw err;
    }
  }

  /**
   * The identity of a client about to join, if it was established for this room; otherwise the join is refused
   * (Colyseus then closes the socket with the error). Call it first in `onJoin`.
   */
  protected admit(client: KnockClient): Admission {
    const admission = client.auth;
    if (!admission) throw new KnockError('unauthorized', 'The join was not authorized.');
    if (this.scope === null || admission.scope !== this.scope) {
      this.log.warn({ roomId: this.roomId, scope: this.scope, claimed: admission.scope }, 'refused a client authorized for another room');
      throw new KnockError('forbidden', 'You may not join this room.');
    }
    return admission;
  }

  /** Colyseus's disposal (onDispose included: last writes stored), then the scope is free for a successor. */
  protected override async _dispose(): Promise<unknown> {
    try {
      return await super._dispose();
    } finally {
      await this.releaseScope();
      this.markClosed();
    }
  }

  private async releaseScope(): Promise<void> {
    const scope = this.scope;
    if (scope === null) return;
    this.scope = null;
    await this.claims.release(scope, this.roomId).catch((err: unknown) => {
      this.log.error({ err, scope }, 'could not release the room’s claim; it lapses with this process');
    });
  }

  /** How the room logic talks to one client: typed messages (writes coalesced per tick) and a Knock close code. */
  protected transportOf<Messages>(client: KnockClient): PeerTransport<Messages> {
    return {
      send: (type, payload) => {
        this.writes.coalesce(client);
        client.send(type, payload);
      },
      close: (code, reason) => client.leave(code, reason),
    };
  }

  /** Registers a handler for `type`; it runs only with a message that passed `schema`. */
  protected handle<S extends z.ZodType>(
    type: string,
    schema: S,
    handler: (client: KnockClient, message: z.infer<S>) => void | Promise<void>,
  ): void {
    this.handlers.set(type, (client, raw) => {
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        this.sendError(client, new KnockError('bad_request', describeIssues(parsed.error)), refOf(type, raw));
        return;
      }
      Promise.resolve()
        .then(() => handler(client, parsed.data))
        .catch((err: unknown) => {
          const error = asKnockError(err);
          if (error.code === 'internal') this.log.error({ err, type, roomId: this.roomId }, 'handler failed');
          this.sendError(client, error, type);
        });
    });
  }

  /**
   * The process is stopping: every client is told to come back (CloseCode.restarting; Colyseus's default code means
   * "left on purpose", which clients do not retry), and the room closes now, whatever would keep it open otherwise
   * (a call's rejoin grace or a game's forfeit wait: `autoDispose = false`; `disconnect()` overrides it). Idempotent.
   */
  override onBeforeShutdown(): void {
    if (this.stopping) return;
    this.stopping = true;
    // Seats reserved for clients that have not connected yet would hold the room, and the stop, until they expire
    // (Colyseus's seat reservation time, 15 s): those clients cannot connect to a stopping process, and retry.
    for (const sessionId of Object.keys(this.reservedSeats)) {
      clearTimeout(this.reservedSeatTimeouts[sessionId]);
      delete this.reservedSeatTimeouts[sessionId];
      delete this.reservedSeats[sessionId];
    }
    const hadClients = this.clients.length > 0;
    void this.disconnect(CloseCode.restarting);
    // The room is disposed when its last client has left, unless an auto-dispose timer is pending (a seat reserved
    // moments ago, a call that just ended): run that timer now rather than up to 15 s later.
    if (hadClients) this.resetAutoDisposeTimeout(0);
  }

  /** No seat in a room that is closing for the stop: the client is refused and retries (on the next process). */
  protected override async _reserveSeat(
    sessionId: string,
    joinOptions?: unknown,
    authData?: unknown,
    seconds?: number,
    allowReconnection?: boolean,
    devModeReconnection?: boolean,
  ): Promise<boolean> {
    if (this.stopping) return false;
    return super._reserveSeat(sessionId, joinOptions, authData, seconds, allowReconnection, devModeReconnection);
  }

  /** What this room is, for the log of a stop that did not finish in time. */
  describe(): { room: string; roomId: string; clients: number } {
    return { room: this.roomName, roomId: this.roomId, clients: this.clients.length };
  }

  protected sendError(client: KnockClient, error: KnockError, ref?: string): void {
    const payload: ErrorPayload = ref === undefined ? error.toJSON() : { ...error.toJSON(), ref };
    client.send('error', payload);
  }

  protected override _onMessage(client: KnockClient & { state: ClientState }, buffer: Buffer): void {
    const code = buffer[0];
    if (code !== Protocol.ROOM_DATA && code !== Protocol.ROOM_DATA_BYTES) {
      super._onMessage(client as never, buffer);
      return;
    }
    if (client.state === ClientState.LEAVING) return;
    if (buffer.byteLength > this.maxMessageBytes) {
      this.sendError(client, new KnockError('too_large', `The message is too large (at most ${this.maxMessageBytes} bytes).`, { maxBytes: this.maxMessageBytes }));
      return;
    }
    if (code === Protocol.ROOM_DATA_BYTES) {
      this.sendError(client, new KnockError('bad_request', 'Binary messages are not accepted by this room.'));
      return;
    }
    let type: string | number;
    let message: unknown;
    try {
      const it = { offset: 1 };
      type = decode.stringCheck(buffer, it) ? decode.string(buffer, it) : decode.number(buffer, it);
      // decode.number returns undefined (it does not throw) when the bytes start no number: the frame has no type.
      if (typeof type !== 'string' && !Number.isFinite(type)) throw new Error('no message type');
      message = buffer.byteLength > it.offset ? unpack(buffer.subarray(it.offset)) : undefined;
      if (containsReplacementChar(message) && hasMalformedText(buffer, it.offset)) {
        this.sendError(client, new KnockError('bad_request', 'The message contains broken characters (text that is not UTF-8).'), refOf(String(type), message));
        return;
      }
    } catch {
      this.sendError(client, new KnockError('bad_request', 'The message could not be decoded.'));
      return;
    }
    const handler = typeof type === 'string' ? this.handlers.get(type) : undefined;
    if (!handler) {
      this.sendError(client, new KnockError('unknown_type', `Unknown message type "${String(type).slice(0, 64)}".`), String(type).slice(0, 64));
      return;
    }
    handler(client, message);
  }
}

/** What an error answers: the message's clientMsgId when it has a usable one (so the sender knows which), else its type. */
function refOf(type: string, raw: unknown): string {
  const id = typeof raw === 'object' && raw !== null ? (raw as { clientMsgId?: unknown }).clientMsgId : undefined;
  return typeof id === 'string' && clientMsgIdSchema.safeParse(id).success ? id : type;
}
