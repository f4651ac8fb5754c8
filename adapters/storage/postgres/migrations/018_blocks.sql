-- 018: blocked visitors (issue 22; the same model as sqlite/018_blocks.sql). The conversation's token (the visitor's
-- cookie) is refused until unblocked, the keyed hash of the address the visitor was last seen from (never the address
-- itself) until `address_until`. A block outlives its conversation (conversation_id is then NULL). The visitor's name
-- is text a person wrote: BYTEA, like names (001_init.sql).
CREATE TABLE visitor_addresses (
  conversation_id TEXT COLLATE "C" PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
  address_hash    TEXT COLLATE "C" NOT NULL,
  seen_at         BIGINT NOT NULL
);

CREATE TABLE visitor_blocks (
  id              TEXT COLLATE "C" PRIMARY KEY,
  account_id      TEXT COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  conversation_id TEXT COLLATE "C" REFERENCES conversations(id) ON DELETE SET NULL,
  token_hash      TEXT COLLATE "C" NOT NULL,
  address_hash    TEXT COLLATE "C",
  address_until   BIGINT,
  visitor_name    BYTEA NOT NULL,
  blocked_by      TEXT COLLATE "C" REFERENCES accounts(id) ON DELETE SET NULL,
  created_at      BIGINT NOT NULL,
  CONSTRAINT visitor_blocks_token_key UNIQUE (account_id, token_hash)
);
CREATE INDEX visitor_blocks_by_address ON visitor_blocks(account_id, address_hash);
CREATE INDEX visitor_blocks_by_conversation ON visitor_blocks(conversation_id);
CREATE INDEX visitor_blocks_by_blocker ON visitor_blocks(blocked_by);
