/**
 * The renewal of own domains' certificates (engine/certificates.ts) on an injected clock and a real SQLite storage,
 * with a stand-in CA (the real one, Pebble, is in test/integration/acme.test.ts): when a certificate is renewed, how
 * failures back off, that only active domains are ever ordered, and that two processes never order one name at once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStorage } from '../../adapters/storage/sqlite/SqliteStorage.ts';
import { Certificates, renewalTime, retryDelay, type CertificateIssuer, type Issued } from '../../engine/certificates.ts';
import { createLogger } from '../../engine/logger.ts';
import type { Storage } from '../../engine/ports/storage.ts';
import { ManualClock, deferred } from '../support/roomHarness.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = 1_700_000_000_000;

/** A CA stand-in: issues `lifetime`-long certificates from the clock's now, or fails while `failing` is set. */
class StandInCa implements CertificateIssuer {
  readonly ordered: string[] = [];
  failing: string | null = null;
  gate: Promise<void> | null = null;
  constructor(private readonly clock: ManualClock, private readonly lifetime = 90 * DAY, private readonly label = 'cert') {}
  async issue(name: string): Promise<Issued> {
    this.ordered.push(name);
    if (this.gate) await this.gate;
    if (this.failing !== null) throw new Error(this.failing);
    const now = this.clock.now();
    return { chainPem: `${this.label} ${name} #${this.ordered.length}`, keyPem: 'key', notBefore: now, notAfter: now + this.lifetime };
  }
  close(): void {}
}

let storage: Storage;
let clock: ManualClock;
let accountId: string;

beforeEach(async () => {
  storage = await SqliteStorage.open({ file: ':memory:' });
  clock = new ManualClock(T0);
  accountId = (await storage.createAccount({ handle: 'alice', displayName: 'Alice', passwordHash: 'x', at: T0 })).id;
});
afterEach(async () => {
  await storage.close();
});

async function domain(name: string, active = true): Promise<void> {
  await storage.addDomain({ name, accountId, dkimSelector: 'knock1', dkimPublicKey: 'MIIB', dkimPrivateKey: 'k', at: T0 });
  if (active) await storage.recordDomainCheck(name, { active: true, error: null, at: T0 });
}

function renewals(issuer: CertificateIssuer, worker = 'w1', random = () => 1): Certificates {
  return new Certificates({
    storage, issuer, clock, timers: clock, logger: createLogger('silent'), worker, random,
    renewBeforeMs: 30 * DAY, retryMinMs: 15 * MINUTE, retryMaxMs: DAY, pollMs: MINUTE, leaseMs: 10 * MINUTE,
  });
}

describe('the renewal schedule', () => {
  it('renews 30 days before expiry, or two thirds into a shorter life', () => {
    expect(renewalTime(T0, T0 + 90 * DAY, 30 * DAY)).toBe(T0 + 60 * DAY);
    expect(renewalTime(T0, T0 + 45 * DAY, 30 * DAY)).toBe(T0 + 30 * DAY);
    expect(renewalTime(T0, T0 + 6 * DAY, 30 * DAY)).toBe(T0 + 4 * DAY);
    expect(renewalTime(T0, T0 + 365 * DAY, 30 * DAY)).toBe(T0 + 335 * DAY);
    // A certificate that ends before it starts (a broken CA) is due at once, not never.
    expect(renewalTime(T0, T0 - 1, 30 * DAY)).toBe(T0 - 1);
  });

  it('backs off exponentially from the minimum to the maximum, jittered down by at most half', () => {
    const top = (n: number) => retryDelay(n, 15 * MINUTE, DAY, () => 1);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(top)).toEqual([15, 30, 60, 120, 240, 480, 960, 1440].map((m) => m * MINUTE));
    expect(top(1000)).toBe(DAY);
    expect(retryDelay(3, 15 * MINUTE, DAY, () => 0)).toBe(30 * MINUTE);
    for (let i = 0; i < 200; i++) {
      const d = retryDelay(2, 15 * MINUTE, DAY);
      expect(d).toBeGreaterThanOrEqual(15 * MINUTE);
      expect(d).toBeLessThanOrEqual(30 * MINUTE);
    }
  });
});

