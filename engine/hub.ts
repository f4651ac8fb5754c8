/**
 * The Hub carries events between rooms and the HTTP layer, across processes: it is a typed face over Colyseus's
 * Presence (LocalPresence in one process, RedisPresence when scaled out), so nothing else names a topic or a key.
 *
 *   presence:<handle>      owner online/offline, sessions ended       -> UserRoom, ConversationRooms of that owner
 *   owner:<handle>         conversation summaries (knocks, activity)  -> UserRoom (the owner's devices)
 *   knock:online:<handle>  present while the owner is online: a lease that the owner's UserRoom (one per handle in
 *                          the cluster) renews every `presenceRefreshMs`. A process that dies without a word
 *                          (SIGKILL, power cut) publishes no "offline"; its lease simply expires, and rooms that
 *                          re-read it (rooms/ownerPresence.ts) show the owner offline.
 */
import type { Presence } from '@colyseus/core';
import type { Logger } from './logger.ts';
import type { ConversationSummary } from './protocol.ts';

export type PresenceEvent =
  | { type: 'online'; online: boolean }
  /** A session was logged out or revoked: its sockets must close. */
  | { type: 'sessionEnded'; sessionHash: string };

export type OwnerEvent = { type: 'conversation'; summary: ConversationSummary };

type Callback<E> = (event: E) => void;

export interface HubOptions {
  /** How long an "online" lives without being renewed (config.presenceTtlMs). */
  presenceTtlMs: number;
  /** Told when an event cannot be published (e.g. Redis unreachable); the event is lost, the caller carries on. */
  logger: Pick<Logger, 'error'>;
}

const onlineKey = (handle: string): string => `knock:online:${handle}`;

export class Hub {
  /** How often the owner's UserRoom renews the lease, and how often rooms re-read it: a third of its life. */
  readonly presenceRefreshMs: number;
  /** Redis's SETEX counts whole seconds. */
  private readonly leaseSeconds: number;

  private readonly logger: Pick<Logger, 'error'>;

  constructor(
    private readonly presence: Presence,
    options: HubOptions,
  ) {
    this.logger = options.logger;
    this.leaseSeconds = Math.ceil(options.presenceTtlMs / 1000);
    this.presenceRefreshMs = Math.floor(options.presenceTtlMs / 3);
  }

  async isOnline(handle: string): Promise<boolean> {
    return (await this.presence.get(onlineKey(handle))) === '1';
  }

  /**
   * Records and announces the owner's presence; only the owner's UserRoom calls this. The record is written before
   * the event is published, so a room that hears the event and then reads the record reads the same answer.
   */
  async setOnline(handle: string, online: boolean): Promise<void> {
    if (online) await this.presence.setex(onlineKey(handle), '1', this.leaseSeconds);
    else await this.presence.del(onlineKey(handle));
    this.publishPresence(handle, { type: 'online', online });
  }

  /** Extends the owner's "online" by another lease; the owner's UserRoom calls it every `presenceRefreshMs`. */
  async renewOnline(handle: string): Promise<void> {
    await this.presence.setex(onlineKey(handle), '1', this.leaseSeconds);
  }

  publishPresence(handle: string, event: PresenceEvent): void {
    this.publish(`presence:${handle}`, event);
  }

  publishOwner(handle: string, event: OwnerEvent): void {
    this.publish(`owner:${handle}`, event);
  }

  private publish(topic: string, event: PresenceEvent | OwnerEvent): void {
    const failed = (err: unknown) => this.logger.error({ err, topic, type: event.type }, 'could not publish an event');
    try {
      // Called at once (LocalPresence delivers synchronously, so order is kept); RedisPresence answers with a
      // promise that fails when Redis is unreachable.
      Promise.resolve(this.presence.publish(topic, event)).catch(failed);
    } catch (err) {
      failed(err);
    }
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
