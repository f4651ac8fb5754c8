/**
 * Storage contract: the audit log (issue 22), what engine/auditLog.ts and Settings → Audit log rely on. Entries come
 * back newest first, one account's only, in pages by id; the detail object round-trips; old entries are purged by time;
 * an account's entries go with it.
 */
import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../engine/ports/storage.ts';
import { T0, seedAccount, type StorageContext } from './fixtures.ts';

const entry = (accountId: string, at: number, over: Partial<AuditRecord> = {}): Omit<AuditRecord, 'id'> => ({
  accountId,
  at,
  kind: 'login',
  ip: '203.0.113.7',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0',
  detail: { method: 'password' },
  ...over,
});

export function auditRules(ctx: StorageContext): void {
  describe('audit log', () => {
    it('lists one account\u2019s entries newest first, with their address, browser and detail as written', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      const bob = await seedAccount(s, 'bob');
      await s.appendAudit(entry(alice.id, T0));
      await s.appendAudit(entry(bob.id, T0 + 1, { kind: 'login.failed', detail: null }));
      await s.appendAudit(entry(alice.id, T0 + 2, { kind: 'sessions.ended', ip: null, userAgent: null, detail: { count: 3, everywhere: true } }));
      const listed = await s.listAudit(alice.id, { limit: 10 });
      expect(listed.map(({ id: _id, ...rest }) => rest)).toEqual([
        { accountId: alice.id, at: T0 + 2, kind: 'sessions.ended', ip: null, userAgent: null, detail: { count: 3, everywhere: true } },
        { accountId: alice.id, at: T0, kind: 'login', ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0', detail: { method: 'password' } },
      ]);
      expect(await s.listAudit(bob.id, { limit: 10 })).toHaveLength(1);
    });

    it('pages by id: a page of `limit`, then the older ones below the last id', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      for (let i = 0; i < 5; i++) await s.appendAudit(entry(alice.id, T0 + i, { detail: { n: i } }));
      const first = await s.listAudit(alice.id, { limit: 2 });
      expect(first.map((e) => e.detail?.n)).toEqual([4, 3]);
      const second = await s.listAudit(alice.id, { before: first[1]!.id, limit: 2 });
      expect(second.map((e) => e.detail?.n)).toEqual([2, 1]);
      const last = await s.listAudit(alice.id, { before: second[1]!.id, limit: 2 });
      expect(last.map((e) => e.detail?.n)).toEqual([0]);
    });

    it('purges the entries older than a time, of every account, and says how many', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      const bob = await seedAccount(s, 'bob');
      await s.appendAudit(entry(alice.id, T0));
      await s.appendAudit(entry(bob.id, T0 + 10));
      await s.appendAudit(entry(alice.id, T0 + 20));
      expect(await s.purgeAudit(T0 + 20)).toBe(2);
      expect((await s.listAudit(alice.id, { limit: 10 })).map((e) => e.at)).toEqual([T0 + 20]);
      expect(await s.listAudit(bob.id, { limit: 10 })).toEqual([]);
    });

    it('removes an account\u2019s entries with the account', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      await s.appendAudit(entry(alice.id, T0));
      expect(await s.removeAccount('alice')).toBe(true);
      const again = await seedAccount(s, 'alice');
      expect(await s.listAudit(alice.id, { limit: 10 })).toEqual([]);
      expect(await s.listAudit(again.id, { limit: 10 })).toEqual([]);
    });
  });
}
