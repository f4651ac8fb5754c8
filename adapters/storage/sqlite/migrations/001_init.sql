-- 001: accounts, sessions, conversations, participants, messages.
-- Times are INTEGER milliseconds since the epoch. Secrets (session and conversation tokens) are stored only as hashes.

CREATE TABLE accounts (
  id            TEXT PRIMARY KEY,
  handle        TEXT NOT NULL UNIQUE,
  display_name  TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
-- deleteSessionsOf and the account cascade look sessions up by account.
CREATE INDEX sessions_by_account ON sessions(account_id);

CREATE TABLE conversations (
  id               TEXT PRIMARY KEY,
  owner_account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  token_hash       TEXT NOT NULL UNIQUE,
  -- The seq of the newest message; appendMessage increments it in the same transaction as the insert.
  last_seq         INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
);
-- The owner's inbox: newest activity first, read with LIMIT, so the index must give that order without a sort.
CREATE INDEX conversations_inbox ON conversations(owner_account_id, updated_at DESC, id DESC);

CREATE TABLE participants (
  id              TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  role            TEXT NOT NULL CHECK (role IN ('owner', 'visitor')),
  -- The owner's account; NULL for anonymous visitors. SET NULL, not CASCADE: a visitor who later gets an account
  -- and deletes it must not delete someone else's conversation.
  account_id      TEXT REFERENCES accounts(id) ON DELETE SET NULL,
  name            TEXT NOT NULL,
  delivered_seq   INTEGER NOT NULL DEFAULT 0,
  read_seq        INTEGER NOT NULL DEFAULT 0
);
-- Summaries look up "the visitor" and "the owner" of a conversation.
CREATE INDEX participants_by_conversation ON participants(conversation_id, role);
CREATE INDEX participants_by_account ON participants(account_id);

CREATE TABLE messages (
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  seq             INTEGER NOT NULL,
  sender_id       TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
  client_msg_id   TEXT NOT NULL,
  body            TEXT NOT NULL,
  at              INTEGER NOT NULL,
  -- One message per seq: a second writer with the same seq fails instead of forking the history.
  UNIQUE (conversation_id, seq),
  -- Idempotent sends: a retried clientMsgId finds the original.
  UNIQUE (sender_id, client_msg_id)
);
