/** Every game Knock offers, by kind. */
import { chess } from './chess.ts';
import { connectFour } from './connectFour.ts';
import { pong } from './pong.ts';
import type { Game, GameKind } from './types.ts';

// The registry holds games of different state types; callers only pass a game's own state back to it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- heterogeneous registry, see above
export type AnyGame = Game<any, any>;

export const games: Record<GameKind, AnyGame> = { connect4: connectFour, chess, pong };
