/**
 * The SQL of the SQLite adapter, its row shapes and their mapping to port records. Kept apart from SqliteStorage so
 * the class reads as behaviour, and so tests can EXPLAIN the same text the adapter runs.
 */
import type { Account, Conversation, Participant, Session } from '../../../engine/ports/storage.ts';
import type { ConversationSummary, MessageRecord, Role } from '../../../engine/protocol.ts';

export interface AccountRow {
  id: string;
  handle: string;
  display_name: string;
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
  owner_name: string;
  last_seq: number;
  created_at: number;
  updated_at: number;
}

export interface ParticipantRow {
  id: string;
  conversation_id: string;
  role: string;
  account_id: string | null;
  name: string;
  delivered_seq: number;
  read_seq: number;
}

export interface MessageRow {
  seq: number;
  sender_id: string;
  sender_role: string;
  sender_name: string;
  body: string;
  at: number;
  client_msg_id: string;
}

export interface SummaryRow {
  id: string;
  visitor_name: string | null;
  last_seq: number;
  updated_at: number;
  last_body: string | null;
  last_at: number | null;
  last_role: string | null;
  unread: number;
}

/** Sender role and name come from the participant as it is now: a rename shows on old messages too. */
const messageSelect = `SELECT m.seq, m.sender_id, p.role AS sender_role, p.name AS sender_name, m.body, m.at, m.client_msg_id
  FROM messages m JOIN participants p ON p.id = m.sender_id`;

export const sql = {
  insertAccount:
    'INSERT INTO accounts (id, handle, display_name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)',
  accountByHandle: 'SELECT * FROM accounts WHERE handle = ?',
  accountById: 'SELECT * FROM accounts WHERE id = ?',
  allAccounts: 'SELECT * FROM accounts ORDER BY handle',
  deleteAccount: 'DELETE FROM accounts WHERE handle = ?',
  setPasswordHash: 'UPDATE accounts SET password_hash = ? WHERE handle = ?',

  insertSession: 'INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)',
  // "Expires at" is the first instant the session is no longer valid.
  liveSession: 'SELECT * FROM sessions WHERE token_hash = ? AND expires_at > ?',
  deleteSession: 'DELETE FROM sessions WHERE token_hash = ?',
  deleteSessionsOf: 'DELETE FROM sessions WHERE account_id = ?',

  insertConversation:
    'INSERT INTO conversations (id, owner_account_id, token_hash, last_seq, created_at, updated_at) VALUES (?, ?, ?, 0, ?, ?)',
  conversationById: conversationSelect('c.id = ?'),
  conversationByTokenHash: conversationSelect('c.token_hash = ?'),
  conversationExists: 'SELECT 1 AS found FROM conversations WHERE id = ?',
  inbox: `${summarySelect('c.owner_account_id = ?')} ORDER BY c.updated_at DESC, c.id DESC LIMIT ?`,
  summaryById: summarySelect('c.id = ?'),

  insertParticipant:
    'INSERT INTO participants (id, conversation_id, role, account_id, name, delivered_seq, read_seq) VALUES (?, ?, ?, ?, ?, 0, 0)',
  participantById: 'SELECT * FROM participants WHERE id = ?',
  participantsOf: 'SELECT * FROM participants WHERE conversation_id = ? ORDER BY role, rowid',
  renameParticipant: 'UPDATE participants SET name = ? WHERE id = ?',
  // Both watermarks are capped at the conversation's last seq: a receipt for a message that does not exist yet
  // would otherwise mark future messages as read before anyone saw them.
  raiseDelivered: `UPDATE participants
    SET delivered_seq = MAX(delivered_seq, MIN(@seq, (SELECT last_seq FROM conversations WHERE id = conversation_id)))
    WHERE id = @id`,
  // Read implies delivered: one statement raises both, so no reader sees read_seq > delivered_seq.
  raiseRead: `UPDATE participants
    SET read_seq = MAX(read_seq, MIN(@seq, (SELECT last_seq FROM conversations WHERE id = conversation_id))),
        delivered_seq = MAX(delivered_seq, read_seq, MIN(@seq, (SELECT last_seq FROM conversations WHERE id = conversation_id)))
    WHERE id = @id`,

  messageByClientId: `${messageSelect} WHERE m.sender_id = ? AND m.client_msg_id = ?`,
  nextSeq: 'UPDATE conversations SET last_seq = last_seq + 1, updated_at = ? WHERE id = ? RETURNING last_seq',
  insertMessage:
    'INSERT INTO messages (conversation_id, seq, sender_id, client_msg_id, body, at) VALUES (?, ?, ?, ?, ?, ?)',
  messageBySeq: `${messageSelect} WHERE m.conversation_id = ? AND m.seq = ?`,
  messagesAfter: `${messageSelect} WHERE m.conversation_id = ? AND m.seq > ? ORDER BY m.seq LIMIT ?`,
  // The inner query takes the newest `limit` below beforeSeq; the outer one returns them oldest first.
  messagesBefore: `SELECT * FROM (${messageSelect} WHERE m.conversation_id = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?)
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
 * (conversation_id, seq) key), so the inbox costs O(limit) lookups plus the unread messages, whatever the total.
 * The visitor is the first to have joined (rowid order, which the participants index already holds: no sort).
 */
function summarySelect(where: string): string {
  return `SELECT c.id, c.last_seq, c.updated_at,
      (SELECT v.name FROM participants v WHERE v.conversation_id = c.id AND v.role = 'visitor' ORDER BY v.rowid LIMIT 1)
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

/** The CHECK constraint guarantees this; the check keeps the type honest without a cast. */
export function asRole(value: string): Role {
  if (value === 'owner' || value === 'visitor') return value;
  throw new Error(`Unknown participant role in the database: ${value}`);
}

export const toAccount = (r: AccountRow): Account => ({
  id: r.id,
  handle: r.handle,
  displayName: r.display_name,
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
  ownerName: r.owner_name,
  lastSeq: r.last_seq,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toParticipant = (r: ParticipantRow): Participant => ({
  id: r.id,
  conversationId: r.conversation_id,
  role: asRole(r.role),
  accountId: r.account_id,
  name: r.name,
  deliveredSeq: r.delivered_seq,
  readSeq: r.read_seq,
});

export const toMessage = (r: MessageRow): MessageRecord => ({
  seq: r.seq,
  senderId: r.sender_id,
  senderRole: asRole(r.sender_role),
  senderName: r.sender_name,
  body: r.body,
  at: r.at,
  clientMsgId: r.client_msg_id,
});

export function toSummary(r: SummaryRow): ConversationSummary {
  const lastMessage =
    r.last_body !== null && r.last_at !== null && r.last_role !== null
      ? { body: r.last_body, at: r.last_at, senderRole: asRole(r.last_role) }
      : null;
  return {
    id: r.id,
    visitorName: r.visitor_name ?? '',
    lastSeq: r.last_seq,
    lastMessage,
    unread: r.unread,
    updatedAt: r.updated_at,
  };
}
