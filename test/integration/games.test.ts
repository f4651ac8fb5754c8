/**
 * Games on a real server with real colyseus.js sockets (issue 6, "Done when" 2): invitations in the conversation,
 * turn order, cheating attempts refused without changing the game, spectators who see but cannot move, non-members
 * kept out, a reload resuming the game, forfeit on timeout, Pong's fixed tick, and results in the chat for both.
 */
import { matchMaker } from '@colyseus/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type Person } from '../support/clients.ts';
import { Cast, NO_PINGS, testRateLimits } from '../support/cast.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { RawRoom } from '../support/rawRoom.ts';
import { GameLobby } from '../../client/src/sdk/gameSession.ts';
import type { ConnectFourView } from '../../games/connectFour.ts';
import type { PongView } from '../../games/pong.ts';
import type { ErrorPayload, GameRecord, GameServerMessages, MessageRecord } from '../../engine/protocol.ts';

type Welcome = GameServerMessages['welcome'];
type State = GameServerMessages['state'];
type Over = GameServerMessages['over'];

const FORFEIT_MS = 1500;
const INPUTS_PER_SECOND = 10;

let knock: TestKnock;
let cast: Cast;
let theOwner: { handle: string; person: Person };
const rooms: RawRoom[] = [];

beforeAll(async () => {
  knock = await startKnock({
    pingIntervalMs: NO_PINGS,
    rateLimits: testRateLimits(),
    gameForfeitMs: FORFEIT_MS,
    gameInputs: { perWindow: INPUTS_PER_SECOND, windowMs: 1000 },
  });
  cast = new Cast(knock);
  theOwner = await cast.owner('Alice');
});
afterEach(async () => {
  await Promise.all(rooms.splice(0).map((r) => r.leave()));
  await cast.closeAll();
});
afterAll(() => knock.close());

async function open(name: 'conversation' | 'game', options: Record<string, unknown>, headers?: Record<string, string>): Promise<RawRoom> {
  const room = await RawRoom.join(knock.url, name, options, headers);
  rooms.push(room);
  await waitFor(room, (s) => s.of('welcome').length >= 1, `${name} welcome`);
  return room;
}

const gamesOf = (room: RawRoom) => room.snapshot().of<GameRecord>('game');
const errorsOf = (room: RawRoom) => room.snapshot().of<ErrorPayload>('error');
const lastState = <V>(room: RawRoom) => room.snapshot().of<State>('state').at(-1)?.view as V | undefined;

/** A conversation with the visitor Vic and one owner tab, and a game of `kind` Vic invited Alice to and she accepted. */
async function startGame(kind: 'connect4' | 'chess' | 'pong') {
  const { handle, person: alice } = theOwner;
  const { conversationId, token } = await cast.visitor().api.knock(handle, 'Vic');
  const visitor = await open('conversation', { conversationId, token });
  const owner = await open('conversation', { conversationId }, alice.headers);
  visitor.send('game.invite', { kind });
  await waitFor(owner, (s) => s.of<GameRecord>('game').some((g) => g.status === 'invited'), 'the invitation');
  const invited = gamesOf(owner).at(-1)!;
  owner.send('game.answer', { gameId: invited.id, accept: true });
  await waitFor(visitor, (s) => s.of<GameRecord>('game').some((g) => g.status === 'active'), 'the game accepted');
  const gameOptions = { gameId: invited.id, conversationId };
  const vicGame = await open('game', { ...gameOptions, token });
  const aliceGame = await open('game', gameOptions, alice.headers);
  return { conversationId, token, alice, visitor, owner, game: invited, gameOptions, vicGame, aliceGame };
}

