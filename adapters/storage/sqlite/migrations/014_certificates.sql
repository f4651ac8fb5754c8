-- 014: TLS certificates of own domains (issue 21, adapters/acme/README.md). One row per active domain that Knock has
-- ordered (or is ordering) a certificate for: the chain and its key once issued, when it is renewed, the failures
-- since the last success with the next try (backoff) and the last error, and a lease so that one process at a time
-- orders a name (every process shares this table). A domain removed takes its certificate with it.
CREATE TABLE certificates (
  name        TEXT PRIMARY KEY REFERENCES domains(name) ON DELETE CASCADE,
  chain_pem   TEXT,
  key_pem     TEXT,
  not_before  INTEGER,
  not_after   INTEGER,
  renew_at    INTEGER NOT NULL DEFAULT 0,
  failures    INTEGER NOT NULL DEFAULT 0,
  next_try_at INTEGER NOT NULL DEFAULT 0,
  last_error  TEXT,
  lease_owner TEXT,
  lease_until INTEGER NOT NULL DEFAULT 0,
  updated_at  INTEGER NOT NULL,
  CHECK ((chain_pem IS NULL) = (key_pem IS NULL))
);
