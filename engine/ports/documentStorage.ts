/**
 * The documents part of the Storage port (DESIGN "Storage": documents as Yjs updates). A document belongs to one
 * conversation; its content is a Yjs snapshot plus the updates appended since, in order. The DocRoom appends every
 * update it accepts and, now and then and when it closes, replaces snapshot + updates by one new snapshot
 * (`compactDocument`), so loading stays quick and storage stays small.
 *
 * Bytes are opaque to the adapter: it stores and returns them exactly.
 */

export interface DocumentRecord {
  id: string;
  conversationId: string;
  /** The participant who created it. */
  createdBy: string;
  title: string;
  createdAt: number;
}

export interface DocumentState {
  /** The last compaction's full state (a Yjs update), or null before the first one. */
  snapshot: Uint8Array | null;
  /** Updates appended after the snapshot, oldest first. */
  updates: Uint8Array[];
  /** Id of the newest update in `updates` (0 when there is none): pass it to compactDocument. */
  lastUpdateId: number;
  /** Bytes held: snapshot plus updates. */
  bytes: number;
}

export interface DocumentStorage {
  /** Creates a document in a conversation; `createdBy` must be a participant of it (else `forbidden`). */
  createDocument(input: { conversationId: string; createdBy: string; title: string; at: number }): Promise<DocumentRecord>;
  getDocument(id: string): Promise<DocumentRecord | null>;
  /** Appends one update; returns its id, greater than every earlier one of the document. `not_found` if no document. */
  appendDocumentUpdate(documentId: string, update: Uint8Array, at: number): Promise<number>;
  loadDocumentState(documentId: string): Promise<DocumentState>;
  /**
   * In one transaction: stores `snapshot` as the document's state and removes its updates with id <= upToUpdateId
   * (those the snapshot includes). Later updates stay. `not_found` if no document.
   */
  compactDocument(documentId: string, snapshot: Uint8Array, upToUpdateId: number, at: number): Promise<void>;
}
