import { limits, type InboxFilter } from '../../engine/protocol.ts';

/**
 * The SELECTs both SQL adapters run word for word. Each takes its WHERE clause from the adapter, so placeholders
 * ($1 in PostgreSQL, ? in SQLite) stay in the adapter's queries.ts next to the values they bind.
 */

/**
 * Message rows (MessageRow). Sender role and name come from the participant as it is now: a rename shows on old
 * messages too.
 */
export const messageSelect = `SELECT m.seq, m.sender_id, p.role AS sender_role, p.name AS sender_name, m.body, m.at, m.client_msg_id,
    m.kind, m.payload
  FROM messages m JOIN participants p ON p.id = m.sender_id`;

const conversationColumns = `c.id, c.owner_account_id, a.handle AS owner_handle, a.display_name AS owner_name,
      c.last_seq, c.created_at, c.updated_at, c.kind, c.subject, c.visitor_email, c.visitor_email_off, c.started_url, c.started_title`;

/** Conversation rows (ConversationRow), with the owner's handle and display name. */
export function conversationSelect(where: string): string {
  return `SELECT ${conversationColumns}
    FROM conversations c JOIN accounts a ON a.id = c.owner_account_id
    WHERE ${where}`;
}

/**
 * Facts rows (AppendedFactsRow, Storage.appendedFacts): a conversation with what the listeners of its stored messages
 * decide on, in one statement instead of one each. Every sub-select is an index lookup (account_emails' and
 * channels' keys start with the account, sms_threads' conversation is unique, forwards_open_by_conversation).
 * `kindsAgg` is the dialect's way to join the distinct kinds with commas.
 */
export function appendedFactsSelect(where: string, kindsAgg: (column: string) => string): string {
  return `SELECT ${conversationColumns},
      EXISTS (SELECT 1 FROM account_emails e WHERE e.account_id = c.owner_account_id AND e.verified_at IS NOT NULL) AS owner_email_verified,
      (SELECT ${kindsAgg('ch.kind')} FROM channels ch WHERE ch.account_id = c.owner_account_id AND ch.verified_at IS NOT NULL)
        AS verified_channel_kinds,
      (SELECT t.phone FROM sms_threads t WHERE t.conversation_id = c.id) AS sms_phone,
      EXISTS (SELECT 1 FROM forwards f WHERE f.conversation_id = c.id AND f.closed_at IS NULL) AS forward_open
    FROM conversations c JOIN accounts a ON a.id = c.owner_account_id
    WHERE ${where}`;
}

/** The owner's read mark in conversation `c`: messages after it are unread. */
const ownerMark = `COALESCE((SELECT MAX(o.read_seq) FROM participants o WHERE o.conversation_id = c.id AND o.role = 'owner'), 0)`;

/**
 * Summary rows (SummaryRow), one per conversation; every sub-select is an index lookup (participants_by_conversation,
 * the messages (conversation_id, seq) key), so the inbox costs O(limit) lookups plus, per conversation, fewer than
 * `limits.unreadCap` unread messages counted, whatever the total (at the cap nothing is counted: it shows as "99+").
 * The visitor is the first to have joined: `joinOrder` is the participants column that orders joins and that
 * participants_by_conversation already holds after (conversation_id, role), so no sort: `join_order` in PostgreSQL,
 * `rowid` in SQLite. A conversation marked unread with nothing unread shows 1: rows.ts toSummary.
 */
export function summarySelect(where: string, joinOrder: 'join_order' | 'rowid'): string {
  return `SELECT c.id, c.last_seq, c.updated_at, c.archived, c.marked_unread, c.file_count, c.visitor_email,
      c.kind, c.subject, c.suspicious, c.started_url, c.started_title,
      t.phone AS sms_phone, t.shown AS sms_shown, t.via AS sms_via, sp.stopped_at AS sms_stopped_at,
      (SELECT v.name FROM participants v WHERE v.conversation_id = c.id AND v.role = 'visitor' ORDER BY v.${joinOrder} LIMIT 1)
        AS visitor_name,
      m.body AS last_body, m.at AS last_at, s.role AS last_role,
      CASE WHEN c.last_seq - ${ownerMark} >= ${limits.unreadCap} THEN ${limits.unreadCap}
        ELSE (SELECT COUNT(*) FROM messages u JOIN participants up ON up.id = u.sender_id
              WHERE u.conversation_id = c.id AND up.role <> 'owner' AND u.seq > ${ownerMark}) END AS unread
    FROM conversations c
    LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_seq
    LEFT JOIN participants s ON s.id = m.sender_id
    LEFT JOIN sms_threads t ON t.conversation_id = c.id
    LEFT JOIN sms_phones sp ON sp.phone = t.phone
    WHERE ${where}`;
}

/**
 * Which of the owner's conversations an inbox filter keeps (ports/storage.ts listConversations), as a condition on
 * `c`. Archived conversations are left out of every list but the `archived` one, and suspicious ones (their mail
 * failed DMARC) out of every list but the `suspicious` one, which shows them archived or not; except when searching:
 * a search through `all`, `unread` or `files` looks through both too. `unread` stops at the first unread message
 * it finds. TRUE and FALSE read the same in both databases (SQLite stores the flags as 0 and 1).
 */
export function inboxCondition(filter: InboxFilter, searching: boolean): string {
  const shown = searching ? 'TRUE' : 'c.archived = FALSE AND c.suspicious = FALSE';
  switch (filter) {
    case 'all':
      return shown;
    case 'unread':
      return `${shown} AND (c.marked_unread = TRUE OR (c.last_seq > ${ownerMark} AND EXISTS (
        SELECT 1 FROM messages u JOIN participants up ON up.id = u.sender_id
        WHERE u.conversation_id = c.id AND up.role <> 'owner' AND u.seq > ${ownerMark})))`;
    case 'files':
      return `${shown} AND c.file_count > 0`;
    case 'archived':
      return 'c.archived = TRUE AND c.suspicious = FALSE';
    case 'suspicious':
      return 'c.suspicious = TRUE';
    default:
      return assertNever(filter);
  }
}

/** Every inbox filter, so each adapter prepares one statement per filter. */
export const inboxFilters: readonly InboxFilter[] = ['all', 'unread', 'files', 'archived', 'suspicious'];

function assertNever(value: never): never {
  throw new Error(`Unknown inbox filter: ${String(value)}`);
}
