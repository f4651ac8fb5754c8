/**
 * The common shape of every game (issue 6): plain TypeScript, no Phaser and no Colyseus, so the GameRoom runs the
 * rules authoritatively and the browser runs the same rules only to predict.
 */

/** Seat 0 moves first (Connect Four: red; chess: white; Pong: the left paddle). */
export type Seat = 0 | 1;

export interface GameResult {
  /** The winning seat, or null for a draw (or a game nobody finished). */
  winner: Seat | null;
  /** Why it ended, in words a person reads: "four in a row", "checkmate", "5 points", "resigned", "forfeit". */
  reason: string;
}

export type Applied<S> =
  /** `move`: the move as the rules read it (extra fields dropped), what a turn-based game stores to replay. */
  | { ok: true; state: S; description: string; move?: unknown }
  | { ok: false; reason: string };

export interface Game<S, V> {
  readonly kind: GameKind;
  /** Shown on buttons and in the chat: "Connect Four". */
  readonly title: string;
  /** Real-time games advance on a fixed tick (milliseconds); turn-based ones only on moves. */
  readonly tickMs: number | null;
  /** The state a new game starts from; everything random in it comes from `seed`. */
  init(seed: number): S;
  /**
   * Applies one move or input of `seat` (raw, as it came from the network: this checks its shape too) and returns
   * the new state and how to announce it, or why it is refused. Never changes `state`.
   */
  apply(state: S, seat: Seat, move: unknown): Applied<S>;
  /** Advances a real-time game by one tick. */
  tick?(state: S): S;
  /** Null while the game goes on. */
  result(state: S): GameResult | null;
  /** Whose turn it is (turn-based games), else null. */
  turn(state: S): Seat | null;
  /** What a player (or a spectator, seat null) may see. All three games here hide nothing. */
  view(state: S, seat: Seat | null): V;
}

export const gameKinds = ['connect4', 'chess', 'pong'] as const;
export type GameKind = (typeof gameKinds)[number];

export const gameTitles: Record<GameKind, string> = { connect4: 'Connect Four', chess: 'Chess', pong: 'Pong' };

/** mulberry32: a small deterministic generator; its whole state is one 32-bit number kept in the game state. */
export function nextRandom(state: number): { value: number; state: number } {
  const s = (state + 0x6d2b79f5) >>> 0;
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return { value: ((t ^ (t >>> 14)) >>> 0) / 4294967296, state: s };
}
