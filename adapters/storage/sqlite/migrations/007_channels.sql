-- 007: forwarding to the owner's other channels (issue 18): the owner's channels (XMPP, email, SMS, webhooks, web
-- push) in their escalation order with their verification codes, forwarding settings, the forward of a knock the
-- owner missed and its steps, values the server makes once for all its processes; and the outbox's `cancelled` state.

-- An owner's channels, in the order Settings → Channels shows and forwards escalate through (position 0 first; the
-- adapter keeps the positions 0..n-1 of an account's channels as they are added, removed and reordered). A channel is
-- forwarded to once verified (verified_at): by a code sent to it and typed back, or at once (a push subscription made
-- by the owner's own browser). The code is kept as a hash until it verifies, expires, or has been tried too often.
CREATE TABLE channels (
  id              TEXT PRIMARY KEY,
  account_id      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  kind            TEXT NOT NULL CHECK (kind IN ('xmpp', 'email', 'sms', 'webhook', 'push')),
  -- Normalized by the engine (a bare JID in lower case, an E.164 number, ...), so one address is spelled one way.
  address         TEXT NOT NULL,
  -- What the adapter needs that is not shown (a webhook's signing secrets, a push subscription's keys).
  secret          TEXT,
  position        INTEGER NOT NULL,
  -- When after the knock the channel is tried (a timeline, not a gap after the previous step).
  delay_ms        INTEGER NOT NULL CHECK (delay_ms >= 0),
  verified_at     INTEGER,
  code_hash       TEXT,
  code_expires_at INTEGER,
  -- Tries of the current code so far; a new code starts again at 0.
  code_tries      INTEGER NOT NULL DEFAULT 0,
  created_at      INTEGER NOT NULL,
  CHECK ((code_hash IS NULL) = (code_expires_at IS NULL)),
  UNIQUE (account_id, kind, address)
);
-- Where an inbound text is from (channelsAt), and the verified channels of a kind (channelsOfKind).
CREATE INDEX channels_verified_at ON channels(kind, address) WHERE verified_at IS NOT NULL;

-- What the owner set for forwarding as a whole; no row: the defaults (not paused, UTC, no quiet hours, XMPP `away`
-- does not count as reachable). Quiet hours are minutes after local midnight, [start, end), both or neither.
CREATE TABLE forwarding_settings (
  account_id       TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  paused           INTEGER NOT NULL CHECK (paused IN (0, 1)),
  time_zone        TEXT NOT NULL,
  quiet_start      INTEGER CHECK (quiet_start BETWEEN 0 AND 1439),
  quiet_end        INTEGER CHECK (quiet_end BETWEEN 0 AND 1439),
  xmpp_away_counts INTEGER NOT NULL CHECK (xmpp_away_counts IN (0, 1)),
  CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);

-- The forward of a conversation: open (closed_at NULL) from the knock the owner missed until the owner answers, reads
-- or comes online at the URL. `tag` is the number of the `#3` a reply may start with. The two partial unique indexes
-- below are the rules two processes cannot break however they race: one open forward per conversation, and a tag
-- unique among the account's open forwards (a closed forward's tag is free again).
CREATE TABLE forwards (
  id              TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  account_id      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  tag             INTEGER NOT NULL CHECK (tag >= 1),
  knock_at        INTEGER NOT NULL,
  -- The forward carries the visitor's messages after this seq.
  after_seq       INTEGER NOT NULL,
  closed_at       INTEGER,
  created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX forwards_open_by_conversation ON forwards(conversation_id) WHERE closed_at IS NULL;
-- Also the account's open forwards (openForwards, closeForwardsOf) and the smallest free tag.
CREATE UNIQUE INDEX forwards_open_tag ON forwards(account_id, tag) WHERE closed_at IS NULL;
-- A conversation's latest forward (lastForward), and the cascade of its deletion.
CREATE INDEX forwards_by_conversation ON forwards(conversation_id, created_at);
-- The cascade of an account's removal.
CREATE INDEX forwards_by_account ON forwards(account_id);

-- The steps of a forward: one per channel, in the plan's order (ordinal), due at `at`; once sent, what it carried
-- (up to seq) and the channel's id of it (external_id), which a delivery receipt names. Removing a channel removes
-- its steps.
CREATE TABLE forward_steps (
  forward_id  TEXT NOT NULL REFERENCES forwards(id) ON DELETE CASCADE,
  channel_id  TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  ordinal     INTEGER NOT NULL,
  -- The channel's kind (it never changes): a receipt is matched by kind and external id.
  kind        TEXT NOT NULL CHECK (kind IN ('xmpp', 'email', 'sms', 'webhook', 'push')),
  at          INTEGER NOT NULL,
  sent_at     INTEGER,
  up_to_seq   INTEGER,
  external_id TEXT,
  delivery    TEXT CHECK (delivery IN ('delivered', 'failed')),
  PRIMARY KEY (forward_id, channel_id)
);
-- The cascade of a channel's removal.
CREATE INDEX forward_steps_by_channel ON forward_steps(channel_id);
-- A delivery receipt finds the step it answers.
CREATE INDEX forward_steps_by_external_id ON forward_steps(kind, external_id) WHERE external_id IS NOT NULL;

-- Values the server makes once for all its processes (the web push VAPID key pair): the first stored wins.
CREATE TABLE server_values (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- The outbox's `cancelled` state (a forward whose owner answered at the URL first). SQLite cannot alter a CHECK
-- constraint, so outbox_jobs is made anew with the new one and its rows copied over (the "other kinds of table schema
-- changes" of https://www.sqlite.org/lang_altertable.html). Foreign keys stay on (a migration runs in a transaction,
-- where the pragma cannot change): no table references outbox_jobs, so dropping it deletes nothing else, and its own
-- reference to conversations is checked again, row by row, as the rows are copied, which they all pass. The indexes
-- 006_mail.sql made go with the old table and are made again, with the same names.
CREATE TABLE outbox_jobs_new (
  id              TEXT PRIMARY KEY,
  kind            TEXT NOT NULL,
  -- Enqueueing a key a second time finds the first job (a retried enqueue, or two processes queueing one thing).
  key             TEXT NOT NULL UNIQUE,
  -- The kind's own fields, as JSON.
  payload         TEXT NOT NULL,
  -- The conversation and message it carries, if any; deleting the conversation deletes its jobs.
  conversation_id TEXT REFERENCES conversations(id) ON DELETE CASCADE,
  message_seq     INTEGER,
  recipient       TEXT,
  state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'retrying', 'sent', 'failed', 'cancelled')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  run_at          INTEGER NOT NULL,
  locked_by       TEXT,
  locked_until    INTEGER,
  last_error      TEXT,
  -- E.g. the Message-ID of the mail sent: a bounce names it.
  ref             TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
INSERT INTO outbox_jobs_new (id, kind, key, payload, conversation_id, message_seq, recipient, state, attempts, run_at,
    locked_by, locked_until, last_error, ref, created_at, updated_at)
  SELECT id, kind, key, payload, conversation_id, message_seq, recipient, state, attempts, run_at,
    locked_by, locked_until, last_error, ref, created_at, updated_at
  FROM outbox_jobs;
DROP TABLE outbox_jobs;
ALTER TABLE outbox_jobs_new RENAME TO outbox_jobs;
-- The claim and nextJobAt read only the jobs still waiting, which stay few however many were sent.
CREATE INDEX outbox_jobs_due ON outbox_jobs(state, run_at) WHERE state IN ('pending', 'retrying');
-- The deliveries of a conversation's messages (conversationJobs), and the cascade of its deletion.
CREATE INDEX outbox_jobs_by_message ON outbox_jobs(conversation_id, message_seq);
-- A bounce finds the job of the mail it answers.
CREATE INDEX outbox_jobs_by_ref ON outbox_jobs(ref) WHERE ref IS NOT NULL;
