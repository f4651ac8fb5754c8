/**
 * The rooms this process holds, so that stopping closes every one of them and waits until each has finished
 * closing: its `onDispose` done, its last writes (document changes, moves, a call's record) stored.
 *
 * Colyseus's own stop (matchMaker.gracefullyShutdown) waits for its room count to reach zero, and counts a room out
 * when its disposal starts, not when it ends: a document room still storing its last changes could then outlive the
 * stop, and the database would close under it. A room created while the process stops (a client matched just
 * before its listener closed) is closed at once too.
 *
 * @example
 *   gameServer.define('doc', DocRoom).on('create', (room) => rooms.add(room));
 *   gameServer.onBeforeShutdown(() => rooms.closeAll());
 */
import type { KnockRoom } from './knockRoom.ts';

export type RoomSummary = ReturnType<KnockRoom['describe']>;

export class LocalRooms {
  private readonly open = new Set<KnockRoom>();
  private stopping = false;

  /** A room was created (Colyseus's handler event "create"); during a stop it is closed at once. */
  add(room: KnockRoom): void {
    this.open.add(room);
    void room.closed.then(() => this.open.delete(room));
    if (this.stopping) room.onBeforeShutdown();
  }

  /** Closes every room (clients told to reconnect) and resolves once all have closed, rooms made meanwhile too. */
  async closeAll(): Promise<void> {
    this.stopping = true;
    for (const room of this.open) room.onBeforeShutdown();
    while (this.open.size > 0) await Promise.all([...this.open].map((room) => room.closed));
  }

  /** The rooms that have not finished closing. */
  pending(): RoomSummary[] {
    return [...this.open].map((room) => room.describe());
  }
}
