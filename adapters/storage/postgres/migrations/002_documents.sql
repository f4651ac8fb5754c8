-- 002: co-edited documents (Yjs). A document belongs to a conversation; its content is a snapshot (the state at the
-- last compaction, a Yjs update) plus the updates appended since, in id order. Titles are BYTEA like every text
-- a person writes (001_init.sql): UTF-8 bytes, NUL included.

CREATE TABLE documents (
  id              TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  created_by      TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
  title           BYTEA NOT NULL,
  created_at      BIGINT NOT NULL,
  snapshot        BYTEA,
  snapshot_at     BIGINT
);
CREATE INDEX documents_by_conversation ON documents(conversation_id);

CREATE TABLE document_updates (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  data        BYTEA NOT NULL,
  at          BIGINT NOT NULL
);
CREATE INDEX document_updates_by_document ON document_updates(document_id, id);
