-- 006: email (issue 17): email conversations (kind, subject, suspicious), the visitor's "no more mail", the reply
-- address of a conversation, the owner's notification mark; the outbox of jobs that go out by another channel; the
-- owner's own address, mail clients' device tokens, and the mails of conversations (threading, raw and HTML forms).

-- `email`: a thread of mail (it came in by email, or the owner pressed "New email"); every conversation made before
-- is a chat. Flags are 0 or 1, as `archived` (005_inbox.sql).
ALTER TABLE conversations ADD COLUMN kind TEXT NOT NULL DEFAULT 'chat' CHECK (kind IN ('chat', 'email'));
ALTER TABLE conversations ADD COLUMN subject TEXT;
-- Its first mail failed DMARC: left out of every list but the `suspicious` one (a search still finds it).
ALTER TABLE conversations ADD COLUMN suspicious INTEGER NOT NULL DEFAULT 0 CHECK (suspicious IN (0, 1));
-- The visitor followed the unsubscribe link: the owner's replies stay in the conversation, none is mailed.
ALTER TABLE conversations ADD COLUMN visitor_email_off INTEGER NOT NULL DEFAULT 0 CHECK (visitor_email_off IN (0, 1));
-- The token of the conversation's reply address (`alice+c-<token>@domain`), made on first use and never changed.
-- Stored as it is, not hashed: unlike a session token it is no secret kept from the visitor (it is mailed to them in
-- every Reply-To) and it only lets a mail into this conversation, as Zulip's missed-message addresses do. UNIQUE
-- through an index: SQLite cannot add a UNIQUE column.
ALTER TABLE conversations ADD COLUMN mail_token TEXT;
CREATE UNIQUE INDEX conversations_by_mail_token ON conversations(mail_token);
-- The notification mark of an offline owner: the highest seq already told by mail, and when (0 and 0: never).
ALTER TABLE conversations ADD COLUMN notify_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN notify_at INTEGER NOT NULL DEFAULT 0;

-- What goes out by another channel (a mail now), kept until the channel confirms it (engine/outbox.ts). A job is
-- `pending` (not tried yet) or `retrying` (at run_at) until it is `sent` or `failed`; while a process works on it, it
-- holds a lease (locked_by until locked_until), and a lease that runs out lets another process claim it again.
CREATE TABLE outbox_jobs (
  id              TEXT PRIMARY KEY,
  kind            TEXT NOT NULL,
  -- Enqueueing a key a second time finds the first job (a retried enqueue, or two processes queueing one thing).
  key             TEXT NOT NULL UNIQUE,
  -- The kind's own fields, as JSON.
  payload         TEXT NOT NULL,
  -- The conversation and message it carries, if any; deleting the conversation deletes its jobs.
  conversation_id TEXT REFERENCES conversations(id) ON DELETE CASCADE,
  message_seq     INTEGER,
  recipient       TEXT,
  state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'retrying', 'sent', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  run_at          INTEGER NOT NULL,
  locked_by       TEXT,
  locked_until    INTEGER,
  last_error      TEXT,
  -- E.g. the Message-ID of the mail sent: a bounce names it.
  ref             TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
-- The claim and nextJobAt read only the jobs still waiting, which stay few however many were sent.
CREATE INDEX outbox_jobs_due ON outbox_jobs(state, run_at) WHERE state IN ('pending', 'retrying');
-- The deliveries of a conversation's messages (conversationJobs), and the cascade of its deletion.
CREATE INDEX outbox_jobs_by_message ON outbox_jobs(conversation_id, message_seq);
-- A bounce finds the job of the mail it answers.
CREATE INDEX outbox_jobs_by_ref ON outbox_jobs(ref) WHERE ref IS NOT NULL;

-- The owner's own address (Settings), for notifications once verified. A new address replaces the token hash, so a
-- link mailed for the old one verifies nothing; the token is cleared once used.
CREATE TABLE account_emails (
  account_id        TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  address           TEXT NOT NULL,
  verify_token_hash TEXT UNIQUE,
  verified_at       INTEGER,
  -- When the address was given.
  set_at            INTEGER NOT NULL
);

-- Mail clients' tokens (`npx knock mail login`), stored as hashes; revoking one deletes it.
CREATE TABLE device_tokens (
  id           TEXT PRIMARY KEY,
  account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  token_hash   TEXT NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER
);
CREATE INDEX device_tokens_by_account ON device_tokens(account_id);

-- The mails of conversations, in and out, by Message-ID (unique per owner account: two owners may both receive one
-- mail): what a reply's In-Reply-To and References are matched with. An inbound mail keeps its raw form and its
-- sanitized HTML in Blobs; a conversation's deletion returns those blobs when nothing else uses them.
CREATE TABLE mails (
  account_id      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  message_id      TEXT NOT NULL,
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  seq             INTEGER NOT NULL,
  raw_blob_id     TEXT,
  html_blob_id    TEXT,
  at              INTEGER NOT NULL,
  UNIQUE (account_id, message_id)
);
-- A conversation's mails in order (mailThread, getMail), and the cascade of its deletion.
CREATE INDEX mails_by_conversation ON mails(conversation_id, seq);
-- "Does any mail still use this blob?", asked for each blob a deletion or a purge frees.
CREATE INDEX mails_by_raw_blob ON mails(raw_blob_id) WHERE raw_blob_id IS NOT NULL;
CREATE INDEX mails_by_html_blob ON mails(html_blob_id) WHERE html_blob_id IS NOT NULL;

-- Search by an email conversation's subject: one row of the index per conversation with a subject, at the end of its
-- range of rowids (seq 2^32 - 1, which no message reaches; 005_inbox.sql: rowid = search_key << 32 | seq). A new
-- conversation gets its search_key by trigger after its insert (005), so its subject enters the index then.
CREATE TRIGGER subjects_enter_search AFTER UPDATE OF search_key ON conversations
  WHEN old.search_key IS NULL AND new.subject IS NOT NULL BEGIN
  INSERT INTO search (rowid, text) VALUES ((new.search_key << 32) | 4294967295, new.subject);
END;

CREATE TRIGGER subjects_changed_in_search AFTER UPDATE OF subject ON conversations
  WHEN new.search_key IS NOT NULL AND old.subject IS NOT new.subject BEGIN
  INSERT INTO search (search, rowid, text)
    SELECT 'delete', (old.search_key << 32) | 4294967295, old.subject WHERE old.subject IS NOT NULL;
  INSERT INTO search (rowid, text)
    SELECT (new.search_key << 32) | 4294967295, new.subject WHERE new.subject IS NOT NULL;
END;

CREATE TRIGGER subjects_leave_search BEFORE DELETE ON conversations WHEN old.subject IS NOT NULL BEGIN
  INSERT INTO search (search, rowid, text) VALUES ('delete', (old.search_key << 32) | 4294967295, old.subject);
END;

-- An email's attachments are searched by name as a file message's are: the view that says what the index holds for a
-- message now reads the files of both kinds. Rows indexed before this migration read the same (there was no `email`
-- message), so removing them later gives FTS5 the text they were indexed with.
DROP VIEW search_messages;
CREATE VIEW search_messages AS
  SELECT m.conversation_id, m.seq,
    CASE WHEN m.kind IN ('file', 'email')
      THEN m.body || IFNULL((SELECT group_concat(char(10) || json_extract(f.value, '$.name'), '' ORDER BY f.key) FROM json_each(m.payload, '$.files') AS f), '')
      ELSE m.body END AS text
  FROM messages m;
