/**
 * The logic of one game session (issue 6), free of Colyseus: seats, moves, ticks, resignations, forfeits. The
 * GameRoom shell wires sockets to it. The rules are the game's own (games/); this class never trusts a client:
 * every move goes through `game.apply`, which refuses malformed, illegal and out-of-turn ones without changing the
 * state, and every player's moves go through a token bucket (a flood is refused).
 *
 * Seats belong to participants, not to sockets: whichever device of a player joins holds the seat (one at a time;
 * another device of the same player watches). A player with no device here has `forfeitMs` to come back; until
 * then a real-time game is paused.
 */
import type { RateLimitConfig } from '../../engine/config.ts';
import { KnockError } from '../../engine/errors.ts';
import type { Logger } from '../../engine/logger.ts';
import type { Clock, Timers } from '../../engine/ports/clock.ts';
import type { Storage, StoredGame } from '../../engine/ports/storage.ts';
import type { GameClientMessages, GameScores, GameServerMessages } from '../../engine/protocol.ts';
import { rateLimited } from '../../engine/rateLimit.ts';
import { games, type AnyGame } from '../../games/registry.ts';
import type { GameKind, GameResult, Seat } from '../../games/types.ts';
import { deliver, goLive, replyError, type Peer } from '../peer.ts';
import { scoresOf, toGameRecord } from './gameRecords.ts';

export type GamePeer = Peer<GameServerMessages>;

export interface GameLogicDeps {
  storage: Storage;
  clock: Clock;
  timers: Timers;
  logger: Logger;
  forfeitMs: number;
  /** Told once the result is stored, so the conversation records it (and tells its devices). */
  onFinished: (game: StoredGame) => Promise<void>;
  /** Busy while the game goes on: the room must outlive its sockets (forfeit timers, a reload). */
  onBusy: (busy: boolean) => void;
}

type LastMove = GameServerMessages['state']['lastMove'];

export class GameLogic {
  private readonly game: AnyGame;
  /** The game's own state type (games/<kind>.ts). */
  private state: unknown;
  private lastMove: LastMove = null;
  private result: GameResult | null = null;
  private readonly peers = new Map<string, GamePeer>();
  /** The device holding each seat, if any. */
  private readonly holders: [string | null, string | null] = [null, null];
  private readonly forfeitAt: [number | null, number | null] = [null, null];
  private readonly cancelForfeit: [(() => void) | null, (() => void) | null] = [null, null];
  private scores: GameScores;
  private finishing: Promise<void> | null = null;
  /** The turn-based move being stored (moves are checked and stored one at a time). */
  private moving: Promise<void> = Promise.resolve();
  private moveCount = 0;

  constructor(
    private readonly deps: GameLogicDeps,
    private record: StoredGame,
    private readonly names: [string, string],
    finished: StoredGame[],
  ) {
    const game = games[record.kind as GameKind];
    if (!game) throw new KnockError('not_found', `There is no game "${record.kind}".`);
    this.game = game;
    this.state = game.init(record.seed);
    this.replay(record);
    this.scores = scoresOf(finished);
    // A room opened for a game already over (a late device) shows how it ended.
    if (record.status === 'finished') this.result = { winner: record.winnerSeat, reason: record.reason ?? 'over' };
    if (record.status === 'active') {
      deps.onBusy(true);
      for (const seat of [0, 1] as const) this.startForfeit(seat);
      // Stopped between storing the winning move and storing the result: finish now.
      const result = game.result(this.state);
      if (result) void this.finish(result);
    }
  }

  get tickMs(): number | null {
    return this.game.tickMs;
  }

  get peerCount(): number {
    return this.peers.size;
  }

