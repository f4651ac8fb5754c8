/**
 * The RoomClaims port (engine/ports/roomClaims.ts): one room per scope, in one process (a map) or across the
 * processes of a cluster (Redis).
 *
 * In Redis, `knock:room:<scope>` holds `<processId>|<roomId>`, and every process keeps a lease
 * `knock:process:<processId>` alive (renewed every third of its life). A claim held by a process whose lease is gone
 * (killed, crashed, cut off from Redis for longer than the lease) is taken over, atomically, in one Lua script; so a
 * crash frees its rooms' scopes within one lease without anyone releasing them. Claim keys expire after a few hours
 * unless their holder renews them (hourly), so the scopes of rooms a crashed process held do not stay in Redis.
 *
 * @example
 *   const claims = await RedisRoomClaims.open(redis, { processId, leaseMs: 6000, logger });
 *   await claims.claim('user:alice', roomId); // true
 */
import type { RoomClaims } from '../../engine/ports/roomClaims.ts';
import type { Logger } from '../../engine/logger.ts';

/** A process's rooms, in its memory: the only process there is. */
export class LocalRoomClaims implements RoomClaims {
  private readonly held = new Map<string, string>();

  async claim(scope: string, roomId: string): Promise<boolean> {
    const holder = this.held.get(scope);
    if (holder !== undefined && holder !== roomId) return false;
    this.held.set(scope, roomId);
    return true;
  }

  async release(scope: string, roomId: string): Promise<void> {
    if (this.held.get(scope) === roomId) this.held.delete(scope);
  }

  async close(): Promise<void> {
    this.held.clear();
  }
}

/** The few commands used here (ioredis's client has them; typed by hand so Knock needs no direct ioredis import). */
export interface RedisCommands {
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
  set(key: string, value: string, px: 'PX', ms: number): Promise<unknown>;
  del(key: string): Promise<unknown>;
  pipeline(): { pexpire(key: string, ms: number): unknown; exec(): Promise<unknown> };
}

const PROCESS_PREFIX = 'knock:process:';
const CLAIM_PREFIX = 'knock:room:';
/** Claim keys live this long unless renewed; renewed every RENEW_CLAIMS_MS by their holder. */
const CLAIM_TTL_MS = 3 * 3600_000;
const RENEW_CLAIMS_MS = 3600_000;

/** KEYS[1] the claim; ARGV[1] `<processId>|<roomId>`, ARGV[2] the process lease prefix, ARGV[3] the claim's TTL. */
const CLAIM_SCRIPT = `
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then
  local pid = string.match(held, '^([^|]+)|')
  if pid and redis.call('EXISTS', ARGV[2] .. pid) == 1 then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`;

/** KEYS[1] the claim; ARGV[1] the value that must still be there. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface RedisRoomClaimsOptions {
  processId: string;
  /** How long this process's claims outlive it when it dies without a word (KNOCK_PRESENCE_TTL_MS). */
  leaseMs: number;
  logger: Pick<Logger, 'error'>;
}

export class RedisRoomClaims implements RoomClaims {
  /** scope -> roomId of the claims this process holds, for the hourly renewal. */
  private readonly held = new Map<string, string>();
  private readonly leaseTimer: NodeJS.Timeout;
  private readonly renewTimer: NodeJS.Timeout;
  private closed: Promise<void> | null = null;

  private constructor(
    private readonly redis: RedisCommands,
    private readonly options: RedisRoomClaimsOptions,
  ) {
    // Unref'd: the timers keep nothing alive; close() stops them.
    this.leaseTimer = setInterval(() => void this.renewLease(), Math.floor(options.leaseMs / 3)).unref();
    this.renewTimer = setInterval(() => void this.renewClaims(), RENEW_CLAIMS_MS).unref();
  }

  /** Writes this process's lease before any claim can be made, so no claim of ours is ever taken for a dead one's. */
  static async open(redis: RedisCommands, options: RedisRoomClaimsOptions): Promise<RedisRoomClaims> {
    await redis.set(PROCESS_PREFIX + options.processId, '1', 'PX', options.leaseMs);
    return new RedisRoomClaims(redis, options);
  }

  async claim(scope: string, roomId: string): Promise<boolean> {
    const won = await this.redis.eval(CLAIM_SCRIPT, 1, CLAIM_PREFIX + scope, this.value(roomId), PROCESS_PREFIX, CLAIM_TTL_MS);
    if (won === 1) this.held.set(scope, roomId);
    return won === 1;
  }

  async release(scope: string, roomId: string): Promise<void> {
    if (this.held.get(scope) === roomId) this.held.delete(scope);
    await this.redis.eval(RELEASE_SCRIPT, 1, CLAIM_PREFIX + scope, this.value(roomId));
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      clearInterval(this.leaseTimer);
      clearInterval(this.renewTimer);
      this.held.clear();
      // Whatever a room did not release is free at once for the other processes.
      await this.redis.del(PROCESS_PREFIX + this.options.processId).catch((err: unknown) => {
        this.options.logger.error({ err }, 'could not end this process\u2019s room lease; it lapses by itself');
      });
    })();
    return this.closed;
  }

  private value(roomId: string): string {
    return `${this.options.processId}|${roomId}`;
  }

  private async renewLease(): Promise<void> {
    try {
      await this.redis.set(PROCESS_PREFIX + this.options.processId, '1', 'PX', this.options.leaseMs);
    } catch (err) {
      this.options.logger.error({ err }, 'could not renew this process\u2019s room lease (Redis); other processes may take its rooms over');
    }
  }

  private async renewClaims(): Promise<void> {
    if (this.held.size === 0) return;
    const batch = this.redis.pipeline();
    for (const scope of this.held.keys()) batch.pexpire(CLAIM_PREFIX + scope, CLAIM_TTL_MS);
    try {
      await batch.exec();
    } catch (err) {
      this.options.logger.error({ err }, 'could not renew room claims (Redis)');
    }
  }
}
