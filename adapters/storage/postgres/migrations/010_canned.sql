-- 010: canned responses (issue 19; the same model as sqlite/010_canned.sql): a company's texts an operator inserts by
-- typing `/shortcut` in the composer. (Numbered 010: 009 is routing's. The runner applies whatever is missing in
-- order, gaps allowed.) The text is BYTEA holding its UTF-8 bytes, like messages' (TEXT cannot hold U+0000).
-- Removing the company's account removes them through the cascade of companies.
CREATE TABLE canned_responses (
  company_id TEXT COLLATE "C" NOT NULL REFERENCES companies(account_id) ON DELETE CASCADE,
  shortcut   TEXT COLLATE "C" NOT NULL,
  text       BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  CONSTRAINT canned_responses_pkey PRIMARY KEY (company_id, shortcut)
);
