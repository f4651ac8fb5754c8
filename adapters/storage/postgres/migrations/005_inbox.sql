-- 005: the owner's inbox (issue 16; the same model as sqlite/005_inbox.sql): files attached to messages, archiving,
-- "mark as unread", the visitor's email address, and full-text search over message bodies, the visitor's name and
-- the names of attached files.

-- A new message clears `archived` (appendMessage); the owner's read receipt clears `marked_unread`. The email is
-- text a person wrote: BYTEA, like names (001_init.sql). Constant defaults: no table rewrite for these columns.
ALTER TABLE conversations
  ADD COLUMN archived BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN marked_unread BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN visitor_email BYTEA,
  -- How many files the conversation's messages carry: raised by the append that attaches them, so neither a
  -- summary nor the `files` filter counts rows.
  ADD COLUMN file_count BIGINT NOT NULL DEFAULT 0;

-- The text search configuration of the index and of queries: `simple` (every word kept, lower-cased, no stemming,
-- no stop words), with accents removed first when the `unaccent` extension can be had (below).
CREATE TEXT SEARCH CONFIGURATION knock_search (COPY = pg_catalog.simple);

-- unaccent ships with PostgreSQL's contrib and is a trusted extension (13+): the database's owner may create it, no
-- superuser needed. It is used if it is installed already (in any schema), or if this role can create it in `public`
-- (not in Knock's schema: dropping that schema would take the extension, and every other schema's index, with it).
-- Otherwise search still ignores case, but not accents; create the extension and re-index to change that
-- (adapters/storage/README.md).
DO $$
DECLARE
  extension_schema name;
BEGIN
  SELECT n.nspname INTO extension_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'unaccent';
  IF extension_schema IS NULL THEN
    BEGIN
      CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;
    EXCEPTION WHEN OTHERS THEN
      -- Not installed on the server, no right to create it, no `public` schema, or another process created it at
      -- the same moment (then it is there now): looked up again below either way. PostgresStorage.open warns when
      -- search ends up without it.
      RAISE NOTICE 'unaccent could not be created (%): search will not ignore accents', SQLERRM;
    END;
    SELECT n.nspname INTO extension_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'unaccent';
  END IF;
  IF extension_schema IS NOT NULL THEN
    EXECUTE format(
      'ALTER TEXT SEARCH CONFIGURATION knock_search ALTER MAPPING FOR word, numword, hword, numhword, hword_part, hword_numpart WITH %I.unaccent, simple',
      extension_schema
    );
  END IF;
END
$$;

-- The text of a BYTEA column (UTF-8 that may hold NUL, 001_init.sql) as the index reads it: NUL bytes become spaces
-- (TEXT cannot hold them), and so does ASCII punctuation, so that words split where SQLite's tokenizer splits them
-- (PostgreSQL's parser would keep "invoice-march_2024.pdf" or "ann@example.com" as one word that only its first
-- word's prefix finds). IMMUTABLE though convert_from is STABLE: it only depends on the database's encoding, which
-- never changes (UTF8, checked at open), and generated columns need IMMUTABLE. PL/pgSQL, not SQL: an SQL function
-- that cannot be inlined is planned again in every statement that calls it, which cost an append more than the rest
-- of its work; PL/pgSQL keeps its plans for the connection.
CREATE FUNCTION search_text(bytes bytea) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
DECLARE
  nul integer := position('\x00'::bytea IN bytes);
BEGIN
  WHILE nul > 0 LOOP
    bytes := overlay(bytes PLACING '\x20'::bytea FROM nul FOR 1);
    nul := position('\x00'::bytea IN bytes);
  END LOOP;
  RETURN translate(convert_from(bytes, 'UTF8'), '!"#$%&''()*+,-./:;<=>?@[\]^_`{|}~', '                                ');
END
$fn$;

-- A file uploaded into a conversation; its bytes are in Blobs under blob_id (their SHA-256, so files with the same
-- bytes share a blob). message_seq is set when a message of the uploader's carries it; until then it is unattached
-- and purged after a while (purgeUnattachedFiles). The name is text a person wrote: BYTEA.
CREATE TABLE files (
  id              TEXT COLLATE "C" PRIMARY KEY,
  conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  uploader_id     TEXT COLLATE "C" NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
  blob_id         TEXT COLLATE "C" NOT NULL,
  name            BYTEA NOT NULL,
  type            TEXT NOT NULL,
  size            BIGINT NOT NULL,
  -- Images only: the size in pixels, and the thumbnail's blob.
  width           INTEGER,
  height          INTEGER,
  thumb_blob_id   TEXT COLLATE "C",
  message_seq     BIGINT,
  created_at      BIGINT NOT NULL,
  name_search     tsvector GENERATED ALWAYS AS (to_tsvector('knock_search', search_text(name))) STORED,
  CONSTRAINT files_message_fkey FOREIGN KEY (conversation_id, message_seq) REFERENCES messages(conversation_id, seq) ON DELETE CASCADE
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
-- Search by the names of attached files.
CREATE INDEX files_search ON files USING gin (name_search) WHERE message_seq IS NOT NULL;

-- Search by message bodies and by the visitor's name: a generated column each (computed from the row as it is
-- written, so it cannot fall behind), indexed with GIN. Adding them rewrites the tables, which indexes the rows
-- already there.
ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('knock_search', search_text(body))) STORED;
CREATE INDEX messages_search ON messages USING gin (search);
ALTER TABLE participants ADD COLUMN name_search tsvector GENERATED ALWAYS AS (to_tsvector('knock_search', search_text(name))) STORED;
CREATE INDEX participants_search ON participants USING gin (name_search) WHERE role = 'visitor';
