/**
 * The SQL of the SQLite adapter and its row-to-record mappers. Kept apart from SqliteStorage so the class reads as
 * behaviour, and so tests can EXPLAIN the same text the adapter runs. The row shapes and the SELECTs it shares with
 * PostgreSQL are in ../rows.ts and ../selects.ts.
 */
import type { InboxFilter } from '../../../engine/protocol.ts';
import { fileMapper } from '../fileRows.ts';
import { rowMappers, sessionColumns } from '../rows.ts';
import { appendedFactsSelect, conversationSelect, inboxCondition, inboxFilters, messageSelect, summarySelect } from '../selects.ts';

export const sql = {
  insertAccount:
    'INSERT INTO accounts (id, handle, display_name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)',
  accountByHandle: 'SELECT * FROM accounts WHERE handle = ?',
  accountById: 'SELECT * FROM accounts WHERE id = ?',
  allAccounts: 'SELECT * FROM accounts ORDER BY handle',
  deleteAccount: 'DELETE FROM accounts WHERE handle = ?',
  setPasswordHash: 'UPDATE accounts SET password_hash = ? WHERE handle = ?',

  // It is last seen when it is made (016_sessions_recovery.sql).
  insertSession: `INSERT INTO sessions (token_hash, account_id, created_at, expires_at, id, ip, user_agent, last_seen_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${sessionColumns}`,
  // "Expires at" is the first instant the session is no longer valid.
  liveSession: `SELECT ${sessionColumns} FROM sessions WHERE token_hash = ? AND expires_at > ?`,
  deleteSession: 'DELETE FROM sessions WHERE token_hash = ?',
  deleteSessionsOf: 'DELETE FROM sessions WHERE account_id = ?',
  // The hashes come as one JSON array: one statement whatever their number (each is a primary-key lookup).
  liveSessions: 'SELECT token_hash FROM sessions WHERE token_hash IN (SELECT value FROM json_each(?)) AND expires_at > ?',
  // Runs every few minutes over a table of one row per login: a scan, no index needed.
  purgeExpiredSessions: 'DELETE FROM sessions WHERE expires_at <= ?',

  // Its search_key is given by trigger (005_inbox.sql).
  insertConversation: `INSERT INTO conversations
      (id, owner_account_id, token_hash, last_seq, created_at, updated_at, visitor_email, kind, subject, suspicious, started_url, started_title)
    VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)`,
  conversationById: conversationSelect('c.id = ?'),
  appendedFacts: appendedFactsSelect('c.id = ?', (kind) => `group_concat(DISTINCT ${kind})`),
  conversationByTokenHash: conversationSelect('c.token_hash = ?'),
  conversationExists: 'SELECT 1 AS found FROM conversations WHERE id = ?',
  inbox: filteredInbox('all'),
  summaryById: summarySelect('c.id = ?', 'rowid'),

  insertParticipant:
    'INSERT INTO participants (id, conversation_id, role, account_id, name, delivered_seq, read_seq) VALUES (?, ?, ?, ?, ?, 0, 0)',
  participantById: 'SELECT * FROM participants WHERE id = ?',
  participantsOf: 'SELECT * FROM participants WHERE conversation_id = ? ORDER BY role, rowid',
  renameParticipant: 'UPDATE participants SET name = ? WHERE id = ?',
  // Run before raiseRead: the owner reading up to where they had read (or further) ends "mark as unread"; a late
  // receipt from another device, below the mark, does not.
  clearMarkedUnread: `UPDATE conversations SET marked_unread = 0
    WHERE marked_unread = 1 AND id = (
      SELECT p.conversation_id FROM participants p
      WHERE p.id = @id AND p.role = 'owner' AND MIN(@seq, conversations.last_seq) >= p.read_seq
    )`,
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
  // A new message brings an archived conversation back, and counts the files it carries.
  nextSeq: `UPDATE conversations SET last_seq = last_seq + 1, updated_at = ?, archived = 0, file_count = file_count + ?
    WHERE id = ? RETURNING last_seq`,
  insertMessage:
    'INSERT INTO messages (conversation_id, seq, sender_id, client_msg_id, body, at, kind, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  messageBySeq: `${messageSelect} WHERE m.conversation_id = ? AND m.seq = ?`,
  messagesAfter: `${messageSelect} WHERE m.conversation_id = ? AND m.seq > ? ORDER BY m.seq LIMIT ?`,
  // The inner query takes the newest `limit` below beforeSeq; the outer one returns them oldest first.
  messagesBefore: `SELECT * FROM (${messageSelect} WHERE m.conversation_id = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?)
    ORDER BY seq`,
} as const;

/** The inbox's statements of issue 16 (inbox.ts): filters, search, archive, mark unread, deletion, and the index. */
export const inboxSql = {
  setArchived: 'UPDATE conversations SET archived = ? WHERE id = ?',
  markUnread: 'UPDATE conversations SET marked_unread = 1 WHERE id = ?',
  // Participants, messages, documents, games, files, mails and outbox jobs go with it (ON DELETE CASCADE), its
  // search rows by trigger.
  deleteConversation: 'DELETE FROM conversations WHERE id = ?',
  anyPending: 'SELECT 1 AS found FROM search_pending LIMIT 1',
  // The messages waiting for the index, in rowid order so FTS5 writes them as one segment (005_inbox.sql).
  indexPending: `INSERT INTO search (rowid, text)
    SELECT p.id, s.text FROM search_pending p
    JOIN conversations c ON c.search_key = p.id >> 32
    JOIN search_messages s ON s.conversation_id = c.id AND s.seq = p.id & 4294967295
    ORDER BY p.id`,
  clearPending: 'DELETE FROM search_pending',
} as const;

/** The owner's inbox through one filter: $1 owner, $2 limit; newest activity first, read from conversations_inbox. */
function filteredInbox(filter: InboxFilter): string {
  return `${summarySelect(`c.owner_account_id = ? AND ${inboxCondition(filter, false)}`, 'rowid')}
    ORDER BY c.updated_at DESC, c.id DESC LIMIT ?`;
}

/**
 * The owner's conversations where every word is found (in a message, the visitor's name, an attached file's name or
 * the subject, not necessarily the same one), through one filter: $1 the words as a JSON array of FTS5 queries (`"word"*`),
 * $2 owner, $3 limit. Each word is looked up in the index once; a conversation is kept when all of them hit it.
 */
function searchedInbox(filter: InboxFilter): string {
  return `WITH words(query) AS (SELECT value FROM json_each(?)),
    found(key) AS (
      SELECT s.rowid >> 32 FROM words w JOIN search s ON s.search MATCH w.query
      GROUP BY 1 HAVING COUNT(DISTINCT w.query) = (SELECT COUNT(*) FROM words)
    )
    ${summarySelect(`c.owner_account_id = ? AND c.search_key IN (SELECT key FROM found) AND ${inboxCondition(filter, true)}`, 'rowid')}
    ORDER BY c.updated_at DESC, c.id DESC LIMIT ?`;
}

export const inboxSqlOf = Object.fromEntries(inboxFilters.map((f) => [f, filteredInbox(f)])) as Record<InboxFilter, string>;
export const searchSqlOf = Object.fromEntries(inboxFilters.map((f) => [f, searchedInbox(f)])) as Record<InboxFilter, string>;

/** Rows to port records; TEXT columns arrive as strings, stored as given. */
export const { toAccount, toSession, toConversation, toAppendedFacts, toParticipant, toMessage, toSummary } = rowMappers((text: string) => text);
export const toFile = fileMapper((text: string) => text);
