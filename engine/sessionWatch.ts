/**
 * Open sockets follow their session wherever it ends. A logout through this server's API is heard at once (the Hub's
 * `sessionEnded`); but a session also ends where no event is published: a password changed or an account removed
 * with the CLI (another process, writing only to the database), expiry, or a row deleted by hand. So every
 * `checkIntervalMs` (KNOCK_SESSION_CHECK_INTERVAL_MS) this asks storage, in one query, which of the sessions held by
 * this process's sockets are still live, and closes the sockets of the others with CloseCode.loggedOut. Each process
 * checks its own sockets, so it works the same on SQLite and PostgreSQL, with one process or several.
 *
 * It also deletes expired sessions (and expired password recovery links) every `purgeIntervalMs` (KNOCK_SESSION_PURGE_INTERVAL_MS), so the table holds only
 * sessions that can still be used.
 *
 * Sockets are learnt from the rooms' lifecycle events (Colyseus's `define(...).on('join' | 'leave')`): a client whose
 * identity carries a session (an owner's device) is held from its join to its leave.
 *
 * @example
 *   const watch = new SessionWatch({ storage, clock, logger, checkIntervalMs: 2000, purgeIntervalMs: 3_600_000 });
 *   watch.followRooms([matchMaker.getHandler('user'), matchMaker.getHandler('conversation')]);
 *   watch.start();
 *   ...
 *   watch.close();
 */
import { CloseCode } from './errors.ts';
import type { Logger } from './logger.ts';
import type { Clock } from './ports/clock.ts';
import type { Storage } from './ports/storage.ts';

/** A socket as the rooms' events give it: its identity (rooms/peer.ts Identity) and a way to close it. */
export interface SessionSocket {
  auth?: unknown;
  leave(code?: number, reason?: string): void;
}

/** What emits a room type's lifecycle events (a Colyseus RegisteredHandler). */
export interface RoomEvents {
  on(event: 'join' | 'leave', listener: (room: unknown, client: SessionSocket) => void): unknown;
}

export interface SessionWatchOptions {
  storage: Pick<Storage, 'liveSessions' | 'purgeExpiredSessions' | 'purgeExpiredPasswordResets'>;
  clock: Clock;
  logger: Pick<Logger, 'error' | 'info'>;
  checkIntervalMs: number;
  purgeIntervalMs: number;
}

/** Hashes asked in one statement at most: a round over more sockets than this makes one query per this many. */
const HASHES_PER_QUERY = 5000;

export class SessionWatch {
  /** The sockets of each session hash held here. */
  private readonly held = new Map<string, Set<SessionSocket>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private round: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly options: SessionWatchOptions) {}

  /** Holds the sockets of every room type given, from their join to their leave. */
  followRooms(handlers: readonly RoomEvents[]): void {
    for (const handler of handlers) {
      handler.on('join', (_room, client) => this.hold(client));
      handler.on('leave', (_room, client) => this.release(client));
    }
  }

  /** Starts the periodic check and purge (a purge runs at once: sessions may have expired while the server was down). */
  start(): void {
    if (this.closed || this.timers.length > 0) return;
    const { checkIntervalMs, purgeIntervalMs } = this.options;
    this.timers.push(setInterval(() => void this.check(), checkIntervalMs));
    this.timers.push(setInterval(() => void this.purge(), purgeIntervalMs));
    for (const timer of this.timers) timer.unref();
    void this.purge();
  }

  /** How many sockets with a session are held (for tests and logs). */
  get socketCount(): number {
    let n = 0;
    for (const sockets of this.held.values()) n += sockets.size;
    return n;
  }

  hold(client: SessionSocket): void {
    const hash = sessionHashOf(client);
    if (hash === null || this.closed) return;
    let sockets = this.held.get(hash);
    if (!sockets) this.held.set(hash, (sockets = new Set()));
    sockets.add(client);
  }

  release(client: SessionSocket): void {
    const hash = sessionHashOf(client);
    if (hash === null) return;
    const sockets = this.held.get(hash);
    if (!sockets) return;
    sockets.delete(client);
    if (sockets.size === 0) this.held.delete(hash);
  }

  /**
   * One round: closes the sockets of sessions that are no longer live. Resolves when done; never rejects (a storage
   * failure is logged and the sockets stay: an outage of the database logs nobody out). Rounds never overlap.
   */
  check(): Promise<void> {
    this.round ??= this.runCheck().finally(() => (this.round = null));
    return this.round;
  }

  /** Deletes expired sessions and recovery links; resolves with how many sessions (0 after a logged failure). */
  async purge(): Promise<number> {
    try {
      const now = this.options.clock.now();
      const purged = await this.options.storage.purgeExpiredSessions(now);
      const links = await this.options.storage.purgeExpiredPasswordResets(now);
      if (purged > 0 || links > 0) this.options.logger.info({ purged, links }, 'expired sessions and recovery links purged');
      return purged;
    } catch (err) {
      this.options.logger.error({ err }, 'could not purge expired sessions');
      return 0;
    }
  }

  /** Stops the timers; the sockets are the rooms' to close. Idempotent. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    this.held.clear();
  }

  private async runCheck(): Promise<void> {
    const hashes = [...this.held.keys()];
    if (hashes.length === 0 || this.closed) return;
    const now = this.options.clock.now();
    const live = new Set<string>();
    try {
      for (let i = 0; i < hashes.length; i += HASHES_PER_QUERY) {
        for (const hash of await this.options.storage.liveSessions(hashes.slice(i, i + HASHES_PER_QUERY), now)) live.add(hash);
      }
    } catch (err) {
      this.options.logger.error({ err, sessions: hashes.length }, 'could not check the sessions of open sockets');
      return;
    }
    if (this.closed) return;
    for (const hash of hashes) {
      if (live.has(hash)) continue;
      const sockets = this.held.get(hash);
      this.held.delete(hash);
      for (const socket of sockets ?? []) socket.leave(CloseCode.loggedOut, 'Your session ended: please log in again.');
    }
  }
}

function sessionHashOf(client: SessionSocket): string | null {
  const auth = client.auth as { sessionHash?: unknown } | null | undefined;
  return typeof auth?.sessionHash === 'string' ? auth.sessionHash : null;
}
