-- 003: games played in conversations (issue 6): invitations, the game going on, finished games (score history).
CREATE TABLE games (
  id              TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  kind            TEXT NOT NULL,
  player0_id      TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
  player1_id      TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
  status          TEXT NOT NULL CHECK (status IN ('invited', 'declined', 'active', 'finished')),
  seed            INTEGER NOT NULL,
  winner_seat     INTEGER CHECK (winner_seat IN (0, 1)),
  reason          TEXT,
  created_at      INTEGER NOT NULL,
  ended_at        INTEGER,
  -- Accepted moves of a turn-based game, JSON [{seat, move}], so a room made anew (a restart) replays them.
  moves           TEXT NOT NULL DEFAULT '[]',
  move_count      INTEGER NOT NULL DEFAULT 0
);
-- One open game (invited or active) per conversation: two invitations racing cannot both win.
CREATE UNIQUE INDEX games_open ON games(conversation_id) WHERE status IN ('invited', 'active');
-- The score history: finished games of a conversation, newest first.
CREATE INDEX games_finished ON games(conversation_id, ended_at DESC) WHERE status = 'finished';
