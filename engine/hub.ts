/**
 * The Hub carries events between rooms and the HTTP layer, across processes: it is a typed face over Colyseus's
 * Presence (LocalPresence in one process, RedisPresence when scaled out), so nothing else names a topic or a key.
 *
 *   presence:<handle>      owner online/offline, sessions ended       -> UserRoom, ConversationRooms of that owner
 *   owner:<handle>         conversation summaries (knocks, activity), -> UserRoom (the owner's devices)
 *                          calls from visitors ringing and ending
 *   knock:calls:<handle>   a hash, conversation id -> the call from a visitor ringing there now, so an owner tab that
 *                          opens while it rings rings too, whichever process holds its UserRoom
 *   knock:online:<handle>  present while the owner is online: a lease that the owner's UserRoom (one per handle in
 *                          the cluster) renews every `presenceRefreshMs`. A process that dies without a word
 *                          (SIGKILL, power cut) publishes no "offline"; its lease simply expires, and rooms that
 *                          re-read it (rooms/ownerPresence.ts) show the owner offline.
 *   delivery:<id>          how an owner's message of the conversation is on its way out by email (the outbox,
 *                          engine/outbox.ts) -> its ConversationRoom, which tells the owner's devices
 *   conversation-removed:<id>  the conversation was deleted (the owner's inbox)  -> its ConversationRoom, which closes
 *   conversation:<id>      each event stored in the conversation (engine/conversationLog.ts) -> its ConversationRoom,
 *                          wherever it is open; delivered at once in this process, and through Redis to the others
 *   knock:addresses        a hash, processId -> the process's public address (KNOCK_PUBLIC_ADDRESS) and until when
 *                          it is live (renewed every `presenceRefreshMs`), so every process knows where the others'
 *                          room sockets are (engine/http/processAddresses.ts); `addresses` announces changes
 */
import { randomUUID } from 'node:crypto';
import type { Presence } from '@colyseus/core';
import type { Logger } from './logger.ts';
import { userServerMessages, type ConversationSummary, type DeliveryRecord, type MessageRecord, type UserServerMessages } from './protocol.ts';

export type PresenceEvent =
  | { type: 'online'; online: boolean }
  /** A session was logged out or revoked: its sockets must close. */
  | { type: 'sessionEnded'; sessionHash: string };

export type OwnerEvent =
  | { type: 'conversation'; summary: ConversationSummary }
  /** A call from a visitor rings, was answered or ended (every owner tab rings, not only the conversation's). */
  | { type: 'call'; call: UserServerMessages['call'] }
  /** A company's team changed (an operator's status or capacity, someone added or removed): its SiteRoom re-reads it. */
  | { type: 'team' };

type Callback<E> = (event: E) => void;

export interface HubOptions {
  /** How long an "online" lives without being renewed (config.presenceTtlMs). */
  presenceTtlMs: number;
  /**
   * True when the presence reaches other processes (Redis). Conversation events are then published there too, and
   * each process skips its own on the way back (it delivered them already, without the round trip). Default false.
   */
  shared?: boolean;
  /** Told when an event cannot be published (e.g. Redis unreachable); the event is lost, the caller carries on. */
  logger: Pick<Logger, 'error'>;
}

const onlineKey = (handle: string): string => `knock:online:${handle}`;
const ADDRESSES_KEY = 'knock:addresses';
const ADDRESSES_TOPIC = 'addresses';
const callsKey = (handle: string): string => `knock:calls:${handle}`;
type CallNotice = UserServerMessages['call'];
const conversationTopic = (conversationId: string): string => `conversation:${conversationId}`;
const removedTopic = (conversationId: string): string => `conversation-removed:${conversationId}`;
const deliveryTopic = (conversationId: string): string => `delivery:${conversationId}`;
/** A conversation's event as it travels between processes. */
interface ConversationEventNotice {
  type: 'message';
  origin: string;
  message: MessageRecord;
}

export class Hub {
  /** How often the owner's UserRoom renews the lease, and how often rooms re-read it: a third of its life. */
  readonly presenceRefreshMs: number;
  /** Redis's SETEX counts whole seconds. */
  private readonly leaseSeconds: number;

  private readonly logger: Pick<Logger, 'error'>;
  private readonly shared: boolean;
  /** Tells this process's events from the other processes' on a shared topic. */
  private readonly origin = randomUUID();
  /** This process's subscribers to conversation topics, delivered synchronously (in the order events are stored). */
  private readonly conversationListeners = new Map<string, Set<Callback<MessageRecord>>>();

