/**
 * How the processes of one Knock coordinate (DESIGN "The stack": scale-out): Colyseus's Presence (pub/sub and shared
 * keys: the Hub's events, the owner's presence lease, seat reservations between processes) and its matchmaking
 * driver (where every room lives):
 * - no REDIS_URL: Colyseus's LocalPresence and Knock's IndexedDriver (adapters/colyseus/IndexedDriver.ts), in this
 *   process's memory (one process). Not Colyseus's LocalDriver: it keeps every room in one array and scans it on
 *   each find, `has` and remove, so every room activation costs more the more rooms are open. In our bench
 *   (bench/README.md, 0 then 5,000 rooms open) activation fell from ~709/s to ~127/s on LocalDriver, and from
 *   ~782/s to ~439/s on IndexedDriver, which finds, checks and removes a room by its id and filter values.
 * - REDIS_URL: RedisPresence and RedisDriver (0.16), which place every room in exactly one process of the cluster
 *   and let any process route a client to it (each process then needs its `publicAddress`).
 *
 * @example
 *   const { presence, driver } = await openCoordination(config.redisUrl, logger);
 *   new Server({ transport, presence, driver, publicAddress: config.publicAddress });
 *   // Server.gracefullyShutdown() shuts both down (it closes the Redis connections).
 */
import { LocalPresence, type MatchMakerDriver, type Presence } from '@colyseus/core';
import { RedisDriver } from '@colyseus/redis-driver';
import { RedisPresence } from '@colyseus/redis-presence';
import { IndexedDriver } from '../colyseus/IndexedDriver.ts';
import type { Logger } from '../../engine/logger.ts';
import type { RoomClaims } from '../../engine/ports/roomClaims.ts';
import { LocalRoomClaims, RedisRoomClaims, type RedisCommands } from './roomClaims.ts';

export interface Coordination {
  presence: Presence;
  driver: MatchMakerDriver;
  /** 'redis' when shared by several processes. */
  kind: 'local' | 'redis';
  /**
   * One room per scope across every process (engine/ports/roomClaims.ts), for this process (Colyseus's processId,
   * known once the Server exists). `leaseMs`: how long a dead process's claims outlive it.
   */
  openClaims(processId: string, leaseMs: number): Promise<RoomClaims>;
}

/** How long a first Redis command may take at start before Knock gives up with a clear message. */
const REDIS_START_TIMEOUT_MS = 10_000;

export async function openCoordination(redisUrl: string | undefined, logger: Pick<Logger, 'error'>): Promise<Coordination> {
  if (redisUrl === undefined) {
    return { presence: new LocalPresence(), driver: new IndexedDriver(), kind: 'local', openClaims: async () => new LocalRoomClaims() };
  }
  const presence = new LoggedRedisPresence(redisUrl, logger);
  const driver = new RedisDriver(redisUrl);
  try {
    // Connection trouble would otherwise surface as a matchmaker that hangs at start; say it in words instead.
    await withTimeout(Promise.all([presence.exists('knock:probe'), driver.has('knock:probe')]), REDIS_START_TIMEOUT_MS);
  } catch (err) {
    presence.shutdown();
    await driver.shutdown().catch(() => undefined); // already failing: the error below says why
    throw new Error(`Redis at ${redactUrl(redisUrl)} (REDIS_URL) did not answer: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return {
    presence,
    driver,
    kind: 'redis',
    openClaims: (processId, leaseMs) => RedisRoomClaims.open(presence.commands, { processId, leaseMs, logger }),
  };
}

/** RedisPresence whose connection errors go to Knock's log (ioredis prints unhandled ones to the console). */
class LoggedRedisPresence extends RedisPresence {
  constructor(url: string, logger: Pick<Logger, 'error'>) {
    super(url);
    for (const [role, client] of [['publisher', this.pub], ['subscriber', this.sub]] as const) {
      client.on('error', (err: unknown) => logger.error({ err, role }, 'Redis connection error (presence); reconnecting'));
    }
  }

  /** The publishing connection, for the few commands Presence does not offer (room claims' Lua scripts). */
  get commands(): RedisCommands {
    return this.pub as unknown as RedisCommands;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
