-- 001: accounts, sessions, conversations, participants, messages (PostgreSQL; the same model as sqlite/001_init.sql).
-- Times are BIGINT milliseconds since the epoch. Secrets (session and conversation tokens) are stored only as hashes.
-- Ids and other machine-made strings are TEXT COLLATE "C": compared and ordered byte by byte, as SQLite does,
-- whatever the database's locale (and "C" comparisons are the cheapest).
-- Text a person writes (display names, participant names, message bodies) is BYTEA holding its UTF-8 bytes:
-- PostgreSQL TEXT cannot hold U+0000, and Knock stores text byte-exact. Read it with convert_from(body, 'UTF8').
-- Constraints that the adapter maps to errors are named here, so the mapping does not depend on generated names.

CREATE TABLE accounts (
  id            TEXT COLLATE "C" PRIMARY KEY,
  handle        TEXT COLLATE "C" NOT NULL CONSTRAINT accounts_handle_key UNIQUE,
  display_name  BYTEA NOT NULL,
  password_hash TEXT NOT NULL,
  created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
  token_hash TEXT COLLATE "C" CONSTRAINT sessions_pkey PRIMARY KEY,
  account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
-- deleteSessionsOf and the account cascade look sessions up by account.
CREATE INDEX sessions_by_account ON sessions(account_id);

CREATE TABLE conversations (
  id               TEXT COLLATE "C" PRIMARY KEY,
  owner_account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  token_hash       TEXT COLLATE "C" NOT NULL CONSTRAINT conversations_token_hash_key UNIQUE,
  -- The seq of the newest message; appendMessage increments it in the statement that inserts the message, and
  -- the row lock this UPDATE takes is what serialises concurrent appends to one conversation.
  last_seq         BIGINT NOT NULL DEFAULT 0,
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL
);
-- The owner's inbox: newest activity first, read with LIMIT, so the index must give that order without a sort.
CREATE INDEX conversations_inbox ON conversations(owner_account_id, updated_at DESC, id DESC);

CREATE TABLE participants (
  id              TEXT COLLATE "C" PRIMARY KEY,
  conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  role            TEXT COLLATE "C" NOT NULL CHECK (role IN ('owner', 'visitor')),
  -- The owner's account; NULL for anonymous visitors. SET NULL, not CASCADE: a visitor who later gets an account
  -- and deletes it must not delete someone else's conversation.
  account_id      TEXT COLLATE "C" REFERENCES accounts(id) ON DELETE SET NULL,
  name            BYTEA NOT NULL,
  delivered_seq   BIGINT NOT NULL DEFAULT 0,
  read_seq        BIGINT NOT NULL DEFAULT 0,
  -- Join order (SQLite uses its rowid): "the visitor" of a conversation is the first visitor to have joined.
  join_order      BIGINT GENERATED ALWAYS AS IDENTITY
);
-- Summaries look up "the visitor" (first by join order) and "the owner" of a conversation.
CREATE INDEX participants_by_conversation ON participants(conversation_id, role, join_order);
-- The ON DELETE SET NULL of an account finds its participants through this index.
CREATE INDEX participants_by_account ON participants(account_id);

CREATE TABLE messages (
  conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  seq             BIGINT NOT NULL,
  sender_id       TEXT COLLATE "C" NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
  client_msg_id   TEXT COLLATE "C" NOT NULL,
  body            BYTEA NOT NULL,
  at              BIGINT NOT NULL,
  -- One message per seq: a second writer with the same seq fails instead of forking the history. History pages
  -- (seq > n, seq < n) are range scans of this key.
  CONSTRAINT messages_pkey PRIMARY KEY (conversation_id, seq),
  -- Idempotent sends: a retried clientMsgId finds the original; a concurrent one fails here and is answered with it.
  CONSTRAINT messages_sender_client_msg_id_key UNIQUE (sender_id, client_msg_id)
);
