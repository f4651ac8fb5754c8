/**
 * GameRoom: one per game session (filterBy gameId). A thin Colyseus shell over GameLogic: only members of the
 * game's conversation get in (the same check as the ConversationRoom's: the visitor's token or the owner's session);
 * players take their seats, everyone else watches. Real-time games tick here at their fixed rate.
 */
import type { AuthContext } from '@colyseus/core';
import { KnockError } from '../../engine/errors.ts';
import { gameClientMessages } from '../../engine/protocol.ts';
import type { StoredGame } from '../../engine/ports/storage.ts';
import { TokenBucket } from '../../engine/rateLimit.ts';
import { ConversationAccess, gameScope } from '../conversationAccess.ts';
import type { RoomDeps } from '../deps.ts';
import { KnockRoom, type Admission, type KnockClient } from '../knockRoom.ts';
import { Peers } from '../peers.ts';
import { gameResultEntry } from './gameRecords.ts';
import { GameLogic, type GamePeer } from './gameLogic.ts';

/** Most ticks run at once to catch up after a late timer. */
const MAX_CATCH_UP_TICKS = 4;

/**
 * Writes a finished game's result in its conversation, through the ConversationLog like every event: stored once
 * (its idempotency key), and shown at once by the conversation's room wherever it is open, or on the next join.
 */
async function recordResult(deps: RoomDeps, game: StoredGame, names: [string, string]): Promise<void> {
  const finished = await deps.storage.finishedGames(game.conversationId, 1000);
  await deps.conversationLog.append(game.conversationId, gameResultEntry(game, names, finished));
}

export function gameRoomClass(deps: RoomDeps) {
  const access = new ConversationAccess(deps);
  return class GameRoom extends KnockRoom<{ gameId: string }> {
    protected readonly log = deps.logger.child({ room: 'game' });
    protected readonly maxMessageBytes = deps.config.maxMessageBytes;
    protected readonly claims = deps.claims;
    protected readonly writes = deps.writes;
    private logic: GameLogic | null = null;
    private readonly peers = new Peers<GamePeer>('this game');
    private ticker: NodeJS.Timeout | null = null;

    static override async onAuth(token: string, options: unknown, context: AuthContext): Promise<Admission> {
      return access.game(token, options, context.headers);
    }

    protected scopeOf(options: { gameId: string }): string {
      return gameScope(options.gameId);
    }

    protected async setUp(options: { gameId: string }): Promise<void> {
      const game = await deps.storage.getGame(options.gameId);
      if (!game) throw new KnockError('not_found', 'There is no such game.');
      const participants = await deps.storage.getParticipants(game.conversationId);
      const name = (id: string) => participants.find((p) => p.id === id)?.name ?? 'Player';
      const names: [string, string] = [name(game.players[0]), name(game.players[1])];
      const logic = new GameLogic(
        {
          storage: deps.storage,
          clock: deps.clock,
          timers: deps.timers,
          logger: this.log,
          forfeitMs: deps.config.gameForfeitMs,
          onFinished: (finished) => recordResult(deps, finished, names),
          onBusy: (busy) => {
            this.autoDispose = !busy;
            if (!busy && this.clients.length === 0) void this.disconnect();
          },
        },
        game,
        names,
        await deps.storage.finishedGames(game.conversationId, 1000),
      );
      this.logic = logic;
      if (logic.tickMs !== null) this.startTicking(logic, logic.tickMs);
      for (const [type, schema] of Object.entries(gameClientMessages)) {
        this.handle(type, schema, (client, message) =>
          logic.dispatch(this.peers.of(client.sessionId), type as keyof typeof gameClientMessages, message as never),
        );
      }
    }

    override onJoin(client: KnockClient): void {
      const identity = this.admit(client);
      const bucket = new TokenBucket(deps.config.gameInputs, deps.clock);
      this.logic!.join(
        this.peers.add({
          id: client.sessionId,
          identity,
          state: { kind: 'joining', buffered: [] },
          messageBucket: bucket,
          signalBucket: bucket,
          transport: this.transportOf(client),
        }),
      );
    }

    override onLeave(client: KnockClient): void {
      this.peers.remove(client.sessionId);
      this.logic?.leave(client.sessionId);
    }

    override async onDispose(): Promise<void> {
      if (this.ticker) clearInterval(this.ticker);
      await this.logic?.dispose();
    }

    /**
     * A fixed tick that keeps up with the clock: a timer that fires late (a busy process) runs the ticks it owes, up
     * to a few at once (beyond that the game slows down rather than jump).
     */
    private startTicking(logic: GameLogic, tickMs: number): void {
      let due = deps.clock.now() + tickMs;
      this.ticker = setInterval(() => {
        const now = deps.clock.now();
        let ticks = 0;
        while (due <= now && ticks < MAX_CATCH_UP_TICKS) {
          due += tickMs;
          ticks += 1;
        }
        if (due <= now) due = now + tickMs;
        if (ticks > 0) logic.tick(ticks);
      }, tickMs);
    }
  };
}
