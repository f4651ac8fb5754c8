/**
 * Game invitations of one conversation (issue 6), free of Colyseus like the rest of ConversationLogic: either side
 * invites the other to a game, the other accepts or declines, and the game's result comes back here from its
 * GameRoom. Each step is stored first (Storage games), then recorded as a message in the chat (clientMsgIds
 * `game:<id>:<step>`, which no client can send: theirs have no ":") and broadcast as a `game` record.
 */
import type { Logger } from '../../engine/logger.ts';
import type { Clock } from '../../engine/ports/clock.ts';
import type { Participant, Storage, StoredGame } from '../../engine/ports/storage.ts';
import type { ConversationClientMessages, ConversationServerMessages } from '../../engine/protocol.ts';
import { KnockError } from '../../engine/errors.ts';
import { rateLimited } from '../../engine/rateLimit.ts';
import { gameTitles, type GameKind } from '../../games/types.ts';
import { gameResultText, toGameRecord } from '../game/gameRecords.ts';
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
  record: (entry: { senderId: string; clientMsgId: string; body: string }) => Promise<void>;
  /** A random 32-bit seed for a new game. */
  seed?: () => number;
}

export class GameInvites {
  constructor(private readonly deps: GameInvitesDeps) {}

  async dispatch<T extends GameInviteType>(peer: GamePeer, type: T, message: ConversationClientMessages[T]): Promise<void> {
    const verdict = peer.messageBucket.take();
    if (!verdict.ok) throw rateLimited('Game invitations', verdict.retryAfterMs);
    if (type === 'game.invite') return this.invite(peer, message as ConversationClientMessages['game.invite']);
    return this.answer(peer, message as ConversationClientMessages['game.answer']);
  }

  /** A joining device learns of the invitation or game open now (it follows the catch-up). */
  async deviceJoined(peer: GamePeer): Promise<void> {
    const open = await this.deps.storage.openGame(this.deps.conversationId);
    if (open) deliver(peer, 'game', toGameRecord(open));
  }

  /** Told by the game's room once it stored the result: record it in the chat and tell every device. */
  async finished(gameId: string): Promise<void> {
    const game = await this.deps.storage.getGame(gameId);
    if (!game || game.conversationId !== this.deps.conversationId || game.status !== 'finished') return;
    const names = this.namesOf(game);
    const scores = await this.deps.storage.finishedGames(this.deps.conversationId, 1000);
    await this.deps.record({
      senderId: game.players[game.winnerSeat ?? 0],
      clientMsgId: `game:${game.id}:result`,
      body: gameResultText(game, names, scores),
    });
    this.broadcast(game);
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
    await this.deps.record({ senderId: me.id, clientMsgId: `game:${game.id}:invite`, body: `${me.name} invites ${other.name} to play ${gameTitles[msg.kind]}.` });
    this.broadcast(game);
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
    const step = msg.accept ? 'accept' : 'decline';
    const body = msg.accept ? `${me.name} accepted: ${title} is on.` : me.id === inviter ? `${me.name} withdrew the ${title} invitation.` : `${me.name} declined ${title}.`;
    await this.deps.record({ senderId: me.id, clientMsgId: `game:${game.id}:${step}`, body });
    this.broadcast(changed);
  }

  private namesOf(game: StoredGame): [string, string] {
    const byId = new Map([...this.deps.participants()].map((p) => [p.id, p.name]));
    return [byId.get(game.players[0]) ?? 'Player 1', byId.get(game.players[1]) ?? 'Player 2'];
  }

  private broadcast(game: StoredGame): void {
    const record = toGameRecord(game);
    for (const peer of this.deps.peers()) deliver(peer, 'game', record);
  }
}
