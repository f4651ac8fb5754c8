/**
 * Documents (engine/ports/documentStorage.ts) in PostgreSQL, on the adapter's pool. Titles are BYTEA (UTF-8 bytes,
 * like names and bodies); snapshots and updates are BYTEA as they come.
 */
import type pg from 'pg';
import { KnockError } from '../../../engine/errors.ts';
import type { DocumentRecord, DocumentState, DocumentStorage } from '../../../engine/ports/documentStorage.ts';
import { asBuffer, assertWellFormed, newId, noDocument } from '../common.ts';
import { SqlState, asStorageError, isViolation, runStatement } from './databaseErrors.ts';
import { decodeText, encodeText } from './queries.ts';

interface DocumentRow {
  id: string;
  conversation_id: string;
  created_by: string;
  title: Buffer;
  created_at: number;
}

const sql = {
  // Inserts only when the creator is a participant of that conversation; no row back means it is not.
  insert: `INSERT INTO documents (id, conversation_id, created_by, title, created_at)
           SELECT $1, p.conversation_id, p.id, $4, $5 FROM participants p WHERE p.id = $3 AND p.conversation_id = $2
           RETURNING id`,
  conversationExists: 'SELECT 1 FROM conversations WHERE id = $1',
  byId: 'SELECT id, conversation_id, created_by, title, created_at FROM documents WHERE id = $1',
  appendUpdate: 'INSERT INTO document_updates (document_id, data, at) VALUES ($1, $2, $3) RETURNING id',
  snapshot: 'SELECT snapshot FROM documents WHERE id = $1',
  updates: 'SELECT id, data FROM document_updates WHERE document_id = $1 ORDER BY id',
  // One statement, so one transaction: the snapshot and the removal of what it includes land together.
  compact: `WITH doc AS (UPDATE documents SET snapshot = $2, snapshot_at = $4 WHERE id = $1 RETURNING id),
                 gone AS (DELETE FROM document_updates WHERE document_id IN (SELECT id FROM doc) AND id <= $3)
            SELECT count(*)::int AS found FROM doc`,
} as const;

const toDocument = (row: DocumentRow): DocumentRecord => ({
  id: row.id,
  conversationId: row.conversation_id,
  createdBy: row.created_by,
  title: decodeText(row.title),
  createdAt: row.created_at,
});

export class PostgresDocuments implements DocumentStorage {
  constructor(private readonly pool: pg.Pool) {}

  async createDocument(input: { conversationId: string; createdBy: string; title: string; at: number }): Promise<DocumentRecord> {
    assertWellFormed(input.title, 'The title');
    const id = newId();
    const inserted = await this.run(sql.insert, [id, input.conversationId, input.createdBy, encodeText(input.title), input.at]);
    if (inserted.rowCount === 0) {
      const exists = await this.run(sql.conversationExists, [input.conversationId]);
      if (exists.rowCount === 0) throw new KnockError('not_found', 'There is no such conversation.');
      throw new KnockError('forbidden', 'Only a participant of the conversation can create a document in it.');
    }
    return { id, conversationId: input.conversationId, createdBy: input.createdBy, title: input.title, createdAt: input.at };
  }

  async getDocument(id: string): Promise<DocumentRecord | null> {
    const row = (await this.run<DocumentRow>(sql.byId, [id])).rows[0];
    return row ? toDocument(row) : null;
  }

  async appendDocumentUpdate(documentId: string, update: Uint8Array, at: number): Promise<number> {
    const result = await this.run<{ id: number }>(sql.appendUpdate, [documentId, asBuffer(update), at], (err) =>
      isViolation(err, SqlState.foreignKeyViolation) ? noDocument() : undefined,
    );
    return result.rows[0]!.id;
  }

  async loadDocumentState(documentId: string): Promise<DocumentState> {
    // One connection, one REPEATABLE READ transaction: the snapshot and the updates are of the same moment.
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const doc = (await client.query<{ snapshot: Buffer | null }>(sql.snapshot, [documentId])).rows[0];
      const rows = doc ? (await client.query<{ id: number; data: Buffer }>(sql.updates, [documentId])).rows : [];
      await client.query('COMMIT');
      if (!doc) throw noDocument();
      const snapshot = doc.snapshot === null ? null : new Uint8Array(doc.snapshot);
      const updates = rows.map((r) => new Uint8Array(r.data));
      const bytes = (snapshot?.byteLength ?? 0) + updates.reduce((n, u) => n + u.byteLength, 0);
      return { snapshot, updates, lastUpdateId: rows.at(-1)?.id ?? 0, bytes };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw asStorageError(err);
    } finally {
      client.release();
    }
  }

  async compactDocument(documentId: string, snapshot: Uint8Array, upToUpdateId: number, at: number): Promise<void> {
    const result = await this.run<{ found: number }>(sql.compact, [documentId, asBuffer(snapshot), upToUpdateId, at]);
    if ((result.rows[0]?.found ?? 0) === 0) throw noDocument();
  }

  private run<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values: unknown[],
    refine?: (err: unknown) => KnockError | undefined,
  ): Promise<pg.QueryResult<R>> {
    return runStatement<R>(this.pool, { text, values }, refine);
  }
}

