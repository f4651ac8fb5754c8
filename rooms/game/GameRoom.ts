/**
 * GameRoom: one per game session (filterBy gameId). A thin Colyseus shell over GameLogic: only members of the
 * game's conversation get in (the same check as the ConversationRoom's: the visitor's token or the owner's session);
 * players take their seats, everyone else watches. Real-time games tick here at their fixed rate.
 */
import { matchMaker, type AuthContext } from '@colyseus/core';
import { KnockError } from '../../engine/errors.ts';
import { describeIssues, gameClientMessages, gameJoinOptions } from '../../engine/protocol.ts';
import type { StoredGame } from '../../engine/ports/storage.ts';
import { TokenBucket } from '../../engine/rateLimit.ts';
import { authorize } from '../conversation/ConversationRoom.ts';
import type { RoomDeps } from '../deps.ts';
import { KnockRoom, type Admission, type KnockClient } from '../knockRoom.ts';
import { gameResultText } from './gameRecords.ts';
import { GameLogic, type GamePeer } from './gameLogic.ts';

/** Most ticks run at once to catch up after a late timer. */
const MAX_CATCH_UP_TICKS = 4;

const gameScope = (gameId: string): string => `game:${gameId}`;

async function authorizeGame(deps: RoomDeps, bearer: string | undefined, raw: unknown, context: AuthContext): Promise<Admission> {
  const parsed = gameJoinOptions.safeParse(raw);
  if (!parsed.success) throw new KnockError('bad_request', describeIssues(parsed.error));
  const { gameId, conversationId, token } = parsed.data;
  const identity = await authorize(deps, bearer, { conversationId, ...(token !== undefined ? { token } : {}) }, context);
  const game = await deps.storage.getGame(gameId);
  if (!game || game.conversationId !== conversationId) throw new KnockError('not_found', 'There is no such game in this conversation.');
  return { ...identity, scope: gameScope(game.id) };
}

/** Records a finished game in its conversation: through the conversation's room when one is open anywhere, so its devices see it at once; else straight into storage (read on the next join). */
async function recordInConversation(deps: RoomDeps, game: StoredGame): Promise<void> {
  const [room] = await matchMaker.query({ name: 'conversation', conversationId: game.conversationId });
  if (room) {
    try {
      await matchMaker.remoteRoomCall(room.roomId, 'gameFinished', [game.id]);
      return;
    } catch (err) {
      deps.logger.warn({ err, gameId: game.id }, 'the conversation room did not take the result; storing it directly');
    }
  }
  const participants = await deps.storage.getParticipants(game.conversationId);
  const name = (id: string) => participants.find((p) => p.id === id)?.name ?? 'Player';
  await deps.storage.appendMessage({
    conversationId: game.conversationId,
    senderId: game.players[game.winnerSeat ?? 0],
    clientMsgId: `game:${game.id}:result`,
    body: gameResultText(game, [name(game.players[0]), name(game.players[1])], await deps.storage.finishedGames(game.conversationId, 1000)),
    at: deps.clock.now(),
  });
}

export function gameRoomClass(deps: RoomDeps) {
  return class GameRoom extends KnockRoom<{ gameId: string }> {
    protected readonly log = deps.logger.child({ room: 'game' });
    protected readonly maxMessageBytes = deps.config.maxMessageBytes;
    protected readonly claims = deps.claims;
    private logic: GameLogic | null = null;
    private readonly peers = new Map<string, GamePeer>();
    private ticker: NodeJS.Timeout | null = null;

    static override async onAuth(token: string, options: unknown, context: AuthContext): Promise<Admission> {
      return authorizeGame(deps, token, options, context);
    }

    protected scopeOf(options: { gameId: string }): string {
      return gameScope(options.gameId);
    }

    protected async setUp(options: { gameId: string }): Promise<void> {
      const game = await deps.storage.getGame(options.gameId);
      if (!game) throw new KnockError('not_found', 'There is no such game.');
      const participants = await deps.storage.getParticipants(game.conversationId);
      const name = (id: string) => participants.find((p) => p.id === id)?.name ?? 'Player';
      const logic = new GameLogic(
        {
          storage: deps.storage,
          clock: deps.clock,
          timers: deps.timers,
          logger: this.log,
          forfeitMs: deps.config.gameForfeitMs,
          onFinished: (finished) => recordInConversation(deps, finished),
          onBusy: (busy) => {
            this.autoDispose = !busy;
            if (!busy && this.clients.length === 0) void this.disconnect();
          },
        },
        game,
        [name(game.players[0]), name(game.players[1])],
        await deps.storage.finishedGames(game.conversationId, 1000),
      );
      this.logic = logic;
      if (logic.tickMs !== null) this.startTicking(logic, logic.tickMs);
      for (const [type, schema] of Object.entries(gameClientMessages)) {
        this.handle(type, schema, (client, message) =>
          logic.dispatch(this.peerOf(client), type as keyof typeof gameClientMessages, message as never),
        );
      }
    }

    override onJoin(client: KnockClient): void {
      const identity = this.admit(client);
      const bucket = new TokenBucket(deps.config.gameInputs, deps.clock);
      const peer: GamePeer = {
        id: client.sessionId,
        identity,
        state: { kind: 'joining', buffered: [] },
        messageBucket: bucket,
        signalBucket: bucket,
        transport: this.transportOf(client),
      };
      this.peers.set(peer.id, peer);
      this.logic!.join(peer);
    }

    override onLeave(client: KnockClient): void {
      this.peers.delete(client.sessionId);
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

    private peerOf(client: KnockClient): GamePeer {
      const peer = this.peers.get(client.sessionId);
      if (!peer) throw new KnockError('forbidden', 'You have not joined this game yet.');
      return peer;
    }
  };
}
