/** The games part of the SQLite adapter (003_games.sql): one statement per call, so each is atomic by itself. */
import Database from 'better-sqlite3';
import { KnockError } from '../../../engine/errors.ts';
import type { GameMove, GameStorage, StoredGame } from '../../../engine/ports/storage.ts';
import { newId, rowLimit } from '../common.ts';
import { openGameConflict, toGame, type GameRow } from '../gameRows.ts';

export class SqliteGames implements GameStorage {
  private readonly q;

  constructor(db: Database.Database) {
    this.q = {
      insert: db.prepare<[string, string, string, string, string, number, number]>(
        `INSERT INTO games (id, conversation_id, kind, player0_id, player1_id, status, seed, created_at) VALUES (?, ?, ?, ?, ?, 'invited', ?, ?)`,
      ),
      byId: db.prepare<[string], GameRow>('SELECT * FROM games WHERE id = ?'),
      open: db.prepare<[string], GameRow>(`SELECT * FROM games WHERE conversation_id = ? AND status IN ('invited', 'active')`),
      transition: db.prepare<[string, number | null, string | null, number | null, string, string], GameRow>(
        `UPDATE games SET status = ?, winner_seat = ?, reason = ?, ended_at = ? WHERE id = ? AND status = ? RETURNING *`,
      ),
      appendMove: db.prepare<[string, string, number]>(
        `UPDATE games SET moves = json_insert(moves, '$[#]', json(?)), move_count = move_count + 1 WHERE id = ? AND status = 'active' AND move_count = ?`,
      ),
      finished: db.prepare<[string, number], GameRow>(
        `SELECT * FROM games WHERE conversation_id = ? AND status = 'finished' ORDER BY ended_at DESC, rowid DESC LIMIT ?`,
      ),
    };
  }

  async createGame(input: Parameters<GameStorage['createGame']>[0]): Promise<StoredGame> {
    const id = newId();
    try {
      this.q.insert.run(id, input.conversationId, input.kind, input.players[0], input.players[1], input.seed >>> 0, input.at);
    } catch (err) {
      if (err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_UNIQUE') throw new KnockError('conflict', openGameConflict);
      if (err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw new KnockError('not_found', 'This conversation or player does not exist.');
      throw err;
    }
    return toGame(this.q.byId.get(id)!);
  }

  async getGame(id: string): Promise<StoredGame | null> {
    const row = this.q.byId.get(id);
    return row ? toGame(row) : null;
  }

  async openGame(conversationId: string): Promise<StoredGame | null> {
    const row = this.q.open.get(conversationId);
    return row ? toGame(row) : null;
  }

  async transitionGame(id: string, change: Parameters<GameStorage['transitionGame']>[1]): Promise<StoredGame | null> {
    const ends = change.to === 'finished' || change.to === 'declined';
    try {
      const row = this.q.transition.get(change.to, change.winnerSeat ?? null, change.reason ?? null, ends ? change.at : null, id, change.from);
      return row ? toGame(row) : null;
    } catch (err) {
      // Re-opening a game while another is open (only a wrong caller would try).
      if (err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_UNIQUE') throw new KnockError('conflict', openGameConflict);
      throw err;
    }
  }

  async appendGameMove(id: string, expectedCount: number, move: GameMove): Promise<boolean> {
    return this.q.appendMove.run(JSON.stringify(move), id, expectedCount).changes === 1;
  }

  async finishedGames(conversationId: string, limit: number): Promise<StoredGame[]> {
    return this.q.finished.all(conversationId, rowLimit(limit)).map(toGame);
  }
}
