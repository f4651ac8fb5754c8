-- 006: email (issue 17; the same model as sqlite/006_mail.sql): email conversations (kind, subject, suspicious), the
-- visitor's "no more mail", the reply address of a conversation, the owner's notification mark; the outbox of jobs
-- that go out by another channel; the owner's own address, mail clients' device tokens, and the mails of
-- conversations (threading, raw and HTML forms).

-- `email`: a thread of mail (it came in by email, or the owner pressed "New email"); every conversation made before
-- is a chat. The subject is text a person wrote: BYTEA, like names (001_init.sql), and searched like them (005).
ALTER TABLE conversations
  ADD COLUMN kind TEXT COLLATE "C" NOT NULL DEFAULT 'chat' CONSTRAINT conversations_kind_check CHECK (kind IN ('chat', 'email')),
  ADD COLUMN subject BYTEA,
  -- Its first mail failed DMARC: left out of every list but the `suspicious` one (a search still finds it).
  ADD COLUMN suspicious BOOLEAN NOT NULL DEFAULT false,
  -- The visitor followed the unsubscribe link: the owner's replies stay in the conversation, none is mailed.
  ADD COLUMN visitor_email_off BOOLEAN NOT NULL DEFAULT false,
  -- The token of the conversation's reply address (`alice+c-<token>@domain`), made on first use and never changed.
  -- Stored as it is, not hashed: unlike a session token it is no secret kept from the visitor (it is mailed to them
  -- in every Reply-To) and it only lets a mail into this conversation, as Zulip's missed-message addresses do.
  ADD COLUMN mail_token TEXT COLLATE "C" CONSTRAINT conversations_mail_token_key UNIQUE,
  -- The notification mark of an offline owner: the highest seq already told by mail, and when (0 and 0: never).
  ADD COLUMN notify_seq BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN notify_at BIGINT NOT NULL DEFAULT 0,
  -- Search by the subject (NULL without one). A stored generated column: adding it rewrites `conversations`, one
  -- row per conversation, far smaller than the messages 005 rewrote.
  ADD COLUMN subject_search tsvector GENERATED ALWAYS AS (to_tsvector('knock_search', search_text(subject))) STORED;
CREATE INDEX conversations_subject_search ON conversations USING gin (subject_search) WHERE subject IS NOT NULL;

-- What goes out by another channel (a mail now), kept until the channel confirms it (engine/outbox.ts). A job is
-- `pending` (not tried yet) or `retrying` (at run_at) until it is `sent` or `failed`; while a process works on it, it
-- holds a lease (locked_by until locked_until), and a lease that runs out lets another process claim it again.
-- Recipient and error are TEXT: an address the engine checked and a relay's answer, not text kept byte for byte.
CREATE TABLE outbox_jobs (
  id              TEXT COLLATE "C" PRIMARY KEY,
  kind            TEXT COLLATE "C" NOT NULL,
  -- Enqueueing a key a second time finds the first job (a retried enqueue, or two processes queueing one thing).
  key             TEXT COLLATE "C" NOT NULL CONSTRAINT outbox_jobs_key_key UNIQUE,
  -- The kind's own fields, as JSON text (returned as written, not re-serialized as jsonb would).
  payload         TEXT NOT NULL,
  -- The conversation and message it carries, if any; deleting the conversation deletes its jobs.
  conversation_id TEXT COLLATE "C" REFERENCES conversations(id) ON DELETE CASCADE,
  message_seq     BIGINT,
  recipient       TEXT,
  state           TEXT COLLATE "C" NOT NULL DEFAULT 'pending'
    CONSTRAINT outbox_jobs_state_check CHECK (state IN ('pending', 'retrying', 'sent', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  run_at          BIGINT NOT NULL,
  locked_by       TEXT COLLATE "C",
  locked_until    BIGINT,
  last_error      TEXT,
  -- E.g. the Message-ID of the mail sent: a bounce names it.
  ref             TEXT COLLATE "C",
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL
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
  account_id        TEXT COLLATE "C" PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  address           BYTEA NOT NULL,
  verify_token_hash TEXT COLLATE "C" CONSTRAINT account_emails_verify_token_hash_key UNIQUE,
  verified_at       BIGINT,
  -- When the address was given.
  set_at            BIGINT NOT NULL
);

-- Mail clients' tokens (`npx knock mail login`), stored as hashes; revoking one deletes it.
CREATE TABLE device_tokens (
  id           TEXT COLLATE "C" PRIMARY KEY,
  account_id   TEXT COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name         BYTEA NOT NULL,
  token_hash   TEXT COLLATE "C" NOT NULL CONSTRAINT device_tokens_token_hash_key UNIQUE,
  created_at   BIGINT NOT NULL,
  last_used_at BIGINT
);
CREATE INDEX device_tokens_by_account ON device_tokens(account_id);

-- The mails of conversations, in and out, by Message-ID (unique per owner account: two owners may both receive one
-- mail): what a reply's In-Reply-To and References are matched with. An inbound mail keeps its raw form and its
-- sanitized HTML in Blobs; a conversation's deletion returns those blobs when nothing else uses them.
CREATE TABLE mails (
  account_id      TEXT COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  message_id      TEXT COLLATE "C" NOT NULL,
  conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  seq             BIGINT NOT NULL,
  raw_blob_id     TEXT COLLATE "C",
  html_blob_id    TEXT COLLATE "C",
  at              BIGINT NOT NULL,
  CONSTRAINT mails_account_message_id_key UNIQUE (account_id, message_id)
);
-- A conversation's mails in order (mailThread, getMail), and the cascade of its deletion.
CREATE INDEX mails_by_conversation ON mails(conversation_id, seq);
-- "Does any mail still use this blob?", asked for each blob a deletion or a purge frees.
CREATE INDEX mails_by_raw_blob ON mails(raw_blob_id) WHERE raw_blob_id IS NOT NULL;
CREATE INDEX mails_by_html_blob ON mails(html_blob_id) WHERE html_blob_id IS NOT NULL;
