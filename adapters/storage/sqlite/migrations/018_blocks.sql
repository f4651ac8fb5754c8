-- 018: blocked visitors (issue 22). A block is an owner's (a company's, when one of its operators made it): the
-- conversation's token (the visitor's cookie) is refused until it is unblocked, and the address the visitor was last
-- seen from until `address_until` (30 days: addresses are reassigned). Addresses are never stored as such: only a
-- keyed hash (HMAC-SHA256 under a secret of this server, engine/visitorBlocks.ts) of the address key (an IPv4, or an
-- IPv6 /64). A block outlives its conversation (conversation_id is then NULL): the cookie stays refused.
CREATE TABLE visitor_addresses (
  conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
  address_hash    TEXT NOT NULL,
  seen_at         INTEGER NOT NULL
);

CREATE TABLE visitor_blocks (
  id              TEXT PRIMARY KEY,
  account_id      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  conversation_id TEXT REFERENCES conversations(id) ON DELETE SET NULL,
  token_hash      TEXT NOT NULL,
  address_hash    TEXT,
  address_until   INTEGER,
  visitor_name    TEXT NOT NULL,
  blocked_by      TEXT REFERENCES accounts(id) ON DELETE SET NULL,
  created_at      INTEGER NOT NULL
);
-- One block per visitor cookie and account (blocking again refreshes its address); the refusal's lookups by address
-- and by conversation; the SET NULLs of a conversation and of an account that blocked.
CREATE UNIQUE INDEX visitor_blocks_by_token ON visitor_blocks(account_id, token_hash);
CREATE INDEX visitor_blocks_by_address ON visitor_blocks(account_id, address_hash);
CREATE INDEX visitor_blocks_by_conversation ON visitor_blocks(conversation_id);
CREATE INDEX visitor_blocks_by_blocker ON visitor_blocks(blocked_by);
