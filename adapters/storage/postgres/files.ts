/**
 * Files (engine/ports/storage.ts FileStorage) in PostgreSQL, on the adapter's pool (005_inbox.sql): uploads, the
 * owner's quota, and the purge of unattached uploads. Attaching is part of an append (PostgresStorage.appendOn).
 */
import type pg from 'pg';
import { KnockError } from '../../../engine/errors.ts';
import type { FileStorage, StoredFile } from '../../../engine/ports/storage.ts';
import { fileColumns, newFile, type FileRow, type NewFile } from '../fileRows.ts';
import { SqlState, isViolation, runStatement } from './databaseErrors.ts';
import { encodeText, toFile, unreferencedBlobs } from './queries.ts';

const sql = {
  // Inserts only when the uploader is a participant of that conversation; no row back means it is not.
  insert: `INSERT INTO files (${fileColumns})
    SELECT $1, p.conversation_id, p.id, $4, $5, $6, $7, $8, $9, $10, NULL, $11 FROM participants p WHERE p.id = $3 AND p.conversation_id = $2
    RETURNING id`,
  conversationExists: 'SELECT 1 FROM conversations WHERE id = $1',
  byId: `SELECT ${fileColumns} FROM files WHERE id = $1`,
  ownerBytes: `SELECT COALESCE(SUM(f.size), 0)::bigint AS bytes FROM conversations c JOIN files f ON f.conversation_id = c.id
    WHERE c.owner_account_id = $1`,
  // One statement: the files and the check of their blobs see the same moment (queries.ts unreferencedBlobs).
  purge: `WITH gone AS (
      DELETE FROM files WHERE message_seq IS NULL AND created_at < $1 RETURNING id, blob_id, thumb_blob_id
    )
    SELECT ${unreferencedBlobs('gone')} AS blobs`,
} as const;

export class PostgresFiles implements FileStorage {
  constructor(private readonly pool: pg.Pool) {}

  async createFile(input: NewFile): Promise<StoredFile> {
    const file = newFile(input);
    const inserted = await this.run(sql.insert, [
      file.id, file.conversationId, file.uploaderId, file.blobId, encodeText(file.name), file.type, file.size,
      file.image?.width ?? null, file.image?.height ?? null, file.thumbBlobId, file.createdAt,
    ], (err) => (isViolation(err, SqlState.foreignKeyViolation) ? new KnockError('not_found', 'There is no such conversation.') : undefined));
    if (inserted.rowCount === 0) {
      if ((await this.run(sql.conversationExists, [file.conversationId])).rowCount === 0) {
        throw new KnockError('not_found', 'There is no such conversation.');
      }
      throw new KnockError('forbidden', 'Only a participant of the conversation can upload a file to it.');
    }
    return file;
  }

  async getFile(id: string): Promise<StoredFile | null> {
    const row = (await this.run<FileRow<Buffer>>(sql.byId, [id])).rows[0];
    return row ? toFile(row) : null;
  }

  async ownerFileBytes(ownerAccountId: string): Promise<number> {
    return (await this.run<{ bytes: number }>(sql.ownerBytes, [ownerAccountId])).rows[0]?.bytes ?? 0;
  }

  async purgeUnattachedFiles(before: number): Promise<string[]> {
    return (await this.run<{ blobs: string[] }>(sql.purge, [before])).rows[0]?.blobs ?? [];
  }

  private run<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values: unknown[],
    refine?: (err: unknown) => KnockError | undefined,
  ): Promise<pg.QueryResult<R>> {
    return runStatement<R>(this.pool, { text, values }, refine);
  }
}