describe('invitations', () => {
  it('an invitation shows in the chat for both; only the invited player can accept; a second open game is refused', async () => {
    const { handle, person: alice } = theOwner;
    const { conversationId, token } = await cast.visitor().api.knock(handle, 'Vic');
    const visitor = await open('conversation', { conversationId, token });
    const owner = await open('conversation', { conversationId }, alice.headers);
    visitor.send('game.invite', { kind: 'chess' });
    await waitFor(owner, (s) => s.of<MessageRecord>('message').some((m) => m.body === 'Vic invites Alice to play Chess.'), 'the invitation in the chat');
    const game = (await waitFor(visitor, (s) => s.of<GameRecord>('game').length === 1, 'game record')).of<GameRecord>('game')[0]!;
    expect(game).toMatchObject({ kind: 'chess', status: 'invited' });
    visitor.send('game.answer', { gameId: game.id, accept: true });
    await waitFor(visitor, (s) => s.of<ErrorPayload>('error').some((e) => e.code === 'forbidden'), 'inviter cannot accept');
    owner.send('game.invite', { kind: 'pong' });
    await waitFor(owner, (s) => s.of<ErrorPayload>('error').some((e) => e.code === 'conflict'), 'second open game refused');
    visitor.send('game.invite', { kind: 'tetris' });
    await waitFor(visitor, (s) => s.of<ErrorPayload>('error').some((e) => e.code === 'bad_request' && /connect4/.test(e.message)), 'unknown kind refused');
    owner.send('game.answer', { gameId: game.id, accept: false });
    await waitFor(visitor, (s) => s.of<GameRecord>('game').some((g) => g.status === 'declined'), 'declined');
    await waitFor(visitor, (s) => s.of<MessageRecord>('message').some((m) => m.body === 'Alice declined Chess.'), 'decline in chat');
    // A later device learns nothing is open; a new invitation (a rematch) is possible.
    owner.send('game.invite', { kind: 'chess' });
    await waitFor(visitor, (s) => s.of<GameRecord>('game').filter((g) => g.status === 'invited').length === 2, 'a new invitation');
    const late = await open('conversation', { conversationId, token });
    await waitFor(late, (s) => s.of<GameRecord>('game').some((g) => g.status === 'invited' && g.players[0] !== game.players[0]), 'the open invitation on join');
  });
});

