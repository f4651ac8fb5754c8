/**
 * The row shapes both SQL adapters read, and their mapping to port records. The two differ only in how a column
 * of text people write (names, bodies) arrives: SQLite stores it as TEXT and returns a string, PostgreSQL as BYTEA
 * holding the UTF-8 bytes and returns a Buffer (see postgres/migrations/001_init.sql). `T` is that type, and
 * `rowMappers` takes the function that turns it into a string. Numbers arrive as JS numbers in both.
 */
import type { Account, AppendedFacts, Conversation, ConversationKind, Participant, SessionRecord, StartedOn } from '../../engine/ports/storage.ts';
import { asChannelKind } from './channelRows.ts';
import type { ConversationEvent, ConversationSummary, MessageRecord, Role } from '../../engine/protocol.ts';

export interface AccountRow<T> {
  id: string;
  handle: string;
  display_name: T;
  password_hash: string;
  created_at: number;
}

export interface SessionRow {
  token_hash: string;
  account_id: string;
  created_at: number;
  expires_at: number;
  /** 016_sessions_recovery.sql. */
  id: string;
  ip: string | null;
  user_agent: string | null;
  last_seen_at: number;
}

/** The columns of SessionRow, for SELECT and RETURNING. */
export const sessionColumns = 'token_hash, account_id, created_at, expires_at, id, ip, user_agent, last_seen_at';

export interface ConversationRow<T> {
  id: string;
  owner_account_id: string;
  owner_handle: string;
  owner_name: T;
  last_seq: number;
  created_at: number;
  updated_at: number;
  kind: string;
  subject: T | null;
  visitor_email: T | null;
  /** A flag: 0 or 1 in SQLite, a boolean in PostgreSQL. */
  visitor_email_off: number | boolean;
  /** The page it was started on (issue 19): both or neither (a CHECK constraint of 008_companies.sql). */
  started_url: T | null;
  started_title: T | null;
}

/** A conversation with the facts its stored messages' listeners decide on (selects.ts appendedFactsSelect). */
export interface AppendedFactsRow<T> extends ConversationRow<T> {
  /** Flags: 0 or 1 in SQLite, a boolean in PostgreSQL. */
  owner_email_verified: number | boolean;
  forward_open: number | boolean;
  /** Comma-separated, each once; null when there is none. */
  verified_channel_kinds: string | null;
  sms_phone: string | null;
}

export interface ParticipantRow<T> {
  id: string;
  conversation_id: string;
  role: string;
  account_id: string | null;
  name: T;
  delivered_seq: number;
  read_seq: number;
}

export interface MessageRow<T> {
  seq: number;
  sender_id: string;
  sender_role: string;
  sender_name: T;
  body: T;
  at: number;
  client_msg_id: string;
  /** The event's kind, and its other fields as a JSON object (NULL when it has none): see eventColumns. */
  kind: string;
  payload: string | null;
}

export interface SummaryRow<T> {
  id: string;
  visitor_name: T | null;
  last_seq: number;
  updated_at: number;
  /** Flags: 0 or 1 in SQLite, booleans in PostgreSQL. */
  archived: number | boolean;
  marked_unread: number | boolean;
  file_count: number;
  visitor_email: T | null;
  last_body: T | null;
  last_at: number | null;
  last_role: string | null;
  unread: number;
  kind: string;
  subject: T | null;
  suspicious: number | boolean;
  started_url: T | null;
  started_title: T | null;
  /** Issue 20: the conversation's SMS thread, if it has one (012_sms.sql), and its phone's STOP. */
  sms_phone: string | null;
  sms_shown: string | null;
  sms_via: string | null;
  sms_stopped_at: number | null;
}

/**
 * The event a message row holds: its kind with the fields of its payload. Not validated: the adapter stored what the
 * ConversationLog had checked (and migration 004 what the old server wrote), and zod on every row read would cost
 * more than the rest of the read.
 */
export function eventOf(kind: string, payload: string | null): ConversationEvent {
  // The cast is the trust above: a kind and fields that parsed with conversationEvent when written.
  return (payload === null ? { kind } : { kind, ...(JSON.parse(payload) as object) }) as ConversationEvent;
}

/** The CHECK constraint guarantees this; the check keeps the type honest without a cast. */
export function asConversationKind(value: string): ConversationKind {
  if (value === 'chat' || value === 'email') return value;
  throw new Error(`Unknown conversation kind in the database: ${value}`);
}

