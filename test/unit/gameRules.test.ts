/** Rules of every game (issue 6, "Done when" 1): wins, draws, illegal moves; chess through chess.js; Pong determinism. */
import { describe, expect, it } from 'vitest';
import { connectFour, type ConnectFourState } from '../../games/connectFour.ts';
import { Chess } from 'chess.js';
import { chess, type ChessState } from '../../games/chess.ts';
import { pong, pongTick, PONG, type PongState } from '../../games/pong.ts';
import type { Seat } from '../../games/types.ts';
import { seededRandom, testSeed } from '../support/seeded.ts';

function playColumns(columns: number[]): ConnectFourState {
  let state = connectFour.init(1);
  columns.forEach((column, i) => {
    const applied = connectFour.apply(state, (i % 2) as Seat, { column });
    if (!applied.ok) throw new Error(`move ${i} (column ${column}): ${applied.reason}`);
    state = applied.state;
  });
  return state;
}

describe('Connect Four', () => {
  it('a horizontal four wins', () => {
    const s = playColumns([0, 0, 1, 1, 2, 2, 3]);
    expect(connectFour.result(s)).toEqual({ winner: 0, reason: 'four in a row' });
    expect(s.line).toHaveLength(4);
  });
  it('a vertical four wins', () => {
    expect(connectFour.result(playColumns([0, 1, 0, 1, 0, 1, 0]))?.winner).toBe(0);
  });
  it('a rising diagonal wins', () => {
    // seat 0 at (col0,row5) (col1,row4) (col2,row3) (col3,row2)
    expect(connectFour.result(playColumns([0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3]))?.winner).toBe(0);
  });
  it('a rising diagonal wins for the second player', () => {
    const s = playColumns([1, 4, 2, 3, 3, 3, 2, 2, 6, 3, 6, 0, 4, 1]);
    expect(connectFour.result(s)).toEqual({ winner: 1, reason: 'four in a row' });
    expect(s.line).toEqual(expect.arrayContaining([[5, 0], [4, 1], [3, 2], [2, 3]]));
  });
  it('a falling diagonal wins', () => {
    const s = playColumns([2, 4, 1, 2, 2, 2, 6, 3, 0, 1, 0, 4, 0, 2, 1, 2, 1, 5, 3, 3]);
    expect(connectFour.result(s)).toEqual({ winner: 1, reason: 'four in a row' });
    expect(s.line).toEqual(expect.arrayContaining([[2, 2], [3, 3], [4, 4], [5, 5]]));
  });
  it('a full board without four is a draw', () => {
    // Columns filled in pairs so that no four line up: pattern from a known drawn game.
    const order = [0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 2, 3, 2, 3, 2, 3, 3, 2, 3, 2, 3, 2, 4, 5, 4, 5, 4, 5, 5, 4, 5, 4, 5, 4, 6, 6, 6, 6, 6, 6];
    const s = playColumns(order);
    expect(connectFour.result(s)).toEqual({ winner: null, reason: 'the board is full' });
  });
  it('refuses moves out of turn, into a full column, off the board, malformed and after the end, leaving the state as it was', () => {
    const start = playColumns([3]);
    const snapshot = JSON.stringify(start);
    expect(connectFour.apply(start, 0, { column: 2 })).toEqual({ ok: false, reason: 'It is not your turn.' });
    expect(connectFour.apply(start, 1, { column: 7 })).toMatchObject({ ok: false, reason: expect.stringContaining('no column 8') });
    expect(connectFour.apply(start, 1, { column: -1 })).toMatchObject({ ok: false });
    expect(connectFour.apply(start, 1, { column: 1.5 })).toMatchObject({ ok: false });
    expect(connectFour.apply(start, 1, 'drop')).toMatchObject({ ok: false });
    expect(JSON.stringify(start)).toBe(snapshot);
    const full = playColumns([0, 0, 0, 0, 0, 0]);
    expect(connectFour.apply(full, 0, { column: 0 })).toEqual({ ok: false, reason: 'Column 1 is full.' });
    const won = playColumns([0, 1, 0, 1, 0, 1, 0]);
    expect(connectFour.apply(won, 1, { column: 5 })).toEqual({ ok: false, reason: 'The game is over.' });
    expect(connectFour.turn(won)).toBeNull();
  });
});

function playChess(moves: Array<[string, string, string?]>): ChessState {
  let state = chess.init(1);
  moves.forEach(([from, to, promotion], i) => {
    const applied = chess.apply(state, (i % 2) as Seat, promotion ? { from, to, promotion } : { from, to });
    if (!applied.ok) throw new Error(`move ${i}: ${applied.reason}`);
    state = applied.state;
  });
  return state;
}

