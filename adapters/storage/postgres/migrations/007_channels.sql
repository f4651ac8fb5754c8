-- 007: forwarding to the owner's other channels (issue 18; the same model as sqlite/007_channels.sql): the owner's
-- channels (XMPP, email, SMS, webhooks, web push) in their escalation order with their verification codes, forwarding
-- settings, the forward of a knock the owner missed and its steps, values the server makes once for all its
-- processes; and the outbox's `cancelled` state.

-- An owner's channels, in the order Settings → Channels shows and forwards escalate through (position 0 first; the
-- adapter keeps the positions 0..n-1 of an account's channels as they are added, removed and reordered, under a lock
-- of the account's row). A channel is forwarded to once verified (verified_at): by a code sent to it and typed back,
-- or at once (a push subscription made by the owner's own browser). The code is kept as a hash until it verifies,
-- expires, or has been tried too often. Addresses are TEXT: normalized by the engine and matched exactly
-- (channelsAt), not text a person wrote to be kept byte for byte.
CREATE TABLE channels (
  id              TEXT COLLATE "C" PRIMARY KEY,
  account_id      TEXT COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  kind            TEXT COLLATE "C" NOT NULL CONSTRAINT channels_kind_check CHECK (kind IN ('xmpp', 'email', 'sms', 'webhook', 'push')),
  -- Normalized by the engine (a bare JID in lower case, an E.164 number, ...), so one address is spelled one way.
  address         TEXT COLLATE "C" NOT NULL,
  -- What the adapter needs that is not shown (a webhook's signing secrets, a push subscription's keys).
  secret          TEXT,
  position        INTEGER NOT NULL,
  -- When after the knock the channel is tried (a timeline, not a gap after the previous step).
  delay_ms        BIGINT NOT NULL CONSTRAINT channels_delay_ms_check CHECK (delay_ms >= 0),
  verified_at     BIGINT,
  code_hash       TEXT COLLATE "C",
  code_expires_at BIGINT,
  -- Tries of the current code so far; a new code starts again at 0.
  code_tries      INTEGER NOT NULL DEFAULT 0,
  created_at      BIGINT NOT NULL,
  CONSTRAINT channels_code_check CHECK ((code_hash IS NULL) = (code_expires_at IS NULL)),
  CONSTRAINT channels_account_kind_address_key UNIQUE (account_id, kind, address)
);
-- Where an inbound text is from (channelsAt), and the verified channels of a kind (channelsOfKind).
CREATE INDEX channels_verified_at ON channels(kind, address) WHERE verified_at IS NOT NULL;

-- What the owner set for forwarding as a whole; no row: the defaults (not paused, UTC, no quiet hours, XMPP `away`
-- does not count as reachable). Quiet hours are minutes after local midnight, [start, end), both or neither.
CREATE TABLE forwarding_settings (
  account_id       TEXT COLLATE "C" PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  paused           BOOLEAN NOT NULL,
  time_zone        TEXT COLLATE "C" NOT NULL,
  quiet_start      INTEGER CONSTRAINT forwarding_settings_quiet_start_check CHECK (quiet_start BETWEEN 0 AND 1439),
  quiet_end        INTEGER CONSTRAINT forwarding_settings_quiet_end_check CHECK (quiet_end BETWEEN 0 AND 1439),
  xmpp_away_counts BOOLEAN NOT NULL,
  CONSTRAINT forwarding_settings_quiet_check CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);

-- The forward of a conversation: open (closed_at NULL) from the knock the owner missed until the owner answers, reads
-- or comes online at the URL. `tag` is the number of the `#3` a reply may start with. The two partial unique indexes
-- below are the rules two processes cannot break however they race (the second insert waits for the first's commit,
-- then fails, and the adapter tries again): one open forward per conversation, and a tag unique among the account's
-- open forwards (a closed forward's tag is free again).
CREATE TABLE forwards (
  id              TEXT COLLATE "C" PRIMARY KEY,
  conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  account_id      TEXT COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  tag             INTEGER NOT NULL CONSTRAINT forwards_tag_check CHECK (tag >= 1),
  knock_at        BIGINT NOT NULL,
  -- The forward carries the visitor's messages after this seq.
  after_seq       BIGINT NOT NULL,
  closed_at       BIGINT,
  created_at      BIGINT NOT NULL
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
  forward_id  TEXT COLLATE "C" NOT NULL REFERENCES forwards(id) ON DELETE CASCADE,
  channel_id  TEXT COLLATE "C" NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  ordinal     INTEGER NOT NULL,
  -- The channel's kind (it never changes): a receipt is matched by kind and external id.
  kind        TEXT COLLATE "C" NOT NULL CONSTRAINT forward_steps_kind_check CHECK (kind IN ('xmpp', 'email', 'sms', 'webhook', 'push')),
  at          BIGINT NOT NULL,
  sent_at     BIGINT,
  up_to_seq   BIGINT,
  external_id TEXT COLLATE "C",
  delivery    TEXT COLLATE "C" CONSTRAINT forward_steps_delivery_check CHECK (delivery IN ('delivered', 'failed')),
  CONSTRAINT forward_steps_pkey PRIMARY KEY (forward_id, channel_id)
);
-- The cascade of a channel's removal.
CREATE INDEX forward_steps_by_channel ON forward_steps(channel_id);
-- A delivery receipt finds the step it answers.
CREATE INDEX forward_steps_by_external_id ON forward_steps(kind, external_id) WHERE external_id IS NOT NULL;

-- Values the server makes once for all its processes (the web push VAPID key pair): the first stored wins.
CREATE TABLE server_values (
  name  TEXT COLLATE "C" PRIMARY KEY,
  value TEXT NOT NULL
);

-- The outbox's `cancelled` state (a forward whose owner answered at the URL first). Re-checking the rows takes a
-- short exclusive lock of outbox_jobs; they all pass (the old states are among the new ones).
ALTER TABLE outbox_jobs
  DROP CONSTRAINT outbox_jobs_state_check,
  ADD CONSTRAINT outbox_jobs_state_check CHECK (state IN ('pending', 'retrying', 'sent', 'failed', 'cancelled'));
