-- 008: live help for companies (issue 19; the same model as sqlite/008_companies.sql): accounts that are companies,
-- their operators (other accounts), the sites allowed to embed their widget, invitations to become an operator, the
-- page views of monitored visitors, and the page a conversation was started on.
--
-- Removing an account removes, through the cascades below, its company row and with it the company's operators,
-- sites, invitations and page views; its rows as another company's operator; and the invitations it made.
-- A page's address, title and referrer are BYTEA holding their UTF-8 bytes, like names (001_init.sql): text from
-- the visitor's browser, kept byte for byte (TEXT cannot hold U+0000).

-- An account that is a company: its URL is a live-help desk staffed by operators.
CREATE TABLE companies (
  account_id TEXT COLLATE "C" PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL
);

-- A person account working for a company. A company is never its own operator (the engine also keeps companies
-- from being operators of others). `status` is the operator's online / away; `capacity` the chats at once.
CREATE TABLE operators (
  company_id TEXT COLLATE "C" NOT NULL CONSTRAINT operators_company_id_fkey REFERENCES companies(account_id) ON DELETE CASCADE,
  account_id TEXT COLLATE "C" NOT NULL CONSTRAINT operators_account_id_fkey REFERENCES accounts(id) ON DELETE CASCADE,
  role       TEXT COLLATE "C" NOT NULL CONSTRAINT operators_role_check CHECK (role IN ('admin', 'operator')),
  status     TEXT COLLATE "C" NOT NULL DEFAULT 'online' CONSTRAINT operators_status_check CHECK (status IN ('online', 'away')),
  capacity   INTEGER NOT NULL CONSTRAINT operators_capacity_check CHECK (capacity >= 1),
  added_at   BIGINT NOT NULL,
  CONSTRAINT operators_pkey PRIMARY KEY (company_id, account_id),
  CONSTRAINT operators_not_self_check CHECK (company_id <> account_id)
);
-- The companies an account works for (companiesOf), and the cascade of the account's removal.
CREATE INDEX operators_by_account ON operators(account_id);

-- The origins allowed to embed the company's widget (`https://shop.example`: scheme, host and port only; the adapter
-- refuses anything else, since they end up in a Content-Security-Policy header).
CREATE TABLE sites (
  company_id TEXT COLLATE "C" NOT NULL REFERENCES companies(account_id) ON DELETE CASCADE,
  origin     TEXT COLLATE "C" NOT NULL,
  added_at   BIGINT NOT NULL,
  CONSTRAINT sites_pkey PRIMARY KEY (company_id, origin)
);

-- A link to become one of the company's operators, stored as the hash of its token: single use (used_at), until
-- expires_at (the first instant it no longer works). The invitations of an account that is removed go with it.
CREATE TABLE operator_invites (
  token_hash TEXT COLLATE "C" CONSTRAINT operator_invites_pkey PRIMARY KEY,
  company_id TEXT COLLATE "C" NOT NULL REFERENCES companies(account_id) ON DELETE CASCADE,
  role       TEXT COLLATE "C" NOT NULL CONSTRAINT operator_invites_role_check CHECK (role IN ('admin', 'operator')),
  created_by TEXT COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  expires_at BIGINT NOT NULL,
  used_at    BIGINT,
  created_at BIGINT NOT NULL
);
-- The cascades of a company's and of an account's removal.
CREATE INDEX operator_invites_by_company ON operator_invites(company_id);
CREATE INDEX operator_invites_by_creator ON operator_invites(created_by);

-- One page a monitored visitor saw on the company's sites. `visitor_id` is the widget's random id for a browser on
-- the company's sites; no IP address is stored. ended_at is NULL while the visitor is on the page.
CREATE TABLE page_views (
  id         TEXT COLLATE "C" CONSTRAINT page_views_pkey PRIMARY KEY,
  company_id TEXT COLLATE "C" NOT NULL REFERENCES companies(account_id) ON DELETE CASCADE,
  visitor_id TEXT COLLATE "C" NOT NULL,
  url        BYTEA NOT NULL,
  title      BYTEA NOT NULL,
  referrer   BYTEA NOT NULL,
  started_at BIGINT NOT NULL,
  ended_at   BIGINT
);
-- A visitor's history (visitorHistory; pageViewsOf, newest first: the index backwards, `id` breaking a tie of the same
-- millisecond), and the cascade of the company's removal.
CREATE INDEX page_views_by_visitor ON page_views(company_id, visitor_id, started_at, id);
-- Retention: the oldest page views are deleted (purgePageViews).
CREATE INDEX page_views_by_start ON page_views(started_at);

-- The page of the company's site a chat was started on (the widget tells); both or neither, NULL for every
-- conversation made before and for every other conversation. Adding nullable columns rewrites nothing, and the check
-- is NOT VALID so that it does not read every conversation: the rows already there hold NULL in both, and every row
-- written from now on is checked.
ALTER TABLE conversations
  ADD COLUMN started_url BYTEA,
  ADD COLUMN started_title BYTEA,
  ADD CONSTRAINT conversations_started_check CHECK ((started_url IS NULL) = (started_title IS NULL)) NOT VALID;
