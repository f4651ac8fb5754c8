/**
 * What exporting and deleting an account reads and does (engine/ports/storage.ts AccountDataStorage, issue 22) in
 * PostgreSQL, on the adapter's pool. The account goes in one transaction: the blobs of its conversations' files and
 * mails are read, the account is deleted (everything of it goes by ON DELETE CASCADE), then of those blobs the ones no
 * file and no mail references any more are returned. Under READ COMMITTED the last check sees every other
 * transaction's committed files, so a blob another account's file uses now is kept.
 *
 * @example
 *   Object.assign(this, accountDataMethods(new PostgresAccountData(run, pool)));
 */
import type pg from 'pg';
import type { AccountDataStorage, StoredFile } from '../../../engine/ports/storage.ts';
import { fileColumns, type FileRow } from '../fileRows.ts';
import { asStorageError } from './databaseErrors.ts';
import type { RunStatement } from './inbox.ts';
import { poolTransaction } from './poolTransaction.ts';
import { toFile } from './queries.ts';

const sql = {
  conversationIds: 'SELECT id FROM conversations WHERE owner_account_id = $1 ORDER BY created_at, id',
  filesOf: `SELECT ${fileColumns} FROM files WHERE conversation_id = $1 ORDER BY created_at, id`,
  sessionHashes: 'SELECT token_hash FROM sessions WHERE account_id = $1',
  // Every blob of the account's conversations: its files' and thumbnails', its mails' raw and HTML forms.
  blobsOf: `SELECT f.blob_id AS blob FROM files f JOIN conversations c ON c.id = f.conversation_id WHERE c.owner_account_id = $1
    UNION SELECT f.thumb_blob_id FROM files f JOIN conversations c ON c.id = f.conversation_id WHERE c.owner_account_id = $1 AND f.thumb_blob_id IS NOT NULL
    UNION SELECT m.raw_blob_id FROM mails m JOIN conversations c ON c.id = m.conversation_id WHERE c.owner_account_id = $1 AND m.raw_blob_id IS NOT NULL
    UNION SELECT m.html_blob_id FROM mails m JOIN conversations c ON c.id = m.conversation_id WHERE c.owner_account_id = $1 AND m.html_blob_id IS NOT NULL`,
  remove: 'DELETE FROM accounts WHERE id = $1',
  // Each NOT EXISTS is an index lookup (files_by_blob, files_by_thumb, mails_by_raw_blob, mails_by_html_blob).
  unreferenced: `SELECT b.blob FROM unnest($1::text[]) AS b(blob)
    WHERE NOT EXISTS (SELECT 1 FROM files WHERE blob_id = b.blob) AND NOT EXISTS (SELECT 1 FROM files WHERE thumb_blob_id = b.blob)
      AND NOT EXISTS (SELECT 1 FROM mails WHERE raw_blob_id = b.blob) AND NOT EXISTS (SELECT 1 FROM mails WHERE html_blob_id = b.blob)
    ORDER BY b.blob`,
} as const;

export class PostgresAccountData implements AccountDataStorage {
  constructor(
    private readonly run: RunStatement,
    /** For the removal: three statements in one transaction. */
    private readonly pool: pg.Pool,
  ) {}

  async conversationIdsOf(accountId: string): Promise<string[]> {
    return (await this.run<{ id: string }>(sql.conversationIds, [accountId])).rows.map((r) => r.id);
  }

  async filesOf(conversationId: string): Promise<StoredFile[]> {
    return (await this.run<FileRow<Buffer>>(sql.filesOf, [conversationId])).rows.map(toFile);
  }

  async sessionHashesOf(accountId: string): Promise<string[]> {
    return (await this.run<{ token_hash: string }>(sql.sessionHashes, [accountId])).rows.map((r) => r.token_hash);
  }

  async purgeAccount(accountId: string): Promise<string[] | null> {
    try {
      return await poolTransaction(this.pool, async (client) => {
        const blobs = (await client.query<{ blob: string }>(sql.blobsOf, [accountId])).rows.map((r) => r.blob);
        if (((await client.query(sql.remove, [accountId])).rowCount ?? 0) === 0) return null;
        if (blobs.length === 0) return [];
        return (await client.query<{ blob: string }>(sql.unreferenced, [blobs])).rows.map((r) => r.blob);
      });
    } catch (err) {
      throw asStorageError(err);
    }
  }
}
