-- 015: the account's audit log (issue 22; the same model as sqlite/015_audit.sql): sign-ins, failures, password and
-- second-factor changes, new devices, each with its time and the address and browser it came from. Entries go with
-- the account and are purged after KNOCK_AUDIT_RETENTION_DAYS. `detail` is a short JSON object (never a secret).
CREATE TABLE audit_log (
  id         BIGSERIAL PRIMARY KEY,
  account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  at         BIGINT NOT NULL,
  kind       TEXT NOT NULL,
  ip         TEXT,
  user_agent TEXT,
  detail     TEXT
);
CREATE INDEX audit_log_by_account ON audit_log(account_id, id);
CREATE INDEX audit_log_by_time ON audit_log(at);
