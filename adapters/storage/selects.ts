import { limits } from '../../engine/protocol.ts';

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

/** Conversation rows (ConversationRow), with the owner's handle and display name. */
export function conversationSelect(where: string): string {
  return `SELECT c.id, c.owner_account_id, a.handle AS owner_handle, a.display_name AS owner_name,
      c.last_seq, c.created_at, c.updated_at
    FROM conversations c JOIN accounts a ON a.id = c.owner_account_id
    WHERE ${where}`;
}

/**
 * Summary rows (SummaryRow), one per conversation; every sub-select is an index lookup (participants_by_conversation,
 * the messages (conversation_id, seq) key), so the inbox costs O(limit) lookups plus, per conversation, fewer than
 * `limits.unreadCap` unread messages counted, whatever the total (at the cap nothing is counted: it shows as "99+").
 * The visitor is the first to have joined: `joinOrder` is the participants column that orders joins and that
 * participants_by_conversation already holds after (conversation_id, role), so no sort: `join_order` in PostgreSQL,
 * `rowid` in SQLite.
 */
export function summarySelect(where: string, joinOrder: 'join_order' | 'rowid'): string {
  const ownerMark = `COALESCE((SELECT MAX(o.read_seq) FROM participants o WHERE o.conversation_id = c.id AND o.role = 'owner'), 0)`;
  return `SELECT c.id, c.last_seq, c.updated_at,
      (SELECT v.name FROM participants v WHERE v.conversation_id = c.id AND v.role = 'visitor' ORDER BY v.${joinOrder} LIMIT 1)
        AS visitor_name,
      m.body AS last_body, m.at AS last_at, s.role AS last_role,
      CASE WHEN c.last_seq - ${ownerMark} >= ${limits.unreadCap} THEN ${limits.unreadCap}
        ELSE (SELECT COUNT(*) FROM messages u JOIN participants up ON up.id = u.sender_id
              WHERE u.conversation_id = c.id AND up.role <> 'owner' AND u.seq > ${ownerMark}) END AS unread
    FROM conversations c
    LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_seq
    LEFT JOIN participants s ON s.id = m.sender_id
    WHERE ${where}`;
}
