-- 011: phone numbers as URLs (issue 20). A number belongs to one account at a time (its key) and an account has one
-- number (unique); a claim in progress waits for the code sent to the number by SMS, one per account.
-- Both go with the account.
CREATE TABLE phone_numbers (
  number     TEXT PRIMARY KEY,
  account_id TEXT NOT NULL UNIQUE REFERENCES accounts(id) ON DELETE CASCADE,
  claimed_at INTEGER NOT NULL
);

CREATE TABLE phone_claims (
  account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  number     TEXT NOT NULL,
  code_hash  TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  tries      INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