  /** Seats the device if its player's seat is free, else it watches; sends the welcome. */
  join(peer: GamePeer): void {
    peer.state = { kind: 'joining', buffered: [] };
    this.peers.set(peer.id, peer);
    const seat = this.seatOfParticipant(peer.identity.participantId);
    if (seat !== null && this.holders[seat] === null && this.record.status === 'active') this.takeSeat(seat, peer.id);
    peer.transport.send('welcome', {
      game: toGameRecord(this.record),
      seat: this.seatOfPeer(peer.id),
      names: this.names,
      view: this.game.view(this.state, this.seatOfPeer(peer.id)),
      turn: this.game.turn(this.state),
      lastMove: this.lastMove,
      result: this.result,
      scores: this.scores,
      tickMs: this.game.tickMs,
    });
    goLive(peer);
    this.broadcastPlayers();
  }

  leave(peerId: string): void {
    const peer = this.peers.get(peerId);
    if (!peer) return;
    peer.state = { kind: 'draining' };
    this.peers.delete(peerId);
    const seat = this.seatOfPeer(peerId);
    if (seat === null) return;
    this.holders[seat] = null;
    // Another device of the same player, watching, takes the seat over.
    const heir = [...this.peers.values()].find((p) => this.seatOfParticipant(p.identity.participantId) === seat);
    if (heir && !this.result) {
      this.takeSeat(seat, heir.id);
      this.join(heir);
      return;
    }
    if (!this.result) this.startForfeit(seat);
    this.broadcastPlayers();
  }

  async dispatch<T extends keyof GameClientMessages>(peer: GamePeer, type: T, message: GameClientMessages[T]): Promise<void> {
    try {
      const seat = this.checkPlayer(peer);
      if (type === 'resign') return await this.finish({ winner: seat === 0 ? 1 : 0, reason: `${this.names[seat]} resigned` });
      await this.move(seat, (message as GameClientMessages['move']).move);
    } catch (err) {
      replyError(peer, err, type, this.deps.logger, { type, gameId: this.record.id });
    }
  }

  /**
   * `ticks` ticks of a real-time game (more than one when the timer ran late: game time keeps up with the clock),
   * then one state to everyone. Paused while a player is away, stopped once over.
   */
  tick(ticks = 1): void {
    const step = this.game.tick;
    if (!step || this.result || this.record.status !== 'active' || this.holders.includes(null)) return;
    for (let i = 0; i < ticks && !this.game.result(this.state); i++) this.state = step(this.state);
    this.broadcastState();
    this.checkResult();
  }

  /** Stops the forfeit clocks; resolves once every move accepted is stored, and the result it reached recorded. */
  async dispose(): Promise<void> {
    for (const seat of [0, 1] as const) this.stopForfeit(seat);
    await this.moving;
    await this.finishing;
  }

  // --- moves -------------------------------------------------------------------------------------------------------
  private checkPlayer(peer: GamePeer): Seat {
    const seat = this.seatOfPeer(peer.id);
    if (seat === null) {
      const mine = this.seatOfParticipant(peer.identity.participantId);
      throw new KnockError('forbidden', mine === null ? 'Spectators cannot move.' : 'You play this game on another device.');
    }
    if (this.result || this.record.status !== 'active') throw new KnockError('conflict', 'The game is over.');
    const verdict = peer.messageBucket.take();
    if (!verdict.ok) throw rateLimited('Moves', verdict.retryAfterMs);
    return seat;
  }

  private move(seat: Seat, move: unknown): Promise<void> {
    if (this.game.tickMs !== null) {
      // Real-time: an input takes effect on the next tick, which carries it; inputs are not stored.
      const applied = this.game.apply(this.state, seat, move);
      if (!applied.ok) throw new KnockError('bad_request', applied.reason);
      this.state = applied.state;
      return Promise.resolve();
    }
    // Turn-based: one move at a time, each checked against the state the one before left, stored before it is shown.
    const next = this.moving.then(() => this.storeMove(seat, move));
    this.moving = next.catch(() => undefined);
    return next;
  }

  private async storeMove(seat: Seat, move: unknown): Promise<void> {
    if (this.result) throw new KnockError('conflict', 'The game is over.');
    const applied = this.game.apply(this.state, seat, move);
    if (!applied.ok) throw new KnockError('bad_request', applied.reason);
    const stored = await this.deps.storage.appendGameMove(this.record.id, this.moveCount, { seat, move: applied.move ?? move });
    if (!stored) throw new KnockError('conflict', 'The game changed meanwhile (another device of yours?). Please reload it.');
    this.moveCount += 1;
    this.state = applied.state;
    this.lastMove = { seat, text: `${this.names[seat]} ${applied.description}` };
    this.broadcastState();
    this.checkResult();
  }

