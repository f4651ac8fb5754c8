/**
 * The two faces of a UserRoom: the owner's devices (presence and the live conversation list) and a visitor who has
 * not knocked yet (the owner's presence). Both stay joined across network drops (RoomLink).
 */
import { userServerMessages, type ConversationSummary, type UserServerMessages } from '../../../engine/protocol.ts';
import { RoomLink } from './roomLink.ts';
import type { ConnectionState, Listener, OwnerSnapshot, VisitorPresenceSnapshot } from './types.ts';

export interface UserSessionOptions {
  endpoint: string;
  handle: string;
  /** Node only: headers for the connection (e.g. `cookie` with an owner's session). */
  headers?: Record<string, string>;
}

abstract class UserRoomSession<Snapshot> {
  protected readonly link: RoomLink<typeof userServerMessages>;
  protected connection: ConnectionState = 'connecting';
  protected ended: { code: string | number; message: string } | null = null;
  private readonly listeners = new Set<Listener>();
  private cached: Snapshot | null = null;

  protected constructor(options: UserSessionOptions) {
    this.link = new RoomLink({
      endpoint: options.endpoint,
      roomName: 'user',
      schemas: userServerMessages,
      ...(options.headers ? { headers: options.headers } : {}),
      options: () => ({ handle: options.handle }),
      onMessage: (type, payload) => {
        this.onMessage(type, payload as never);
        this.changed();
      },
      onJoined: () => undefined,
      onDisconnected: () => this.setConnection('reconnecting'),
      onEnded: (reason) => {
        this.ended = reason;
        this.setConnection('closed');
      },
    });
    this.link.start();
  }

  protected abstract onMessage<K extends keyof UserServerMessages>(type: K, payload: UserServerMessages[K]): void;
  protected abstract build(): Snapshot;

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): Snapshot {
    this.cached ??= this.build();
    return this.cached;
  }

  async close(): Promise<void> {
    this.connection = 'closed';
    await this.link.close();
  }

  protected setConnection(state: ConnectionState): void {
    this.connection = state;
    this.changed();
  }

  protected changed(): void {
    this.cached = null;
    for (const listener of this.listeners) listener();
  }
}

/** The owner's devices: being joined is being online; the conversation list stays current. */
export class OwnerSession extends UserRoomSession<OwnerSnapshot> {
  private readonly conversations = new Map<string, ConversationSummary>();
  /** Ringing calls by conversation; a notice that is no longer `ringing` stops the ring. */
  private readonly ringing = new Map<string, UserServerMessages['call']>();

  static open(options: UserSessionOptions): OwnerSession {
    return new OwnerSession(options);
  }

  /** Why the session ended (e.g. logged out elsewhere), if it did. */
  get endReason(): { code: string | number; message: string } | null {
    return this.ended;
  }

  /**
   * Takes a summary the server answered an action with (archive, mark unread) at once, without waiting for the room
   * to push it; whichever arrives later wins, and both say the same.
   */
  apply(summary: ConversationSummary): void {
    this.conversations.set(summary.id, summary);
    this.changed();
  }

  /** Drops a conversation the owner deleted (the room has no message saying so). */
  forget(conversationId: string): void {
    if (!this.conversations.delete(conversationId)) return;
    this.ringing.delete(conversationId);
    this.changed();
  }

  protected onMessage<K extends keyof UserServerMessages>(type: K, payload: UserServerMessages[K]): void {
    if (type === 'welcome') {
      const w = payload as UserServerMessages['welcome'];
      if (w.role !== 'owner') {
        this.ended = { code: 'unauthorized', message: 'You are not signed in as the owner of this URL.' };
        void this.close();
        return;
      }
      this.conversations.clear();
      for (const c of w.conversations) this.conversations.set(c.id, c);
      this.connection = 'live';
    } else if (type === 'conversation') {
      const c = payload as ConversationSummary;
      this.conversations.set(c.id, c);
    } else if (type === 'call') {
      const notice = payload as UserServerMessages['call'];
      if (notice.status === 'ringing') this.ringing.set(notice.conversationId, notice);
      else if (this.ringing.get(notice.conversationId)?.callId === notice.callId) this.ringing.delete(notice.conversationId);
    }
  }

  protected build(): OwnerSnapshot {
    return {
      connection: this.connection,
      online: this.connection === 'live',
      // The same order as storage: newest activity first, then id descending.
      conversations: [...this.conversations.values()].sort((a, b) => b.updatedAt - a.updatedAt || (a.id < b.id ? 1 : -1)),
      ringing: [...this.ringing.values()],
    };
  }
}

/** A visitor before the first message: the owner's name and presence, live. */
export class VisitorPresence extends UserRoomSession<VisitorPresenceSnapshot> {
  private online = false;
  private ownerName = '';

  static open(options: UserSessionOptions): VisitorPresence {
    return new VisitorPresence(options);
  }

  protected onMessage<K extends keyof UserServerMessages>(type: K, payload: UserServerMessages[K]): void {
    if (type === 'welcome') {
      const w = payload as UserServerMessages['welcome'];
      this.online = w.online;
      this.ownerName = w.role === 'visitor' ? w.owner.displayName : w.account.displayName;
      this.connection = 'live';
    } else if (type === 'presence') {
      this.online = (payload as UserServerMessages['presence']).online;
    }
  }

  protected build(): VisitorPresenceSnapshot {
    return { connection: this.connection, online: this.online, ownerName: this.ownerName };
  }
}
