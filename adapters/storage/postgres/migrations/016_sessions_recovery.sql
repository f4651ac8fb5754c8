-- 016: account safety (issue 22; the same model as sqlite/016_sessions_recovery.sql). Sessions an owner can see and
-- end: a public id (random, never derived from the token hash), the client's address and User-Agent at sign-in, and
-- when it was last used. Sessions made before get an id here and count as last seen when they were made.
ALTER TABLE sessions ADD COLUMN id TEXT COLLATE "C";
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET id = replace(gen_random_uuid()::text, '-', ''), last_seen_at = created_at;
ALTER TABLE sessions ALTER COLUMN id SET NOT NULL;
CREATE UNIQUE INDEX sessions_by_id ON sessions(id);

-- Password recovery links (`/_/reset#<token>`), kept only as the token's hash: single use (taking one deletes it), a
-- newer link of the account deletes the older ones, expired ones are purged with the expired sessions.
CREATE TABLE password_resets (
  token_hash TEXT COLLATE "C" CONSTRAINT password_resets_pkey PRIMARY KEY,
  account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX password_resets_by_account ON password_resets(account_id);
CREATE INDEX password_resets_by_expiry ON password_resets(expires_at);
