/**
 * The owner's inbox of issue 16 in PostgreSQL, on the adapter's pool: the filtered list, search (the tsvector columns
 * and GIN indexes of 005_inbox.sql), archiving, "mark as unread" and deleting a conversation. One statement each.
 */
import type pg from 'pg';
import type { KnockError } from '../../../engine/errors.ts';
import type { ConversationSummary, InboxFilter } from '../../../engine/protocol.ts';
import { rowLimit } from '../common.ts';
import type { SummaryRow } from '../rows.ts';
import { searchWords } from '../searchWords.ts';
import { inboxSqlOf, searchSqlOf, sql, toSummary } from './queries.ts';

/** How the adapter runs one of its statements (PostgresStorage.run: named, errors mapped). */
export type RunStatement = <R extends pg.QueryResultRow = pg.QueryResultRow>(
  text: string,
  values: unknown[],
  refine?: (err: unknown) => KnockError | undefined,
) => Promise<pg.QueryResult<R>>;

export class PostgresInbox {
  constructor(private readonly run: RunStatement) {}

  async listConversations(ownerAccountId: string, opts: { limit: number; filter?: InboxFilter; query?: string }): Promise<ConversationSummary[]> {
    const filter = opts.filter ?? 'all';
    const words = searchWords(opts.query);
    const result = words.length === 0
      ? await this.run<SummaryRow<Buffer>>(inboxSqlOf[filter], [ownerAccountId, rowLimit(opts.limit)])
      : await this.run<SummaryRow<Buffer>>(searchSqlOf[filter], [words, words.map((w) => `${w}:*`).join(' | '), ownerAccountId, rowLimit(opts.limit)]);
    return result.rows.map(toSummary);
  }

  async setArchived(conversationId: string, archived: boolean): Promise<boolean> {
    return ((await this.run(sql.setArchived, [conversationId, archived])).rowCount ?? 0) > 0;
  }

  async markUnread(conversationId: string): Promise<boolean> {
    return ((await this.run(sql.markUnread, [conversationId])).rowCount ?? 0) > 0;
  }

  async deleteConversation(conversationId: string): Promise<string[] | null> {
    return (await this.run<{ blobs: string[] }>(sql.deleteConversation, [conversationId])).rows[0]?.blobs ?? null;
  }
}
