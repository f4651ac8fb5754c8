/**
 * Routing of a company's chats (engine/ports/storage.ts RoutingStorage, issue 19) in SQLite, on SqliteStorage's
 * connection (009_routing.sql). Every change is one statement: a chat is queued once, assigned while open, ended once.
 *
 * @example
 *   Object.assign(this, routingMethods(new SqliteRouting(db)));
 */
import type Database from 'better-sqlite3';
import { KnockError } from '../../../engine/errors.ts';
import type { ChatAssignment, RoutingStorage } from '../../../engine/ports/storage.ts';
import { assignmentColumns, openChatsOrder, toAssignment, type AssignmentRow } from '../routingRows.ts';
import { isConstraint } from './constraints.ts';

/** Routing's statements (exported so tests can EXPLAIN the text the adapter runs). */
export const routingSql = {
  queue: `INSERT INTO chat_assignments (conversation_id, company_id, state, queued_at) VALUES (?, ?, 'queued', ?)
    ON CONFLICT (conversation_id) DO NOTHING`,
  assign: `UPDATE chat_assignments SET state = 'assigned', operator_id = ?, assigned_at = ?
    WHERE conversation_id = ? AND state <> 'ended' RETURNING ${assignmentColumns}`,
  end: `UPDATE chat_assignments SET state = 'ended', ended_at = ? WHERE conversation_id = ? AND state <> 'ended'`,
  reopen: `UPDATE chat_assignments SET state = 'queued', operator_id = NULL, queued_at = ?, assigned_at = NULL, ended_at = NULL
    WHERE conversation_id = ? AND state = 'ended' RETURNING ${assignmentColumns}`,
  get: `SELECT ${assignmentColumns} FROM chat_assignments WHERE conversation_id = ?`,
  open: `SELECT ${assignmentColumns} FROM chat_assignments WHERE company_id = ? AND state IN ('queued', 'assigned')
    ORDER BY ${openChatsOrder}`,
} as const;

export class SqliteRouting implements RoutingStorage {
  private readonly q;

  constructor(db: Database.Database) {
    this.q = {
      queue: db.prepare<[string, string, number]>(routingSql.queue),
      assign: db.prepare<[string, number, string], AssignmentRow>(routingSql.assign),
      end: db.prepare<[number, string]>(routingSql.end),
      reopen: db.prepare<[number, string], AssignmentRow>(routingSql.reopen),
      get: db.prepare<[string], AssignmentRow>(routingSql.get),
      open: db.prepare<[string], AssignmentRow>(routingSql.open),
    };
  }

  async queueChat(conversationId: string, companyId: string, at: number): Promise<boolean> {
    try {
      return this.q.queue.run(conversationId, companyId, at).changes > 0;
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw new KnockError('not_found', 'There is no such conversation or company.');
      throw err;
    }
  }

  async assignChat(conversationId: string, operatorAccountId: string, at: number): Promise<ChatAssignment | null> {
    try {
      const row = this.q.assign.get(operatorAccountId, at, conversationId);
      return row ? toAssignment(row) : null;
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw new KnockError('not_found', 'There is no such account.');
      throw err;
    }
  }

  async endChat(conversationId: string, at: number): Promise<boolean> {
    return this.q.end.run(at, conversationId).changes > 0;
  }

  async reopenChat(conversationId: string, at: number): Promise<ChatAssignment | null> {
    const row = this.q.reopen.get(at, conversationId);
    return row ? toAssignment(row) : null;
  }

  async getChatAssignment(conversationId: string): Promise<ChatAssignment | null> {
    const row = this.q.get.get(conversationId);
    return row ? toAssignment(row) : null;
  }

  async openChats(companyId: string): Promise<ChatAssignment[]> {
    return this.q.open.all(companyId).map(toAssignment);
  }
}
