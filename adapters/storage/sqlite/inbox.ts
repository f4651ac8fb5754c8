/**
 * The owner's inbox of issue 16 in SQLite, on SqliteStorage's connection: the filtered list, search (FTS5, table
 * `search` of 005_inbox.sql), archiving, "mark as unread" and deleting a conversation. Also keeps the search index
 * caught up: appends only queue their message for it (search_pending), and indexPending moves the queue into it.
 */
import type Database from 'better-sqlite3';
import type { ConversationSummary, InboxFilter } from '../../../engine/protocol.ts';
import { rowLimit } from '../common.ts';
import type { SummaryRow } from '../rows.ts';
import { searchWords } from '../searchWords.ts';
import type { SqliteFiles } from './files.ts';
import { inboxSql, inboxSqlOf, searchSqlOf, toSummary } from './queries.ts';

/** How SqliteStorage commits a write that nobody waits for, and holds back reads until what they show is durable. */
export interface InboxDurability {
  /** Runs `write` (one transaction) without waiting for its commit to reach the disk. */
  commitUnsynced(write: () => void): void;
  visible<T>(value: T): Promise<T> | T;
}

/** One prepared statement per inbox filter. */
function perFilter<S>(prepare: (filter: InboxFilter) => S): Record<InboxFilter, S> {
  return {
    all: prepare('all'), unread: prepare('unread'), files: prepare('files'), archived: prepare('archived'), suspicious: prepare('suspicious'),
  };
}

export class SqliteInbox {
  private readonly q;
  private readonly indexPendingTx: Database.Transaction<() => void>;

  constructor(
    private readonly db: Database.Database,
    private readonly files: SqliteFiles,
    private readonly durability: InboxDurability,
  ) {
    this.q = {
      list: perFilter((filter) => db.prepare<[string, number], SummaryRow<string>>(inboxSqlOf[filter])),
      search: perFilter((filter) => db.prepare<[string, string, number], SummaryRow<string>>(searchSqlOf[filter])),
      setArchived: db.prepare<[number, string]>(inboxSql.setArchived),
      markUnread: db.prepare<[string]>(inboxSql.markUnread),
      deleteConversation: db.prepare<[string]>(inboxSql.deleteConversation),
      anyPending: db.prepare<[], { found: number }>(inboxSql.anyPending),
      indexPending: db.prepare(inboxSql.indexPending),
      clearPending: db.prepare(inboxSql.clearPending),
    };
    this.indexPendingTx = db.transaction(() => {
      this.q.indexPending.run();
      this.q.clearPending.run();
    });
  }

  async listConversations(ownerAccountId: string, opts: { limit: number; filter?: InboxFilter; query?: string }): Promise<ConversationSummary[]> {
    const filter = opts.filter ?? 'all';
    const words = searchWords(opts.query);
    if (words.length === 0) return this.durability.visible(this.q.list[filter].all(ownerAccountId, rowLimit(opts.limit)).map(toSummary));
    this.indexPending();
    // FTS5's query syntax: a word in double quotes is only text, and `*` after it matches the words it starts.
    const queries = JSON.stringify(words.map((w) => `"${w}"*`));
    return this.durability.visible(this.q.search[filter].all(queries, ownerAccountId, rowLimit(opts.limit)).map(toSummary));
  }

  async setArchived(conversationId: string, archived: boolean): Promise<boolean> {
    return this.q.setArchived.run(archived ? 1 : 0, conversationId).changes > 0;
  }

  async markUnread(conversationId: string): Promise<boolean> {
    return this.q.markUnread.run(conversationId).changes > 0;
  }

  /** The blobs of its files and mails that nothing else uses are returned (SqliteFiles.unreferencedOf). */
  async deleteConversation(conversationId: string): Promise<string[] | null> {
    const remove = this.db.transaction((): string[] | null => {
      const blobs = this.files.blobsOf(conversationId);
      if (this.q.deleteConversation.run(conversationId).changes === 0) return null;
      return this.files.unreferencedOf(blobs);
    });
    return remove.immediate();
  }

  /**
   * Moves the messages waiting for the search index into it, in one transaction. Not synced before returning: if a
   * crash takes the move back, the messages are waiting again, and the next move indexes them.
   */
  indexPending(): void {
    if (!this.q.anyPending.get()) return;
    this.durability.commitUnsynced(() => this.indexPendingTx.immediate());
  }
}
