/**
 * Games in a conversation, as a device sees them (issue 6):
 * - GameLobby follows the conversation's game records (invitations, the game going on, the last result) through
 *   the ConversationSession, and sends invitations and answers;
 * - GamePlay is one game's room: it joins as the same person (token or session), stays joined (RoomLink rejoins
 *   after a drop, and the server gives the seat back), and hands every state to the view.
 *
 * @example
 *   const lobby = new GameLobby(conversation);
 *   lobby.invite('connect4');
 *   const play = GamePlay.open(conversation.joinCredentials, gameId);
 *   play.move({ column: 3 });
 */
import {
  gameServerMessages,
  type ErrorPayload,
  type GameKindName,
  type GameRecord,
  type GameScores,
  type GameServerMessages,
} from '../../../engine/protocol.ts';
import type { ConversationSession } from './conversationSession.ts';
import { RoomLink } from './roomLink.ts';
import type { Listener } from './types.ts';

export interface GameLobbySnapshot {
  /** The invited or active game, if any. */
  open: GameRecord | null;
  /** The newest game heard of (also a finished or declined one, for its result and a rematch). */
  latest: GameRecord | null;
  error: ErrorPayload | null;
}

export class GameLobby {
  private readonly listeners = new Set<Listener>();
  private latest: GameRecord | null = null;
  private error: ErrorPayload | null = null;
  private cached: GameLobbySnapshot | null = null;
  private readonly unsubscribe: () => void;

  constructor(private readonly conversation: ConversationSession) {
    this.unsubscribe = conversation.onGame((event) => {
      if (event.type === 'game') {
        // The session passes on only a record newer than the last, and the newest so far as the lobby attaches.
        this.latest = event.payload;
        this.error = null;
      } else {
        this.error = event.payload;
      }
      this.changed();
    });
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): GameLobbySnapshot {
    const latest = this.latest;
    this.cached ??= { latest, open: latest && (latest.status === 'invited' || latest.status === 'active') ? latest : null, error: this.error };
    return this.cached;
  }

  invite(kind: GameKindName): void {
    this.error = null;
    this.conversation.sendGame('game.invite', { kind });
    this.changed();
  }

  answer(gameId: string, accept: boolean): void {
    this.conversation.sendGame('game.answer', { gameId, accept });
  }

  close(): void {
    this.unsubscribe();
  }

  private changed(): void {
    this.cached = null;
    for (const listener of [...this.listeners]) listener();
  }
}

type Welcome = GameServerMessages['welcome'];

export interface GamePlaySnapshot {
  connection: 'connecting' | 'live' | 'reconnecting' | 'closed';
  game: GameRecord | null;
  seat: 0 | 1 | null;
  names: [string, string];
  view: unknown;
  turn: 0 | 1 | null;
  lastMove: GameServerMessages['state']['lastMove'];
  result: Welcome['result'];
  players: GameServerMessages['players'] | null;
  scores: GameScores | null;
  tickMs: number | null;
  error: ErrorPayload | null;
}

/** Every state as it arrives, with the local time it arrived (real-time views interpolate between them). */
export type StateListener = (view: unknown, receivedAt: number) => void;

export class GamePlay {
  private readonly link: RoomLink<typeof gameServerMessages>;
  private readonly listeners = new Set<Listener>();
  private readonly stateListeners = new Set<StateListener>();
  private snap: GamePlaySnapshot = {
    connection: 'connecting', game: null, seat: null, names: ['', ''], view: null, turn: null, lastMove: null,
    result: null, players: null, scores: null, tickMs: null, error: null,
  };

  private constructor(credentials: ConversationSession['joinCredentials'], readonly gameId: string) {
    this.link = new RoomLink({
      endpoint: credentials.endpoint,
      roomName: 'game',
      schemas: gameServerMessages,
      ...(credentials.headers ? { headers: credentials.headers } : {}),
      options: () => ({ gameId, conversationId: credentials.conversationId, ...(credentials.token ? { token: credentials.token } : {}) }),
      onMessage: (type, payload) => this.onMessage(type, payload as never),
      onJoined: () => this.set({ connection: 'live' }),
      onDisconnected: () => this.set({ connection: 'reconnecting' }),
      onEnded: (reason) => this.set({ connection: 'closed', error: { code: String(reason.code), message: reason.message } }),
    });
  }

  static open(credentials: ConversationSession['joinCredentials'], gameId: string): GamePlay {
    const play = new GamePlay(credentials, gameId);
    play.link.start();
    return play;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onState(listener: StateListener): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  snapshot(): GamePlaySnapshot {
    return this.snap;
  }

  /** A turn-based move or a real-time input; the server checks it (and answers an `error` if refused). */
  move(move: unknown): void {
    this.link.send('move', { move });
  }

  resign(): void {
    this.link.send('resign', {});
  }

  close(): Promise<void> {
    return this.link.close();
  }

  private onMessage<K extends keyof GameServerMessages>(type: K, payload: GameServerMessages[K]): void {
    switch (type) {
      case 'welcome': {
        const w = payload as Welcome;
        this.set({ game: w.game, seat: w.seat, names: w.names, view: w.view, turn: w.turn, lastMove: w.lastMove, result: w.result, scores: w.scores, tickMs: w.tickMs, error: null });
        this.emitState(w.view);
        break;
      }
      case 'state': {
        const s = payload as GameServerMessages['state'];
        this.emitState(s.view);
        // Real-time states arrive at the tick rate: only the state listeners (the canvas) hear them.
        if (this.snap.tickMs === null) this.set({ view: s.view, turn: s.turn, lastMove: s.lastMove, error: null });
        else if (scoreOf(s.view) !== scoreOf(this.snap.view)) this.set({ view: s.view });
        else this.snap = { ...this.snap, view: s.view };
        break;
      }
      case 'players':
        this.set({ players: payload as GameServerMessages['players'] });
        break;
      case 'over': {
        const o = payload as GameServerMessages['over'];
        this.set({ result: o.result, game: o.game, scores: o.scores, turn: null });
        break;
      }
      case 'error':
        this.set({ error: payload as ErrorPayload });
        break;
    }
  }

  private emitState(view: unknown): void {
    const now = typeof performance !== 'undefined' ? performance.now() : Date.now();
    for (const listener of [...this.stateListeners]) listener(view, now);
  }

  private set(change: Partial<GamePlaySnapshot>): void {
    this.snap = { ...this.snap, ...change };
    for (const listener of [...this.listeners]) listener();
  }
}

/** A real-time view's score as a comparable string (the page re-renders when it changes, not on every tick). */
function scoreOf(view: unknown): string {
  return JSON.stringify((view as { score?: unknown } | null)?.score ?? null);
}
