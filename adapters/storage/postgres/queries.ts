/**
 * The SQL of the PostgreSQL adapter and its row-to-record mappers. Kept apart from PostgresStorage so the class
 * reads as behaviour, and so tests can EXPLAIN the same text the adapter runs. The row shapes and the SELECTs it
 * shares with SQLite are in ../rows.ts and ../selects.ts.
 *
 * BIGINT columns arrive as JS numbers (the pool's type parser, see PostgresStorage); BYTEA columns (names, bodies:
 * UTF-8, see migrations/001_init.sql) arrive as Buffers and are decoded here.
 */
import type { InboxFilter } from '../../../engine/protocol.ts';
import { fileMapper } from '../fileRows.ts';
import { rowMappers, sessionColumns } from '../rows.ts';
import { appendedFactsSelect, conversationSelect, inboxCondition, inboxFilters, messageSelect, summarySelect } from '../selects.ts';

/** The sender of an append, with the message it already sent under that clientMsgId, if any (LEFT JOIN). */
export interface SenderRow {
  conversation_id: string;
  role: string;
  name: Buffer;
  seq: number | null;
  body: Buffer | null;
  at: number | null;
  kind: string | null;
  payload: string | null;
}

/**
 * What sql.appendBatch answers for one append: whether its sender is a member (and, when not, whether the
 * conversation exists), the sender's role and name, the message stored before under its clientMsgId (a retry),
 * the call position of the first append of the batch with its sender and clientMsgId (1-based), and its seq.
 */
export interface BatchRow {
  member: boolean;
  role: string | null;
  name: Buffer | null;
  stored_seq: number | null;
  stored_body: Buffer | null;
  stored_at: number | null;
  stored_kind: string | null;
  stored_payload: string | null;
  first_ord: number;
  seq: number | null;
  conversation_exists: boolean;
}

/** The columns of ParticipantRow, read through the alias `p`. */
const participantColumns = 'p.id, p.conversation_id, p.role, p.account_id, p.name, p.delivered_seq, p.read_seq';

