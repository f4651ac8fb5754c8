/**
 * A bare colyseus.js room for tests that must write the protocol by hand (idempotent resends, bad input, catch-up
 * with an explicit `since`): it records every server message in arrival order and every close, and works with
 * `waitFor` from clients.ts.
 *
 * @example
 *   const room = await RawRoom.join(knock.url, 'conversation', { conversationId, token });
 *   room.send('send', { clientMsgId: 'abcdefgh', body: 'hi' });
 *   await waitFor(room, (s) => s.of('ack').length === 1, 'ack');
 */
import { Client, type Room } from 'colyseus.js';
import { ROOMS_PATH } from '../../engine/protocol.ts';
import { waitFor } from './clients.ts';

export interface Received {
  type: string | number;
  payload: unknown;
}

export interface RawRoomSnapshot {
  received: readonly Received[];
  /** The close code once the socket closed. */
  closedWith: number | null;
  /** Payloads of one message type, in arrival order. */
  of<T = Record<string, unknown>>(type: string): T[];
}

export class RawRoom {
  private readonly received: Received[] = [];
  private closedWith: number | null = null;
  private readonly listeners = new Set<() => void>();

  private constructor(readonly room: Room) {
    room.onMessage('*', (type: string | number, payload: unknown) => {
      this.received.push({ type, payload });
      this.changed();
    });
    room.onLeave((code: number) => {
      this.closedWith = code;
      this.changed();
    });
  }

  /** Joins (or creates) a room; rejects with colyseus.js's MatchMakeError (`code`, `message`) when refused. */
  static async join(base: string, roomName: string, options: Record<string, unknown>, headers?: Record<string, string>): Promise<RawRoom> {
    const client = new Client(base + ROOMS_PATH, headers ? { headers } : undefined);
    return new RawRoom(await client.joinOrCreate(roomName, options));
  }

  /** Joins, then waits for the room's `welcome` (what every client waits for first); leaves again if none comes. */
  static async joinWelcomed(base: string, roomName: string, options: Record<string, unknown>, headers?: Record<string, string>): Promise<RawRoom> {
    const room = await RawRoom.join(base, roomName, options, headers);
    try {
      await waitFor(room, (s) => s.of('welcome').length === 1, 'welcome');
    } catch (err) {
      await room.leave();
      throw err;
    }
    return room;
  }

  /**
   * Opens the socket of a seat reserved by any path (Colyseus's `joinById`, a seat reserved through Redis): what
   * colyseus.js does with a matchmaking answer. Rejects with the room's refusal (`code`, `message`).
   */
  static async consume(base: string, reservation: { room: object; sessionId: string }, headers?: Record<string, string>): Promise<RawRoom> {
    const client = new Client(base + ROOMS_PATH, headers ? { headers } : undefined);
    return new RawRoom(await client.consumeSeatReservation(JSON.parse(JSON.stringify(reservation)) as never));
  }

  snapshot(): RawRoomSnapshot {
    const received = [...this.received];
    return {
      received,
      closedWith: this.closedWith,
      of: <T>(type: string) => received.filter((r) => r.type === type).map((r) => r.payload as T),
    };
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  send(type: string | number, payload?: unknown): void {
    this.room.send(type, payload);
  }

  /** Sends a frame exactly as given, for what colyseus.js would never produce. */
  sendFrame(bytes: Uint8Array): void {
    this.room.connection.send(bytes);
  }

  async leave(): Promise<void> {
    if (this.closedWith !== null) return;
    await this.room.leave(true).catch(() => undefined);
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
