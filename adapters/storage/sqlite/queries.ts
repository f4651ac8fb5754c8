/**
 * The SQL of the SQLite adapter and its row-to-record mappers. Kept apart from SqliteStorage so the class reads as
 * behaviour, and so tests can EXPLAIN the same text the adapter runs. The row shapes and the SELECTs it shares with
 * PostgreSQL are in ../rows.ts and ../selects.ts.
 */
import { rowMappers } from '../rows.ts';
import { conversationSelect, messageSelect, summarySelect } from '../selects.ts';

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
  // The hashes come as one JSON array: one statement whatever their number (each is a primary-key lookup).
  liveSessions: 'SELECT token_hash FROM sessions WHERE token_hash IN (SELECT value FROM json_each(?)) AND expires_at > ?',
  // Runs every few minutes over a table of one row per login: a scan, no index needed.
  purgeExpiredSessions: 'DELETE FROM sessions WHERE expires_at <= ?',

  insertConversation:
    'INSERT INTO conversations (id, owner_account_id, token_hash, last_seq, created_at, updated_at) VALUES (?, ?, ?, 0, ?, ?)',
  conversationById: conversationSelect('c.id = ?'),
  conversationByTokenHash: conversationSelect('c.token_hash = ?'),
  conversationExists: 'SELECT 1 AS found FROM conversations WHERE id = ?',
  inbox: `${summarySelect('c.owner_account_id = ?', 'rowid')} ORDER BY c.updated_at DESC, c.id DESC LIMIT ?`,
  summaryById: summarySelect('c.id = ?', 'rowid'),

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
    'INSERT INTO messages (conversation_id, seq, sender_id, client_msg_id, body, at, kind, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  messageBySeq: `${messageSelect} WHERE m.conversation_id = ? AND m.seq = ?`,
  messagesAfter: `${messageSelect} WHERE m.conversation_id = ? AND m.seq > ? ORDER BY m.seq LIMIT ?`,
  // The inner query takes the newest `limit` below beforeSeq; the outer one returns them oldest first.
  messagesBefore: `SELECT * FROM (${messageSelect} WHERE m.conversation_id = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?)
    ORDER BY seq`,
} as const;

/** Rows to port records; TEXT columns arrive as strings, stored as given. */
export const { toAccount, toSession, toConversation, toParticipant, toMessage, toSummary } = rowMappers((text: string) => text);
