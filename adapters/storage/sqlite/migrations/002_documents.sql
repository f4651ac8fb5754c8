-- 002: co-edited documents (Yjs). A document belongs to a conversation; its content is a snapshot (the state at the
-- last compaction, a Yjs update) plus the updates appended since, in id order.

CREATE TABLE documents (
  id              TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  created_by      TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
  title           TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  snapshot        BLOB,
  snapshot_at     INTEGER
);
CREATE INDEX documents_by_conversation ON documents(conversation_id);

CREATE TABLE document_updates (
  -- AUTOINCREMENT: ids never come back after a compaction deleted the newest ones.
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  data        BLOB NOT NULL,
  at          INTEGER NOT NULL
);
CREATE INDEX document_updates_by_document ON document_updates(document_id, id);