  /** A room made anew for a game under way (a restart, another process) continues from its stored moves. */
  private replay(record: StoredGame): void {
    for (const { seat, move } of record.moves) {
      const applied = this.game.apply(this.state, seat, move);
      if (!applied.ok) {
        this.deps.logger.error({ gameId: record.id, reason: applied.reason }, 'a stored move no longer applies; the game continues before it');
        break;
      }
      this.state = applied.state;
      this.lastMove = { seat, text: `${this.names[seat]} ${applied.description}` };
      this.moveCount += 1;
    }
  }

  private checkResult(): void {
    const result = this.game.result(this.state);
    if (result) void this.finish(result);
  }

  /** Stores the result (once), tells the conversation, then every device here. */
  private finish(result: GameResult): Promise<void> {
    if (this.finishing) return this.finishing;
    this.result = result;
    for (const seat of [0, 1] as const) this.stopForfeit(seat);
    this.finishing = (async () => {
      try {
        const { storage, clock } = this.deps;
        const stored = await storage.transitionGame(this.record.id, {
          from: 'active',
          to: 'finished',
          at: clock.now(),
          winnerSeat: result.winner,
          reason: result.reason,
        });
        this.record = stored ?? (await storage.getGame(this.record.id)) ?? this.record;
        this.scores = scoresOf(await storage.finishedGames(this.record.conversationId, 1000));
        await this.deps.onFinished(this.record).catch((err: unknown) => this.deps.logger.error({ err, gameId: this.record.id }, 'could not record the result in the conversation'));
      } finally {
        this.broadcast('over', { result, game: toGameRecord(this.record), scores: this.scores });
        this.deps.onBusy(false);
      }
    })();
    return this.finishing;
  }

  // --- seats and forfeits ------------------------------------------------------------------------------------------
  private takeSeat(seat: Seat, peerId: string): void {
    this.holders[seat] = peerId;
    this.stopForfeit(seat);
  }

  private startForfeit(seat: Seat): void {
    this.stopForfeit(seat);
    this.forfeitAt[seat] = this.deps.clock.now() + this.deps.forfeitMs;
    this.cancelForfeit[seat] = this.deps.timers.after(this.deps.forfeitMs, () => {
      const other: Seat = seat === 0 ? 1 : 0;
      // Both away: nobody wins a game nobody plays.
      if (this.holders[other] === null) void this.finish({ winner: null, reason: 'abandoned' });
      else void this.finish({ winner: other, reason: `${this.names[seat]} did not come back (forfeit)` });
    });
  }

  private stopForfeit(seat: Seat): void {
    this.cancelForfeit[seat]?.();
    this.cancelForfeit[seat] = null;
    this.forfeitAt[seat] = null;
  }

  private seatOfParticipant(participantId: string | null): Seat | null {
    const index = this.record.players.indexOf(participantId ?? '');
    return index === 0 || index === 1 ? index : null;
  }

  private seatOfPeer(peerId: string): Seat | null {
    return this.holders[0] === peerId ? 0 : this.holders[1] === peerId ? 1 : null;
  }

  // --- broadcasting ------------------------------------------------------------------------------------------------
  private broadcastState(): void {
    for (const peer of this.peers.values()) {
      deliver(peer, 'state', { view: this.game.view(this.state, this.seatOfPeer(peer.id)), turn: this.game.turn(this.state), lastMove: this.lastMove });
    }
  }

  private broadcastPlayers(): void {
    this.broadcast('players', { connected: [this.holders[0] !== null, this.holders[1] !== null], forfeitAt: [this.forfeitAt[0], this.forfeitAt[1]] });
  }

  private broadcast<T extends keyof GameServerMessages & string>(type: T, payload: GameServerMessages[T]): void {
    for (const peer of this.peers.values()) deliver(peer, type, payload);
  }
}
