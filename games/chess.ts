/** Chess through chess.js (the rules library Lichess-like sites build on); the state is the FEN plus the move list. */
import { Chess } from 'chess.js';
import { z } from 'zod';
import type { Applied, Game, GameResult, Seat } from './types.ts';

export interface ChessState {
  fen: string;
  /** Moves in SAN, in order. */
  history: string[];
  /** The last move's squares, for highlighting. */
  last: { from: string; to: string } | null;
  /** A result that is not on the board (none yet: resignations and forfeits are the room's). */
  result: GameResult | null;
}

export interface ChessView extends ChessState {
  turn: Seat;
  check: boolean;
}

const square = z.string().regex(/^[a-h][1-8]$/, { message: 'A square is a letter a-h and a digit 1-8.' });
const moveSchema = z.object({ from: square, to: square, promotion: z.enum(['q', 'r', 'b', 'n']).optional() });

const START = new Chess().fen();

function boardResult(chess: Chess): GameResult | null {
  if (chess.isCheckmate()) return { winner: chess.turn() === 'w' ? 1 : 0, reason: 'checkmate' };
  if (chess.isStalemate()) return { winner: null, reason: 'stalemate' };
  if (chess.isInsufficientMaterial()) return { winner: null, reason: 'insufficient material' };
  if (chess.isThreefoldRepetition()) return { winner: null, reason: 'threefold repetition' };
  if (chess.isDraw()) return { winner: null, reason: 'the fifty-move rule' };
  return null;
}

/** chess.js needs the history for threefold repetition: replay from the start (games are short; a few ms). */
function replay(state: ChessState): Chess {
  const chess = new Chess();
  for (const san of state.history) chess.move(san);
  return chess;
}

export const chess: Game<ChessState, ChessView> = {
  kind: 'chess',
  title: 'Chess',
  tickMs: null,
  init: () => ({ fen: START, history: [], last: null, result: null }),
  apply(state, seat, raw): Applied<ChessState> {
    const parsed = moveSchema.safeParse(raw);
    if (!parsed.success) return { ok: false, reason: 'A chess move is { from, to, promotion? }, squares such as "e2" and "e4".' };
    if (state.result) return { ok: false, reason: 'The game is over.' };
    const game = replay(state);
    if ((game.turn() === 'w' ? 0 : 1) !== seat) return { ok: false, reason: 'It is not your turn.' };
    let move;
    try {
      move = game.move({ from: parsed.data.from, to: parsed.data.to, promotion: parsed.data.promotion ?? 'q' });
    } catch {
      return { ok: false, reason: `${parsed.data.from} to ${parsed.data.to} is not a legal move.` };
    }
    return {
      ok: true,
      state: { fen: game.fen(), history: [...state.history, move.san], last: { from: move.from, to: move.to }, result: boardResult(game) },
      description: `played ${move.san}`,
      move: { from: move.from, to: move.to, ...(move.promotion ? { promotion: move.promotion } : {}) },
    };
  },
  result: (state) => state.result,
  turn: (state) => (state.result ? null : state.fen.split(' ')[1] === 'w' ? 0 : 1),
  view: (state) => {
    const game = new Chess(state.fen);
    return { ...state, turn: game.turn() === 'w' ? 0 : 1, check: game.inCheck() };
  },
};