  constructor(
    private readonly presence: Presence,
    options: HubOptions,
  ) {
    this.logger = options.logger;
    this.shared = options.shared ?? false;
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

  /**
   * Records a call from a visitor as ringing (or no longer), then tells the owner's devices. Never rejects: a call
   * whose ring cannot be recorded still rings the tabs that are open.
   */
  async announceCall(handle: string, call: CallNotice): Promise<void> {
    try {
      if (call.status === 'ringing') await this.presence.hset(callsKey(handle), call.conversationId, JSON.stringify(call));
      else await this.presence.hdel(callsKey(handle), call.conversationId);
    } catch (err) {
      this.logger.error({ err, handle, callId: call.callId }, 'could not record a ringing call');
    }
    this.publishOwner(handle, { type: 'call', call });
  }

  /** The calls from visitors ringing for this owner at `now`; rings whose end was never heard (a dead process) lapse. */
  async ringingCalls(handle: string, now: number): Promise<CallNotice[]> {
    const all = await this.presence.hgetall(callsKey(handle));
    const ringing: CallNotice[] = [];
    for (const [conversationId, text] of Object.entries(all ?? {})) {
      let parsed: ReturnType<typeof userServerMessages.call.safeParse> | null = null;
      try {
        parsed = userServerMessages.call.safeParse(JSON.parse(text));
      } catch {
        parsed = null;
      }
      if (parsed?.success && (parsed.data.ringUntil ?? 0) > now) ringing.push(parsed.data);
      else await this.presence.hdel(callsKey(handle), conversationId);
    }
    return ringing;
  }

  /** A message stored in the conversation (only the ConversationLog publishes these). */
  publishConversation(conversationId: string, message: MessageRecord): void {
    for (const callback of this.conversationListeners.get(conversationId) ?? []) {
      try {
        callback(message);
      } catch (err) {
        this.logger.error({ err, conversationId }, 'a conversation listener failed');
      }
    }
    if (this.shared) this.publish(conversationTopic(conversationId), { type: 'message', origin: this.origin, message });
  }

  /** The conversation was deleted: its room, wherever it is open, closes its sockets. */
  publishConversationRemoved(conversationId: string): void {
    this.publish(removedTopic(conversationId), { type: 'removed' });
  }

  async onConversationRemoved(conversationId: string, callback: () => void): Promise<() => void> {
    return this.subscribe(removedTopic(conversationId), callback);
  }

  /** The outbox's state of an owner's message changed (sending, sent, retrying, not delivered). */
  publishDelivery(conversationId: string, delivery: DeliveryRecord): void {
    this.publish(deliveryTopic(conversationId), { type: 'delivery', delivery });
  }

  async onDelivery(conversationId: string, callback: Callback<DeliveryRecord>): Promise<() => void> {
    return this.subscribe(deliveryTopic(conversationId), (event: { delivery: DeliveryRecord }) => callback(event.delivery));
  }

  /** Every message stored in the conversation from now on, from any process, at most once each (order: see ConversationRoom). */
  async onConversation(conversationId: string, callback: Callback<MessageRecord>): Promise<() => void> {
    let local = this.conversationListeners.get(conversationId);
    if (!local) this.conversationListeners.set(conversationId, (local = new Set()));
    local.add(callback);
    const removeLocal = () => {
      local.delete(callback);
      if (local.size === 0 && this.conversationListeners.get(conversationId) === local) this.conversationListeners.delete(conversationId);
    };
    if (!this.shared) return removeLocal;
    const remote = (event: ConversationEventNotice) => {
      if (event.origin !== this.origin) callback(event.message);
    };
    try {
      const unsubscribe = await this.subscribe(conversationTopic(conversationId), remote);
      return () => {
        removeLocal();
        unsubscribe();
      };
    } catch (err) {
      removeLocal();
      throw err;
    }
  }

  private publish(
    topic: string,
    event: PresenceEvent | OwnerEvent | ConversationEventNotice | { type: 'addresses' } | { type: 'removed' } | { type: 'delivery'; delivery: DeliveryRecord },
  ): void {
    const failed = (err: unknown) => this.logger.error({ err, topic, type: event.type }, 'could not publish an event');
    try {
      // Called at once (LocalPresence delivers synchronously, so order is kept); RedisPresence answers with a
      // promise that fails when Redis is unreachable.
      Promise.resolve(this.presence.publish(topic, event)).catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  /** Records this process's public address as live for one lease, and tells the other processes when it is new. */
  async announceAddress(processId: string, address: string, now: number, isNew: boolean): Promise<void> {
    await this.presence.hset(ADDRESSES_KEY, processId, JSON.stringify({ address, until: now + this.leaseSeconds * 1000 }));
    if (isNew) this.publish(ADDRESSES_TOPIC, { type: 'addresses' });
  }

  /** Removes this process's address (it stops); the others hear it. */
  async withdrawAddress(processId: string): Promise<void> {
    await this.presence.hdel(ADDRESSES_KEY, processId);
    this.publish(ADDRESSES_TOPIC, { type: 'addresses' });
  }

  /** The public addresses of the processes live at `now`; those whose lease ran out (a dead process) are forgotten. */
  async liveAddresses(now: number): Promise<string[]> {
    const all = (await this.presence.hgetall(ADDRESSES_KEY)) ?? {};
    const live: string[] = [];
    for (const [processId, text] of Object.entries(all)) {
      let entry: { address?: unknown; until?: unknown } | null = null;
      try {
        entry = JSON.parse(text) as { address?: unknown; until?: unknown };
      } catch {
        entry = null;
      }
      if (entry && typeof entry.address === 'string' && typeof entry.until === 'number' && entry.until > now) live.push(entry.address);
      else await this.presence.hdel(ADDRESSES_KEY, processId);
    }
    return live;
  }

  /** Called when a process announces or withdraws its address. */
  async onAddresses(callback: () => void): Promise<() => void> {
    return this.subscribe(ADDRESSES_TOPIC, callback);
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