/** The CHECK constraint guarantees this; the check keeps the type honest without a cast. */
export function asRole(value: string): Role {
  if (value === 'owner' || value === 'visitor') return value;
  throw new Error(`Unknown participant role in the database: ${value}`);
}

export interface RowMappers<T> {
  toAccount(r: AccountRow<T>): Account;
  toSession(r: SessionRow): SessionRecord;
  toConversation(r: ConversationRow<T>): Conversation;
  toAppendedFacts(r: AppendedFactsRow<T>): AppendedFacts;
  toParticipant(r: ParticipantRow<T>): Participant;
  toMessage(r: MessageRow<T>): MessageRecord;
  toSummary(r: SummaryRow<T>): ConversationSummary;
}

/**
 * The row-to-record mappers of an adapter whose text columns arrive as `T`.
 *
 * @example
 *   export const { toAccount, toMessage } = rowMappers((bytes: Buffer) => bytes.toString('utf8'));
 */
export function rowMappers<T>(decodeText: (stored: T) => string): RowMappers<T> {
  const optionalText = (stored: T | null): string | null => (stored === null ? null : decodeText(stored));
  const startedOn = (r: { started_url: T | null; started_title: T | null }): StartedOn | null =>
    r.started_url === null || r.started_title === null ? null : { url: decodeText(r.started_url), title: decodeText(r.started_title) };
  const toConversation = (r: ConversationRow<T>): Conversation => ({
    id: r.id,
    ownerAccountId: r.owner_account_id,
    ownerHandle: r.owner_handle,
    ownerName: decodeText(r.owner_name),
    lastSeq: r.last_seq,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    kind: asConversationKind(r.kind),
    subject: optionalText(r.subject),
    visitorEmail: optionalText(r.visitor_email),
    visitorEmailOff: Boolean(r.visitor_email_off),
    startedOn: startedOn(r),
  });
  return {
    toConversation,
    toAccount: (r) => ({
      id: r.id,
      handle: r.handle,
      displayName: decodeText(r.display_name),
      passwordHash: r.password_hash,
      createdAt: r.created_at,
    }),

    toSession: (r) => ({
      tokenHash: r.token_hash,
      accountId: r.account_id,
      createdAt: Number(r.created_at),
      expiresAt: Number(r.expires_at),
      id: r.id,
      ip: r.ip,
      userAgent: r.user_agent,
      lastSeenAt: Number(r.last_seen_at),
    }),

    toAppendedFacts: (r) => ({
      conversation: toConversation(r),
      ownerEmailVerified: Boolean(r.owner_email_verified),
      verifiedChannelKinds: r.verified_channel_kinds === null ? [] : r.verified_channel_kinds.split(',').map(asChannelKind),
      smsPhone: r.sms_phone,
      forwardOpen: Boolean(r.forward_open),
    }),

    toParticipant: (r) => ({
      id: r.id,
      conversationId: r.conversation_id,
      role: asRole(r.role),
      accountId: r.account_id,
      name: decodeText(r.name),
      deliveredSeq: r.delivered_seq,
      readSeq: r.read_seq,
    }),

    toMessage: (r) => ({
      seq: r.seq,
      senderId: r.sender_id,
      senderRole: asRole(r.sender_role),
      senderName: decodeText(r.sender_name),
      body: decodeText(r.body),
      at: r.at,
      clientMsgId: r.client_msg_id,
      event: eventOf(r.kind, r.payload),
    }),

    toSummary: (r) => {
      const lastMessage =
        r.last_body !== null && r.last_at !== null && r.last_role !== null
          ? { body: decodeText(r.last_body), at: r.last_at, senderRole: asRole(r.last_role) }
          : null;
      const markedUnread = Boolean(r.marked_unread);
      return {
        id: r.id,
        visitorName: r.visitor_name === null ? '' : decodeText(r.visitor_name),
        lastSeq: r.last_seq,
        lastMessage,
        // Marked unread shows as unread however much was read.
        unread: markedUnread && r.unread === 0 ? 1 : r.unread,
        updatedAt: r.updated_at,
        archived: Boolean(r.archived),
        markedUnread,
        files: r.file_count,
        visitorEmail: optionalText(r.visitor_email),
        kind: asConversationKind(r.kind),
        subject: optionalText(r.subject),
        suspicious: Boolean(r.suspicious),
        startedOn: startedOn(r),
        sms:
          r.sms_phone === null || r.sms_shown === null
            ? null
            : { phone: r.sms_phone, shown: r.sms_shown, via: r.sms_via === 'number' ? 'number' : 'service', stopped: r.sms_stopped_at !== null },
      };
    },
  };
}
