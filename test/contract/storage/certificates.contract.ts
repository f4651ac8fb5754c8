/**
 * Storage contract: certificates of own domains (issue 21), what the ACME renewal (engine/certificates.ts) and the TLS
 * front rely on. Only an active domain can be claimed; one worker holds a name's lease at a time until it stores,
 * fails or the lease runs out; a stored certificate clears the failures, a failure counts and sets the next try; keys
 * are read only by name, never listed; a removed domain (or account) takes its certificate with it.
 */
import { describe, expect, it } from 'vitest';
import type { IssuedCertificate, Storage } from '../../../engine/ports/storage.ts';
import { T0, seedAccount, type StorageContext } from './fixtures.ts';

const DAY = 24 * 3600_000;
const dueNames = (due: Array<{ name: string }>): string[] => due.map((d) => d.name);
const KEY = '-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n';

const issued = (at: number, serial = 'A'): IssuedCertificate => ({
  chainPem: `-----BEGIN CERTIFICATE-----\n${serial}\n-----END CERTIFICATE-----\n`,
  keyPem: KEY,
  notBefore: at,
  notAfter: at + 90 * DAY,
  renewAt: at + 60 * DAY,
  at,
});

async function domain(s: Storage, accountId: string, name: string, active: boolean): Promise<void> {
  await s.addDomain({ name, accountId, dkimSelector: 'knock1', dkimPublicKey: 'MIIB', dkimPrivateKey: KEY, at: T0 });
  if (active) await s.recordDomainCheck(name, { active: true, error: null, at: T0 });
}

