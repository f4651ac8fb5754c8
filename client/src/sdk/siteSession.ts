/**
 * An operator's view of a company's SiteRoom (issue 19): the visitors on the company's sites, live, and invitations
 * to chat, and the company's open chats (the queue, who has which) with take, transfer and end. It stays joined across network drops (RoomLink); each (re)join brings the full list again. Framework-free,
 * like the rest of the SDK: the console's views subscribe to it, integration tests drive it from Node.
 *
 * @example
 *   const site = SiteSession.open({ endpoint: location.origin, handle: 'acme' });
 *   site.subscribe(() => render(site.snapshot().visitors));
 *   site.invite(visitorId); // the visitor's page shows "Can we help?"
 */
import {
  siteServerMessages, type ChatAssignmentRecord, type ErrorPayload, type SiteClientMessages, type SiteServerMessages, type SiteVisitorRecord,
} from '../../../engine/protocol.ts';
import { RoomLink } from './roomLink.ts';
import type { ConnectionState, Listener } from './types.ts';

export interface SiteSessionOptions {
  endpoint: string;
  /** The company's handle. */
  handle: string;
  /** Node only: headers for the connection (e.g. `cookie` with an operator's session). */
  headers?: Record<string, string>;
}

export interface SiteSnapshot {
  connection: ConnectionState;
  /** The company's name and whether it is online (an operator's console is open), once the room said. */
  status: SiteServerMessages['status'] | null;
  /** The visitors on the company's sites now, by visitorId, in the order they arrived. */
  visitors: ReadonlyMap<string, SiteVisitorRecord>;
  /** The company's open chats, the longest queued first (queued, or with an operator). */
  chats: readonly ChatAssignmentRecord[];
  /** The last error the room sent about something this operator did (an invitation refused), until cleared. */
  lastError: ErrorPayload | null;
  /** Why the session ended for good (e.g. not an operator of this company), if it did. */
  ended: { code: string | number; message: string } | null;
}

export class SiteSession {
  private readonly link: RoomLink<typeof siteServerMessages>;
  private readonly listeners = new Set<Listener>();
  private connection: ConnectionState = 'connecting';
  private status: SiteServerMessages['status'] | null = null;
  private visitors = new Map<string, SiteVisitorRecord>();
  private chats: readonly ChatAssignmentRecord[] = [];
  private lastError: ErrorPayload | null = null;
  private ended: { code: string | number; message: string } | null = null;
  private cached: SiteSnapshot | null = null;

  private constructor(options: SiteSessionOptions) {
    this.link = new RoomLink({
      endpoint: options.endpoint,
      roomName: 'site',
      schemas: siteServerMessages,
      ...(options.headers ? { headers: options.headers } : {}),
      options: () => ({ as: 'operator', handle: options.handle }),
      onMessage: (type, payload) => {
        this.onMessage(type, payload as never);
        this.changed();
      },
      onJoined: () => undefined,
      onDisconnected: () => {
        this.connection = 'reconnecting';
        this.changed();
      },
      onEnded: (reason) => {
        this.ended = reason;
        this.connection = 'closed';
        this.changed();
      },
    });
    this.link.start();
  }

  static open(options: SiteSessionOptions): SiteSession {
    return new SiteSession(options);
  }

  /** Invites a visitor to chat (with the operator's own words, or the room's "Can we help?"). False when not joined. */
  invite(visitorId: string, text?: string): boolean {
    return this.send('invite', text === undefined ? { visitorId } : { visitorId, text });
  }

  /** Takes a chat: a queued one, or another operator's. */
  take(conversationId: string): boolean {
    return this.send('chat.take', { conversationId });
  }

  /** Hands a chat to another operator of the company (by handle). */
  transfer(conversationId: string, to: string): boolean {
    return this.send('chat.transfer', { conversationId, to });
  }

  /** Ends a chat (its operator gets the next one waiting). */
  end(conversationId: string): boolean {
    return this.send('chat.end', { conversationId });
  }

  private send<K extends keyof SiteClientMessages>(type: K, message: SiteClientMessages[K]): boolean {
    this.clearError();
    const sent = this.link.send(type, message);
    if (!sent) {
      this.lastError = { code: 'unavailable', message: 'Not connected to your site right now. Trying again…' };
      this.changed();
    }
    return sent;
  }

  clearError(): void {
    if (this.lastError === null) return;
    this.lastError = null;
    this.changed();
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): SiteSnapshot {
    this.cached ??= {
      connection: this.connection,
      status: this.status,
      visitors: this.visitors,
      chats: this.chats,
      lastError: this.lastError,
      ended: this.ended,
    };
    return this.cached;
  }

  async close(): Promise<void> {
    this.connection = 'closed';
    await this.link.close();
  }

  private onMessage<K extends keyof SiteServerMessages>(type: K, payload: SiteServerMessages[K]): void {
    switch (type) {
      case 'status':
        this.status = payload as SiteServerMessages['status'];
        return;
      case 'visitors': {
        // The list of a (re)join is the whole truth: whoever left while this console was away is gone from it.
        const list = (payload as SiteServerMessages['visitors']).visitors;
        this.visitors = new Map(list.map((v) => [v.visitorId, v]));
        this.connection = 'live';
        return;
      }
      case 'visitor': {
        const record = payload as SiteVisitorRecord;
        this.visitors = new Map(this.visitors).set(record.visitorId, record);
        return;
      }
      case 'visitor.gone': {
        const { visitorId } = payload as SiteServerMessages['visitor.gone'];
        if (!this.visitors.has(visitorId)) return;
        this.visitors = new Map(this.visitors);
        this.visitors.delete(visitorId);
        return;
      }
      case 'chats':
        this.chats = (payload as SiteServerMessages['chats']).assignments;
        return;
      case 'error':
        this.lastError = payload as ErrorPayload;
        return;
      default:
        // `invited` and `queue` are for visitors' pages only.
        return;
    }
  }

  private changed(): void {
    this.cached = null;
    for (const listener of this.listeners) listener();
  }
}