describe('chess (chess.js)', () => {
  it("fool's mate is checkmate for black", () => {
    const s = playChess([['f2', 'f3'], ['e7', 'e5'], ['g2', 'g4'], ['d8', 'h4']]);
    expect(chess.result(s)).toEqual({ winner: 1, reason: 'checkmate' });
    expect(chess.view(s, null).check).toBe(true);
    expect(s.history.at(-1)).toBe('Qh4#');
  });
  it('check is shown and the game goes on', () => {
    const s = playChess([['e2', 'e4'], ['f7', 'f6'], ['d1', 'h5']]);
    expect(chess.view(s, 1).check).toBe(true);
    expect(chess.result(s)).toBeNull();
    expect(chess.turn(s)).toBe(1);
  });
  it('stalemate is a draw', () => {
    // A known 10-move stalemate (Sam Loyd).
    const san = ['e3', 'a5', 'Qh5', 'Ra6', 'Qxa5', 'h5', 'h4', 'Rah6', 'Qxc7', 'f6', 'Qxd7+', 'Kf7', 'Qxb7', 'Qd3', 'Qxb8', 'Qh7', 'Qxc8', 'Kg6', 'Qe6'];
    let state = chess.init(1);
    // Play SAN through from/to squares found by chess.js itself.
    const board = new Chess();
    san.forEach((m, i) => {
      const move = board.move(m);
      const applied = chess.apply(state, (i % 2) as Seat, { from: move.from, to: move.to });
      if (!applied.ok) throw new Error(applied.reason);
      state = applied.state;
    });
    expect(chess.result(state)).toEqual({ winner: null, reason: 'stalemate' });
  });
  it('a pawn reaching the last rank is promoted to the piece asked for', () => {
    const s = playChess([['h2', 'h4'], ['g7', 'g5'], ['h4', 'g5'], ['h7', 'h6'], ['g5', 'h6'], ['f8', 'g7'], ['h6', 'g7'], ['g8', 'f6'], ['g7', 'h8', 'n']]);
    expect(s.history.at(-1)).toBe('gxh8=N');
    expect(s.fen.split(' ')[0]!.split('/')[0]).toBe('rnbqk2N');
  });
  it('refuses illegal, out-of-turn and malformed moves without changing the game', () => {
    const s = playChess([['e2', 'e4']]);
    expect(chess.apply(s, 0, { from: 'd2', to: 'd4' })).toEqual({ ok: false, reason: 'It is not your turn.' });
    expect(chess.apply(s, 1, { from: 'e7', to: 'e4' })).toEqual({ ok: false, reason: 'e7 to e4 is not a legal move.' });
    expect(chess.apply(s, 1, { from: 'z9', to: 'e5' })).toMatchObject({ ok: false });
    expect(chess.apply(s, 1, { from: 'e7', to: 'e5', promotion: 'k' })).toMatchObject({ ok: false });
    expect(s.history).toEqual(['e4']);
  });
});

function runPong(seed: number, inputs: Array<{ tick: number; seat: Seat; speed: number }>, ticks: number): PongState {
  let state = pong.init(seed);
  for (let t = 0; t < ticks; t++) {
    for (const input of inputs) {
      if (input.tick !== t) continue;
      const applied = pong.apply(state, input.seat, { speed: input.speed });
      if (applied.ok) state = applied.state;
    }
    state = pongTick(state);
  }
  return state;
}

describe('Pong physics', () => {
  it('is deterministic for a seed and inputs', () => {
    const seed = testSeed('pong');
    const rand = seededRandom(seed);
    const inputs = Array.from({ length: 300 }, () => ({ tick: rand.int(0, 2999), seat: rand.int(0, 1) as Seat, speed: rand.int(-10, 10) / 10 }));
    const a = runPong(seed, inputs, 3000);
    const b = runPong(seed, inputs, 3000);
    expect(a).toEqual(b);
    expect(a.tick).toBe(a.result ? a.tick : 3000);
    expect(a.score[0] + a.score[1]).toBeGreaterThan(0);
    const other = runPong(seed + 1, inputs, 3000);
    expect(other).not.toEqual(a);
  });
  it('paddles never move faster than the top speed, and too-fast or malformed inputs are refused', () => {
    const s = pong.init(7);
    expect(pong.apply(s, 0, { speed: 5 })).toMatchObject({ ok: false, reason: expect.stringContaining('top speed') });
    expect(pong.apply(s, 0, { speed: Number.NaN })).toMatchObject({ ok: false });
    expect(pong.apply(s, 0, { y: 10 })).toMatchObject({ ok: false });
    const moved = pong.apply(s, 0, { speed: -1 });
    if (!moved.ok) throw new Error(moved.reason);
    const after = pongTick(moved.state);
    expect(Math.abs(after.paddles[0] - s.paddles[0])).toBeLessThanOrEqual(PONG.paddleSpeed);
  });
  it('a paddle in the ball’s way returns it, and an empty side concedes the point', () => {
    // Seat 1 tracks the ball perfectly (teleport-free: it follows at top speed); seat 0 stays still.
    let state = pong.init(3);
    for (let t = 0; t < 2000 && !state.result; t++) {
      const diff = state.ball.y - state.paddles[1];
      const applied = pong.apply(state, 1, { speed: Math.max(-1, Math.min(1, diff / PONG.paddleSpeed)) });
      if (applied.ok) state = applied.state;
      state = pongTick(state);
    }
    expect(state.result).toEqual({ winner: 1, reason: '5 points' });
    expect(state.score[1]).toBe(5);
  });
});
