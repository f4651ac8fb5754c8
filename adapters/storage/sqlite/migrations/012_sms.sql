-- 012: SMS conversations (issue 20). A thread is one phone's conversation with one owner (one per pair), and says how
-- the phone reached the owner: Knock's service number or the owner's own claimed number, so replies leave from the
-- number the phone wrote to. `shown` is the number as the owner reads it (formatted by the engine when it was made).
-- A phone's state: the owner it texts now, its STOP (kept when accounts go: it is the phone's word, not an owner's),
-- and when Knock last answered it by itself (usage, HELP), so automatic answers come at most once per interval.
CREATE TABLE sms_threads (
  phone           TEXT NOT NULL,
  account_id      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  conversation_id TEXT NOT NULL UNIQUE REFERENCES conversations(id) ON DELETE CASCADE,
  via             TEXT NOT NULL CHECK (via IN ('service', 'number')),
  shown           TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  PRIMARY KEY (phone, account_id)
);
-- The per-owner cap on new SMS conversations counts an owner's recent threads.
CREATE INDEX sms_threads_by_account ON sms_threads(account_id, created_at);

CREATE TABLE sms_phones (
  phone              TEXT PRIMARY KEY,
  current_account_id TEXT REFERENCES accounts(id) ON DELETE SET NULL,
  stopped_at         INTEGER,
  told_at            INTEGER,
  updated_at         INTEGER NOT NULL
);