export const sql = {
  insertAccount:
    'INSERT INTO accounts (id, handle, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)',
  accountByHandle: 'SELECT id, handle, display_name, password_hash, created_at FROM accounts WHERE handle = $1',
  accountById: 'SELECT id, handle, display_name, password_hash, created_at FROM accounts WHERE id = $1',
  allAccounts: 'SELECT id, handle, display_name, password_hash, created_at FROM accounts ORDER BY handle',
  deleteAccount: 'DELETE FROM accounts WHERE handle = $1',
  setPasswordHash: 'UPDATE accounts SET password_hash = $2 WHERE handle = $1',

  // It is last seen when it is made (016_sessions_recovery.sql).
  insertSession: `INSERT INTO sessions (token_hash, account_id, created_at, expires_at, id, ip, user_agent, last_seen_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $3) RETURNING ${sessionColumns}`,
  // "Expires at" is the first instant the session is no longer valid.
  liveSession: `SELECT ${sessionColumns} FROM sessions WHERE token_hash = $1 AND expires_at > $2`,
  deleteSession: 'DELETE FROM sessions WHERE token_hash = $1',
  deleteSessionsOf: 'DELETE FROM sessions WHERE account_id = $1',
  // One statement whatever the number of hashes (each a primary-key lookup).
  liveSessions: 'SELECT token_hash FROM sessions WHERE token_hash = ANY($1::text[]) AND expires_at > $2',
  // Runs every few minutes over a table of one row per login: a scan, no index needed.
  purgeExpiredSessions: 'DELETE FROM sessions WHERE expires_at <= $1',

  /**
   * The conversation and its two participants in one statement (so one round trip and atomic without BEGIN):
   * nothing is inserted, and no row returned, when the account does not exist. The owner's participant takes the
   * account's display name. $1 account, $2 conversation id, $3 token hash, $4 at, $5 owner id, $6 visitor id,
   * $7 visitor name, $8 visitor email (or NULL), $9 kind, $10 subject (or NULL), $11 suspicious, $12 and $13 the page it
   * was started on (its address and title, or NULL and NULL).
   */
  createConversation: `WITH owner AS (
      SELECT id, handle, display_name FROM accounts WHERE id = $1
    ), conversation AS (
      INSERT INTO conversations (id, owner_account_id, token_hash, last_seq, created_at, updated_at, visitor_email, kind, subject, suspicious,
        started_url, started_title)
      SELECT $2, owner.id, $3, 0, $4, $4, $8::bytea, $9, $10::bytea, $11, $12::bytea, $13::bytea FROM owner
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
  appendedFacts: appendedFactsSelect('c.id = $1', (kind) => `string_agg(DISTINCT ${kind}, ',')`),
  conversationByTokenHash: conversationSelect('c.token_hash = $1'),
  conversationExists: 'SELECT 1 AS found FROM conversations WHERE id = $1',
  inbox: inboxSql('all'),
  summaryById: summarySelect('c.id = $1', 'join_order'),

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
  // SET, p.read_seq is the value before this update. The owner reading up to where they had read (or further) ends
  // "mark as unread" (a late receipt from another device, below the mark, does not): `unmarked`, in the same
  // statement, which locks the conversation's row only when it is marked.
  raiseRead: `WITH unmarked AS (
      UPDATE conversations c SET marked_unread = false
      FROM participants p
      WHERE p.id = $1 AND p.role = 'owner' AND c.id = p.conversation_id AND c.marked_unread
        AND LEAST($2::bigint, c.last_seq) >= p.read_seq
    )
    UPDATE participants p
    SET read_seq = GREATEST(p.read_seq, LEAST($2::bigint, c.last_seq)),
        delivered_seq = GREATEST(p.delivered_seq, p.read_seq, LEAST($2::bigint, c.last_seq))
    FROM conversations c
    WHERE p.id = $1 AND c.id = p.conversation_id
    RETURNING ${participantColumns}`,

  /** $1 sender, $2 clientMsgId: the sender (to authorise) and, if this is a retry, the original message. */
  senderAndDuplicate: `SELECT p.conversation_id, p.role, p.name, m.seq, m.body, m.at, m.kind, m.payload
    FROM participants p LEFT JOIN messages m ON m.sender_id = p.id AND m.client_msg_id = $2
    WHERE p.id = $1`,
  /**
   * A batch of file-less appends to one conversation in one statement, so one round trip and one transaction (no
   * BEGIN/COMMIT): $1 the conversation, then one array element per append, in call order: $2 senders, $3
   * clientMsgIds, $4 bodies (UTF-8), $5 times, $6 event kinds, $7 event payloads (JSON or NULL). One row back per
   * append, in call order (BatchRow).
   * - `input`: the arrays reach unnest through a subquery the planner may not flatten (OFFSET 0), so it cannot see
   *   how many appends a batch holds and estimates every batch alike: each batch's own plan then costs what the
   *   generic plan costs, and the prepared statement keeps the generic plan after five runs instead of being planned
   *   again for every batch (planning took about half of a four-append statement's time).
   * - `judged`: each append's sender (a member if its participant is in $1), the message it already stored under
   *   that clientMsgId (a retry), and the first append of the batch with the same sender and clientMsgId. Both
   *   lookups are LATERAL with LIMIT, so they stay one key lookup per append whatever plan the prepared statement
   *   settles on: as plain joins, the generic plan PostgreSQL keeps after five runs, if made while the tables were
   *   small, hash-joins a scan of all messages, and keeps doing so as they grow.
   * - `fresh`: the appends to write (a member's, not stored before, the first of the batch with their key), numbered
   *   1..n in call order; refusals and duplicates take no seq.
   * - `next`: last_seq raised once by n. Its row lock serialises concurrent appends to the conversation (another
   *   process's statement waits here, then reads the committed last_seq), and the rows are numbered from the value
   *   before it. No fresh append, no update (a batch of retries leaves updatedAt as it was).
   * - `inserted`: the new rows. A unique violation (the same clientMsgId stored by another process since this
   *   statement's snapshot) or a foreign-key one (the conversation removed meanwhile) fails the whole statement,
   *   increment included: the caller then writes the appends one by one.
   * `seq` is NULL for a member's fresh append only if the conversation was removed after the snapshot.
   */
  appendBatch: `WITH input AS (
      SELECT i.* FROM (
          SELECT $2::text[] AS senders, $3::text[] AS keys, $4::bytea[] AS bodies, $5::bigint[] AS ats, $6::text[] AS kinds,
            $7::text[] AS payloads
          OFFSET 0
        ) a
        CROSS JOIN LATERAL unnest(a.senders, a.keys, a.bodies, a.ats, a.kinds, a.payloads) WITH ORDINALITY
          AS i(sender_id, client_msg_id, body, at, kind, payload, ord)
    ), judged AS (
      SELECT i.*, (p.conversation_id = $1::text) IS TRUE AS member, p.role, p.name,
        m.seq AS stored_seq, m.body AS stored_body, m.at AS stored_at, m.kind AS stored_kind, m.payload AS stored_payload,
        first_value(i.ord) OVER (PARTITION BY i.sender_id, i.client_msg_id ORDER BY i.ord) AS first_ord
      FROM input i
      LEFT JOIN LATERAL (SELECT conversation_id, role, name FROM participants WHERE id = i.sender_id LIMIT 1) p ON true
      LEFT JOIN LATERAL (
        SELECT seq, body, at, kind, payload FROM messages WHERE sender_id = i.sender_id AND client_msg_id = i.client_msg_id LIMIT 1
      ) m ON true
    ), fresh AS (
      SELECT j.sender_id, j.client_msg_id, j.body, j.at, j.kind, j.payload, row_number() OVER (ORDER BY j.ord) AS k
      FROM judged j WHERE j.member AND j.stored_seq IS NULL AND j.first_ord = j.ord
    ), counted AS (
      SELECT count(*) AS n, (SELECT f.at FROM fresh f ORDER BY f.k DESC LIMIT 1) AS last_at FROM fresh
    ), next AS (
      UPDATE conversations c SET last_seq = c.last_seq + counted.n, updated_at = counted.last_at, archived = false
      FROM counted WHERE c.id = $1::text AND counted.n > 0
      RETURNING c.last_seq - counted.n AS base
    ), inserted AS (
      INSERT INTO messages (conversation_id, seq, sender_id, client_msg_id, body, at, kind, payload)
      SELECT $1::text, next.base + f.k, f.sender_id, f.client_msg_id, f.body, f.at, f.kind, f.payload FROM fresh f CROSS JOIN next
      RETURNING seq, sender_id, client_msg_id
    )
    SELECT j.member, j.role, j.name, j.stored_seq, j.stored_body, j.stored_at, j.stored_kind, j.stored_payload, j.first_ord,
      COALESCE(j.stored_seq, ins.seq) AS seq, EXISTS (SELECT 1 FROM conversations WHERE id = $1::text) AS conversation_exists
    FROM judged j LEFT JOIN inserted ins ON ins.sender_id = j.sender_id AND ins.client_msg_id = j.client_msg_id
    ORDER BY j.ord`,
  /**
   * sql.appendBatch for a batch of one (the common case when appends are few), answering the same BatchRow: the same
   * steps without arrays, windows or sorts, which cost a lone append more than the round trip they save (about a
   * third more of the server's time). $1 conversation, $2 at, $3 sender, $4 clientMsgId, $5 body, $6 event kind, $7
   * event payload (JSON or NULL). Always one row (`one`), also when the sender does not exist.
   */
  appendOne: `WITH sender AS (
      SELECT p.conversation_id, p.role, p.name, m.seq, m.body, m.at, m.kind, m.payload
      FROM participants p LEFT JOIN messages m ON m.sender_id = p.id AND m.client_msg_id = $4
      WHERE p.id = $3
    ), next AS (
      UPDATE conversations SET last_seq = last_seq + 1, updated_at = $2, archived = false
      WHERE id = $1 AND EXISTS (SELECT 1 FROM sender WHERE conversation_id = $1 AND seq IS NULL)
      RETURNING last_seq
    ), inserted AS (
      INSERT INTO messages (conversation_id, seq, sender_id, client_msg_id, body, at, kind, payload)
      SELECT $1, next.last_seq, $3, $4, $5, $2, $6, $7 FROM next
      RETURNING seq
    )
    SELECT (s.conversation_id = $1) IS TRUE AS member, s.role, s.name, s.seq AS stored_seq, s.body AS stored_body,
      s.at AS stored_at, s.kind AS stored_kind, s.payload AS stored_payload, 1 AS first_ord,
      COALESCE(s.seq, (SELECT seq FROM inserted)) AS seq, EXISTS (SELECT 1 FROM conversations WHERE id = $1) AS conversation_exists
    FROM (SELECT 1) one LEFT JOIN sender s ON true`,
  /**
   * The append of a message with files (they are not batched: each needs its check first), which it attaches in the
   * same statement. $1 conversation, $2 at, $3 sender, $4 clientMsgId, $5 body, $6 event kind, $7 event payload, $8
   * the files' ids (checked just before, in the same transaction: sql.attachableFiles). The UPDATE takes the
   * conversation's row lock, as in appendBatch; if the INSERT fails, the increment is rolled back with it.
   * `attached` counts those still unattached when written; fewer than $8 means another process attached one in
   * between, and the caller rolls back.
   */
  appendFileMessage: `WITH next AS (
      UPDATE conversations SET last_seq = last_seq + 1, updated_at = $2, archived = false, file_count = file_count + cardinality($8::text[])
      WHERE id = $1 RETURNING last_seq
    ), message AS (
      INSERT INTO messages (conversation_id, seq, sender_id, client_msg_id, body, at, kind, payload)
      SELECT $1, next.last_seq, $3, $4, $5, $2, $6, $7 FROM next
      RETURNING seq
    ), attached AS (
      UPDATE files f SET message_seq = message.seq FROM message
      WHERE f.id = ANY($8::text[]) AND f.conversation_id = $1 AND f.uploader_id = $3 AND f.message_seq IS NULL
      RETURNING f.id
    )
    SELECT message.seq, (SELECT count(*) FROM attached) AS attached FROM message`,
  /** $1 file ids: what the attachment rule reads (fileRows.ts assertAttachable). */
  attachableFiles: 'SELECT id, conversation_id, uploader_id, message_seq FROM files WHERE id = ANY($1::text[])',
  messageByClientId: `${messageSelect} WHERE m.sender_id = $1 AND m.client_msg_id = $2`,
  messagesAfter: `${messageSelect} WHERE m.conversation_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3`,
  // The inner query takes the newest `limit` below beforeSeq (a backward scan of the key); the outer one returns
  // them oldest first, sorting only that page.
  messagesBefore: `SELECT * FROM (${messageSelect} WHERE m.conversation_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3) page
    ORDER BY seq`,

  setArchived: 'UPDATE conversations SET archived = $2 WHERE id = $1',
  markUnread: 'UPDATE conversations SET marked_unread = true WHERE id = $1',
  /**
   * Deletes the conversation (participants, messages, documents, games, files, mails and outbox jobs go with it: ON
   * DELETE CASCADE) and returns the blobs of its files and mails that nothing else uses, in one statement. Its files
   * are deleted by `gone` so the check can leave exactly them out, as it leaves out the mails of the conversation:
   * within the statement, the snapshot still shows every deleted row. No row when there is no such conversation.
   */
  deleteConversation: `WITH gone AS (
      DELETE FROM files WHERE conversation_id = $1 RETURNING id, blob_id, thumb_blob_id
    ), conversation AS (
      DELETE FROM conversations WHERE id = $1 RETURNING id
    )
    SELECT ${unreferencedBlobs('gone', '$1')} AS blobs FROM conversation`,
} as const;

/**
 * The blobs of the files deleted by CTE `gone` (id, blob_id, thumb_blob_id), and of the mails of conversation
 * `goingConversation` (a placeholder) when given, that nothing else uses, as an array: no other file (as the file or
 * its thumbnail) and no mail of another conversation (as its raw or HTML form). Each NOT EXISTS is an index lookup
 * (files_by_blob, files_by_thumb, mails_by_raw_blob, mails_by_html_blob).
 */
export function unreferencedBlobs(gone: string, goingConversation?: string): string {
  const mailBlobs = goingConversation === undefined ? '' : `
        UNION SELECT raw_blob_id FROM mails WHERE conversation_id = ${goingConversation} AND raw_blob_id IS NOT NULL
        UNION SELECT html_blob_id FROM mails WHERE conversation_id = ${goingConversation} AND html_blob_id IS NOT NULL`;
  const otherMail = goingConversation === undefined ? '' : ` AND m.conversation_id <> ${goingConversation}`;
  return `ARRAY(
      SELECT b.blob FROM (
        SELECT blob_id AS blob FROM ${gone} UNION SELECT thumb_blob_id FROM ${gone} WHERE thumb_blob_id IS NOT NULL${mailBlobs}
      ) b
      WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.blob_id = b.blob AND f.id NOT IN (SELECT id FROM ${gone}))
        AND NOT EXISTS (SELECT 1 FROM files f WHERE f.thumb_blob_id = b.blob AND f.id NOT IN (SELECT id FROM ${gone}))
        AND NOT EXISTS (SELECT 1 FROM mails m WHERE m.raw_blob_id = b.blob${otherMail})
        AND NOT EXISTS (SELECT 1 FROM mails m WHERE m.html_blob_id = b.blob${otherMail})
      ORDER BY b.blob
    )`;
}

/** The owner's inbox through one filter: $1 owner, $2 limit; newest activity first, read from conversations_inbox. */
function inboxSql(filter: InboxFilter): string {
  return `${summarySelect(`c.owner_account_id = $1 AND ${inboxCondition(filter, false)}`, 'join_order')}
    ORDER BY c.updated_at DESC, c.id DESC LIMIT $2`;
}

/**
 * The owner's conversations where every word is found (in a message, the visitor's name, an attached file's name or
 * the subject, not necessarily the same one), through one filter: $1 the words (letters and digits only: searchWords.ts), $2 the
 * same as one tsquery text, 'word1:* | word2:*', $3 owner, $4 limit. Each word is the prefix query 'word:*' of the
 * knock_search configuration (accents and case folded as in the index). $2 finds the candidate rows through the four
 * GIN indexes (it must be a parameter of the statement, not computed from $1 in SQL, so the planner sees a constant
 * tsquery: of one it cannot see, it assumes it matches everything and scans the table); then a conversation is kept
 * when every word hits one of its rows. A word the parser keeps nothing of (an empty tsquery) is left out rather
 * than matching nothing. Run unnamed (PostgresStorage `named`), so every search is planned for its own words.
 */
function searchSql(filter: InboxFilter): string {
  return `WITH words AS (
      SELECT w.ord, to_tsquery('knock_search', w.word || ':*') AS query FROM unnest($1::text[]) WITH ORDINALITY AS w(word, ord)
    ), usable AS (
      SELECT ord, query FROM words WHERE numnode(query) > 0
    ), candidates AS MATERIALIZED (
      SELECT m.conversation_id, m.search AS document FROM messages m WHERE m.search @@ to_tsquery('knock_search', $2::text)
      UNION ALL
      SELECT p.conversation_id, p.name_search FROM participants p
        WHERE p.role = 'visitor' AND p.name_search @@ to_tsquery('knock_search', $2::text)
      UNION ALL
      SELECT f.conversation_id, f.name_search FROM files f
        WHERE f.message_seq IS NOT NULL AND f.name_search @@ to_tsquery('knock_search', $2::text)
      UNION ALL
      SELECT s.id, s.subject_search FROM conversations s
        WHERE s.subject IS NOT NULL AND s.subject_search @@ to_tsquery('knock_search', $2::text)
    ), found AS (
      SELECT h.conversation_id FROM candidates h JOIN usable u ON h.document @@ u.query
      GROUP BY h.conversation_id HAVING count(DISTINCT u.ord) = (SELECT count(*) FROM usable)
    )
    ${summarySelect(`c.owner_account_id = $3 AND c.id IN (SELECT conversation_id FROM found) AND ${inboxCondition(filter, true)}`, 'join_order')}
    ORDER BY c.updated_at DESC, c.id DESC LIMIT $4`;
}

export const inboxSqlOf = Object.fromEntries(inboxFilters.map((f) => [f, inboxSql(f)])) as Record<InboxFilter, string>;
export const searchSqlOf = Object.fromEntries(inboxFilters.map((f) => [f, searchSql(f)])) as Record<InboxFilter, string>;

/** Text is stored as its UTF-8 bytes (BYTEA; see migrations/001_init.sql for why). */
export const encodeText = (text: string): Buffer => Buffer.from(text, 'utf8');
/** Exact inverse of encodeText for well-formed strings, which is all the adapter writes (assertWellFormed). */
export const decodeText = (bytes: Buffer): string => bytes.toString('utf8');

/** Rows to port records, BYTEA text decoded. */
export const { toAccount, toSession, toConversation, toAppendedFacts, toParticipant, toMessage, toSummary } = rowMappers(decodeText);
export const toFile = fileMapper(decodeText);