describe('Connect Four in a GameRoom', () => {
  it('keeps turn order, refuses cheating without changing the game, and records the win in the chat for both', async () => {
    const { vicGame, aliceGame, visitor, owner } = await startGame('connect4');
    expect(vicGame.snapshot().of<Welcome>('welcome')[0]).toMatchObject({ seat: 0, names: ['Vic', 'Alice'], turn: 0 });
    expect(aliceGame.snapshot().of<Welcome>('welcome')[0]!.seat).toBe(1);
    // Out of turn, malformed, off the board: refused, nothing changes.
    aliceGame.send('move', { move: { column: 3 } });
    await waitFor(aliceGame, (s) => s.of<ErrorPayload>('error').some((e) => e.message === 'It is not your turn.'), 'out of turn');
    vicGame.send('move', { move: { column: 'x' } });
    vicGame.send('move', { move: { column: 9 } });
    vicGame.send('move', { nothing: true });
    await waitFor(vicGame, (s) => s.of<ErrorPayload>('error').length === 3, 'three refusals');
    expect(errorsOf(vicGame).map((e) => e.code)).toEqual(['bad_request', 'bad_request', 'bad_request']);
    expect(errorsOf(vicGame).map((e) => e.message)).toContain('There is no column 10: columns are 1 to 7.');
    expect(vicGame.snapshot().of('state')).toHaveLength(0);
    // Vic: 0 0 0 0 (vertical), Alice: 1 1 1.
    const moves: Array<[RawRoom, number]> = [[vicGame, 0], [aliceGame, 1], [vicGame, 0], [aliceGame, 1], [vicGame, 0], [aliceGame, 1], [vicGame, 0]];
    for (const [i, [room, column]] of moves.entries()) {
      room.send('move', { move: { column } });
      await waitFor(vicGame, (s) => s.of('state').length === i + 1, `move ${i + 1}`);
    }
    const over = (await waitFor(aliceGame, (s) => s.of('over').length === 1, 'game over')).of<Over>('over')[0]!;
    expect(over.result).toEqual({ winner: 0, reason: 'four in a row' });
    expect(over.game.status).toBe('finished');
    expect(lastState<ConnectFourView>(aliceGame)!.line).toHaveLength(4);
    expect(aliceGame.snapshot().of<State>('state').at(-1)!.lastMove).toEqual({ seat: 0, text: 'Vic dropped a disc in column 1' });
    for (const room of [visitor, owner]) {
      await waitFor(room, (s) => s.of<MessageRecord>('message').some((m) => m.body === 'Connect Four: Vic won (four in a row). Score: Vic 1, Alice 0, 0 draws.'), 'result in the chat');
      await waitFor(room, (s) => s.of<GameRecord>('game').some((g) => g.status === 'finished' && g.winnerSeat === 0), 'finished record');
    }
    const winner = over.game.players[0];
    expect(over.scores.wins[winner]).toBe(1);
    // After the end, moves are refused.
    aliceGame.send('move', { move: { column: 5 } });
    await waitFor(aliceGame, (s) => s.of<ErrorPayload>('error').some((e) => e.code === 'conflict'), 'no move after the end');
  });

  it('lets spectators watch but not move, keeps non-members out, and refuses a move flood', async () => {
    const { vicGame, gameOptions, alice } = await startGame('connect4');
    // Alice's second device: her seat is taken by her first, so it watches.
    const watcher = await open('game', gameOptions, (await cast.device(theOwner.handle)).headers);
    expect(watcher.snapshot().of<Welcome>('welcome')[0]!.seat).toBeNull();
    watcher.send('move', { move: { column: 2 } });
    await waitFor(watcher, (s) => s.of<ErrorPayload>('error').some((e) => e.code === 'forbidden'), 'spectator refused');
    vicGame.send('move', { move: { column: 4 } });
    await waitFor(watcher, (s) => s.of('state').length === 1, 'spectator sees the move');
    expect(lastState<ConnectFourView>(watcher)!.board[5]![4]).toBe(0);
    // Someone from another conversation, with their own valid token, cannot enter this game.
    const { token: otherToken } = await cast.visitor().api.knock(theOwner.handle, 'Mallory');
    await expect(RawRoom.join(knock.url, 'game', { ...gameOptions, token: otherToken })).rejects.toMatchObject({ message: 'This link is not valid.' });
    const { conversationId: otherConversation, token: otherToken2 } = await cast.visitor().api.knock(theOwner.handle, 'Eve');
    await expect(RawRoom.join(knock.url, 'game', { gameId: gameOptions.gameId, conversationId: otherConversation, token: otherToken2 })).rejects.toMatchObject({ message: 'There is no such game in this conversation.' });
    await expect(RawRoom.join(knock.url, 'game', gameOptions)).rejects.toMatchObject({ message: 'Please log in.' });
    // A flood of moves: the first is Alice's turn and counts, the next are out of turn, and beyond the limit rate-limited.
    const aliceGame = rooms.find((r) => r.snapshot().of<Welcome>('welcome')[0]?.seat === 1)!;
    for (let i = 0; i < INPUTS_PER_SECOND + 5; i++) aliceGame.send('move', { move: { column: 1 } });
    await waitFor(aliceGame, (s) => s.of<ErrorPayload>('error').some((e) => e.code === 'rate_limited'), 'flood limited');
    expect(alice).toBeDefined();
    await waitFor(vicGame, (s) => s.of('state').length === 2, 'Alice’s one move');
    expect(lastState<ConnectFourView>(vicGame)!.moves).toEqual([4, 1]);
    expect(errorsOf(aliceGame).filter((e) => e.code === 'rate_limited').length).toBeGreaterThanOrEqual(5);
  });

  it('resumes the same game after a reload, and a player who does not come back forfeits', async () => {
    const { vicGame, aliceGame, gameOptions, token, visitor, owner } = await startGame('connect4');
    vicGame.send('move', { move: { column: 3 } });
    await waitFor(aliceGame, (s) => s.of('state').length === 1, 'first move');
    await vicGame.leave();
    await waitFor(aliceGame, (s) => s.of<GameServerMessages['players']>('players').some((p) => !p.connected[0] && p.forfeitAt[0] !== null), 'Vic shown away');
    const back = await open('game', { ...gameOptions, token });
    const welcome = back.snapshot().of<Welcome>('welcome')[0]!;
    expect(welcome.seat).toBe(0);
    expect((welcome.view as ConnectFourView).moves).toEqual([3]);
    expect(welcome.turn).toBe(1);
    // Now Alice goes and does not come back.
    await aliceGame.leave();
    const over = (await waitFor(back, (s) => s.of('over').length === 1, 'forfeit', FORFEIT_MS + 4000)).of<Over>('over')[0]!;
    expect(over.result).toEqual({ winner: 0, reason: 'Alice did not come back (forfeit)' });
    for (const room of [visitor, owner]) {
      await waitFor(room, (s) => s.of<MessageRecord>('message').some((m) => m.body.startsWith('Connect Four: Vic won (Alice did not come back (forfeit))')), 'forfeit in chat');
    }
  });
});

describe('the games panel of a page (GameLobby over the ConversationSession)', () => {
  it('shows the game under way even when it attaches after the conversation was told of it (a page that reopens)', async () => {
    const { conversationId, token, game } = await startGame('connect4');
    // The reopened page: its conversation connects and hears the open game before any games panel listens.
    const conversation = cast.visitor().conversation(conversationId, token);
    let stop = () => undefined as unknown;
    await new Promise<void>((resolve) => {
      stop = conversation.onGame((e) => e.type === 'game' && e.payload.id === game.id && resolve());
    });
    stop();
    const lobby = new GameLobby(conversation);
    try {
      expect(lobby.snapshot().open).toMatchObject({ id: game.id, status: 'active' });
    } finally {
      lobby.close();
    }
  });
});

