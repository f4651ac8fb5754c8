/**
 * Files (engine/ports/storage.ts FileStorage) in SQLite, on SqliteStorage's connection (005_inbox.sql): uploads,
 * the checks and the write of an attachment (called by SqliteStorage inside an append's transaction), the owner's
 * quota, and which blobs nothing uses any more once files (or a conversation's mails, 006_mail.sql) are deleted: a
 * blob is kept while a file uses it (as the file or its thumbnail) or a mail does (as its raw or HTML form).
 */
import type Database from 'better-sqlite3';
import { KnockError } from '../../../engine/errors.ts';
import type { FileStorage, NewMessage, StoredFile } from '../../../engine/ports/storage.ts';
import type { FileRef } from '../../../engine/protocol.ts';
import { assertAttachable, fileColumns, newFile, type AttachableRow, type FileRow, type NewFile } from '../fileRows.ts';
import { toFile } from './queries.ts';

export class SqliteFiles implements FileStorage {
  private readonly q;

  constructor(private readonly db: Database.Database) {
    this.q = {
      uploader: db.prepare<[string], { conversation_id: string }>('SELECT conversation_id FROM participants WHERE id = ?'),
      conversationExists: db.prepare<[string], { found: number }>('SELECT 1 AS found FROM conversations WHERE id = ?'),
      insert: db.prepare<[string, string, string, string, string, string, number, number | null, number | null, string | null, null, number]>(
        `INSERT INTO files (${fileColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      byId: db.prepare<[string], FileRow<string>>(`SELECT ${fileColumns} FROM files WHERE id = ?`),
      // The ids come as one JSON array: one statement for the up to 50 files of a message.
      attachable: db.prepare<[string], AttachableRow>(
        'SELECT id, conversation_id, uploader_id, message_seq FROM files WHERE id IN (SELECT value FROM json_each(?))',
      ),
      attach: db.prepare<[number, string]>('UPDATE files SET message_seq = ? WHERE id = ? AND message_seq IS NULL'),
      ownerBytes: db.prepare<[string], { bytes: number }>(
        `SELECT IFNULL(SUM(f.size), 0) AS bytes FROM conversations c JOIN files f ON f.conversation_id = c.id
         WHERE c.owner_account_id = ?`,
      ),
      // Every blob of the conversation: its files' and thumbnails', and its mails' raw and HTML forms.
      blobsOfConversation: db.prepare<{ id: string }, { blob: string }>(
        `SELECT blob_id AS blob FROM files WHERE conversation_id = @id
         UNION SELECT thumb_blob_id FROM files WHERE conversation_id = @id AND thumb_blob_id IS NOT NULL
         UNION SELECT raw_blob_id FROM mails WHERE conversation_id = @id AND raw_blob_id IS NOT NULL
         UNION SELECT html_blob_id FROM mails WHERE conversation_id = @id AND html_blob_id IS NOT NULL`,
      ),
      purge: db.prepare<[number], BlobsRow>(
        'DELETE FROM files WHERE message_seq IS NULL AND created_at < ? RETURNING blob_id, thumb_blob_id',
      ),
      // Each NOT EXISTS is a lookup in an index: files_by_blob, files_by_thumb, mails_by_raw_blob, mails_by_html_blob.
      unreferenced: db.prepare<[string], { blob: string }>(
        `SELECT value AS blob FROM json_each(?)
         WHERE NOT EXISTS (SELECT 1 FROM files WHERE blob_id = value) AND NOT EXISTS (SELECT 1 FROM files WHERE thumb_blob_id = value)
           AND NOT EXISTS (SELECT 1 FROM mails WHERE raw_blob_id = value) AND NOT EXISTS (SELECT 1 FROM mails WHERE html_blob_id = value)
         ORDER BY value`,
      ),
    };
  }

  async createFile(input: NewFile): Promise<StoredFile> {
    const file = newFile(input);
    const create = this.db.transaction(() => {
      const uploader = this.q.uploader.get(file.uploaderId);
      if (!uploader || uploader.conversation_id !== file.conversationId) {
        if (!this.q.conversationExists.get(file.conversationId)) throw new KnockError('not_found', 'There is no such conversation.');
        throw new KnockError('forbidden', 'Only a participant of the conversation can upload a file to it.');
      }
      this.q.insert.run(
        file.id, file.conversationId, file.uploaderId, file.blobId, file.name, file.type, file.size,
        file.image?.width ?? null, file.image?.height ?? null, file.thumbBlobId, null, file.createdAt,
      );
    });
    create.immediate();
    return file;
  }

  async getFile(id: string): Promise<StoredFile | null> {
    const row = this.q.byId.get(id);
    return row ? toFile(row) : null;
  }

  async ownerFileBytes(ownerAccountId: string): Promise<number> {
    return this.q.ownerBytes.get(ownerAccountId)?.bytes ?? 0;
  }

  async purgeUnattachedFiles(before: number): Promise<string[]> {
    const purge = this.db.transaction(() => this.unreferencedOf(this.q.purge.all(before).flatMap((row) => [row.blob_id, row.thumb_blob_id])));
    return purge.immediate();
  }

  /** Inside an append's transaction, before it writes: throws why `files` cannot be attached to `input`, if they cannot. */
  checkAttachable(input: NewMessage, files: readonly FileRef[]): void {
    assertAttachable(input, files, this.q.attachable.all(JSON.stringify(files.map((f) => f.id))));
  }

  /** Inside the append's transaction, after its message is written: the files now belong to message `seq`. */
  attach(files: readonly FileRef[], seq: number): void {
    for (const file of files) {
      // checkAttachable found each unattached, in this same transaction: nothing else can have attached it since.
      if (this.q.attach.run(seq, file.id).changes !== 1) throw new Error(`File ${file.id} could not be attached.`);
    }
  }

  /** Inside a transaction, before the conversation is deleted: the blobs its files and mails use. */
  blobsOf(conversationId: string): string[] {
    return this.q.blobsOfConversation.all({ id: conversationId }).map((r) => r.blob);
  }

  /** Inside the transaction that deleted what used `blobs` (nulls skipped): those that nothing uses any more. */
  unreferencedOf(blobs: ReadonlyArray<string | null>): string[] {
    const distinct = [...new Set(blobs.filter((blob) => blob !== null))];
    if (distinct.length === 0) return [];
    return this.q.unreferenced.all(JSON.stringify(distinct)).map((r) => r.blob);
  }
}

interface BlobsRow {
  blob_id: string;
  thumb_blob_id: string | null;
}
