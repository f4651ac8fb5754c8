-- 003: games played in conversations (issue 6; the same model as sqlite/003_games.sql).
CREATE TABLE games (
  id              TEXT COLLATE "C" PRIMARY KEY,
  conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  kind            TEXT COLLATE "C" NOT NULL,
  player0_id      TEXT COLLATE "C" NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
  player1_id      TEXT COLLATE "C" NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
  status          TEXT COLLATE "C" NOT NULL CHECK (status IN ('invited', 'declined', 'active', 'finished')),
  seed            BIGINT NOT NULL,
  winner_seat     INTEGER CHECK (winner_seat IN (0, 1)),
  reason          TEXT,
  created_at      BIGINT NOT NULL,
  ended_at        BIGINT,
  moves           TEXT NOT NULL DEFAULT '[]',
  move_count      INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX games_open ON games(conversation_id) WHERE status IN ('invited', 'active');
CREATE INDEX games_finished ON games(conversation_id, ended_at DESC) WHERE status = 'finished';