describe('a game that ends while nobody has the conversation open', () => {
  it('records its result in the conversation exactly once, and the devices that come back see it once', async () => {
    const { conversationId, token, alice, vicGame, aliceGame, visitor, owner, game } = await startGame('connect4');
    // Everybody closes the chat; the boards stay open. The conversation's room goes (nothing keeps it).
    await Promise.all([visitor.leave(), owner.leave()]);
    await expect.poll(async () => (await matchMaker.query({ name: 'conversation', conversationId })).length, { timeout: 5000 }).toBe(0);

    const moves: Array<[RawRoom, number]> = [[vicGame, 0], [aliceGame, 1], [vicGame, 0], [aliceGame, 1], [vicGame, 0], [aliceGame, 1], [vicGame, 0]];
    for (const [i, [room, column]] of moves.entries()) {
      room.send('move', { move: { column } });
      await waitFor(vicGame, (s) => s.of('state').length === i + 1, `move ${i + 1}`);
    }
    await waitFor(aliceGame, (s) => s.of('over').length === 1, 'game over');
    const resultLine = 'Connect Four: Vic won (four in a row). Score: Vic 1, Alice 0, 0 draws.';
    // Stored (no room took it), once.
    await expect.poll(async () => (await knock.storage.messagesAfter(conversationId, 0, 100)).filter((m) => m.event.kind === 'game.result').length, { timeout: 5000 }).toBe(1);
    const [result] = (await knock.storage.messagesAfter(conversationId, 0, 100)).filter((m) => m.event.kind === 'game.result');
    expect(result).toMatchObject({ body: resultLine, clientMsgId: `game:${game.id}:result` });

    // Both come back: the result is in the chat once, as the game's result, and the game shows finished.
    const vic = await open('conversation', { conversationId, token });
    const alice2 = await open('conversation', { conversationId }, alice.headers);
    for (const room of [vic, alice2]) {
      const snapshot = await waitFor(room, (s) => s.of<{ items: MessageRecord[] }>('messages').length >= 1, 'catch-up');
      const results = snapshot.of<{ items: MessageRecord[] }>('messages').flatMap((m) => m.items).filter((m) => m.event.kind === 'game.result');
      expect(results.map((m) => m.body)).toEqual([resultLine]);
      expect(results[0]!.event).toMatchObject({ kind: 'game.result', game: 'connect4', winnerSeat: 0, reason: 'four in a row' });
    }
  });
});

describe('Pong in a GameRoom', () => {
  it('ticks at its fixed rate, moves paddles only within the top speed, and refuses impossible speeds', async () => {
    const { vicGame, aliceGame } = await startGame('pong');
    const welcome = vicGame.snapshot().of<Welcome>('welcome')[0]!;
    expect(welcome.tickMs).toBeLessThanOrEqual(50);
    // Game time runs at the tick rate (a busy process may send one state for several ticks, never fewer ticks).
    const first = (await waitFor(vicGame, (s) => s.of('state').length >= 1, 'a first tick')).of<State>('state')[0]!;
    const start = Date.now();
    await waitFor(vicGame, (s) => Date.now() - start >= 1500 && s.of('state').length >= 2, '1.5 s of ticks', 10_000);
    const last = vicGame.snapshot().of<State>('state').at(-1)!;
    const hz = ((last.view as PongView).tick - (first.view as PongView).tick) / ((Date.now() - start) / 1000);
    // 25 Hz nominal (welcome.tickMs above); a machine loaded by parallel browser tests starves timers beyond what
    // the catch-up (4 ticks at most) absorbs, so the floor here leaves room for that.
    expect(hz).toBeGreaterThanOrEqual(12);
    vicGame.send('move', { move: { speed: 40 } });
    await waitFor(vicGame, (s) => s.of<ErrorPayload>('error').some((e) => /top speed/.test(e.message)), 'impossible speed refused');
    const before = lastState<PongView>(aliceGame)!.paddles[0];
    vicGame.send('move', { move: { speed: -1 } });
    const n = aliceGame.snapshot().of('state').length;
    await waitFor(aliceGame, (s) => s.of('state').length >= n + 5, 'five more ticks');
    // A late timer may run several ticks before one state goes out: the limit is per tick of game time.
    const states = aliceGame.snapshot().of<State>('state').slice(n - 1).map((s) => s.view as PongView);
    for (let i = 1; i < states.length; i++) {
      const ticks = states[i]!.tick - states[i - 1]!.tick;
      expect(Math.abs(states[i]!.paddles[0] - states[i - 1]!.paddles[0])).toBeLessThanOrEqual(12 * ticks);
    }
    expect(states.at(-1)!.paddles[0]).toBeLessThan(before);
    // Both sides see the same score.
    const a = lastState<PongView>(aliceGame)!;
    await waitFor(vicGame, (s) => (s.of<State>('state').at(-1)!.view as PongView).tick >= a.tick, 'vic caught up');
    const v = vicGame.snapshot().of<State>('state').find((s) => (s.view as PongView).tick === a.tick)!.view as PongView;
    expect(v.score).toEqual(a.score);
  });
});
