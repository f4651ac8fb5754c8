/** Storage contract: accounts, sessions and account removal. */
import { describe, expect, it } from 'vitest';
import { KnockError } from '../../../engine/errors.ts';
import { T0, URL_SAFE_ID, appendSequence, seedAccount, seedConversation, type StorageContext } from './fixtures.ts';

export function accountRules(ctx: StorageContext): void {
  describe('accounts', () => {
    it('creates an account and finds it by handle and by id', async () => {
      const s = ctx.storage();
      const created = await s.createAccount({ handle: 'ann', displayName: 'Ann Example', passwordHash: 'h1', at: T0 });
      const expected = { id: created.id, handle: 'ann', displayName: 'Ann Example', passwordHash: 'h1', createdAt: T0 };
      expect(created).toEqual(expected);
      expect(await s.getAccountByHandle('ann')).toEqual(expected);
      expect(await s.getAccountById(created.id)).toEqual(expected);
    });

    it('returns null for an unknown handle or id', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      expect(await s.getAccountByHandle('nobody')).toBeNull();
      expect(await s.getAccountById('no-such-id')).toBeNull();
      // Lookups are by exact value: the id is not a handle and the handle is not an id.
      expect(await s.getAccountByHandle(ann.id)).toBeNull();
      expect(await s.getAccountById(ann.handle)).toBeNull();
    });

    it('refuses a taken handle with KnockError conflict "The handle "x" is taken." and keeps the first account', async () => {
      const s = ctx.storage();
      const first = await seedAccount(s, 'ann', 'Ann');
      const second = s.createAccount({ handle: 'ann', displayName: 'Impostor', passwordHash: 'other', at: T0 + 1 });
      await expect(second).rejects.toBeInstanceOf(KnockError);
      await expect(second).rejects.toMatchObject({ code: 'conflict', message: 'The handle "ann" is taken.' });
      expect(await s.getAccountByHandle('ann')).toEqual(first);
      expect(await s.listAccounts()).toHaveLength(1);
    });

    it('gives accounts distinct URL-safe ids', async () => {
      const s = ctx.storage();
      const ids = [];
      for (let i = 0; i < 20; i++) ids.push((await seedAccount(s, `user${i}`)).id);
      expect(new Set(ids).size).toBe(20);
      for (const id of ids) expect(id).toMatch(URL_SAFE_ID);
    });

    it('lists every account', async () => {
      const s = ctx.storage();
      expect(await s.listAccounts()).toEqual([]);
      const made = [await seedAccount(s, 'cat'), await seedAccount(s, 'ann'), await seedAccount(s, 'bob')];
      const listed = await s.listAccounts();
      expect(listed.map((a) => a.handle).sort()).toEqual(['ann', 'bob', 'cat']);
      expect(new Set(listed.map((a) => a.id))).toEqual(new Set(made.map((a) => a.id)));
    });

    it('changes the password hash of an existing account and reports an unknown handle', async () => {
      const s = ctx.storage();
      await seedAccount(s, 'ann');
      await seedAccount(s, 'bob');
      expect(await s.setPasswordHash('ann', 'new-hash')).toBe(true);
      expect((await s.getAccountByHandle('ann'))?.passwordHash).toBe('new-hash');
      expect((await s.getAccountByHandle('bob'))?.passwordHash).toBe('hash-of-bob');
      expect(await s.setPasswordHash('nobody', 'x')).toBe(false);
    });
  });

  describe('account removal', () => {
    it('removes the account with its sessions, conversations, participants and messages', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      await s.createSession({ tokenHash: 'ann-session', accountId: ann.id, createdAt: T0, expiresAt: T0 + 60_000 });
      const conv = await seedConversation(s, ann);
      await appendSequence(s, conv, conv.visitor, 3);

      expect(await s.removeAccount('ann')).toBe(true);

      expect(await s.getAccountByHandle('ann')).toBeNull();
      expect(await s.getAccountById(ann.id)).toBeNull();
      expect(await s.getSession('ann-session', T0)).toBeNull();
      expect(await s.getConversation(conv.conversation.id)).toBeNull();
      expect(await s.getConversationByTokenHash(conv.tokenHash)).toBeNull();
      expect(await s.getConversationSummary(conv.conversation.id)).toBeNull();
      expect(await s.listConversations(ann.id, { limit: 10 })).toEqual([]);
      expect(await s.getParticipants(conv.conversation.id)).toEqual([]);
      expect(await s.raiseReceipt(conv.visitor.id, 'read', 1)).toBeNull();
      expect(await s.messagesAfter(conv.conversation.id, 0, 100)).toEqual([]);
    });

    it('leaves other accounts and their data untouched', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      await seedConversation(s, ann);
      await s.createSession({ tokenHash: 'bob-session', accountId: bob.id, createdAt: T0, expiresAt: T0 + 60_000 });
      const bobConv = await seedConversation(s, bob);
      await appendSequence(s, bobConv, bobConv.visitor, 2);

      await s.removeAccount('ann');

      expect(await s.getAccountByHandle('bob')).toEqual(bob);
      expect(await s.getSession('bob-session', T0)).not.toBeNull();
      expect(await s.getConversation(bobConv.conversation.id)).not.toBeNull();
      expect(await s.getParticipants(bobConv.conversation.id)).toHaveLength(2);
      expect(await s.messagesAfter(bobConv.conversation.id, 0, 100)).toHaveLength(2);
    });

    it('returns false when there is no account with that handle', async () => {
      const s = ctx.storage();
      await seedAccount(s, 'ann');
      expect(await s.removeAccount('nobody')).toBe(false);
      expect(await s.listAccounts()).toHaveLength(1);
    });

    it('frees the handle for a new account', async () => {
      const s = ctx.storage();
      const old = await seedAccount(s, 'ann');
      await s.removeAccount('ann');
      const fresh = await seedAccount(s, 'ann', 'Another Ann');
      expect(fresh.id).not.toBe(old.id);
      expect((await s.getAccountByHandle('ann'))?.displayName).toBe('Another Ann');
    });
  });

  describe('sessions', () => {
    it('finds a session by its token hash until the instant it expires', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const session = { tokenHash: 'th-1', accountId: ann.id, createdAt: T0, expiresAt: T0 + 1000 };
      const stored = await s.createSession(session);
      expect(stored).toMatchObject(session);
      expect(await s.getSession('th-1', T0)).toEqual(stored);
      expect(await s.getSession('th-1', T0 + 999)).toEqual(stored);
      // expiresAt is the first instant the session is no longer valid.
      expect(await s.getSession('th-1', T0 + 1000)).toBeNull();
      expect(await s.getSession('th-1', T0 + 10_000_000)).toBeNull();
    });

    it('finds a session only by its exact token hash', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      await s.createSession({ tokenHash: 'th-abc', accountId: ann.id, createdAt: T0, expiresAt: T0 + 1000 });
      expect(await s.getSession('th-ab', T0)).toBeNull();
      expect(await s.getSession('TH-ABC', T0)).toBeNull();
      expect(await s.getSession(ann.id, T0)).toBeNull();
    });

    it('deletes one session and leaves the others', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      await s.createSession({ tokenHash: 'a', accountId: ann.id, createdAt: T0, expiresAt: T0 + 1000 });
      await s.createSession({ tokenHash: 'b', accountId: ann.id, createdAt: T0, expiresAt: T0 + 1000 });
      await s.deleteSession('a');
      await s.deleteSession('never-existed');
      expect(await s.getSession('a', T0)).toBeNull();
      expect(await s.getSession('b', T0)).not.toBeNull();
    });

    it('deletes every session of one account and only those', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      for (const t of ['a1', 'a2']) {
        await s.createSession({ tokenHash: t, accountId: ann.id, createdAt: T0, expiresAt: T0 + 1000 });
      }
      await s.createSession({ tokenHash: 'b1', accountId: bob.id, createdAt: T0, expiresAt: T0 + 1000 });
      await s.deleteSessionsOf(ann.id);
      expect(await s.getSession('a1', T0)).toBeNull();
      expect(await s.getSession('a2', T0)).toBeNull();
      expect(await s.getSession('b1', T0)).not.toBeNull();
    });

    it('tells which of many sessions are live at an instant, in one call', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      await s.createSession({ tokenHash: 'ann-long', accountId: ann.id, createdAt: T0, expiresAt: T0 + 10_000 });
      await s.createSession({ tokenHash: 'ann-short', accountId: ann.id, createdAt: T0, expiresAt: T0 + 1000 });
      await s.createSession({ tokenHash: 'bob-1', accountId: bob.id, createdAt: T0, expiresAt: T0 + 10_000 });
      await s.deleteSession('bob-1');

      expect(await s.liveSessions(['ann-long', 'ann-short', 'bob-1', 'never-existed'], T0)).toEqual(new Set(['ann-long', 'ann-short']));
      expect(await s.liveSessions(['ann-long', 'ann-short'], T0 + 1000)).toEqual(new Set(['ann-long']));
      expect(await s.liveSessions([], T0)).toEqual(new Set());
      // Hashes are matched exactly, also with characters SQL and JSON treat specially.
      expect(await s.liveSessions(["ann-long' OR '1'='1", 'ANN-LONG', 'ann-long"]'], T0)).toEqual(new Set());
    });

    it('answers for thousands of sessions at once', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      for (let i = 0; i < 50; i++) await s.createSession({ tokenHash: `live-${i}`, accountId: ann.id, createdAt: T0, expiresAt: T0 + 1000 });
      const asked = Array.from({ length: 5000 }, (_, i) => (i < 50 ? `live-${i}` : `gone-${i}`));
      const live = await s.liveSessions(asked, T0);
      expect(live.size).toBe(50);
      expect(live.has('live-49')).toBe(true);
    });

    it('purges the sessions expired at an instant, and only those', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      await s.createSession({ tokenHash: 'old-1', accountId: ann.id, createdAt: T0, expiresAt: T0 + 1000 });
      await s.createSession({ tokenHash: 'old-2', accountId: ann.id, createdAt: T0, expiresAt: T0 + 2000 });
      await s.createSession({ tokenHash: 'current', accountId: ann.id, createdAt: T0, expiresAt: T0 + 2001 });

      expect(await s.purgeExpiredSessions(T0 + 2000)).toBe(2);
      expect(await s.purgeExpiredSessions(T0 + 2000)).toBe(0);
      expect(await s.getSession('current', T0 + 2000)).not.toBeNull();
      // The purged ones are gone for good, not merely expired: they are not there even for an earlier instant.
      expect(await s.getSession('old-1', T0)).toBeNull();
      expect(await s.liveSessions(['old-1', 'old-2', 'current'], T0)).toEqual(new Set(['current']));
    });

    it('refuses a session for an account that does not exist', async () => {
      const s = ctx.storage();
      const orphan = s.createSession({ tokenHash: 'x', accountId: 'no-such-account', createdAt: T0, expiresAt: T0 + 1000 });
      await expect(orphan).rejects.toMatchObject({ code: 'not_found' });
      expect(await s.getSession('x', T0)).toBeNull();
    });
  });
}
