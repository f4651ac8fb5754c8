-- 005: the owner's inbox (issue 16): files attached to messages, archiving, "mark as unread", the visitor's email
-- address, and full-text search over message bodies, the visitor's name and the names of attached files.

-- Flags are 0 or 1. A new message clears `archived` (appendMessage); the owner's read receipt clears `marked_unread`.
ALTER TABLE conversations ADD COLUMN archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1));
ALTER TABLE conversations ADD COLUMN marked_unread INTEGER NOT NULL DEFAULT 0 CHECK (marked_unread IN (0, 1));
ALTER TABLE conversations ADD COLUMN visitor_email TEXT;
-- How many files the conversation's messages carry: raised by the append that attaches them, so neither a summary
-- nor the `files` filter counts rows.
ALTER TABLE conversations ADD COLUMN file_count INTEGER NOT NULL DEFAULT 0;
-- The conversation's number in the search index (the high 32 bits of its rows' rowids, see `search`), given once
-- at creation (by trigger: whoever inserts the conversation), one past the highest. Not the conversation's rowid:
-- without an INTEGER PRIMARY KEY, SQLite may renumber rowids (VACUUM). A deleted conversation's number may come
-- back; its rows of the index left with it.
ALTER TABLE conversations ADD COLUMN search_key INTEGER;
UPDATE conversations SET search_key = rowid;
CREATE UNIQUE INDEX conversations_by_search_key ON conversations(search_key);
CREATE TRIGGER conversations_take_search_key AFTER INSERT ON conversations WHEN new.search_key IS NULL BEGIN
  UPDATE conversations SET search_key = (SELECT IFNULL(MAX(search_key), 0) + 1 FROM conversations) WHERE id = new.id;
END;

-- A file uploaded into a conversation; its bytes are in Blobs under blob_id (their SHA-256, so files with the same
-- bytes share a blob). message_seq is set when a message of the uploader's carries it; until then it is unattached
-- and purged after a while (purgeUnattachedFiles).
CREATE TABLE files (
  id              TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  uploader_id     TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
  blob_id         TEXT NOT NULL,
  name            TEXT NOT NULL,
  type            TEXT NOT NULL,
  size            INTEGER NOT NULL,
  -- Images only: the size in pixels, and the thumbnail's blob.
  width           INTEGER,
  height          INTEGER,
  thumb_blob_id   TEXT,
  message_seq     INTEGER,
  created_at      INTEGER NOT NULL,
  FOREIGN KEY (conversation_id, message_seq) REFERENCES messages(conversation_id, seq) ON DELETE CASCADE
);
-- A conversation's files (its removal, the quota's sum), and the message foreign key's lookups.
CREATE INDEX files_by_conversation ON files(conversation_id, message_seq);
-- The participant foreign key's lookups (a participant goes only with its conversation).
CREATE INDEX files_by_uploader ON files(uploader_id);
-- "Does any file still use this blob?", asked for each blob of the files a removal or a purge deletes.
CREATE INDEX files_by_blob ON files(blob_id);
CREATE INDEX files_by_thumb ON files(thumb_blob_id) WHERE thumb_blob_id IS NOT NULL;
-- The purge of unattached files, by age.
CREATE INDEX files_unattached ON files(created_at) WHERE message_seq IS NULL;

