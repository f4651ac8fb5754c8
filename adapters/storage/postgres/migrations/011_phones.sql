-- 011: phone numbers as URLs (issue 20; the same model as sqlite/011_phones.sql). A number belongs to one account at a
-- time (its key) and an account has one number (unique); a claim in progress waits for the code sent to the number by
-- SMS, one per account. Both go with the account.
CREATE TABLE phone_numbers (
  number     TEXT COLLATE "C" PRIMARY KEY,
  account_id TEXT COLLATE "C" NOT NULL CONSTRAINT phone_numbers_account_key UNIQUE REFERENCES accounts(id) ON DELETE CASCADE,
  claimed_at BIGINT NOT NULL
);

CREATE TABLE phone_claims (
  account_id TEXT COLLATE "C" PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  number     TEXT COLLATE "C" NOT NULL,
  code_hash  TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  tries      INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL
);
