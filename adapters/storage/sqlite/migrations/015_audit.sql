-- 015: the account's audit log (issue 22): sign-ins, failures, password and second-factor changes, new devices, each
-- with its time and the address and browser it came from. The owner reads their own; entries go with the account and
-- are purged after KNOCK_AUDIT_RETENTION_DAYS. `detail` is a short JSON object of the kind's own facts (never a secret).
CREATE TABLE audit_log (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  at         INTEGER NOT NULL,
  kind       TEXT NOT NULL,
  ip         TEXT,
  user_agent TEXT,
  detail     TEXT
);
-- The owner's page of entries, newest first; the purge by time.
CREATE INDEX audit_log_by_account ON audit_log(account_id, id);
CREATE INDEX audit_log_by_time ON audit_log(at);
