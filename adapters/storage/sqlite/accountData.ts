/**
 * What exporting and deleting an account reads and does (engine/ports/storage.ts AccountDataStorage, issue 22) in
 * SQLite, on SqliteStorage's connection. The account goes in one immediate transaction that first reads the blobs of
 * its conversations' files and mails, then deletes the account (everything of it goes by ON DELETE CASCADE), then
 * keeps of those blobs the ones nothing references any more (SqliteFiles.unreferencedOf): another account's file with
 * the same bytes keeps its blob.
 *
 * @example
 *   Object.assign(this, accountDataMethods(new SqliteAccountData(db, files)));
 */
import type Database from 'better-sqlite3';
import type { AccountDataStorage, StoredFile } from '../../../engine/ports/storage.ts';
import { fileColumns, type FileRow } from '../fileRows.ts';
import type { SqliteFiles } from './files.ts';
import { toFile } from './queries.ts';

export class SqliteAccountData implements AccountDataStorage {
  private readonly q;

  constructor(
    private readonly db: Database.Database,
    private readonly files: SqliteFiles,
  ) {
    this.q = {
      conversationIds: db.prepare<[string], { id: string }>('SELECT id FROM conversations WHERE owner_account_id = ? ORDER BY created_at, rowid'),
      filesOf: db.prepare<[string], FileRow<string>>(`SELECT ${fileColumns} FROM files WHERE conversation_id = ? ORDER BY created_at, rowid`),
      sessionHashes: db.prepare<[string], { token_hash: string }>('SELECT token_hash FROM sessions WHERE account_id = ?'),
      remove: db.prepare<[string]>('DELETE FROM accounts WHERE id = ?'),
    };
  }

  async conversationIdsOf(accountId: string): Promise<string[]> {
    return this.q.conversationIds.all(accountId).map((r) => r.id);
  }

  async filesOf(conversationId: string): Promise<StoredFile[]> {
    return this.q.filesOf.all(conversationId).map(toFile);
  }

  async sessionHashesOf(accountId: string): Promise<string[]> {
    return this.q.sessionHashes.all(accountId).map((r) => r.token_hash);
  }

  async purgeAccount(accountId: string): Promise<string[] | null> {
    const purge = this.db.transaction((): string[] | null => {
      const blobs = this.q.conversationIds.all(accountId).flatMap((c) => this.files.blobsOf(c.id));
      if (this.q.remove.run(accountId).changes === 0) return null;
      return this.files.unreferencedOf(blobs);
    });
    return purge.immediate();
  }
}
