-- 017: two-factor sign-in (issue 22): an authenticator app (TOTP), recovery codes, passkeys (WebAuthn), and the
-- short-lived login tickets and WebAuthn challenges of a sign-in, kept here rather than in a process's memory because
-- several processes behind a balancer share them (a challenge made by one is answered at another). Everything goes
-- with the account.

-- The TOTP secret (RFC 6238) in base32, as the app holds it. It is stored as it is, NOT encrypted at rest: whoever reads
-- the database can compute codes (they still need the password). Pending (confirmed_at NULL) until a first code
-- confirms it; last_step is the last time step a code was accepted for, so a code is never accepted twice.
CREATE TABLE totp_secrets (
  account_id   TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  secret       TEXT NOT NULL,
  confirmed_at INTEGER,
  last_step    INTEGER NOT NULL DEFAULT -1,
  created_at   INTEGER NOT NULL
);

-- Single-use recovery codes, only as hashes; a code used is deleted.
CREATE TABLE recovery_codes (
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  code_hash  TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, code_hash)
);

-- Passkeys: the credential's id and COSE public key (base64url), its signature counter, its transports (a JSON array)
-- and the name its owner gave it. A credential is one account's.
CREATE TABLE passkeys (
  id            TEXT PRIMARY KEY,
  account_id    TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  credential_id TEXT NOT NULL UNIQUE,
  public_key    TEXT NOT NULL,
  counter       INTEGER NOT NULL,
  transports    TEXT NOT NULL,
  name          TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  last_used_at  INTEGER
);
CREATE INDEX passkeys_by_account ON passkeys(account_id, created_at);

-- A login ticket (the password was right, a second factor is due) or a WebAuthn challenge: keyed by the hash of its
-- id (a bearer secret), with the account it is for (none for a passkey sign-in, which finds its account by the
-- credential), the challenge the browser signs and the relying party it was made for (JSON: the RP ID and origins the
-- answer must come from), and the answers counted against it. Gone after 5 minutes.
CREATE TABLE second_factor_challenges (
  id_hash       TEXT PRIMARY KEY,
  kind          TEXT NOT NULL,
  account_id    TEXT REFERENCES accounts(id) ON DELETE CASCADE,
  challenge     TEXT,
  relying_party TEXT,
  tries         INTEGER NOT NULL DEFAULT 0,
  expires_at    INTEGER NOT NULL,
  created_at    INTEGER NOT NULL
);
CREATE INDEX second_factor_challenges_by_expiry ON second_factor_challenges(expires_at);

-- Wrong second-factor answers of an account, each at its time: at most rateLimits.secondFactorTries of them in its
-- window, counted here so that every process counts the same ones.
CREATE TABLE second_factor_failures (
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  at         INTEGER NOT NULL
);
CREATE INDEX second_factor_failures_by_account ON second_factor_failures(account_id, at);
