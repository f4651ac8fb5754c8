-- 004: typed conversation events (issue 15; the same model as sqlite/004_message_events.sql). Every message holds
-- an event (engine/protocol.ts conversationEvent): `kind` is its kind, `payload` its other fields as a JSON object,
-- NULL when it has none (`text`, `system`). TEXT, not JSONB: the adapter only stores and returns it whole, and
-- JSON.stringify escapes U+0000, so TEXT can hold any payload.
-- Rows written before this version are typed from what the old server wrote: the idempotency key of its records
-- (`call:<callId>`, `doc:<docId>`, `game:<gameId>:<step>`) and their bodies. Every other row is `text`.
-- (Clients' clientMsgIds cannot hold ":", so no message a person sent is taken for a record.)
-- Bodies are BYTEA (001_init.sql): they are matched as bytes (bytea LIKE, position), never converted to TEXT,
-- which would fail on a body holding U+0000.

-- A constant default: PostgreSQL 11+ adds both columns without rewriting the table.
ALTER TABLE messages
  ADD COLUMN kind TEXT COLLATE "C" NOT NULL DEFAULT 'text',
  ADD COLUMN payload TEXT;

-- Call records: "Call, 12 min", "Video call, 1 h 05 min", "Missed call", "Missed video call", "Declined video call"
-- (rooms/conversation/callRecord.ts). How long a call lasted was only ever in the body's words: durationMs is null.
UPDATE messages SET
  kind = 'call',
  payload = json_build_object(
    'callId', substr(client_msg_id, 6),
    'media', CASE WHEN body LIKE 'Video call%'::bytea OR body LIKE '%video call'::bytea THEN 'video' ELSE 'audio' END,
    'reason', CASE WHEN body LIKE 'Missed%'::bytea THEN 'missed' WHEN body LIKE 'Declined%'::bytea THEN 'declined' ELSE 'completed' END,
    'durationMs', NULL
  )::text
WHERE client_msg_id LIKE 'call:%';

-- Document cards: the body is the document's title already.
UPDATE messages SET kind = 'doc', payload = json_build_object('docId', substr(client_msg_id, 5))::text
WHERE client_msg_id LIKE 'doc:%';

-- Game steps take the game's kind (and, for a result, its winner and reason) from its row. The game id is the key
-- between "game:" and the step; a message whose game is gone, belongs to another conversation, or is of a kind the
-- protocol does not know stays `text` (its body still says what happened).
UPDATE messages m SET kind = 'game.invite', payload = json_build_object('gameId', g.id, 'game', g.kind)::text
FROM games g
WHERE m.client_msg_id LIKE 'game:%:invite'
  AND g.id = substr(m.client_msg_id, 6, length(m.client_msg_id) - 12)
  AND g.conversation_id = m.conversation_id
  AND g.kind IN ('connect4', 'chess', 'pong');

UPDATE messages m SET kind = 'game.answer', payload = json_build_object('gameId', g.id, 'game', g.kind, 'answer', 'accepted')::text
FROM games g
WHERE m.client_msg_id LIKE 'game:%:accept'
  AND g.id = substr(m.client_msg_id, 6, length(m.client_msg_id) - 12)
  AND g.conversation_id = m.conversation_id
  AND g.kind IN ('connect4', 'chess', 'pong');

-- "Ann withdrew the Chess invitation." or "Vic declined Chess." (rooms/conversation/gameInvites.ts).
UPDATE messages m SET kind = 'game.answer', payload = json_build_object(
    'gameId', g.id, 'game', g.kind,
    'answer', CASE WHEN position(' withdrew '::bytea IN m.body) > 0 THEN 'withdrawn' ELSE 'declined' END
  )::text
FROM games g
WHERE m.client_msg_id LIKE 'game:%:decline'
  AND g.id = substr(m.client_msg_id, 6, length(m.client_msg_id) - 13)
  AND g.conversation_id = m.conversation_id
  AND g.kind IN ('connect4', 'chess', 'pong');

UPDATE messages m SET kind = 'game.result', payload = json_build_object(
    'gameId', g.id, 'game', g.kind, 'winnerSeat', g.winner_seat, 'reason', g.reason
  )::text
FROM games g
WHERE m.client_msg_id LIKE 'game:%:result'
  AND g.id = substr(m.client_msg_id, 6, length(m.client_msg_id) - 12)
  AND g.conversation_id = m.conversation_id
  AND g.kind IN ('connect4', 'chess', 'pong');
