/**
 * Blocked visitors (engine/ports/storage.ts VisitorBlockStorage, 018_blocks.sql) as both SQL adapters store them: the
 * row shape and its mapping. `T` is how the visitor's name arrives (TEXT in SQLite, BYTEA in PostgreSQL: rows.ts).
 */
import type { VisitorBlock } from '../../engine/ports/storage.ts';

export const blockColumns = 'id, account_id, conversation_id, visitor_name, address_until, blocked_by, created_at';

export interface BlockRow<T> {
  id: string;
  account_id: string;
  conversation_id: string | null;
  visitor_name: T;
  address_until: number | null;
  blocked_by: string | null;
  created_at: number;
}

export function blockMapper<T>(decodeText: (stored: T) => string): (row: BlockRow<T>) => VisitorBlock {
  return (r) => ({
    id: r.id,
    accountId: r.account_id,
    conversationId: r.conversation_id,
    visitorName: decodeText(r.visitor_name),
    addressUntil: r.address_until === null ? null : Number(r.address_until),
    blockedBy: r.blocked_by,
    createdAt: Number(r.created_at),
  });
}
