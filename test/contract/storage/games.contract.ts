/** Contract rules for games (issue 6): invitations, one open game per conversation, transitions, score history. */
import { describe, expect, it } from 'vitest';
import { KnockError } from '../../../engine/errors.ts';
import { T0, seedAccount, seedConversation, type StorageContext } from './fixtures.ts';

export function gameRules(ctx: StorageContext): void {
  describe('games', () => {
    async function setup() {
      const storage = ctx.storage();
      const seeded = await seedConversation(storage, await seedAccount(storage));
      const players: [string, string] = [seeded.visitor.id, seeded.owner.id];
      return { storage, seeded, players, conversationId: seeded.conversation.id };
    }

    it('stores an invitation and finds it as the open game', async () => {
      const { storage, players, conversationId } = await setup();
      const game = await storage.createGame({ conversationId, kind: 'connect4', players, seed: 42, at: T0 });
      expect(game).toMatchObject({ conversationId, kind: 'connect4', players, status: 'invited', seed: 42, winnerSeat: null, reason: null, createdAt: T0, endedAt: null });
      expect(await storage.getGame(game.id)).toEqual(game);
      expect(await storage.openGame(conversationId)).toEqual(game);
      expect(await storage.getGame('no-such-game')).toBeNull();
    });

    it('refuses a second open game in the same conversation with a conflict', async () => {
      const { storage, players, conversationId } = await setup();
      await storage.createGame({ conversationId, kind: 'chess', players, seed: 1, at: T0 });
      const second = storage.createGame({ conversationId, kind: 'pong', players, seed: 2, at: T0 + 1 });
      await expect(second).rejects.toBeInstanceOf(KnockError);
      await expect(second).rejects.toMatchObject({ code: 'conflict' });
    });

    it('moves a game only from the status the caller names, once', async () => {
      const { storage, players, conversationId } = await setup();
      const game = await storage.createGame({ conversationId, kind: 'connect4', players, seed: 1, at: T0 });
      const active = await storage.transitionGame(game.id, { from: 'invited', to: 'active', at: T0 + 1 });
      expect(active?.status).toBe('active');
      expect(await storage.transitionGame(game.id, { from: 'invited', to: 'declined', at: T0 + 2 })).toBeNull();
      const finished = await storage.transitionGame(game.id, { from: 'active', to: 'finished', at: T0 + 3, winnerSeat: 1, reason: 'four in a row' });
      expect(finished).toMatchObject({ status: 'finished', winnerSeat: 1, reason: 'four in a row', endedAt: T0 + 3 });
      expect(await storage.transitionGame(game.id, { from: 'active', to: 'finished', at: T0 + 4, winnerSeat: 0 })).toBeNull();
      expect((await storage.getGame(game.id))?.winnerSeat).toBe(1);
      expect(await storage.openGame(conversationId)).toBeNull();
    });

    it('lets a new game be invited once the last one is declined or finished', async () => {
      const { storage, players, conversationId } = await setup();
      const first = await storage.createGame({ conversationId, kind: 'connect4', players, seed: 1, at: T0 });
      await storage.transitionGame(first.id, { from: 'invited', to: 'declined', at: T0 + 1, reason: 'declined' });
      const second = await storage.createGame({ conversationId, kind: 'chess', players, seed: 2, at: T0 + 2 });
      expect((await storage.openGame(conversationId))?.id).toBe(second.id);
    });

    it('keeps the score history: finished games newest first, draws included, declined ones not', async () => {
      const { storage, players, conversationId } = await setup();
      const results: Array<0 | 1 | null> = [0, null, 1];
      for (const [i, winnerSeat] of results.entries()) {
        const game = await storage.createGame({ conversationId, kind: 'connect4', players, seed: i, at: T0 + i * 10 });
        await storage.transitionGame(game.id, { from: 'invited', to: 'active', at: T0 + i * 10 + 1 });
        await storage.transitionGame(game.id, { from: 'active', to: 'finished', at: T0 + i * 10 + 5, winnerSeat, reason: 'x' });
      }
      const declined = await storage.createGame({ conversationId, kind: 'pong', players, seed: 9, at: T0 + 100 });
      await storage.transitionGame(declined.id, { from: 'invited', to: 'declined', at: T0 + 101 });
      const history = await storage.finishedGames(conversationId, 10);
      expect(history.map((g) => g.winnerSeat)).toEqual([1, null, 0]);
      expect(await storage.finishedGames(conversationId, 2)).toHaveLength(2);
      expect(await storage.finishedGames(conversationId, -1)).toEqual([]);
    });

    it('appends moves of an active game only at the expected count, and returns them in order', async () => {
      const { storage, players, conversationId } = await setup();
      const game = await storage.createGame({ conversationId, kind: 'connect4', players, seed: 1, at: T0 });
      expect(game.moves).toEqual([]);
      expect(await storage.appendGameMove(game.id, 0, { seat: 0, move: { column: 3 } })).toBe(false); // not active yet
      await storage.transitionGame(game.id, { from: 'invited', to: 'active', at: T0 + 1 });
      expect(await storage.appendGameMove(game.id, 0, { seat: 0, move: { column: 3 } })).toBe(true);
      expect(await storage.appendGameMove(game.id, 0, { seat: 1, move: { column: 4 } })).toBe(false); // a second writer
      expect(await storage.appendGameMove(game.id, 1, { seat: 1, move: { from: 'e7', to: 'e5', note: 'ünïcode ♞' } })).toBe(true);
      expect((await storage.getGame(game.id))?.moves).toEqual([
        { seat: 0, move: { column: 3 } },
        { seat: 1, move: { from: 'e7', to: 'e5', note: 'ünïcode ♞' } },
      ]);
      await storage.transitionGame(game.id, { from: 'active', to: 'finished', at: T0 + 2, winnerSeat: 0, reason: 'x' });
      expect(await storage.appendGameMove(game.id, 2, { seat: 0, move: { column: 1 } })).toBe(false);
      expect(await storage.appendGameMove('no-such-game', 0, { seat: 0, move: {} })).toBe(false);
    });

    it('forgets games with their conversation when the account is removed', async () => {
      const { storage, players, conversationId } = await setup();
      const game = await storage.createGame({ conversationId, kind: 'connect4', players, seed: 1, at: T0 });
      await storage.removeAccount('ann');
      expect(await storage.getGame(game.id)).toBeNull();
    });
  });
}
