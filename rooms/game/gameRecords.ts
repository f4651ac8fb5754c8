/** What a finished game says, in the chat and in the game view: the result line and the conversation's score. */
import type { LogEntry } from '../../engine/conversationLog.ts';
import type { StoredGame } from '../../engine/ports/storage.ts';
import type { GameRecord, GameScores } from '../../engine/protocol.ts';
import { gameTitles, type GameKind } from '../../games/types.ts';

/** Wins per participant and draws over `finished` (abandoned games, with no winner and reason "abandoned", count as neither). */
export function scoresOf(finished: StoredGame[], recent = 10): GameScores {
  const wins: Record<string, number> = {};
  let draws = 0;
  for (const game of finished) {
    if (game.winnerSeat === null) {
      if (game.reason !== 'abandoned') draws += 1;
      continue;
    }
    const winner = game.players[game.winnerSeat];
    wins[winner] = (wins[winner] ?? 0) + 1;
  }
  return { wins, draws, recent: finished.slice(0, recent).map(toGameRecord) };
}

/** "Connect Four: Vic won (four in a row). Score: Vic 2, Ann 1, 0 draws." */
export function gameResultText(game: StoredGame, names: [string, string], finished: StoredGame[]): string {
  const title = gameTitles[game.kind as GameKind] ?? game.kind;
  const outcome = game.winnerSeat === null
    ? game.reason === 'abandoned' ? 'abandoned' : `a draw (${game.reason ?? 'draw'})`
    : `${names[game.winnerSeat]} won (${game.reason ?? 'win'})`;
  const scores = scoresOf(finished);
  const score = `${names[0]} ${scores.wins[game.players[0]] ?? 0}, ${names[1]} ${scores.wins[game.players[1]] ?? 0}, ${scores.draws} draw${scores.draws === 1 ? '' : 's'}`;
  return `${title}: ${outcome}. Score: ${score}.`;
}

/**
 * What a finished game writes in its conversation: a `game.result` event from the winner (seat 0 for a draw), keyed
 * `game:<id>:result` so that writing it twice (a retry, a second process) stores it once.
 */
export function gameResultEntry(game: StoredGame, names: [string, string], finished: StoredGame[]): LogEntry {
  return {
    senderId: game.players[game.winnerSeat ?? 0],
    idempotencyKey: `game:${game.id}:result`,
    body: gameResultText(game, names, finished),
    event: { kind: 'game.result', gameId: game.id, game: game.kind as GameKind, winnerSeat: game.winnerSeat, reason: game.reason },
  };
}

export function toGameRecord(game: StoredGame): GameRecord {
  return {
    id: game.id,
    kind: game.kind as GameKind,
    status: game.status,
    players: game.players,
    winnerSeat: game.winnerSeat,
    reason: game.reason,
    createdAt: game.createdAt,
    endedAt: game.endedAt,
  };
}
