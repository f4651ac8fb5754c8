-- 013: own domains (issue 21; the same model as sqlite/013_domains.sql). A domain is one account's (its name is the
-- key), pending until Knock sees it delegated to its name servers; its DKIM key is made for it. ACME challenges live
-- while a certificate is being ordered. (Numbered 013: 012 is SMS conversations'. Gaps are allowed.)
CREATE TABLE domains (
  name             TEXT COLLATE "C" PRIMARY KEY,
  account_id       TEXT COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  state            TEXT NOT NULL CHECK (state IN ('pending', 'active')),
  created_at       BIGINT NOT NULL,
  checked_at       BIGINT,
  check_error      TEXT,
  activated_at     BIGINT,
  dkim_selector    TEXT NOT NULL,
  dkim_public_key  TEXT NOT NULL,
  dkim_private_key TEXT NOT NULL
);
CREATE INDEX domains_account ON domains (account_id, name);

CREATE TABLE acme_challenges (
  kind       TEXT NOT NULL CHECK (kind IN ('dns-01', 'http-01')),
  name       TEXT COLLATE "C" NOT NULL REFERENCES domains(name) ON DELETE CASCADE,
  token      TEXT COLLATE "C" NOT NULL,
  value      TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  CONSTRAINT acme_challenges_pkey PRIMARY KEY (kind, name, token)
);
