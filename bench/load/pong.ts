/**
 * One game of Pong played through Knock's real protocol, for bench/games.ts and the harness's `games` scenario
 * (bench/load/worker.ts): a visitor knocks and invites the owner to Pong, the owner (session cookie) accepts, and both
 * join the GameRoom with colyseus.js. Each player's paddle follows the ball and sends an input only when its
 * direction changes (a person holding and releasing a key). Every `state` a player receives is one tick the server
 * served it (the GameRoom sends one state per tick, PONG.tickMs).
 */
import type { Room } from 'colyseus.js';
import type { GameRecord } from '../../engine/protocol.ts';
import { PONG, type PongView } from '../../games/pong.ts';
import { join, knockAt, leave, type Clients } from './connections.ts';

export interface PongPlayer {
  readonly room: Room;
  readonly seat: 0 | 1;
  /** The paddle speed last sent (-1, 0, 1). */
  sent: number;
  inputs: number;
  /** `state` messages received: ticks served to this player. */
  states: number;
}

export interface PongGame {
  readonly players: readonly [PongPlayer, PongPlayer];
  /** The game ended (a player reached the winning score): it ticks no more. */
  readonly over: boolean;
  /** Leaves the game (both players, consented); the conversation sockets stay. */
  leaveGame(): Promise<void>;
  /** Leaves the game and drops both conversation sockets. */
  close(): Promise<void>;
}

export interface PongGameSpec {
  endpoint: string;
  /** The owner invited to play, logged in (their session token). */
  owner: { handle: string; token: string };
  /** The visitor's name. */
  name: string;
}

/** Follows the ball: -1, 0 or 1, sent only on a change. */
function follow(player: PongPlayer, view: PongView): void {
  const diff = view.ball.y - view.paddles[player.seat];
  const speed = Math.abs(diff) < PONG.paddleHeight / 4 ? 0 : Math.sign(diff);
  if (speed === player.sent) return;
  player.sent = speed;
  player.inputs += 1;
  player.room.send('move', { move: { speed } });
}

/** The first `type` message `accept` takes, or a rejection after `timeoutMs`. */
function waitFor<T>(room: Room, type: string, accept: (payload: T) => boolean, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching "${type}" within ${timeoutMs} ms (room ${room.name})`));
    }, timeoutMs);
    const off = room.onMessage(type, (payload: T) => {
      if (!accept(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

/** Starts one game and returns once both players are in its room; they play from then on. */
export async function startPongGame(spec: PongGameSpec, clients: Clients, timeoutMs: number): Promise<PongGame> {
  const { endpoint, owner } = spec;
  const { conversationId, token } = await knockAt(endpoint, owner.handle, spec.name, timeoutMs);
  const visitorClient = clients.visitor(endpoint);
  const ownerClient = clients.owner(endpoint, owner.token);
  const conversations: Room[] = [];
  const players: PongPlayer[] = [];
  let over = false;
  const leaveGame = async () => {
    await Promise.all(players.map((p) => p.room.leave(true).catch(() => undefined)));
  };
  const close = async () => {
    await leaveGame();
    await Promise.all(conversations.map(leave));
  };
  try {
    const visitor = await join(visitorClient, 'conversation', { conversationId, token }, timeoutMs);
    conversations.push(visitor);
    const ownerRoom = await join(ownerClient, 'conversation', { conversationId }, timeoutMs);
    conversations.push(ownerRoom);
    const invited = waitFor<GameRecord>(ownerRoom, 'game', (g) => g.status === 'invited', timeoutMs);
    visitor.send('game.invite', { kind: 'pong' });
    const game = await invited;
    const active = waitFor<GameRecord>(visitor, 'game', (g) => g.status === 'active', timeoutMs);
    ownerRoom.send('game.answer', { gameId: game.id, accept: true });
    await active;
    const options = { gameId: game.id, conversationId };
    for (const [client, extra, seat] of [[visitorClient, { token }, 0], [ownerClient, {}, 1]] as const) {
      const room = await join(client, 'game', { ...options, ...extra }, timeoutMs);
      const player: PongPlayer = { room, seat, sent: 0, inputs: 0, states: 0 };
      if (seat === 0) room.onMessage('over', () => (over = true));
      room.onMessage('state', (state: { view: PongView }) => {
        player.states += 1;
        follow(player, state.view);
      });
      players.push(player);
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    players: [players[0]!, players[1]!],
    get over() {
      return over;
    },
    leaveGame,
    close,
  };
}
