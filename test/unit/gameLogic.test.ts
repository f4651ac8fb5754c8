/**
 * GameLogic driven without Colyseus (CONVENTIONS 1), on a real in-memory SQLite store and a manual clock: seats
 * held by one device per player, another device of the same player taking the seat over, forfeits exactly when the
 * configured time runs out (and not when the player comes back in time), an abandoned game when both are away,
 * resignations, and Pong paused while a player is away.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStorage } from '../../adapters/storage/sqlite/SqliteStorage.ts';
import { createLogger } from '../../engine/logger.ts';
import type { StoredGame } from '../../engine/ports/storage.ts';
import type { GameServerMessages } from '../../engine/protocol.ts';
import type { PongView } from '../../games/pong.ts';
import { GameLogic } from '../../rooms/game/gameLogic.ts';
import { ManualClock, T0, makePeer, roomyRate, settle, type TestPeer } from '../support/roomHarness.ts';

type GPeer = TestPeer<GameServerMessages>;
const FORFEIT_MS = 60_000;

let storage: SqliteStorage;
let clock: ManualClock;
let ids: { owner: string; visitor: string; conversation: string };
let recorded: StoredGame[];
let busy: boolean[];

beforeEach(async () => {
  storage = SqliteStorage.open({ file: ':memory:' });
  clock = new ManualClock();
  const account = await storage.createAccount({ handle: 'alice', displayName: 'Alice', passwordHash: 'x', at: T0 });
  const created = await storage.createConversation({ ownerAccountId: account.id, tokenHash: 't', visitorName: 'Vic', at: T0 });
  ids = { owner: created.owner.id, visitor: created.visitor.id, conversation: created.conversation.id };
  recorded = [];
  busy = [];
});
afterEach(() => storage.close());

async function activeGame(kind: 'connect4' | 'pong'): Promise<{ logic: GameLogic; game: StoredGame }> {
  const invited = await storage.createGame({ conversationId: ids.conversation, kind, players: [ids.visitor, ids.owner], seed: 5, at: T0 });
  const game = (await storage.transitionGame(invited.id, { from: 'invited', to: 'active', at: T0 }))!;
  const logic = new GameLogic(
    {
      storage,
      clock,
      timers: clock,
      logger: createLogger('silent'),
      forfeitMs: FORFEIT_MS,
      onFinished: async (g) => {
        recorded.push(g);
      },
      onBusy: (b) => busy.push(b),
    },
    game,
    ['Vic', 'Alice'],
    [],
  );
  return { logic, game };
}

function peer(id: string, who: 'visitor' | 'owner'): GPeer {
  const participantId = who === 'visitor' ? ids.visitor : ids.owner;
  return makePeer(id, { role: who, participantId, accountId: null, sessionHash: null, name: who === 'visitor' ? 'Vic' : 'Alice' }, clock, { messages: roomyRate, signals: roomyRate });
}

const sent = (p: GPeer, type: keyof GameServerMessages) => p.transport.sent.filter((m) => m.type === type).map((m) => m.payload);
const welcomeOf = (p: GPeer) => sent(p, 'welcome').at(-1) as GameServerMessages['welcome'];
const overOf = (p: GPeer) => sent(p, 'over').at(-1) as GameServerMessages['over'] | undefined;

describe('GameLogic', () => {
  it('seats one device per player; a second device of the same player watches, then takes over when the first leaves', async () => {
    const { logic } = await activeGame('connect4');
    const vic = peer('v1', 'visitor');
    const alice1 = peer('a1', 'owner');
    const alice2 = peer('a2', 'owner');
    logic.join(vic);
    logic.join(alice1);
    logic.join(alice2);
    expect([welcomeOf(vic).seat, welcomeOf(alice1).seat, welcomeOf(alice2).seat]).toEqual([0, 1, null]);
    await logic.dispatch(vic, 'move', { move: { column: 2 } });
    await logic.dispatch(alice2, 'move', { move: { column: 2 } });
    expect(sent(alice2, 'error').at(-1)).toMatchObject({ code: 'forbidden', message: 'You play this game on another device.' });
    logic.leave('a1');
    expect(welcomeOf(alice2).seat).toBe(1);
    await logic.dispatch(alice2, 'move', { move: { column: 3 } });
    expect((sent(vic, 'state').at(-1) as GameServerMessages['state']).lastMove).toEqual({ seat: 1, text: 'Alice dropped a disc in column 4' });
  });

  it('a player away for exactly the forfeit time loses; coming back a moment before keeps the game', async () => {
    const { logic, game } = await activeGame('connect4');
    const vic = peer('v1', 'visitor');
    logic.join(vic);
    logic.join(peer('a1', 'owner'));
    logic.leave('a1');
    clock.advance(FORFEIT_MS - 1);
    logic.join(peer('a2', 'owner'));
    clock.advance(FORFEIT_MS * 2);
    await settle();
    expect(overOf(vic)).toBeUndefined();
    logic.leave('a2');
    clock.advance(FORFEIT_MS - 1);
    await settle();
    expect(overOf(vic)).toBeUndefined();
    clock.advance(1);
    await settle();
    expect(overOf(vic)?.result).toEqual({ winner: 0, reason: 'Alice did not come back (forfeit)' });
    expect((await storage.getGame(game.id))?.status).toBe('finished');
    expect(recorded.map((g) => g.winnerSeat)).toEqual([0]);
    expect(busy).toEqual([true, false]);
  });

  it('a game both players left is abandoned, with no winner and no draw counted', async () => {
    const { logic, game } = await activeGame('connect4');
    const watcher = peer('a1', 'owner');
    clock.advance(FORFEIT_MS);
    await settle();
    logic.join(watcher);
    expect(welcomeOf(watcher).result).toEqual({ winner: null, reason: 'abandoned' });
    expect(welcomeOf(watcher).scores).toMatchObject({ wins: {}, draws: 0 });
    expect((await storage.getGame(game.id))?.reason).toBe('abandoned');
  });

  it('resigning ends the game for the other player; spectators cannot resign', async () => {
    const { logic } = await activeGame('connect4');
    const vic = peer('v1', 'visitor');
    const alice = peer('a1', 'owner');
    const alice2 = peer('a2', 'owner');
    for (const p of [vic, alice, alice2]) logic.join(p);
    await logic.dispatch(alice2, 'resign', {});
    expect(overOf(vic)).toBeUndefined();
    await logic.dispatch(alice, 'resign', {});
    expect(overOf(vic)?.result).toEqual({ winner: 0, reason: 'Alice resigned' });
    expect(overOf(vic)?.scores.wins[ids.visitor]).toBe(1);
  });

  it('a room made anew (a restart) continues a turn-based game from its stored moves', async () => {
    const { logic, game } = await activeGame('connect4');
    const vic = peer('v1', 'visitor');
    const alice = peer('a1', 'owner');
    logic.join(vic);
    logic.join(alice);
    await Promise.all([logic.dispatch(vic, 'move', { move: { column: 2, junk: 'x'.repeat(100) } }), logic.dispatch(vic, 'move', { move: { column: 5 } })]);
    expect(sent(vic, 'error').at(-1)).toMatchObject({ message: 'It is not your turn.' });
    await logic.dispatch(alice, 'move', { move: { column: 2 } });
    const stored = (await storage.getGame(game.id))!;
    expect(stored.moves).toEqual([{ seat: 0, move: { column: 2 } }, { seat: 1, move: { column: 2 } }]);
    await logic.dispose();
    const again = new GameLogic(
      { storage, clock, timers: clock, logger: createLogger('silent'), forfeitMs: FORFEIT_MS, onFinished: async () => undefined, onBusy: () => undefined },
      stored,
      ['Vic', 'Alice'],
      [],
    );
    const back = peer('v2', 'visitor');
    again.join(back);
    expect(welcomeOf(back)).toMatchObject({ seat: 0, turn: 0, lastMove: { seat: 1, text: 'Alice dropped a disc in column 3' } });
    expect((welcomeOf(back).view as { moves: number[] }).moves).toEqual([2, 2]);
    await again.dispose();
  });

  it('Pong is paused while a player is away and resumes when they return', async () => {
    const { logic } = await activeGame('pong');
    const vic = peer('v1', 'visitor');
    logic.join(vic);
    logic.tick();
    expect(sent(vic, 'state')).toHaveLength(0);
    logic.join(peer('a1', 'owner'));
    for (let i = 0; i < 3; i++) logic.tick();
    expect((sent(vic, 'state').at(-1) as { view: PongView }).view.tick).toBe(3);
    logic.leave('a1');
    logic.tick();
    expect(sent(vic, 'state')).toHaveLength(3);
    logic.join(peer('a2', 'owner'));
    logic.tick();
    expect((sent(vic, 'state').at(-1) as { view: PongView }).view.tick).toBe(4);
    // A late timer owes three ticks: game time catches up, in one state.
    logic.tick(3);
    expect(sent(vic, 'state')).toHaveLength(5);
    expect((sent(vic, 'state').at(-1) as { view: PongView }).view.tick).toBe(7);
  });
});
