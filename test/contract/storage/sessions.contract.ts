/**
 * Storage contract: sessions an owner sees and ends, and password recovery links (issue 22, 016_sessions_recovery.sql),
 * what engine/sessions.ts and engine/passwordRecovery.ts rely on. A session has a public id of its own (never its token
 * hash) and where it was opened from; one account's list never shows another's; ending by id only ends the account's
 * own; "everywhere" can keep one session. A recovery link is single use, expires, and a newer one voids the older.
 */
import { describe, expect, it } from 'vitest';
import { T0, URL_SAFE_ID, seedAccount, type StorageContext } from './fixtures.ts';

const HOUR = 3600_000;
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

export function sessionRules(ctx: StorageContext): void {
  describe('sessions an owner sees and ends', () => {
    it('gives each session a random URL-safe public id, not its token hash, and keeps where it came from', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const a = await s.createSession({ tokenHash: 'hash-a', accountId: ann.id, createdAt: T0, expiresAt: T0 + HOUR, ip: '203.0.113.7', userAgent: CHROME });
      const b = await s.createSession({ tokenHash: 'hash-b', accountId: ann.id, createdAt: T0, expiresAt: T0 + HOUR });
      expect(a).toEqual({ tokenHash: 'hash-a', accountId: ann.id, createdAt: T0, expiresAt: T0 + HOUR, id: a.id, ip: '203.0.113.7', userAgent: CHROME, lastSeenAt: T0 });
      expect(b).toMatchObject({ ip: null, userAgent: null, lastSeenAt: T0 });
      for (const id of [a.id, b.id]) {
        expect(id).toMatch(URL_SAFE_ID);
        expect(id.length).toBeGreaterThanOrEqual(16);
      }
      expect(a.id).not.toBe(b.id);
      expect(a.id).not.toContain('hash-a');
      expect(await s.getSession('hash-a', T0)).toEqual(a);
    });

    it('lists only the account\u2019s own live sessions, the most recently seen first', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      await s.createSession({ tokenHash: 'ann-old', accountId: ann.id, createdAt: T0, expiresAt: T0 + HOUR });
      await s.createSession({ tokenHash: 'ann-new', accountId: ann.id, createdAt: T0 + 10, expiresAt: T0 + HOUR });
      await s.createSession({ tokenHash: 'ann-expired', accountId: ann.id, createdAt: T0, expiresAt: T0 + 100 });
      await s.createSession({ tokenHash: 'bob-1', accountId: bob.id, createdAt: T0, expiresAt: T0 + HOUR });
      expect((await s.listSessions(ann.id, T0 + 100)).map((x) => x.tokenHash)).toEqual(['ann-new', 'ann-old']);
      await s.touchSession('ann-old', T0 + 500);
      const listed = await s.listSessions(ann.id, T0 + 600);
      expect(listed.map((x) => [x.tokenHash, x.lastSeenAt])).toEqual([['ann-old', T0 + 500], ['ann-new', T0 + 10]]);
      expect((await s.listSessions(bob.id, T0)).map((x) => x.tokenHash)).toEqual(['bob-1']);
    });

    it('only ever moves a session\u2019s last use forward', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      await s.createSession({ tokenHash: 'th', accountId: ann.id, createdAt: T0, expiresAt: T0 + HOUR });
      await s.touchSession('th', T0 + 1000);
      await s.touchSession('th', T0 + 10);
      expect((await s.getSession('th', T0))?.lastSeenAt).toBe(T0 + 1000);
      await s.touchSession('no-such-session', T0 + 2000);
    });

    it('ends a session by its id only for its own account, and says which token hash ended', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      const bobs = await s.createSession({ tokenHash: 'bob-session', accountId: bob.id, createdAt: T0, expiresAt: T0 + HOUR });
      expect(await s.endSession(ann.id, bobs.id)).toBeNull();
      expect(await s.getSession('bob-session', T0)).not.toBeNull();
      expect(await s.endSession(bob.id, bobs.id)).toBe('bob-session');
      expect(await s.getSession('bob-session', T0)).toBeNull();
      expect(await s.endSession(bob.id, bobs.id)).toBeNull();
    });

    it('ends every session of the account, or every one but the one kept, and no other account\u2019s', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      for (const t of ['a1', 'a2', 'a3']) await s.createSession({ tokenHash: t, accountId: ann.id, createdAt: T0, expiresAt: T0 + HOUR });
      await s.createSession({ tokenHash: 'b1', accountId: bob.id, createdAt: T0, expiresAt: T0 + HOUR });
      expect((await s.endSessions(ann.id, 'a2')).sort()).toEqual(['a1', 'a3']);
      expect((await s.listSessions(ann.id, T0)).map((x) => x.tokenHash)).toEqual(['a2']);
      expect(await s.endSessions(ann.id)).toEqual(['a2']);
      expect(await s.endSessions(ann.id, null)).toEqual([]);
      expect((await s.listSessions(bob.id, T0)).map((x) => x.tokenHash)).toEqual(['b1']);
    });
  });

  describe('password recovery links', () => {
    const reset = (accountId: string, tokenHash: string, at = T0) => ({ tokenHash, accountId, createdAt: at, expiresAt: at + 1800_000 });

    it('gives a link\u2019s account once: a second take finds nothing', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      await s.createPasswordReset(reset(ann.id, 'link-1'));
      expect(await s.takePasswordReset('link-1', T0 + 1)).toBe(ann.id);
      expect(await s.takePasswordReset('link-1', T0 + 2)).toBeNull();
      expect(await s.takePasswordReset('no-such-link', T0)).toBeNull();
    });

    it('gives one of two takes at once the account, never both', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      await s.createPasswordReset(reset(ann.id, 'link-race'));
      const taken = await Promise.all([s.takePasswordReset('link-race', T0 + 1), s.takePasswordReset('link-race', T0 + 1)]);
      expect(taken.filter((x) => x !== null)).toEqual([ann.id]);
    });

    it('refuses a link from the instant it expires', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      await s.createPasswordReset(reset(ann.id, 'link-late'));
      expect(await s.takePasswordReset('link-late', T0 + 1800_000)).toBeNull();
      await s.createPasswordReset(reset(ann.id, 'link-in-time'));
      expect(await s.takePasswordReset('link-in-time', T0 + 1800_000 - 1)).toBe(ann.id);
    });

    it('voids an account\u2019s older link when a newer one is made, and no other account\u2019s', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      await s.createPasswordReset(reset(ann.id, 'ann-first'));
      await s.createPasswordReset(reset(bob.id, 'bob-first'));
      await s.createPasswordReset(reset(ann.id, 'ann-second', T0 + 5));
      expect(await s.takePasswordReset('ann-first', T0 + 10)).toBeNull();
      expect(await s.takePasswordReset('ann-second', T0 + 10)).toBe(ann.id);
      expect(await s.takePasswordReset('bob-first', T0 + 10)).toBe(bob.id);
    });

    it('voids an account\u2019s links on demand, purges expired ones, and drops them with the account', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      await s.createPasswordReset(reset(ann.id, 'ann-link'));
      await s.voidPasswordResets(ann.id);
      expect(await s.takePasswordReset('ann-link', T0)).toBeNull();
      await s.createPasswordReset(reset(ann.id, 'ann-old', T0 - 3600_000));
      await s.createPasswordReset(reset(bob.id, 'bob-live'));
      expect(await s.purgeExpiredPasswordResets(T0)).toBe(1);
      await s.removeAccount('bob');
      expect(await s.takePasswordReset('bob-live', T0)).toBeNull();
    });

    it('finds the accounts of a verified address, ignoring case, and none of an unverified one', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      const cid = await seedAccount(s, 'cid');
      for (const [account, address, verified] of [[ann, 'Ann@Example.org', true], [bob, 'ann@example.org', true], [cid, 'cid@example.org', false]] as const) {
        await s.setAccountEmail(account.id, { address, verifyTokenHash: `verify-${account.handle}`, at: T0 });
        if (verified) await s.verifyAccountEmail(`verify-${account.handle}`, T0);
      }
      expect((await s.verifiedEmailAccounts('ANN@example.ORG', 10)).sort()).toEqual([ann.id, bob.id].sort());
      expect(await s.verifiedEmailAccounts('ann@example.org', 1)).toHaveLength(1);
      expect(await s.verifiedEmailAccounts('cid@example.org', 10)).toEqual([]);
      expect(await s.verifiedEmailAccounts('nobody@example.org', 10)).toEqual([]);
    });
  });
}
