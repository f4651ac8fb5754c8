-- 009: routing of a company's chats to its operators (issue 19). One row per chat of a company: queued (waiting for
-- an operator), assigned (to `operator_id`), or ended. The chat goes with its conversation, and with the company.
-- An operator's account removed leaves its chats assigned to nobody (operator_id NULL): the router queues them again.
CREATE TABLE chat_assignments (
  conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
  company_id      TEXT NOT NULL REFERENCES companies(account_id) ON DELETE CASCADE,
  operator_id     TEXT REFERENCES accounts(id) ON DELETE SET NULL,
  state           TEXT NOT NULL CHECK (state IN ('queued', 'assigned', 'ended')),
  queued_at       INTEGER NOT NULL,
  assigned_at     INTEGER,
  ended_at        INTEGER,
  CHECK (state <> 'queued' OR operator_id IS NULL)
);
-- A company's open chats, the longest queued first (openChats); the cascade of the company's removal.
CREATE INDEX chat_assignments_by_company ON chat_assignments(company_id, state, queued_at);
-- The cascade of an operator's account's removal.
CREATE INDEX chat_assignments_by_operator ON chat_assignments(operator_id);
