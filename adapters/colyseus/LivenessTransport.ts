/**
 * Colyseus's WebSocket transport with two ping rates. Colyseus 0.16 pings every socket at one interval; a dead
 * socket is found only by a missed pong. Knock needs that fast for few sockets and slow for most:
 * - sockets others watch (`watchClosely`: an owner's devices in their UserRoom, whose loss turns the owner
 *   "offline" for every visitor) are pinged every `pingInterval` (KNOCK_PING_INTERVAL_MS, 800 ms: offline shown
 *   within about 2 s of a dead network);
 * - every other socket (visitors, which are most of them) every `idlePingInterval` (KNOCK_IDLE_PING_INTERVAL_MS,
 *   10 s), which still frees a dead visitor's place within about 20 s, far below any NAT or proxy idle timeout.
 * Pinging 19,500 idle visitors at 800 ms cost over half a core (24k pings and pongs a second); at 10 s it is 2k.
 *
 * @example
 *   const transport = new LivenessTransport({ server, pingInterval: 800, idlePingInterval: 10_000, pingMaxRetries: 1 });
 *   // the composition root hands rooms the method (RoomDeps.watchClosely); in a room's onJoin, for an owner's device:
 *   transport.watchClosely(client);
 */
import { WebSocketTransport, type TransportOptions } from '@colyseus/ws-transport';
import type WebSocket from 'ws';

type RawClient = WebSocket & { pingCount: number; knockWatched?: boolean };

/** How long after a round a socket that has not answered the previous ping is given for its pong to be read. */
const VERDICT_DELAY_MS = 250;

export interface LivenessTransportOptions extends TransportOptions {
  /** How often sockets not watched closely are pinged (rounded to a multiple of `pingInterval`). */
  idlePingInterval: number;
}

export class LivenessTransport extends WebSocketTransport {
  /** Unwatched sockets are pinged every this many rounds. */
  private readonly idleEvery: number;

  constructor(options: LivenessTransportOptions) {
    const { idlePingInterval, ...rest } = options;
    super(rest);
    const interval = rest.pingInterval ?? 0;
    this.idleEvery = interval > 0 ? Math.max(1, Math.round(idlePingInterval / interval)) : 1;
  }

  /**
   * Marks a client's socket as one whose death others must learn of within seconds: it is pinged every round. The
   * mark lives on the socket itself, so it goes with it.
   */
  watchClosely(client: { ref: unknown }): void {
    (client.ref as RawClient).knockWatched = true;
  }

  /**
   * Colyseus's ping loop (same pingCount and termination rule), with unwatched sockets skipped between their rounds,
   * and one change: a socket whose pong is missing is judged a moment later (`verdictDelayMs`), not at once. Timers
   * run before I/O in each turn of the event loop, so on a busy server the round often fires while pongs that came in
   * time still sit unread in the sockets (libuv reads at most 1,024 ready sockets per turn); Colyseus's rule then
   * closes healthy connections (a full bench run's owner ramp dropped 8,711 with that rule, 3,929 with this one, the
   * rest because the load generator's core was full). The delay
   * keeps "offline" within 2 s of a dead network (800 ms rounds: at most 1.6 s plus the delay).
   */
  protected override autoTerminateUnresponsiveClients(pingInterval: number, pingMaxRetries: number): void {
    let round = 0;
    const verdictDelayMs = Math.min(VERDICT_DELAY_MS, Math.floor(pingInterval / 4));
    const ping = (client: RawClient) => {
      client.pingCount++;
      client.ping();
    };
    this.pingInterval = setInterval(() => {
      round = (round + 1) % this.idleEvery;
      const idleRound = round === 0;
      const late: RawClient[] = [];
      for (const client of this.wss.clients as Set<RawClient>) {
        if (!idleRound && !client.knockWatched) continue;
        if (client.pingCount >= pingMaxRetries) late.push(client);
        else ping(client);
      }
      if (late.length === 0) return;
      setTimeout(() => {
        for (const client of late) {
          if (client.readyState !== client.OPEN) continue;
          if (client.pingCount >= pingMaxRetries) client.terminate();
          else ping(client); // its pong was read meanwhile: it keeps its rhythm
        }
      }, verdictDelayMs).unref();
    }, pingInterval);
  }
}