describe('the renewal loop', () => {
  it('orders a certificate for an active domain at once, and again only when it is due', async () => {
    await domain('alice.example');
    const ca = new StandInCa(clock);
    const certificates = renewals(ca);
    const issued: string[] = [];
    certificates.onIssued((name) => issued.push(name));
    expect(await certificates.renewDue()).toBe(1);
    expect(issued).toEqual(['alice.example']);
    expect(await storage.getCertificate('alice.example')).toMatchObject({ chainPem: 'cert alice.example #1', renewAt: T0 + 60 * DAY });
    clock.t = T0 + 60 * DAY - 1;
    expect(await certificates.renewDue()).toBe(0);
    clock.t = T0 + 60 * DAY;
    expect(await certificates.renewDue()).toBe(1);
    expect(await storage.getCertificate('alice.example')).toMatchObject({ chainPem: 'cert alice.example #2', renewAt: T0 + 120 * DAY });
    expect(ca.ordered).toEqual(['alice.example', 'alice.example']);
  });

  it('never orders for a pending domain, nor for one removed', async () => {
    await domain('pending.example', false);
    await domain('gone.example');
    await storage.removeDomain(accountId, 'gone.example');
    const ca = new StandInCa(clock);
    expect(await renewals(ca).renewDue()).toBe(0);
    expect(ca.ordered).toEqual([]);
  });

  it('records failures, waits longer after each, keeps serving the old certificate, and clears them on success', async () => {
    await domain('alice.example');
    const ca = new StandInCa(clock);
    const certificates = renewals(ca);
    await certificates.renewDue();
    clock.t = T0 + 60 * DAY;
    ca.failing = 'urn:ietf:params:acme:error:connection: the CA could not reach alice.example';
    const tries: number[] = [];
    for (const wait of [15, 30, 60, 120]) {
      expect(await certificates.renewDue()).toBe(0);
      tries.push(clock.t);
      const status = await storage.getCertificate('alice.example');
      expect(status).toMatchObject({ failures: tries.length, lastError: ca.failing, nextTryAt: clock.t + wait * MINUTE, chainPem: 'cert alice.example #1' });
      // Not a moment before the next try.
      clock.t += wait * MINUTE - 1;
      const before = ca.ordered.length;
      await certificates.renewDue();
      expect(ca.ordered.length).toBe(before);
      clock.t += 1;
    }
    ca.failing = null;
    expect(await certificates.renewDue()).toBe(1);
    expect(await storage.getCertificate('alice.example')).toMatchObject({ failures: 0, lastError: null, nextTryAt: 0 });
  });

  it('runs at start and every poll, and stops when closed', async () => {
    await domain('alice.example');
    const ca = new StandInCa(clock, 3 * MINUTE);
    const certificates = renewals(ca);
    certificates.start();
    // Each pass done, the next poll is set.
    const nextPoll = () => until(() => clock.pendingTimers === 1);
    await nextPoll();
    expect(ca.ordered).toEqual(['alice.example']);
    // A 3-minute certificate is due after 2 minutes: the polls of minutes 1 and 2 order once.
    clock.advance(MINUTE);
    await nextPoll();
    expect(ca.ordered.length).toBe(1);
    clock.advance(MINUTE);
    await nextPoll();
    expect(ca.ordered.length).toBe(2);
    await certificates.close();
    clock.advance(10 * MINUTE);
    expect(ca.ordered.length).toBe(2);
    expect(clock.pendingTimers).toBe(0);
  });

  it('lets one process order a name while another waits, and takes over when the first died', async () => {
    await domain('alice.example');
    const gate = deferred();
    const slow = new StandInCa(clock, 90 * DAY, 'first');
    slow.gate = gate.promise;
    const first = renewals(slow, 'process-1');
    const second = renewals(new StandInCa(clock, 90 * DAY, 'second'), 'process-2');
    const ordering = first.renewDue();
    await until(() => slow.ordered.length === 1);
    expect(await second.renewDue()).toBe(0);
    // The first process hangs past its lease (10 minutes): the second takes over; the first's late result is not stored.
    clock.t += 10 * MINUTE;
    expect(await second.renewDue()).toBe(1);
    gate.resolve();
    expect(await ordering).toBe(0);
    expect(await storage.getCertificate('alice.example')).toMatchObject({ chainPem: 'second alice.example #1' });
  });
});

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !ok(); i++) await new Promise((r) => setImmediate(r));
  expect(ok()).toBe(true);
}
