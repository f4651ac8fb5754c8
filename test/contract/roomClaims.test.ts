/**
 * The RoomClaims port (engine/ports/roomClaims.ts), one contract for both adapters: in one process (a map) and across
 * processes (Redis, a logical database of this test's own). One room per scope: a second room is refused while the
 * first lives, a release frees it, a late release never frees a successor's claim; in Redis, the claims of a
 * process whose lease is gone (killed, cut off) are taken over, and a process that closes frees its claims at once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalRoomClaims, RedisRoomClaims } from '../../adapters/presence/roomClaims.ts';
import { createLogger } from '../../engine/logger.ts';
import type { RoomClaims } from '../../engine/ports/roomClaims.ts';
import { TestRedis } from '../support/redisDatabase.ts';

const logger = createLogger('silent');
const LEASE_MS = 6000;

interface Cluster {
  /** A process's claims (a new process each time in Redis; the same map in one process). */
  process(name: string): Promise<RoomClaims>;
}

function claimsContract(name: string, setup: () => Cluster) {
  describe(`room claims: ${name}`, () => {
    let cluster: Cluster;
    beforeAll(() => {
      cluster = setup();
    });

    it('lets one room hold a scope and refuses a second room while it does', async () => {
      const p = await cluster.process('p1');
      expect(await p.claim('game:g1', 'room-a')).toBe(true);
      expect(await p.claim('game:g1', 'room-a')).toBe(true); // the holder again: harmless
      expect(await p.claim('game:g1', 'room-b')).toBe(false);
      expect(await p.claim('game:g2', 'room-b')).toBe(true); // another scope is another matter
    });

    it('frees a scope on release, and a late release of the old room never frees its successor', async () => {
      const p = await cluster.process('p2');
      await p.claim('user:alice', 'old');
      await p.release('user:alice', 'old');
      expect(await p.claim('user:alice', 'new')).toBe(true);
      await p.release('user:alice', 'old'); // the old room's dispose, arriving late
      expect(await p.claim('user:alice', 'intruder')).toBe(false);
    });
  });
}

claimsContract('one process', () => {
  const shared = new LocalRoomClaims();
  return { process: async () => shared };
});

describe('room claims across processes (Redis)', () => {
  let redis: TestRedis;
  const opened: RedisRoomClaims[] = [];
  const open = async (processId: string, leaseMs = LEASE_MS) => {
    const claims = await RedisRoomClaims.open(redis.commands, { processId, leaseMs, logger });
    opened.push(claims);
    return claims;
  };
  beforeAll(async () => {
    redis = await TestRedis.claim();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close()));
  });
  afterAll(() => redis?.release());

  claimsContract('Redis', () => ({ process: (name) => open(`${name}-${Math.random().toString(36).slice(2)}`) }));

  it('refuses a room on another process while the holder process lives', async () => {
    const a = await open('proc-a');
    const b = await open('proc-b');
    expect(await a.claim('conversation:c1', 'room-on-a')).toBe(true);
    expect(await b.claim('conversation:c1', 'room-on-b')).toBe(false);
    expect(await redis.value('knock:room:conversation:c1')).toBe('proc-a|room-on-a');
  });

  it('lets another process take over the claims of a process whose lease is gone (a crash)', async () => {
    const a = await open('proc-crashed');
    const b = await open('proc-survivor');
    await a.claim('user:bob', 'room-on-a');
    expect(await b.claim('user:bob', 'room-on-b')).toBe(false);
    // What the lease's expiry does once a killed process stops renewing it.
    await redis.remove('knock:process:proc-crashed');
    expect(await b.claim('user:bob', 'room-on-b')).toBe(true);
    expect(await redis.value('knock:room:user:bob')).toBe('proc-survivor|room-on-b');
  });

  it('keeps a live process\u2019s lease alive beyond its first term', async () => {
    const a = await open('proc-renewing', 900); // renewed every 300 ms
    const b = await open('proc-other');
    await a.claim('doc:d1', 'room-on-a');
    await new Promise((resolve) => setTimeout(resolve, 2000)); // more than two leases: only renewal keeps it
    expect(await b.claim('doc:d1', 'room-on-b')).toBe(false);
  });

  it('frees every claim of a process that closes, at once', async () => {
    const a = await open('proc-stopping');
    const b = await open('proc-staying');
    await a.claim('game:g9', 'room-on-a');
    await a.close();
    expect(await b.claim('game:g9', 'room-on-b')).toBe(true);
  });
});
