/**
 * What the SQLite and PostgreSQL adapters share of the routing of a company's chats (engine/ports/storage.ts
 * RoutingStorage, 009_routing.sql): the columns read back and the row's mapping. The statements differ only in their
 * placeholders, so each adapter writes its own.
 */
import type { ChatAssignment } from '../../engine/ports/storage.ts';

export const assignmentColumns = 'conversation_id, company_id, operator_id, state, queued_at, assigned_at, ended_at';

export interface AssignmentRow {
  conversation_id: string;
  company_id: string;
  operator_id: string | null;
  state: ChatAssignment['state'];
  queued_at: number;
  assigned_at: number | null;
  ended_at: number | null;
}

export function toAssignment(row: AssignmentRow): ChatAssignment {
  return {
    conversationId: row.conversation_id,
    companyId: row.company_id,
    operatorId: row.operator_id,
    state: row.state,
    queuedAt: row.queued_at,
    assignedAt: row.assigned_at,
    endedAt: row.ended_at,
  };
}

/** The open chats, the longest queued first (conversation id breaking a tie of the same millisecond). */
export const openChatsOrder = 'queued_at, conversation_id';