-- The search index. Contentless (it keeps no copy of the text, only the index) and without a per-row size table
-- (columnsize=0: nothing ranks results, and that table cost more than the rest of an insert). One row per message
-- (its body, and the names of the files it carries) and one per conversation for the visitor's name. A row's rowid
-- is (conversation's search_key << 32) | seq, seq 0 being the visitor's name: results group per conversation by
-- rowid >> 32. unicode61 with remove_diacritics 2 matches words whatever their case and accents ("Café", "cafe").
CREATE VIRTUAL TABLE search USING fts5(
  text,
  content = '',
  columnsize = 0,
  tokenize = 'unicode61 remove_diacritics 2'
);

-- Messages stored but not in `search` yet, by their rowid there. FTS5 writes a new segment of its index at every
-- commit, which cost an append more than the rest of its work; so an append only adds its message here (in its own
-- transaction, by trigger), and the adapter moves what waits into `search` several hundred at a time, and always
-- before a search reads the index (SqliteStorage indexPending). No search sees the index behind the messages.
CREATE TABLE search_pending (id INTEGER PRIMARY KEY);

-- What the index holds for each message, defined once: a contentless row is removed by giving FTS5 the very text it
-- was indexed with ('delete'), so indexing and removal must read this same view. A file event's payload lists its
-- files ({"files": [{"name": ...}, ...]}, protocol fileRef), in order.
CREATE VIEW search_messages AS
  SELECT m.conversation_id, m.seq,
    CASE WHEN m.kind = 'file'
      THEN m.body || IFNULL((SELECT group_concat(char(10) || json_extract(f.value, '$.name'), '' ORDER BY f.key) FROM json_each(m.payload, '$.files') AS f), '')
      ELSE m.body END AS text
  FROM messages m;

-- The visitor whose name is searched: the first to have joined (as summaries show it).
CREATE VIEW search_visitors AS
  SELECT p.rowid AS participant_rowid, p.conversation_id, p.name
  FROM participants p
  WHERE p.role = 'visitor'
    AND NOT EXISTS (SELECT 1 FROM participants e WHERE e.conversation_id = p.conversation_id AND e.role = 'visitor' AND e.rowid < p.rowid);

CREATE TRIGGER messages_wait_for_search AFTER INSERT ON messages BEGIN
  INSERT INTO search_pending (id) VALUES (((SELECT search_key FROM conversations WHERE id = new.conversation_id) << 32) | new.seq);
END;

-- Visitors' names go into the index at once: one per conversation, not a hot path.
CREATE TRIGGER visitors_enter_search AFTER INSERT ON participants WHEN new.role = 'visitor' BEGIN
  INSERT INTO search (rowid, text)
    SELECT c.search_key << 32, v.name FROM search_visitors v JOIN conversations c ON c.id = v.conversation_id
    WHERE v.participant_rowid = new.rowid;
END;

CREATE TRIGGER visitors_renamed_in_search AFTER UPDATE OF name ON participants WHEN new.role = 'visitor' BEGIN
  INSERT INTO search (search, rowid, text)
    SELECT 'delete', c.search_key << 32, old.name FROM search_visitors v JOIN conversations c ON c.id = v.conversation_id
    WHERE v.participant_rowid = new.rowid;
  INSERT INTO search (rowid, text)
    SELECT c.search_key << 32, v.name FROM search_visitors v JOIN conversations c ON c.id = v.conversation_id
    WHERE v.participant_rowid = new.rowid;
END;

-- BEFORE: the conversation's messages and visitor are still there to say what to remove; its messages still waiting
-- were never indexed, so they only leave search_pending. Whatever deletes a conversation (deleteConversation, or its
-- owner's account through ON DELETE CASCADE) fires it.
CREATE TRIGGER conversations_leave_search BEFORE DELETE ON conversations BEGIN
  INSERT INTO search (search, rowid, text)
    SELECT 'delete', (old.search_key << 32) | s.seq, s.text FROM search_messages s
    WHERE s.conversation_id = old.id
      AND NOT EXISTS (SELECT 1 FROM search_pending p WHERE p.id = (old.search_key << 32) | s.seq);
  INSERT INTO search (search, rowid, text)
    SELECT 'delete', old.search_key << 32, v.name FROM search_visitors v WHERE v.conversation_id = old.id;
  DELETE FROM search_pending WHERE id BETWEEN old.search_key << 32 AND (old.search_key << 32) | 4294967295;
END;

-- What is there already, in rowid order (FTS5 writes a new segment whenever a rowid comes after a larger one).
INSERT INTO search (rowid, text)
  SELECT (c.search_key << 32) | s.seq, s.text FROM search_messages s JOIN conversations c ON c.id = s.conversation_id
  UNION ALL
  SELECT c.search_key << 32, v.name FROM search_visitors v JOIN conversations c ON c.id = v.conversation_id
  ORDER BY 1;
