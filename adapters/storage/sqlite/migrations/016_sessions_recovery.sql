-- 016: account safety (issue 22). Sessions an owner can see and end (Settings → Sessions): each gets a public id (what
-- the console and the CLI name it by; random, never derived from the token hash), the client's address and
-- User-Agent at sign-in, and when it was last used (refreshed at most every few minutes, engine/auth.ts). Sessions
-- made before get an id here and count as last seen when they were made.
ALTER TABLE sessions ADD COLUMN id TEXT;
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET id = lower(hex(randomblob(16))), last_seen_at = created_at;
-- UNIQUE through an index: SQLite cannot add a UNIQUE column. The adapter always sets it.
CREATE UNIQUE INDEX sessions_by_id ON sessions(id);

-- Password recovery links (`/_/reset#<token>`), kept only as the token's hash: single use (taking one deletes it), a
-- newer link of the account deletes the older ones, expired ones are purged with the expired sessions.
CREATE TABLE password_resets (
  token_hash TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX password_resets_by_account ON password_resets(account_id);
CREATE INDEX password_resets_by_expiry ON password_resets(expires_at);
