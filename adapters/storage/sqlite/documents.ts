/**
 * Documents (engine/ports/documentStorage.ts) in SQLite: the same connection as SqliteStorage, its own statements.
 * Updates and compactions are made durable as messages are (SqliteStorage's `commitDurably`: committed without a
 * sync in the call, then the WAL synced in the thread pool before the promise resolves), so a burst of typing never
 * stops the event loop on the disk; a document is read only once what was committed before is durable.
 */
import type Database from 'better-sqlite3';
import { KnockError } from '../../../engine/errors.ts';
import type { DocumentRecord, DocumentState, DocumentStorage } from '../../../engine/ports/documentStorage.ts';
import { asBuffer, assertWellFormed, newId, noDocument } from '../common.ts';

interface DocumentRow {
  id: string;
  conversation_id: string;
  created_by: string;
  title: string;
  created_at: number;
}

const toDocument = (row: DocumentRow): DocumentRecord => ({
  id: row.id,
  conversationId: row.conversation_id,
  createdBy: row.created_by,
  title: row.title,
  createdAt: row.created_at,
});

/** How SqliteStorage makes a write durable, and holds back reads until what they could show is. */
export interface Durability {
  commit(write: () => void): Promise<void> | void;
  visible<T>(value: T): Promise<T> | T;
}

export class SqliteDocuments implements DocumentStorage {
  private readonly q;

  constructor(
    private readonly db: Database.Database,
    private readonly durability: Durability,
  ) {
    this.q = {
      participant: db.prepare<[string], { conversation_id: string }>('SELECT conversation_id FROM participants WHERE id = ?'),
      conversationExists: db.prepare<[string], { found: number }>('SELECT 1 AS found FROM conversations WHERE id = ?'),
      insert: db.prepare<[string, string, string, string, number]>(
        'INSERT INTO documents (id, conversation_id, created_by, title, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      byId: db.prepare<[string], DocumentRow>('SELECT id, conversation_id, created_by, title, created_at FROM documents WHERE id = ?'),
      exists: db.prepare<[string], { found: number }>('SELECT 1 AS found FROM documents WHERE id = ?'),
      appendUpdate: db.prepare<[string, Buffer, number]>('INSERT INTO document_updates (document_id, data, at) VALUES (?, ?, ?)'),
      snapshot: db.prepare<[string], { snapshot: Buffer | null }>('SELECT snapshot FROM documents WHERE id = ?'),
      updates: db.prepare<[string], { id: number; data: Buffer }>('SELECT id, data FROM document_updates WHERE document_id = ? ORDER BY id'),
      setSnapshot: db.prepare<[Buffer, number, string]>('UPDATE documents SET snapshot = ?, snapshot_at = ? WHERE id = ?'),
      dropUpdates: db.prepare<[string, number]>('DELETE FROM document_updates WHERE document_id = ? AND id <= ?'),
    };
  }

  async createDocument(input: { conversationId: string; createdBy: string; title: string; at: number }): Promise<DocumentRecord> {
    assertWellFormed(input.title, 'The title');
    const create = this.db.transaction((): DocumentRecord => {
      const creator = this.q.participant.get(input.createdBy);
      if (!this.q.conversationExists.get(input.conversationId)) throw new KnockError('not_found', 'There is no such conversation.');
      if (!creator || creator.conversation_id !== input.conversationId) {
        throw new KnockError('forbidden', 'Only a participant of the conversation can create a document in it.');
      }
      const doc: DocumentRecord = { id: newId(), conversationId: input.conversationId, createdBy: input.createdBy, title: input.title, createdAt: input.at };
      this.q.insert.run(doc.id, doc.conversationId, doc.createdBy, doc.title, doc.createdAt);
      return doc;
    });
    return create.immediate();
  }

  async getDocument(id: string): Promise<DocumentRecord | null> {
    const row = this.q.byId.get(id);
    return row ? toDocument(row) : null;
  }

  async appendDocumentUpdate(documentId: string, update: Uint8Array, at: number): Promise<number> {
    let id = 0;
    const append = this.db.transaction(() => {
      if (!this.q.exists.get(documentId)) throw noDocument();
      id = Number(this.q.appendUpdate.run(documentId, asBuffer(update), at).lastInsertRowid);
    });
    await this.durability.commit(() => append.immediate());
    return id;
  }

  async loadDocumentState(documentId: string): Promise<DocumentState> {
    const read = this.db.transaction((): DocumentState => {
      const doc = this.q.snapshot.get(documentId);
      if (!doc) throw noDocument();
      const rows = this.q.updates.all(documentId);
      const snapshot = doc.snapshot === null ? null : new Uint8Array(doc.snapshot);
      const updates = rows.map((r) => new Uint8Array(r.data));
      const bytes = (snapshot?.byteLength ?? 0) + updates.reduce((n, u) => n + u.byteLength, 0);
      return { snapshot, updates, lastUpdateId: rows.at(-1)?.id ?? 0, bytes };
    });
    return this.durability.visible(read());
  }

  async compactDocument(documentId: string, snapshot: Uint8Array, upToUpdateId: number, at: number): Promise<void> {
    const compact = this.db.transaction(() => {
      if (this.q.setSnapshot.run(asBuffer(snapshot), at, documentId).changes === 0) throw noDocument();
      this.q.dropUpdates.run(documentId, upToUpdateId);
    });
    await this.durability.commit(() => compact.immediate());
  }
}

