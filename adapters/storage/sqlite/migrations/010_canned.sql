-- 010: canned responses (issue 19): a company's texts an operator inserts by typing `/shortcut` in the composer.
-- (Numbered 010: 009 is routing's. The runner applies whatever is missing in order, gaps allowed.)
-- Removing the company's account removes them through the cascade of companies.
CREATE TABLE canned_responses (
  company_id TEXT NOT NULL REFERENCES companies(account_id) ON DELETE CASCADE,
  shortcut   TEXT NOT NULL,
  text       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (company_id, shortcut)
);
