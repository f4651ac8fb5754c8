/** Connect Four: 7 columns, 6 rows; a disc drops to the lowest free cell; four in a row (any direction) wins. */
import { z } from 'zod';
import type { Applied, Game, GameResult, Seat } from './types.ts';

export const COLUMNS = 7;
export const ROWS = 6;

export interface ConnectFourState {
  /** board[row][column], row 0 at the top; null is empty. */
  board: Array<Array<Seat | null>>;
  next: Seat;
  moves: number[];
  result: GameResult | null;
  /** The four (or more) winning cells, [row, column]. */
  line: Array<[number, number]>;
}

export type ConnectFourView = ConnectFourState;

const moveSchema = z.object({ column: z.number().int() }, { message: 'A Connect Four move is { column }.' });

const DIRECTIONS: Array<[number, number]> = [[0, 1], [1, 0], [1, 1], [1, -1]];

function winningLine(board: ConnectFourState['board'], row: number, column: number): Array<[number, number]> {
  const seat = board[row]![column];
  for (const [dr, dc] of DIRECTIONS) {
    const line: Array<[number, number]> = [[row, column]];
    for (const sign of [1, -1]) {
      let r = row + dr * sign;
      let c = column + dc * sign;
      while (r >= 0 && r < ROWS && c >= 0 && c < COLUMNS && board[r]![c] === seat) {
        line.push([r, c]);
        r += dr * sign;
        c += dc * sign;
      }
    }
    if (line.length >= 4) return line;
  }
  return [];
}

export const connectFour: Game<ConnectFourState, ConnectFourView> = {
  kind: 'connect4',
  title: 'Connect Four',
  tickMs: null,
  init: () => ({
    board: Array.from({ length: ROWS }, () => Array.from({ length: COLUMNS }, () => null)),
    next: 0,
    moves: [],
    result: null,
    line: [],
  }),
  apply(state, seat, raw): Applied<ConnectFourState> {
    const parsed = moveSchema.safeParse(raw);
    if (!parsed.success) return { ok: false, reason: 'A Connect Four move names a column: { column: 0 to 6 }.' };
    const { column } = parsed.data;
    if (state.result) return { ok: false, reason: 'The game is over.' };
    if (seat !== state.next) return { ok: false, reason: 'It is not your turn.' };
    if (column < 0 || column >= COLUMNS) return { ok: false, reason: `There is no column ${column + 1}: columns are 1 to ${COLUMNS}.` };
    let row = -1;
    for (let r = ROWS - 1; r >= 0; r--) {
      if (state.board[r]![column] === null) {
        row = r;
        break;
      }
    }
    if (row < 0) return { ok: false, reason: `Column ${column + 1} is full.` };
    const board = state.board.map((cells) => cells.slice());
    board[row]![column] = seat;
    const moves = [...state.moves, column];
    const line = winningLine(board, row, column);
    let result: GameResult | null = null;
    if (line.length >= 4) result = { winner: seat, reason: 'four in a row' };
    else if (moves.length === ROWS * COLUMNS) result = { winner: null, reason: 'the board is full' };
    return {
      ok: true,
      state: { board, next: seat === 0 ? 1 : 0, moves, result, line },
      description: `dropped a disc in column ${column + 1}`,
      move: { column },
    };
  },
  result: (state) => state.result,
  turn: (state) => (state.result ? null : state.next),
  view: (state) => state,
};
