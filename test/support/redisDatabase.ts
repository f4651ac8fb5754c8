/**
 * A Redis logical database of the test's own, for Knock processes that coordinate through Redis
 * (README "Running several processes"). Databases 1-15 are tried from one derived from the pid; the first without
 * a live claim is claimed (SET NX with an expiry, so a crashed run frees it), flushed, and flushed again on
 * `release()`. Concurrent runs on one Redis therefore never share a database (0 is left to whoever uses Redis
 * by default). Built on RedisPresence (a dependency already), whose connection it borrows for a few raw commands.
 *
 * @example
 *   const redis = await TestRedis.claim();
 *   const knock = await KnockProcess.create({ cluster: { ..., redisUrl: redis.url } });
 *   const rooms = await redis.rooms('conversation');   // where Colyseus placed them
 *   await redis.release();
 */
import { RedisPresence } from '@colyseus/redis-presence';
import type { RedisCommands } from '../../adapters/presence/roomClaims.ts';

/** The test Redis: this machine's, unless the environment names another (without a database number). */
export const testRedisUrl = (process.env.KNOCK_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379').replace(/\/\d*$/, '');

const CLAIM_KEY = 'knock:test:claim';
/** Long enough for any test file; short enough that a killed run's database is free again soon. */
const CLAIM_SECONDS = 600;
const DATABASES = 15;

/** A room as Colyseus's RedisDriver lists it (the `roomcaches` hash). */
export interface RoomListing {
  roomId: string;
  name: string;
  processId: string;
  publicAddress?: string;
  /** The filterBy values: `handle` for UserRooms, `conversationId` for ConversationRooms. */
  handle?: string;
  conversationId?: string;
  docId?: string;
  gameId?: string;
}

export class TestRedis extends RedisPresence {
  private released = false;

  private constructor(
    readonly url: string,
    readonly database: number,
  ) {
    super(url);
  }

  /** Claims a free logical database and empties it. */
  static async claim(base: string = testRedisUrl): Promise<TestRedis> {
    const first = process.pid % DATABASES;
    for (let i = 0; i < DATABASES; i++) {
      const n = 1 + ((first + i) % DATABASES);
      const redis = new TestRedis(`${base}/${n}`, n);
      try {
        if (await redis.tryClaim()) {
          await redis.flush();
          return redis;
        }
      } catch (err) {
        redis.shutdown();
        throw new Error(`Could not use Redis at ${base} (set KNOCK_TEST_REDIS_URL to use another).`, { cause: err });
      }
      redis.shutdown();
    }
    throw new Error(`Every Redis logical database 1-${DATABASES} at ${base} is claimed by another test run.`);
  }

  /** Empties the database, keeping the claim. */
  async flush(): Promise<void> {
    await this.pub.flushdb();
    await this.pub.set(CLAIM_KEY, String(process.pid), 'EX', CLAIM_SECONDS);
  }

  /** The rooms Colyseus lists, of one type. */
  async rooms(name: 'user' | 'conversation' | 'doc' | 'game'): Promise<RoomListing[]> {
    const all = await this.pub.hgetall('roomcaches');
    return Object.values(all)
      .map((text) => JSON.parse(text) as RoomListing)
      .filter((room) => room.name === name);
  }

  /** This database's connection, for adapters that take raw commands (room claims). */
  get commands(): RedisCommands {
    return this.pub as unknown as RedisCommands;
  }

  /** A key's value, e.g. one of Knock's own (`knock:room:<scope>`). */
  async value(key: string): Promise<string | null> {
    return this.pub.get(key);
  }

  /** Deletes a key, e.g. a process's room lease, as its expiry would. */
  async remove(key: string): Promise<void> {
    await this.pub.del(key);
  }

  /** Empties the database (the claim goes with it) and closes the connections. Safe to call more than once. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.pub.flushdb();
    this.shutdown();
  }

  private async tryClaim(): Promise<boolean> {
    return (await this.pub.set(CLAIM_KEY, String(process.pid), 'EX', CLAIM_SECONDS, 'NX')) === 'OK';
  }
}