export function certificateRules(ctx: StorageContext): void {
  describe('certificates of own domains', () => {
    it('lists only active domains as due, claims only them, and stores what was issued without listing its key', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      await domain(s, alice.id, 'alice.example', true);
      await domain(s, alice.id, 'pending.example', false);
      expect(dueNames(await s.dueCertificates(T0, 10))).toEqual(['alice.example']);
      expect(await s.claimCertificate('pending.example', 'w1', T0, T0 + 60_000)).toBe(false);
      expect(await s.claimCertificate('nobody.example', 'w1', T0, T0 + 60_000)).toBe(false);
      expect(await s.claimCertificate('alice.example', 'w1', T0, T0 + 60_000)).toBe(true);
      expect(await s.getCertificate('alice.example')).toBeNull();
      expect(await s.storeCertificate('alice.example', 'w1', issued(T0 + 1))).toBe(true);
      expect(await s.getCertificate('alice.example')).toEqual({
        name: 'alice.example', issued: true, notBefore: T0 + 1, notAfter: T0 + 1 + 90 * DAY, renewAt: T0 + 1 + 60 * DAY,
        failures: 0, nextTryAt: 0, lastError: null, updatedAt: T0 + 1, chainPem: issued(0).chainPem, keyPem: KEY,
      });
      const listed = await s.listCertificates();
      expect(listed.map((c) => [c.name, c.issued])).toEqual([['alice.example', true]]);
      expect(JSON.stringify(listed)).not.toContain('PRIVATE KEY');
      expect(await s.getCertificate('pending.example')).toBeNull();
      // Not due again until its renewal time.
      expect(dueNames(await s.dueCertificates(T0 + 59 * DAY, 10))).toEqual([]);
      expect(dueNames(await s.dueCertificates(T0 + 60 * DAY + 1, 10))).toEqual(['alice.example']);
    });

    it('lets one worker at a time hold a name, until it settles or its lease runs out', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      await domain(s, alice.id, 'alice.example', true);
      expect(await s.claimCertificate('alice.example', 'w1', T0, T0 + 60_000)).toBe(true);
      expect(await s.claimCertificate('alice.example', 'w2', T0 + 1, T0 + 60_001)).toBe(false);
      expect(dueNames(await s.dueCertificates(T0 + 1, 10))).toEqual([]);
      // The lease ran out (w1 died): w2 takes over, and w1 can no longer settle.
      expect(dueNames(await s.dueCertificates(T0 + 60_000, 10))).toEqual(['alice.example']);
      expect(await s.claimCertificate('alice.example', 'w2', T0 + 60_000, T0 + 120_000)).toBe(true);
      expect(await s.storeCertificate('alice.example', 'w1', issued(T0))).toBe(false);
      expect(await s.recordCertificateFailure('alice.example', 'w1', { error: 'late', nextTryAt: T0, at: T0 })).toBe(false);
      expect(await s.getCertificate('alice.example')).toBeNull();
      expect(await s.storeCertificate('alice.example', 'w2', issued(T0 + 60_001))).toBe(true);
      // Settled: the lease is free again at once.
      expect(await s.claimCertificate('alice.example', 'w1', T0 + 60_002, T0 + 120_000)).toBe(true);
    });

    it('counts failures with their next try and error, keeps the certificate served, and clears them on success', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      await domain(s, alice.id, 'alice.example', true);
      await s.claimCertificate('alice.example', 'w1', T0, T0 + 60_000);
      await s.storeCertificate('alice.example', 'w1', issued(T0, 'OLD'));
      const renewal = T0 + 60 * DAY;
      await s.claimCertificate('alice.example', 'w1', renewal, renewal + 60_000);
      expect(await s.recordCertificateFailure('alice.example', 'w1', { error: 'x'.repeat(5000), nextTryAt: renewal + 600_000, at: renewal })).toBe(true);
      await s.claimCertificate('alice.example', 'w1', renewal + 600_000, renewal + 660_000);
      await s.recordCertificateFailure('alice.example', 'w1', { error: 'CA unreachable', nextTryAt: renewal + 1_800_000, at: renewal + 600_000 });
      const failed = await s.getCertificate('alice.example');
      expect(failed).toMatchObject({ failures: 2, nextTryAt: renewal + 1_800_000, lastError: 'CA unreachable', chainPem: issued(0, 'OLD').chainPem });
      expect(dueNames(await s.dueCertificates(renewal + 1_799_999, 10))).toEqual([]);
      expect(await s.dueCertificates(renewal + 1_800_000, 10)).toEqual([{ name: 'alice.example', failures: 2 }]);
      // A long error is cut, not refused.
      const alice2 = await seedAccount(s, 'alice2');
      await domain(s, alice2.id, 'long.example', true);
      await s.claimCertificate('long.example', 'w1', T0, T0 + 1);
      await s.recordCertificateFailure('long.example', 'w1', { error: 'y'.repeat(5000), nextTryAt: T0, at: T0 });
      expect((await s.listCertificates()).find((c) => c.name === 'long.example')?.lastError?.length).toBeLessThanOrEqual(1000);
      await s.claimCertificate('alice.example', 'w1', renewal + 1_800_000, renewal + 1_860_000);
      await s.storeCertificate('alice.example', 'w1', issued(renewal + 1_800_000, 'NEW'));
      expect(await s.getCertificate('alice.example')).toMatchObject({ failures: 0, nextTryAt: 0, lastError: null, chainPem: issued(0, 'NEW').chainPem });
    });

    it('orders the most overdue first, within the limit', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      for (const name of ['a.example', 'b.example', 'c.example']) await domain(s, alice.id, name, true);
      await s.claimCertificate('a.example', 'w', T0, T0 + 1);
      await s.storeCertificate('a.example', 'w', { ...issued(T0), renewAt: T0 + 10 });
      await s.claimCertificate('b.example', 'w', T0, T0 + 1);
      await s.storeCertificate('b.example', 'w', { ...issued(T0), renewAt: T0 + 5 });
      // c.example has never been ordered: first.
      expect(dueNames(await s.dueCertificates(T0 + 20, 10))).toEqual(['c.example', 'b.example', 'a.example']);
      expect(dueNames(await s.dueCertificates(T0 + 20, 2))).toEqual(['c.example', 'b.example']);
    });

    it('drops a certificate with its domain, and with the account', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      await domain(s, alice.id, 'alice.example', true);
      await domain(s, alice.id, 'chat.alice.example', true);
      for (const name of ['alice.example', 'chat.alice.example']) {
        await s.claimCertificate(name, 'w', T0, T0 + 1);
        await s.storeCertificate(name, 'w', issued(T0));
      }
      expect(await s.removeDomain(alice.id, 'alice.example')).toBe(true);
      expect(await s.getCertificate('alice.example')).toBeNull();
      expect((await s.listCertificates()).map((c) => c.name)).toEqual(['chat.alice.example']);
      // Added again, it starts from nothing: pending, no certificate, no order.
      await domain(s, alice.id, 'alice.example', false);
      expect(await s.getCertificate('alice.example')).toBeNull();
      expect(await s.claimCertificate('alice.example', 'w', T0, T0 + 1)).toBe(false);
      expect(await s.removeAccount('alice')).toBe(true);
      expect(await s.listCertificates()).toEqual([]);
    });
  });
}
