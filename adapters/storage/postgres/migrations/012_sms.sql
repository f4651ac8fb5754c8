-- 012: SMS conversations (issue 20; the same model as sqlite/012_sms.sql). A thread is one phone's conversation with
-- one owner (one per pair), and says how the phone reached the owner: Knock's service number or the owner's own
-- claimed number, so replies leave from the number the phone wrote to. `shown` is the number as the owner reads it.
-- A phone's state: the owner it texts now, its STOP (kept when accounts go: it is the phone's word), and when Knock
-- last answered it by itself, so automatic answers come at most once per interval.
CREATE TABLE sms_threads (
  phone           TEXT COLLATE "C" NOT NULL,
  account_id      TEXT COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  conversation_id TEXT COLLATE "C" NOT NULL CONSTRAINT sms_threads_conversation_key UNIQUE REFERENCES conversations(id) ON DELETE CASCADE,
  via             TEXT COLLATE "C" NOT NULL CHECK (via IN ('service', 'number')),
  shown           TEXT NOT NULL,
  created_at      BIGINT NOT NULL,
  CONSTRAINT sms_threads_pkey PRIMARY KEY (phone, account_id)
);
CREATE INDEX sms_threads_by_account ON sms_threads(account_id, created_at);

CREATE TABLE sms_phones (
  phone              TEXT COLLATE "C" PRIMARY KEY,
  current_account_id TEXT COLLATE "C" REFERENCES accounts(id) ON DELETE SET NULL,
  stopped_at         BIGINT,
  told_at            BIGINT,
  updated_at         BIGINT NOT NULL
);
