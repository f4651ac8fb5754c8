/**
 * The Hub carries events between rooms and the HTTP layer, across processes: it is a typed face over Colyseus's
 * Presence (LocalPresence in one process, RedisPresence when scaled out), so nothing else names a topic string.
 *
 *   presence:<handle>  owner online/offline, sessions ended       -> UserRoom, ConversationRooms of that owner
 *   owner:<handle>     conversation summaries (knocks, activity)  -> UserRoom (the owner's devices)
 */
import type { Presence } from '@colyseus/core';
import type { ConversationSummary } from './protocol.ts';

export type PresenceEvent =
  | { type: 'online'; online: boolean }
  /** A session was logged out or revoked: its sockets must close. */
  | { type: 'sessionEnded'; sessionHash: string };

export type OwnerEvent = { type: 'conversation'; summary: ConversationSummary };

type Callback<E> = (event: E) => void;

const ONLINE_KEY = 'knock:online';

export class Hub {
  constructor(private readonly presence: Presence) {}

  async isOnline(handle: string): Promise<boolean> {
    return (await this.presence.hget(ONLINE_KEY, handle)) === '1';
  }

  /** Records and announces the owner's presence; only the owner's UserRoom calls this. */
  async setOnline(handle: string, online: boolean): Promise<void> {
    if (online) await this.presence.hset(ONLINE_KEY, handle, '1');
    else await this.presence.hdel(ONLINE_KEY, handle);
    this.publishPresence(handle, { type: 'online', online });
  }

  publishPresence(handle: string, event: PresenceEvent): void {
    this.presence.publish(`presence:${handle}`, event);
  }

  publishOwner(handle: string, event: OwnerEvent): void {
    this.presence.publish(`owner:${handle}`, event);
  }

  /** Subscribes; the returned function unsubscribes exactly this callback. */
  async onPresence(handle: string, callback: Callback<PresenceEvent>): Promise<() => void> {
    return this.subscribe(`presence:${handle}`, callback);
  }

  async onOwner(handle: string, callback: Callback<OwnerEvent>): Promise<() => void> {
    return this.subscribe(`owner:${handle}`, callback);
  }

  private async subscribe<E>(topic: string, callback: Callback<E>): Promise<() => void> {
    await this.presence.subscribe(topic, callback);
    return () => void this.presence.unsubscribe(topic, callback);
  }
}
