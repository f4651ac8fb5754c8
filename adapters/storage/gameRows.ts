/** The games table as both SQL adapters read it (003_games.sql), and its record. */
import type { GameMove, GameStatus, StoredGame } from '../../engine/ports/storage.ts';

export interface GameRow {
  id: string;
  conversation_id: string;
  kind: string;
  player0_id: string;
  player1_id: string;
  status: string;
  seed: number;
  winner_seat: number | null;
  reason: string | null;
  created_at: number;
  ended_at: number | null;
  moves: string;
}

export function toGame(row: GameRow): StoredGame {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    kind: row.kind,
    players: [row.player0_id, row.player1_id],
    status: row.status as GameStatus,
    seed: Number(row.seed),
    winnerSeat: row.winner_seat === 0 || row.winner_seat === 1 ? row.winner_seat : null,
    reason: row.reason,
    createdAt: Number(row.created_at),
    endedAt: row.ended_at === null ? null : Number(row.ended_at),
    moves: JSON.parse(row.moves) as GameMove[],
  };
}

export const openGameConflict = 'This conversation already has a game invited or going on: finish or decline it first.';

