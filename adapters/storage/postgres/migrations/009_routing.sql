-- 009: routing of a company's chats to its operators (issue 19; the same model as sqlite/009_routing.sql). One row
-- per chat of a company: queued (waiting for an operator), assigned (to `operator_id`), or ended. The chat goes with
-- its conversation, and with the company. An operator's account removed leaves its chats assigned to nobody
-- (operator_id NULL): the router queues them again.
CREATE TABLE chat_assignments (
  conversation_id TEXT COLLATE "C" CONSTRAINT chat_assignments_pkey PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
  company_id      TEXT COLLATE "C" NOT NULL REFERENCES companies(account_id) ON DELETE CASCADE,
  operator_id     TEXT COLLATE "C" REFERENCES accounts(id) ON DELETE SET NULL,
  state           TEXT COLLATE "C" NOT NULL CONSTRAINT chat_assignments_state_check CHECK (state IN ('queued', 'assigned', 'ended')),
  queued_at       BIGINT NOT NULL,
  assigned_at     BIGINT,
  ended_at        BIGINT,
  CONSTRAINT chat_assignments_queued_check CHECK (state <> 'queued' OR operator_id IS NULL)
);
-- A company's open chats, the longest queued first (openChats); the cascade of the company's removal.
CREATE INDEX chat_assignments_by_company ON chat_assignments(company_id, state, queued_at);
-- The cascade of an operator's account's removal.
CREATE INDEX chat_assignments_by_operator ON chat_assignments(operator_id);
