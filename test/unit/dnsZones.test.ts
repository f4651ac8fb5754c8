/**
 * The DNS server's view of own domains (engine/dnsZones.ts) over real SQLite storage: only active domains are zones,
 * the longest one holding a name wins, one read of the list serves every query for `cacheMs` (a flood of random names
 * costs the database nothing), a storage failure is answered from the last list read, ACME values are read briefly.
 */
import { describe, expect, it } from 'vitest';
import { SqliteStorage } from '../../adapters/storage/sqlite/SqliteStorage.ts';
import { StoredDnsZones } from '../../engine/dnsZones.ts';
import { createLogger } from '../../engine/logger.ts';
import type { Storage } from '../../engine/ports/storage.ts';

const T0 = 1_765_000_000_000;

async function setup() {
  const storage = SqliteStorage.open({ file: ':memory:' });
  const account = await storage.createAccount({ handle: 'alice', displayName: 'Alice', passwordHash: 'x', at: T0 });
  const add = async (name: string, active: boolean) => {
    await storage.addDomain({ name, accountId: account.id, dkimSelector: 'knock1', dkimPublicKey: 'MIIB', dkimPrivateKey: 'pem', at: T0 });
    if (active) await storage.recordDomainCheck(name, { active: true, error: null, at: T0 + 5000 });
  };
  const reads = { list: 0, acme: 0, fail: false };
  // The real storage, counted, and made to fail on demand.
  const counted: Pick<Storage, 'listDomains' | 'acmeChallenges'> = {
    listDomains: async () => {
      reads.list += 1;
      if (reads.fail) throw new Error('database down');
      return storage.listDomains();
    },
    acmeChallenges: async (...args) => {
      reads.acme += 1;
      return storage.acmeChallenges(...args);
    },
  };
  const clock = { t: T0 + 10_000, now() { return this.t; } };
  const zones = new StoredDnsZones({ storage: counted, clock, logger: createLogger('silent'), cacheMs: 3000, maxStaleMs: 60_000 });
  return { storage, add, reads, clock, zones };
}

describe('StoredDnsZones', () => {
  it('serves every domain, the longest one holding the name, pending ones marked, with the activation time as serial', async () => {
    const { add, zones } = await setup();
    await add('alice.example', true);
    await add('chat.alice.example', true);
    await add('pending.example', false);
    expect(await zones.zoneOf('alice.example')).toEqual({ name: 'alice.example', pending: false, serial: Math.floor((T0 + 5000) / 1000), dkimSelector: 'knock1', dkimPublicKey: 'MIIB' });
    expect((await zones.zoneOf('www.alice.example'))?.name).toBe('alice.example');
    expect((await zones.zoneOf('a.b.chat.alice.example'))?.name).toBe('chat.alice.example');
    expect(await zones.zoneOf('pending.example')).toMatchObject({ name: 'pending.example', pending: true });
    expect(await zones.zoneOf('x.pending.example')).toMatchObject({ name: 'pending.example', pending: true });
    expect(await zones.zoneOf('example')).toBeNull();
    expect(await zones.zoneOf('')).toBeNull();
  });

  it('reads the list once per cacheMs, however many names are asked, and shares one read among concurrent queries', async () => {
    const { add, zones, reads, clock } = await setup();
    await add('alice.example', true);
    await Promise.all(Array.from({ length: 50 }, (_, i) => zones.zoneOf(`r${i}.alice.example`)));
    for (let i = 0; i < 1000; i++) await zones.zoneOf(`random${i}.foreign${i}.example`);
    expect(reads.list).toBe(1);
    await add('bob.example', true);
    clock.t += 2999;
    expect(await zones.zoneOf('bob.example')).toBeNull();
    clock.t += 1;
    expect((await zones.zoneOf('bob.example'))?.name).toBe('bob.example');
    expect(reads.list).toBe(2);
  });

  it('answers from the last list read while storage fails (up to maxStaleMs), retrying once per cacheMs', async () => {
    const { add, zones, reads, clock } = await setup();
    await add('alice.example', true);
    await zones.zoneOf('alice.example');
    reads.fail = true;
    clock.t += 3000;
    expect((await zones.zoneOf('alice.example'))?.name).toBe('alice.example');
    expect((await zones.zoneOf('alice.example'))?.name).toBe('alice.example');
    expect(reads.list).toBe(2);
    clock.t += 60_001;
    await expect(zones.zoneOf('alice.example')).rejects.toThrow('database down');
    reads.fail = false;
    clock.t += 3000;
    expect((await zones.zoneOf('alice.example'))?.name).toBe('alice.example');
  });

  it('throws when storage fails before any list was read', async () => {
    const { zones, reads } = await setup();
    reads.fail = true;
    await expect(zones.zoneOf('alice.example')).rejects.toThrow('database down');
  });

  it('reads ACME dns-01 values live, keeping them no longer than cacheMs, and drops expired ones', async () => {
    const { storage, add, zones, reads, clock } = await setup();
    await add('alice.example', true);
    expect(await zones.acmeValues('alice.example')).toEqual([]);
    await storage.putAcmeChallenge({ kind: 'dns-01', name: 'alice.example', token: 'order-1', value: 'v-1', expiresAt: clock.t + 10_000 });
    expect(await zones.acmeValues('alice.example')).toEqual([]);
    clock.t += 3000;
    expect(await zones.acmeValues('alice.example')).toEqual(['v-1']);
    expect(reads.acme).toBe(2);
    clock.t += 10_000;
    expect(await zones.acmeValues('alice.example')).toEqual([]);
  });
});
