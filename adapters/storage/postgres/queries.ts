/**
 * The SQL of the PostgreSQL adapter, its row shapes and their mapping to port records. Kept apart from
 * PostgresStorage so the class reads as behaviour, and so tests can EXPLAIN the same text the adapter runs.
 *
 * BIGINT columns arrive as JS numbers (the pool's type parser, see PostgresStorage); BYTEA columns (names, bodies:
 * UTF-8, see migrations/001_init.sql) arrive as Buffers and are decoded here.
 */
import type { Account, Conversation, Participant, Session } from '../../../engine/ports/storage.ts';
import type { ConversationSummary, MessageRecord, Role } from '../../../engine/protocol.ts';

export interface AccountRow {
  id: string;
  handle: string;
  display_name: Buffer;
  password_hash: string;
  created_at: number;
}

export interface SessionRow {
  token_hash: string;
  account_id: string;
  created_at: number;
  expires_at: number;
}

export interface ConversationRow {
  id: string;
  owner_account_id: string;
  owner_handle: string;
  owner_name: Buffer;
  last_seq: number;
  created_at: number;
  updated_at: number;
}

export interface ParticipantRow {
  id: string;
  conversation_id: string;
  role: string;
  account_id: string | null;
  name: Buffer;
  delivered_seq: number;
  read_seq: number;
}

export interface MessageRow {
  seq: number;
  sender_id: string;
  sender_role: string;
  sender_name: Buffer;
  body: Buffer;
  at: number;
  client_msg_id: string;
}

/** The sender of an append, with the message it already sent under that clientMsgId, if any (LEFT JOIN). */
export interface SenderRow {
  conversation_id: string;
  role: string;
  name: Buffer;
  seq: number | null;
  body: Buffer | null;
  at: number | null;
}

export interface SummaryRow {
  id: string;
  visitor_name: Buffer | null;
  last_seq: number;
  updated_at: number;
  last_body: Buffer | null;
  last_at: number | null;
  last_role: string | null;
  unread: number;
}

/** The columns of ParticipantRow, read through the alias `p`. */
const participantColumns = 'p.id, p.conversation_id, p.role, p.account_id, p.name, p.delivered_seq, p.read_seq';

/** Sender role and name come from the participant as it is now: a rename shows on old messages too. */
const messageSelect = `SELECT m.seq, m.sender_id, p.role AS sender_role, p.name AS sender_name, m.body, m.at, m.client_msg_id
  FROM messages m JOIN participants p ON p.id = m.sender_id`;

