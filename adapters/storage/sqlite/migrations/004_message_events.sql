-- 004: typed conversation events (issue 15). Every message holds an event (engine/protocol.ts conversationEvent):
-- `kind` is its kind, `payload` its other fields as a JSON object, NULL when it has none (`text`, `system`).
-- Rows written before this version are typed from what the old server wrote: the idempotency key of its records
-- (`call:<callId>`, `doc:<docId>`, `game:<gameId>:<step>`) and their bodies. Every other row is `text`.
-- (Clients' clientMsgIds cannot hold ":", so no message a person sent is taken for a record.)

ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
ALTER TABLE messages ADD COLUMN payload TEXT;

-- Call records: "Call, 12 min", "Video call, 1 h 05 min", "Missed call", "Missed video call", "Declined video call"
-- (rooms/conversation/callRecord.ts). How long a call lasted was only ever in the body's words: durationMs is null.
-- GLOB, not LIKE: SQLite's LIKE ignores case.
UPDATE messages SET
  kind = 'call',
  payload = json_object(
    'callId', substr(client_msg_id, 6),
    'media', CASE WHEN body GLOB 'Video call*' OR body GLOB '*video call' THEN 'video' ELSE 'audio' END,
    'reason', CASE WHEN body GLOB 'Missed*' THEN 'missed' WHEN body GLOB 'Declined*' THEN 'declined' ELSE 'completed' END,
    'durationMs', NULL
  )
WHERE client_msg_id GLOB 'call:*';

-- Document cards: the body is the document's title already.
UPDATE messages SET kind = 'doc', payload = json_object('docId', substr(client_msg_id, 5))
WHERE client_msg_id GLOB 'doc:*';

-- Game steps take the game's kind (and, for a result, its winner and reason) from its row. The game id is the key
-- between "game:" and the step; a message whose game is gone, belongs to another conversation, or is of a kind the
-- protocol does not know stays `text` (its body still says what happened).
UPDATE messages SET kind = 'game.invite', payload = json_object('gameId', g.id, 'game', g.kind)
FROM games g
WHERE messages.client_msg_id GLOB 'game:*:invite'
  AND g.id = substr(messages.client_msg_id, 6, length(messages.client_msg_id) - 12)
  AND g.conversation_id = messages.conversation_id
  AND g.kind IN ('connect4', 'chess', 'pong');

UPDATE messages SET kind = 'game.answer', payload = json_object('gameId', g.id, 'game', g.kind, 'answer', 'accepted')
FROM games g
WHERE messages.client_msg_id GLOB 'game:*:accept'
  AND g.id = substr(messages.client_msg_id, 6, length(messages.client_msg_id) - 12)
  AND g.conversation_id = messages.conversation_id
  AND g.kind IN ('connect4', 'chess', 'pong');

-- "Ann withdrew the Chess invitation." or "Vic declined Chess." (rooms/conversation/gameInvites.ts).
UPDATE messages SET kind = 'game.answer', payload = json_object(
    'gameId', g.id, 'game', g.kind,
    'answer', CASE WHEN instr(messages.body, ' withdrew ') > 0 THEN 'withdrawn' ELSE 'declined' END
  )
FROM games g
WHERE messages.client_msg_id GLOB 'game:*:decline'
  AND g.id = substr(messages.client_msg_id, 6, length(messages.client_msg_id) - 13)
  AND g.conversation_id = messages.conversation_id
  AND g.kind IN ('connect4', 'chess', 'pong');

UPDATE messages SET kind = 'game.result', payload = json_object(
    'gameId', g.id, 'game', g.kind, 'winnerSeat', g.winner_seat, 'reason', g.reason
  )
FROM games g
WHERE messages.client_msg_id GLOB 'game:*:result'
  AND g.id = substr(messages.client_msg_id, 6, length(messages.client_msg_id) - 12)
  AND g.conversation_id = messages.conversation_id
  AND g.kind IN ('connect4', 'chess', 'pong');
