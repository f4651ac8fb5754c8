/** The games part of the PostgreSQL adapter (003_games.sql): one statement per call, so each is its own transaction. */
import type pg from 'pg';
import { KnockError } from '../../../engine/errors.ts';
import type { GameMove, GameStorage, StoredGame } from '../../../engine/ports/storage.ts';
import { newId, rowLimit } from '../common.ts';
import { openGameConflict, toGame, type GameRow } from '../gameRows.ts';
import { SqlState, asStorageError, isViolation, withCause } from './databaseErrors.ts';

export class PostgresGames implements GameStorage {
  constructor(private readonly pool: pg.Pool) {}

  async createGame(input: Parameters<GameStorage['createGame']>[0]): Promise<StoredGame> {
    const rows = await this.query(
      `INSERT INTO games (id, conversation_id, kind, player0_id, player1_id, status, seed, created_at)
       VALUES ($1, $2, $3, $4, $5, 'invited', $6, $7) RETURNING *`,
      [newId(), input.conversationId, input.kind, input.players[0], input.players[1], input.seed >>> 0, input.at],
    );
    return toGame(rows[0]!);
  }

  async getGame(id: string): Promise<StoredGame | null> {
    const rows = await this.query('SELECT * FROM games WHERE id = $1', [id]);
    return rows[0] ? toGame(rows[0]) : null;
  }

  async openGame(conversationId: string): Promise<StoredGame | null> {
    const rows = await this.query(`SELECT * FROM games WHERE conversation_id = $1 AND status IN ('invited', 'active')`, [conversationId]);
    return rows[0] ? toGame(rows[0]) : null;
  }

  async transitionGame(id: string, change: Parameters<GameStorage['transitionGame']>[1]): Promise<StoredGame | null> {
    const ends = change.to === 'finished' || change.to === 'declined';
    const rows = await this.query(
      'UPDATE games SET status = $1, winner_seat = $2, reason = $3, ended_at = $4 WHERE id = $5 AND status = $6 RETURNING *',
      [change.to, change.winnerSeat ?? null, change.reason ?? null, ends ? change.at : null, id, change.from],
    );
    return rows[0] ? toGame(rows[0]) : null;
  }

  async appendGameMove(id: string, expectedCount: number, move: GameMove): Promise<boolean> {
    const rows = await this.query(
      `UPDATE games SET moves = (moves::jsonb || jsonb_build_array($1::jsonb))::text, move_count = move_count + 1
       WHERE id = $2 AND status = 'active' AND move_count = $3 RETURNING *`,
      [JSON.stringify(move), id, expectedCount],
    );
    return rows.length === 1;
  }

  async finishedGames(conversationId: string, limit: number): Promise<StoredGame[]> {
    const rows = await this.query(
      `SELECT * FROM games WHERE conversation_id = $1 AND status = 'finished' ORDER BY ended_at DESC, created_at DESC, id LIMIT $2`,
      [conversationId, rowLimit(limit)],
    );
    return rows.map(toGame);
  }

  private async query(text: string, values: unknown[]): Promise<GameRow[]> {
    try {
      return (await this.pool.query<GameRow>(text, values)).rows;
    } catch (err) {
      if (isViolation(err, SqlState.uniqueViolation, 'games_open')) throw withCause(new KnockError('conflict', openGameConflict), err);
      if (isViolation(err, SqlState.foreignKeyViolation)) throw withCause(new KnockError('not_found', 'This conversation or player does not exist.'), err);
      throw asStorageError(err);
    }
  }
}
