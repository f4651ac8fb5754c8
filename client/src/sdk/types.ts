/**
 * What the browser views see of a conversation and of a URL's owner. The SDK (conversationSession.ts,
 * userSession.ts) keeps these snapshots current; views subscribe and re-render. Framework-free on purpose:
 * integration tests drive the same SDK from Node with real sockets.
 */
import type { ConversationEvent, ConversationSummary, DeliveryRecord, ErrorPayload, ParticipantRecord, Role, UserServerMessages } from '../../../engine/protocol.ts';

export type DeliveryStatus = 'pending' | 'sent' | 'delivered' | 'read' | 'failed';

export interface MessageView {
  /** Stable key for rendering (the clientMsgId), and nothing else: what a message is, `event` says. */
  key: string;
  /** Null until the server acknowledged it. */
  seq: number | null;
  /**
   * What the message is (text, a call record, a document's card, a game's step, a note of the server's): views switch
   * on `event.kind`. This device's pending and failed messages are `{ kind: 'text' }`.
   */
  event: ConversationEvent;
  /** Plain text a person reads: what was written, or for other events the server's words ("Missed call", a title). */
  body: string;
  /** Server time once stored; local time while pending. */
  at: number;
  senderRole: Role;
  senderName: string;
  mine: boolean;
  /** Only meaningful for `mine`: pending (not acked), sent (stored), delivered (reached the other side), read. */
  status: DeliveryStatus;
  /** Why a message failed for good (e.g. too long); pending messages retry by themselves. */
  error?: string;
  /**
   * To the owner: for `mine`, how its sending by another channel stands (an email or SMS conversation's outbox job:
   * sending, sent, retrying, not delivered), the latest the server said; for a text to the owner's own number (issue
   * 20), how passing it on to their phone stands (`purpose: 'passOn'`).
   */
  delivery?: DeliveryRecord;
}

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface ConversationSnapshot {
  conversationId: string;
  connection: ConnectionState;
  me: { participantId: string; role: Role } | null;
  ownerName: string;
  ownerHandle: string;
  ownerOnline: boolean;
  participants: ParticipantRecord[];
  /** Stored messages in seq order, then this device's pending ones in the order they were written. */
  messages: MessageView[];
  /** Names of the other participants typing right now. */
  typing: string[];
  /** True while older messages exist that are not loaded. */
  hasOlder: boolean;
  loadingOlder: boolean;
  /** The last error the server sent about something this client did (shown to the person, then cleared). */
  lastError: ErrorPayload | null;
}

export interface OwnerSnapshot {
  connection: ConnectionState;
  online: boolean;
  /** Newest activity first. */
  conversations: ConversationSummary[];
  /** Calls from visitors ringing now (the console rings for them, whichever conversation is open). */
  ringing: UserServerMessages['call'][];
}

export interface VisitorPresenceSnapshot {
  connection: ConnectionState;
  online: boolean;
  ownerName: string;
}

/** A place to keep unacknowledged messages across reloads (localStorage in the browser, a Map in tests). */
export interface KeyValueStore {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
}

export type Listener = () => void;