export const sql = {
  insertAccount:
    'INSERT INTO accounts (id, handle, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)',
  accountByHandle: 'SELECT id, handle, display_name, password_hash, created_at FROM accounts WHERE handle = $1',
  accountById: 'SELECT id, handle, display_name, password_hash, created_at FROM accounts WHERE id = $1',
  allAccounts: 'SELECT id, handle, display_name, password_hash, created_at FROM accounts ORDER BY handle',
  deleteAccount: 'DELETE FROM accounts WHERE handle = $1',
  setPasswordHash: 'UPDATE accounts SET password_hash = $2 WHERE handle = $1',

  insertSession: 'INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)',
  // "Expires at" is the first instant the session is no longer valid.
  liveSession: 'SELECT token_hash, account_id, created_at, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2',
  deleteSession: 'DELETE FROM sessions WHERE token_hash = $1',
  deleteSessionsOf: 'DELETE FROM sessions WHERE account_id = $1',

  /**
   * The conversation and its two participants in one statement (so one round trip and atomic without BEGIN):
   * nothing is inserted, and no row returned, when the account does not exist. The owner's participant takes the
   * account's display name. $1 account, $2 conversation id, $3 token hash, $4 at, $5 owner id, $6 visitor id,
   * $7 visitor name.
   */
  createConversation: `WITH owner AS (
      SELECT id, handle, display_name FROM accounts WHERE id = $1
    ), conversation AS (
      INSERT INTO conversations (id, owner_account_id, token_hash, last_seq, created_at, updated_at)
      SELECT $2, owner.id, $3, 0, $4, $4 FROM owner
      RETURNING id
    ), joined AS (
      INSERT INTO participants (id, conversation_id, role, account_id, name)
      SELECT p.id, conversation.id, p.role, p.account_id, p.name
      FROM conversation, owner,
        LATERAL (VALUES (1, $5::text, 'owner', owner.id, owner.display_name),
                        (2, $6::text, 'visitor', NULL, $7::bytea)) AS p(n, id, role, account_id, name)
      ORDER BY p.n
    )
    SELECT handle, display_name FROM owner`,
  conversationById: conversationSelect('c.id = $1'),
  conversationByTokenHash: conversationSelect('c.token_hash = $1'),
  conversationExists: 'SELECT 1 AS found FROM conversations WHERE id = $1',
  inbox: `${summarySelect('c.owner_account_id = $1')} ORDER BY c.updated_at DESC, c.id DESC LIMIT $2`,
  summaryById: summarySelect('c.id = $1'),

  participantsOf: `SELECT ${participantColumns} FROM participants p WHERE p.conversation_id = $1 ORDER BY p.role, p.join_order`,
  renameParticipant: `UPDATE participants p SET name = $2 WHERE p.id = $1 RETURNING ${participantColumns}`,
  // Both watermarks are capped at the conversation's last seq: a receipt for a message that does not exist yet
  // would otherwise mark future messages as read before anyone saw them. One UPDATE reads last_seq and writes.
  raiseDelivered: `UPDATE participants p
    SET delivered_seq = GREATEST(p.delivered_seq, LEAST($2::bigint, c.last_seq))
    FROM conversations c
    WHERE p.id = $1 AND c.id = p.conversation_id
    RETURNING ${participantColumns}`,
  // Read implies delivered: one statement raises both, so no reader sees read_seq > delivered_seq. On the right of
  // SET, p.read_seq is the value before this update.
  raiseRead: `UPDATE participants p
    SET read_seq = GREATEST(p.read_seq, LEAST($2::bigint, c.last_seq)),
        delivered_seq = GREATEST(p.delivered_seq, p.read_seq, LEAST($2::bigint, c.last_seq))
    FROM conversations c
    WHERE p.id = $1 AND c.id = p.conversation_id
    RETURNING ${participantColumns}`,

  /** $1 sender, $2 clientMsgId: the sender (to authorise) and, if this is a retry, the original message. */
  senderAndDuplicate: `SELECT p.conversation_id, p.role, p.name, m.seq, m.body, m.at
    FROM participants p LEFT JOIN messages m ON m.sender_id = p.id AND m.client_msg_id = $2
    WHERE p.id = $1`,
  /**
   * The next seq and the message, in one statement and so in one transaction: the UPDATE takes the conversation's
   * row lock (concurrent appends to it wait here, then read the committed last_seq), and if the INSERT fails (a
   * concurrent duplicate) the increment is rolled back with it, so seqs never skip. No row: no such conversation.
   * $1 conversation, $2 at, $3 sender, $4 clientMsgId, $5 body.
   */
  appendMessage: `WITH next AS (
      UPDATE conversations SET last_seq = last_seq + 1, updated_at = $2 WHERE id = $1 RETURNING last_seq
    )
    INSERT INTO messages (conversation_id, seq, sender_id, client_msg_id, body, at)
    SELECT $1, next.last_seq, $3, $4, $5, $2 FROM next
    RETURNING seq`,
  messageByClientId: `${messageSelect} WHERE m.sender_id = $1 AND m.client_msg_id = $2`,
  messagesAfter: `${messageSelect} WHERE m.conversation_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3`,
  // The inner query takes the newest `limit` below beforeSeq (a backward scan of the key); the outer one returns
  // them oldest first, sorting only that page.
  messagesBefore: `SELECT * FROM (${messageSelect} WHERE m.conversation_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3) page
    ORDER BY seq`,
} as const;

