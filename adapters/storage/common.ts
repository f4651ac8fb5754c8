/**
 * What both SQL adapters do outside SQL, in the same way: new ids, checks on what a caller passes in, and the
 * records a write returns without reading them back.
 */
import { randomBytes } from 'node:crypto';
import { KnockError } from '../../engine/errors.ts';
import type { Account, Conversation, ConversationKind, NewMessage, Participant, StartedOn, Storage } from '../../engine/ports/storage.ts';
import type { ConversationEvent, MessageRecord, Role } from '../../engine/protocol.ts';

/** What the port's createAccount and createConversation take and return (inline in the port), named. */
export type NewAccount = Parameters<Storage['createAccount']>[0];
export type NewConversation = Parameters<Storage['createConversation']>[0];
export type CreatedConversation = Awaited<ReturnType<Storage['createConversation']>>;

/** 22 characters of [A-Za-z0-9_-]: safe in URLs and Colyseus filters, 128 random bits so ids cannot be guessed. */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * A negative or non-finite limit reads nothing. SQLite would read a negative LIMIT as "no limit" (a caller's slip
 * must not turn into a full table read), and PostgreSQL would refuse it.
 */
export function rowLimit(limit: number): number {
  return Number.isFinite(limit) ? Math.max(0, Math.trunc(limit)) : 0;
}

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Text goes to the database as UTF-8, where a lone UTF-16 surrogate cannot exist: it would be replaced silently and
 * the stored text would differ from what was acknowledged. Refuse it instead.
 */
export function assertWellFormed(text: string, what: string): void {
  if (LONE_SURROGATE.test(text)) {
    throw new KnockError('bad_request', `${what} contains an invalid character (a lone UTF-16 surrogate).`);
  }
}

/** The account `createAccount` stores and returns, with a new id; its name checked first. */
export function newAccount(input: NewAccount): Account {
  assertWellFormed(input.displayName, 'The name');
  return {
    id: newId(), handle: input.handle, displayName: input.displayName, passwordHash: input.passwordHash, createdAt: input.at,
  };
}

/** The ids a new conversation and its two participants take. */
export interface ConversationIds {
  conversation: string;
  owner: string;
  visitor: string;
}

export function newConversationIds(): ConversationIds {
  return { conversation: newId(), owner: newId(), visitor: newId() };
}

/** What a new conversation stores besides its ids and participants, its optional fields given their defaults. */
export interface ConversationFields {
  visitorEmail: string | null;
  kind: ConversationKind;
  subject: string | null;
  suspicious: boolean;
  /** The page of the company's site it was started on (issue 19), or null. */
  startedOn: StartedOn | null;
}

/** The fields of `input` a new conversation stores, its text checked first (names, address and subject). */
export function newConversationFields(input: NewConversation): ConversationFields {
  assertWellFormed(input.visitorName, 'The name');
  const fields: ConversationFields = {
    visitorEmail: input.visitorEmail ?? null,
    kind: input.kind ?? 'chat',
    subject: input.subject ?? null,
    suspicious: input.suspicious ?? false,
    startedOn: input.startedOn ? { url: input.startedOn.url, title: input.startedOn.title } : null,
  };
  if (fields.visitorEmail !== null) assertWellFormed(fields.visitorEmail, 'The email address');
  if (fields.subject !== null) assertWellFormed(fields.subject, 'The subject');
  if (fields.startedOn !== null) {
    assertWellFormed(fields.startedOn.url, 'The page address');
    assertWellFormed(fields.startedOn.title, 'The page title');
  }
  return fields;
}

/**
 * What `createConversation` returns: the conversation as created (no message yet) and its two participants, the
 * owner named after the account.
 */
export function newConversationRecords(
  ids: ConversationIds,
  input: NewConversation,
  fields: ConversationFields,
  account: { handle: string; displayName: string },
): CreatedConversation {
  const base = { conversationId: ids.conversation, deliveredSeq: 0, readSeq: 0 };
  const owner: Participant = {
    ...base, id: ids.owner, role: 'owner', accountId: input.ownerAccountId, name: account.displayName,
  };
  // An empty visitor name means "Visitor"; the reader decides how to show it, so it is stored as given.
  const visitor: Participant = { ...base, id: ids.visitor, role: 'visitor', accountId: null, name: input.visitorName };
  const conversation: Conversation = {
    id: ids.conversation, ownerAccountId: input.ownerAccountId, ownerHandle: account.handle, ownerName: account.displayName,
    lastSeq: 0, createdAt: input.at, updatedAt: input.at, kind: fields.kind, subject: fields.subject,
    visitorEmail: fields.visitorEmail, visitorEmailOff: false, startedOn: fields.startedOn,
  };
  return { conversation, owner, visitor };
}

/** An event as the messages table stores it (migration 004). */
export interface EventColumns {
  kind: string;
  payload: string | null;
}

/**
 * The two columns an event is stored in: `kind`, and `payload`, its other fields as a JSON object, or null when it
 * has none (`text`, `system`: most messages, so most rows hold no JSON at all). rows.ts eventOf reads them back.
 */
export function eventColumns(event: ConversationEvent): EventColumns {
  const { kind, ...fields } = event;
  const payload = JSON.stringify(fields);
  return { kind, payload: payload === '{}' ? null : payload };
}

/**
 * The record `appendMessage` returns for a message stored under `seq`: what was sent (for a duplicate, the body,
 * time and event stored the first time), and its sender's role and name as they are now.
 */
export function storedMessage(sent: NewMessage, seq: number, sender: { role: Role; name: string }): MessageRecord {
  return {
    seq, senderId: sent.senderId, senderRole: sender.role, senderName: sender.name, body: sent.body, at: sent.at,
    clientMsgId: sent.clientMsgId, event: sent.event,
  };
}

/** Bytes as better-sqlite3 and pg take them, without a copy. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function noDocument(): KnockError {
  return new KnockError('not_found', 'There is no such document.');
}
