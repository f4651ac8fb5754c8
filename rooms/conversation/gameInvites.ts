/**
 * Game invitations of one conversation (issue 6), free of Colyseus like the rest of ConversationLogic: either side
 * invites the other to a game, the other accepts or declines. Each step is stored first (Storage games), then written
 * in the chat as a `game.invite` / `game.answer` event (idempotency keys `game:<id>:<step>`). The result is written by
 * the game's GameRoom (game.result, rooms/game/gameRecords.ts), wherever it runs. Whatever game event reaches the
 * conversation, from here or from a GameRoom, its devices then get the game's current `game` record.
 */
import type { LogEntry } from '../../engine/conversationLog.ts';
import type { Logger } from '../../engine/logger.ts';
import type { Clock } from '../../engine/ports/clock.ts';
import type { Participant, Storage, StoredGame } from '../../engine/ports/storage.ts';
import type { ConversationClientMessages, ConversationServerMessages } from '../../engine/protocol.ts';
import { KnockError } from '../../engine/errors.ts';
import { rateLimited } from '../../engine/rateLimit.ts';
import { gameTitles, type GameKind } from '../../games/types.ts';
import { toGameRecord } from '../game/gameRecords.ts';
import { deliver, type Peer } from '../peer.ts';

type GamePeer = Peer<ConversationServerMessages>;
export type GameInviteType = 'game.invite' | 'game.answer';

export interface GameInvitesDeps {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  conversationId: string;
  participants: () => Iterable<Participant>;
  participantOf: (peer: GamePeer) => Participant;
  peers: () => Iterable<GamePeer>;
  record: (entry: LogEntry) => Promise<void>;
  /** A random 32-bit seed for a new game. */
  seed?: () => number;
}

export class GameInvites {
  /** Game records go out one after the other, so a device never gets an older state after a newer one. */
  private announcing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: GameInvitesDeps) {}

  readonly handlers: { [T in GameInviteType]: (peer: GamePeer, message: ConversationClientMessages[T]) => Promise<void> } = {
    'game.invite': (peer, m) => this.invite(this.checkRate(peer), m),
    'game.answer': (peer, m) => this.answer(this.checkRate(peer), m),
  };

  /** A joining device learns of the invitation or game open now (it follows the catch-up). */
  async deviceJoined(peer: GamePeer): Promise<void> {
    const open = await this.deps.storage.openGame(this.deps.conversationId);
    if (open) deliver(peer, 'game', toGameRecord(open));
  }

  /** A game event reached the conversation (from here or a GameRoom): every device gets the game as stored now. */
  eventRelayed(gameId: string): void {
    this.announcing = this.announcing.then(async () => {
      try {
        const game = await this.deps.storage.getGame(gameId);
        if (game && game.conversationId === this.deps.conversationId) this.broadcast(game);
      } catch (err) {
        this.deps.logger.error({ err, gameId }, 'could not read the game to announce it');
      }
    });
  }

  private checkRate(peer: GamePeer): GamePeer {
    const verdict = peer.messageBucket.take();
    if (!verdict.ok) throw rateLimited('Game invitations', verdict.retryAfterMs);
    return peer;
  }

  private async invite(peer: GamePeer, msg: ConversationClientMessages['game.invite']): Promise<void> {
    const me = this.deps.participantOf(peer);
    const other = [...this.deps.participants()].find((p) => p.id !== me.id);
    if (!other) throw new KnockError('not_found', 'There is nobody else in this conversation to play with.');
    const game = await this.deps.storage.createGame({
      conversationId: this.deps.conversationId,
      kind: msg.kind,
      players: [me.id, other.id],
      seed: this.deps.seed?.() ?? Math.floor(Math.random() * 2 ** 32),
      at: this.deps.clock.now(),
    });
    await this.deps.record({
      senderId: me.id,
      idempotencyKey: `game:${game.id}:invite`,
      body: `${me.name} invites ${other.name} to play ${gameTitles[msg.kind]}.`,
      event: { kind: 'game.invite', gameId: game.id, game: msg.kind },
    });
  }

  private async answer(peer: GamePeer, msg: ConversationClientMessages['game.answer']): Promise<void> {
    const me = this.deps.participantOf(peer);
    const game = await this.deps.storage.getGame(msg.gameId);
    if (!game || game.conversationId !== this.deps.conversationId) throw new KnockError('not_found', 'There is no such game in this conversation.');
    if (game.status !== 'invited') throw new KnockError('conflict', 'This invitation was already answered.');
    const [inviter, invitee] = game.players;
    if (msg.accept && me.id !== invitee) throw new KnockError('forbidden', 'Only the invited player can accept.');
    if (!msg.accept && me.id !== invitee && me.id !== inviter) throw new KnockError('forbidden', 'Only the players can decline.');
    const at = this.deps.clock.now();
    const title = gameTitles[game.kind as GameKind] ?? game.kind;
    const changed = msg.accept
      ? await this.deps.storage.transitionGame(game.id, { from: 'invited', to: 'active', at })
      : await this.deps.storage.transitionGame(game.id, { from: 'invited', to: 'declined', at, reason: me.id === inviter ? 'withdrawn' : 'declined' });
    if (!changed) throw new KnockError('conflict', 'This invitation was already answered.');
    const answer = msg.accept ? 'accepted' : me.id === inviter ? 'withdrawn' : 'declined';
    const body = msg.accept ? `${me.name} accepted: ${title} is on.` : answer === 'withdrawn' ? `${me.name} withdrew the ${title} invitation.` : `${me.name} declined ${title}.`;
    await this.deps.record({
      senderId: me.id,
      idempotencyKey: `game:${game.id}:${msg.accept ? 'accept' : 'decline'}`,
      body,
      event: { kind: 'game.answer', gameId: game.id, game: game.kind as GameKind, answer },
    });
  }

  private broadcast(game: StoredGame): void {
    const record = toGameRecord(game);
    for (const peer of this.deps.peers()) deliver(peer, 'game', record);
  }
}