function conversationSelect(where: string): string {
  return `SELECT c.id, c.owner_account_id, a.handle AS owner_handle, a.display_name AS owner_name,
      c.last_seq, c.created_at, c.updated_at
    FROM conversations c JOIN accounts a ON a.id = c.owner_account_id
    WHERE ${where}`;
}

/**
 * One row per conversation; every sub-select is an index lookup (participants_by_conversation, the messages
 * primary key), so the inbox costs O(limit) lookups plus the unread messages, whatever the total. The visitor is
 * the first to have joined (join_order, the last column of participants_by_conversation: no sort).
 */
function summarySelect(where: string): string {
  return `SELECT c.id, c.last_seq, c.updated_at,
      (SELECT v.name FROM participants v WHERE v.conversation_id = c.id AND v.role = 'visitor' ORDER BY v.join_order LIMIT 1)
        AS visitor_name,
      m.body AS last_body, m.at AS last_at, s.role AS last_role,
      (SELECT COUNT(*) FROM messages u JOIN participants up ON up.id = u.sender_id
        WHERE u.conversation_id = c.id AND up.role <> 'owner'
          AND u.seq > COALESCE((SELECT MAX(o.read_seq) FROM participants o
                                WHERE o.conversation_id = c.id AND o.role = 'owner'), 0)) AS unread
    FROM conversations c
    LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_seq
    LEFT JOIN participants s ON s.id = m.sender_id
    WHERE ${where}`;
}

/** Text is stored as its UTF-8 bytes (BYTEA; see migrations/001_init.sql for why). */
export const encodeText = (text: string): Buffer => Buffer.from(text, 'utf8');
/** Exact inverse of encodeText for well-formed strings, which is all the adapter writes (assertWellFormed). */
export const decodeText = (bytes: Buffer): string => bytes.toString('utf8');

/** The CHECK constraint guarantees this; the check keeps the type honest without a cast. */
export function asRole(value: string): Role {
  if (value === 'owner' || value === 'visitor') return value;
  throw new Error(`Unknown participant role in the database: ${value}`);
}

export const toAccount = (r: AccountRow): Account => ({
  id: r.id,
  handle: r.handle,
  displayName: decodeText(r.display_name),
  passwordHash: r.password_hash,
  createdAt: r.created_at,
});

export const toSession = (r: SessionRow): Session => ({
  tokenHash: r.token_hash,
  accountId: r.account_id,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});

export const toConversation = (r: ConversationRow): Conversation => ({
  id: r.id,
  ownerAccountId: r.owner_account_id,
  ownerHandle: r.owner_handle,
  ownerName: decodeText(r.owner_name),
  lastSeq: r.last_seq,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toParticipant = (r: ParticipantRow): Participant => ({
  id: r.id,
  conversationId: r.conversation_id,
  role: asRole(r.role),
  accountId: r.account_id,
  name: decodeText(r.name),
  deliveredSeq: r.delivered_seq,
  readSeq: r.read_seq,
});

export const toMessage = (r: MessageRow): MessageRecord => ({
  seq: r.seq,
  senderId: r.sender_id,
  senderRole: asRole(r.sender_role),
  senderName: decodeText(r.sender_name),
  body: decodeText(r.body),
  at: r.at,
  clientMsgId: r.client_msg_id,
});

export function toSummary(r: SummaryRow): ConversationSummary {
  const lastMessage =
    r.last_body !== null && r.last_at !== null && r.last_role !== null
      ? { body: decodeText(r.last_body), at: r.last_at, senderRole: asRole(r.last_role) }
      : null;
  return {
    id: r.id,
    visitorName: r.visitor_name === null ? '' : decodeText(r.visitor_name),
    lastSeq: r.last_seq,
    lastMessage,
    unread: r.unread,
    updatedAt: r.updated_at,
  };
}
