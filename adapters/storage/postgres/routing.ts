/**
 * Routing of a company's chats (engine/ports/storage.ts RoutingStorage, issue 19) in PostgreSQL, on the adapter's
 * pool (009_routing.sql). Every change is one statement: a chat is queued once, assigned while open, ended once.
 *
 * @example
 *   Object.assign(this, routingMethods(new PostgresRouting(run)));
 */
import { KnockError } from '../../../engine/errors.ts';
import type { ChatAssignment, RoutingStorage } from '../../../engine/ports/storage.ts';
import { assignmentColumns, openChatsOrder, toAssignment, type AssignmentRow } from '../routingRows.ts';
import { SqlState, isViolation } from './databaseErrors.ts';
import type { RunStatement } from './inbox.ts';

export const routingSql = {
  queue: `INSERT INTO chat_assignments (conversation_id, company_id, state, queued_at) VALUES ($1, $2, 'queued', $3)
    ON CONFLICT (conversation_id) DO NOTHING`,
  // $1 conversation, $2 operator, $3 at.
  assign: `UPDATE chat_assignments SET state = 'assigned', operator_id = $2, assigned_at = $3
    WHERE conversation_id = $1 AND state <> 'ended' RETURNING ${assignmentColumns}`,
  end: `UPDATE chat_assignments SET state = 'ended', ended_at = $2 WHERE conversation_id = $1 AND state <> 'ended'`,
  // $1 conversation, $2 at.
  reopen: `UPDATE chat_assignments SET state = 'queued', operator_id = NULL, queued_at = $2, assigned_at = NULL, ended_at = NULL
    WHERE conversation_id = $1 AND state = 'ended' RETURNING ${assignmentColumns}`,
  get: `SELECT ${assignmentColumns} FROM chat_assignments WHERE conversation_id = $1`,
  open: `SELECT ${assignmentColumns} FROM chat_assignments WHERE company_id = $1 AND state IN ('queued', 'assigned')
    ORDER BY ${openChatsOrder}`,
} as const;

const missing = (what: string) => (err: unknown): KnockError | undefined =>
  isViolation(err, SqlState.foreignKeyViolation) ? new KnockError('not_found', `There is no such ${what}.`) : undefined;

export class PostgresRouting implements RoutingStorage {
  constructor(private readonly run: RunStatement) {}

  async queueChat(conversationId: string, companyId: string, at: number): Promise<boolean> {
    const queued = await this.run(routingSql.queue, [conversationId, companyId, at], missing('conversation or company'));
    return (queued.rowCount ?? 0) > 0;
  }

  async assignChat(conversationId: string, operatorAccountId: string, at: number): Promise<ChatAssignment | null> {
    const row = (await this.run<AssignmentRow>(routingSql.assign, [conversationId, operatorAccountId, at], missing('account'))).rows[0];
    return row ? toAssignment(row) : null;
  }

  async endChat(conversationId: string, at: number): Promise<boolean> {
    return ((await this.run(routingSql.end, [conversationId, at])).rowCount ?? 0) > 0;
  }

  async reopenChat(conversationId: string, at: number): Promise<ChatAssignment | null> {
    const row = (await this.run<AssignmentRow>(routingSql.reopen, [conversationId, at])).rows[0];
    return row ? toAssignment(row) : null;
  }

  async getChatAssignment(conversationId: string): Promise<ChatAssignment | null> {
    const row = (await this.run<AssignmentRow>(routingSql.get, [conversationId])).rows[0];
    return row ? toAssignment(row) : null;
  }

  async openChats(companyId: string): Promise<ChatAssignment[]> {
    return (await this.run<AssignmentRow>(routingSql.open, [companyId])).rows.map(toAssignment);
  }
}
