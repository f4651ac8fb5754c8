-- 008: live help for companies (issue 19): accounts that are companies, their operators (other accounts), the sites
-- allowed to embed their widget, invitations to become an operator, the page views of monitored visitors, and the
-- page a conversation was started on.
--
-- Removing an account removes, through the cascades below, its company row and with it the company's operators,
-- sites, invitations and page views; its rows as another company's operator; and the invitations it made.

-- An account that is a company: its URL is a live-help desk staffed by operators.
CREATE TABLE companies (
  account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL
);

-- A person account working for a company. A company is never its own operator (the engine also keeps companies
-- from being operators of others). `status` is the operator's online / away; `capacity` the chats at once.
CREATE TABLE operators (
  company_id TEXT NOT NULL REFERENCES companies(account_id) ON DELETE CASCADE,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  role       TEXT NOT NULL CHECK (role IN ('admin', 'operator')),
  status     TEXT NOT NULL DEFAULT 'online' CHECK (status IN ('online', 'away')),
  capacity   INTEGER NOT NULL CHECK (capacity >= 1),
  added_at   INTEGER NOT NULL,
  PRIMARY KEY (company_id, account_id),
  CHECK (company_id <> account_id)
);
-- The companies an account works for (companiesOf), and the cascade of the account's removal.
CREATE INDEX operators_by_account ON operators(account_id);

-- The origins allowed to embed the company's widget (`https://shop.example`: scheme, host and port only; the adapter
-- refuses anything else, since they end up in a Content-Security-Policy header).
CREATE TABLE sites (
  company_id TEXT NOT NULL REFERENCES companies(account_id) ON DELETE CASCADE,
  origin     TEXT NOT NULL,
  added_at   INTEGER NOT NULL,
  PRIMARY KEY (company_id, origin)
);

-- A link to become one of the company's operators, stored as the hash of its token: single use (used_at), until
-- expires_at (the first instant it no longer works). The invitations of an account that is removed go with it.
CREATE TABLE operator_invites (
  token_hash TEXT PRIMARY KEY,
  company_id TEXT NOT NULL REFERENCES companies(account_id) ON DELETE CASCADE,
  role       TEXT NOT NULL CHECK (role IN ('admin', 'operator')),
  created_by TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  expires_at INTEGER NOT NULL,
  used_at    INTEGER,
  created_at INTEGER NOT NULL
);
-- The cascades of a company's and of an account's removal.
CREATE INDEX operator_invites_by_company ON operator_invites(company_id);
CREATE INDEX operator_invites_by_creator ON operator_invites(created_by);

-- One page a monitored visitor saw on the company's sites. `visitor_id` is the widget's random id for a browser on
-- the company's sites; no IP address is stored. ended_at is NULL while the visitor is on the page.
CREATE TABLE page_views (
  id         TEXT PRIMARY KEY,
  company_id TEXT NOT NULL REFERENCES companies(account_id) ON DELETE CASCADE,
  visitor_id TEXT NOT NULL,
  url        TEXT NOT NULL,
  title      TEXT NOT NULL,
  referrer   TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at   INTEGER
);
-- A visitor's history (visitorHistory; pageViewsOf, newest first: the index backwards, `id` breaking a tie of the same
-- millisecond), and the cascade of the company's removal.
CREATE INDEX page_views_by_visitor ON page_views(company_id, visitor_id, started_at, id);
-- Retention: the oldest page views are deleted (purgePageViews).
CREATE INDEX page_views_by_start ON page_views(started_at);

-- The page of the company's site a chat was started on (the widget tells); both or neither, NULL for every
-- conversation made before and for every other conversation.
ALTER TABLE conversations ADD COLUMN started_url TEXT;
ALTER TABLE conversations ADD COLUMN started_title TEXT CHECK ((started_url IS NULL) = (started_title IS NULL));
