/**
 * Storage contract: two-factor sign-in (issue 22), what engine/secondFactor/ relies on. A TOTP secret stays pending
 * until a code confirms it, a confirmed one is never replaced, and each time step is accepted once; recovery codes are
 * replaced as a set and spent once; passkeys are one account's, their counter moves only from the value read; tickets
 * and challenges expire, count their tries and are taken once; wrong answers are counted in a window; everything goes
 * with its account.
 */
import { describe, expect, it } from 'vitest';
import { secretHash } from '../../../engine/auth.ts';
import type { PasskeyRecord } from '../../../engine/ports/storage.ts';
import { T0, seedAccount, type StorageContext } from './fixtures.ts';

const MIN = 60_000;
const RP = { id: 'chat.example.com', origins: ['https://chat.example.com'] };

const passkey = (accountId: string, over: Partial<PasskeyRecord> = {}): Omit<PasskeyRecord, 'id' | 'lastUsedAt'> => ({
  accountId,
  credentialId: 'cred-1',
  publicKey: 'pQECAyYgASFYIA',
  counter: 0,
  transports: ['internal', 'hybrid'],
  name: 'Laptop',
  createdAt: T0,
  ...over,
});

export function secondFactorRules(ctx: StorageContext): void {
  describe('two-factor sign-in', () => {
    it('keeps a TOTP secret pending until a code confirms it; a confirmed secret is never replaced', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      expect(await s.getTotp(alice.id)).toBeNull();
      expect(await s.putPendingTotp(alice.id, 'FIRSTSECRET', T0)).toBe(true);
      // A second enrolment before confirming replaces the first secret.
      expect(await s.putPendingTotp(alice.id, 'SECONDSECRET', T0 + 1)).toBe(true);
      expect(await s.getTotp(alice.id)).toEqual({ accountId: alice.id, secret: 'SECONDSECRET', confirmedAt: null, lastStep: -1, createdAt: T0 + 1 });
      // A pending secret accepts nothing as a confirmed one.
      expect(await s.acceptTotpStep(alice.id, 100, { pending: false, at: T0 + 2 })).toBe(false);
      expect(await s.acceptTotpStep(alice.id, 100, { pending: true, at: T0 + 2 })).toBe(true);
      expect(await s.getTotp(alice.id)).toMatchObject({ secret: 'SECONDSECRET', confirmedAt: T0 + 2, lastStep: 100 });
      expect(await s.putPendingTotp(alice.id, 'THIRDSECRET', T0 + 3)).toBe(false);
      expect((await s.getTotp(alice.id))?.secret).toBe('SECONDSECRET');
      expect(await s.acceptTotpStep(alice.id, 101, { pending: true, at: T0 + 4 })).toBe(false);
      expect(await s.removeTotp(alice.id)).toBe(true);
      expect(await s.removeTotp(alice.id)).toBe(false);
      expect(await s.getTotp(alice.id)).toBeNull();
    });

    it('accepts each time step once, and none at or before the last accepted, also when asked at once', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      await s.putPendingTotp(alice.id, 'SECRET', T0);
      await s.acceptTotpStep(alice.id, 100, { pending: true, at: T0 });
      expect(await s.acceptTotpStep(alice.id, 100, { pending: false, at: T0 })).toBe(false);
      expect(await s.acceptTotpStep(alice.id, 99, { pending: false, at: T0 })).toBe(false);
      const racing = await Promise.all([1, 2, 3, 4].map(() => s.acceptTotpStep(alice.id, 101, { pending: false, at: T0 })));
      expect(racing.filter(Boolean)).toHaveLength(1);
      expect((await s.getTotp(alice.id))?.lastStep).toBe(101);
      // The confirmation time stays the first one.
      expect((await s.getTotp(alice.id))?.confirmedAt).toBe(T0);
    });

    it('replaces recovery codes as a set, spends each once, and keeps them per account', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      const bob = await seedAccount(s, 'bob');
      await s.setRecoveryCodes(alice.id, ['h1', 'h2', 'h3'], T0);
      await s.setRecoveryCodes(bob.id, ['h1'], T0);
      expect(await s.countRecoveryCodes(alice.id)).toBe(3);
      expect(await s.useRecoveryCode(alice.id, 'h2')).toBe(true);
      expect(await s.useRecoveryCode(alice.id, 'h2')).toBe(false);
      expect(await s.useRecoveryCode(alice.id, 'nope')).toBe(false);
      expect(await s.countRecoveryCodes(alice.id)).toBe(2);
      // Bob's code of the same hash is his own: still there.
      expect(await s.countRecoveryCodes(bob.id)).toBe(1);
      await s.setRecoveryCodes(alice.id, ['n1', 'n2'], T0 + 1);
      expect(await s.useRecoveryCode(alice.id, 'h1')).toBe(false); // the old set is gone
      expect(await s.countRecoveryCodes(alice.id)).toBe(2);
      await s.setRecoveryCodes(alice.id, [], T0 + 2);
      expect(await s.countRecoveryCodes(alice.id)).toBe(0);
    });

    it('keeps passkeys per account, oldest first; renames and removes only the account\u2019s own', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      const bob = await seedAccount(s, 'bob');
      const laptop = await s.addPasskey(passkey(alice.id));
      expect(laptop).toEqual({ ...passkey(alice.id), id: expect.any(String), lastUsedAt: null });
      const phone = await s.addPasskey(passkey(alice.id, { credentialId: 'cred-2', name: 'Phone', createdAt: T0 + 1, transports: [] }));
      expect((await s.listPasskeys(alice.id)).map((p) => p.name)).toEqual(['Laptop', 'Phone']);
      expect(await s.getPasskeyByCredential('cred-2')).toEqual(phone);
      expect(await s.getPasskeyByCredential('cred-3')).toBeNull();
      await expect(s.addPasskey(passkey(bob.id, { credentialId: 'cred-1' }))).rejects.toMatchObject({ code: 'conflict' });
      expect(await s.renamePasskey(bob.id, laptop.id, 'Stolen')).toBeNull();
      expect(await s.renamePasskey(alice.id, laptop.id, 'Work laptop')).toMatchObject({ id: laptop.id, name: 'Work laptop' });
      expect(await s.removePasskey(bob.id, phone.id)).toBeNull();
      expect(await s.removePasskey(alice.id, phone.id)).toMatchObject({ id: phone.id, name: 'Phone' });
      expect(await s.removePasskey(alice.id, phone.id)).toBeNull();
      expect((await s.listPasskeys(alice.id)).map((p) => p.name)).toEqual(['Work laptop']);
      expect(await s.removePasskeys(alice.id)).toBe(1);
      expect(await s.listPasskeys(alice.id)).toEqual([]);
    });

    it('moves a passkey\u2019s counter only from the value read, once when two uses race', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      const key = await s.addPasskey(passkey(alice.id, { counter: 5 }));
      const racing = await Promise.all([6, 7].map((counter) => s.usePasskey(key.id, { previous: 5, counter, at: T0 + counter })));
      expect(racing.filter(Boolean)).toHaveLength(1);
      const used = await s.getPasskeyByCredential('cred-1');
      expect([6, 7]).toContain(used?.counter);
      expect(used?.lastUsedAt).toBe(T0 + (used?.counter ?? 0));
      expect(await s.usePasskey(key.id, { previous: 5, counter: 9, at: T0 + 9 })).toBe(false);
    });

    it('keeps a ticket until it expires, counts its tries, and gives it to one taker', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      const idHash = secretHash('ticket');
      await s.putSecondFactorChallenge({ idHash, kind: 'login', accountId: alice.id, challenge: 'chal', relyingParty: RP, expiresAt: T0 + 5 * MIN, createdAt: T0 }, T0);
      await expect(
        s.putSecondFactorChallenge({ idHash, kind: 'login', accountId: alice.id, challenge: null, relyingParty: null, expiresAt: T0 + 5 * MIN, createdAt: T0 }, T0),
      ).rejects.toMatchObject({ code: 'conflict' });
      expect(await s.getSecondFactorChallenge(idHash, T0 + 1)).toEqual({
        idHash, kind: 'login', accountId: alice.id, challenge: 'chal', relyingParty: RP, tries: 0, expiresAt: T0 + 5 * MIN, createdAt: T0,
      });
      expect(await s.countSecondFactorTry(idHash, T0 + 2)).toBe(1);
      expect(await s.countSecondFactorTry(idHash, T0 + 3)).toBe(2);
      const takers = await Promise.all([1, 2, 3].map(() => s.takeSecondFactorChallenge(idHash, T0 + 4)));
      expect(takers.filter((t) => t !== null)).toEqual([expect.objectContaining({ idHash, tries: 2 })]);
      expect(await s.getSecondFactorChallenge(idHash, T0 + 5)).toBeNull();
      expect(await s.countSecondFactorTry(idHash, T0 + 5)).toBeNull();
    });

    it('refuses an expired ticket, and forgets expired ones when a new one comes', async () => {
      const s = ctx.storage();
      const old = secretHash('old');
      await s.putSecondFactorChallenge({ idHash: old, kind: 'passkey.login', accountId: null, challenge: 'c1', relyingParty: RP, expiresAt: T0 + MIN, createdAt: T0 }, T0);
      expect(await s.getSecondFactorChallenge(old, T0 + MIN)).toBeNull();
      expect(await s.countSecondFactorTry(old, T0 + MIN)).toBeNull();
      expect(await s.takeSecondFactorChallenge(old, T0 + MIN)).toBeNull();
      // Its id is free again once a later challenge purged it.
      await s.putSecondFactorChallenge({ idHash: secretHash('new'), kind: 'passkey.login', accountId: null, challenge: 'c2', relyingParty: RP, expiresAt: T0 + 6 * MIN, createdAt: T0 + MIN }, T0 + MIN);
      await s.putSecondFactorChallenge({ idHash: old, kind: 'passkey.login', accountId: null, challenge: 'c3', relyingParty: RP, expiresAt: T0 + 6 * MIN, createdAt: T0 + MIN }, T0 + MIN);
      expect((await s.takeSecondFactorChallenge(old, T0 + MIN + 1))?.challenge).toBe('c3');
    });

    it('counts an account\u2019s wrong answers in a window, forgets the old ones and clears on a right one', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      const bob = await seedAccount(s, 'bob');
      for (let i = 0; i < 3; i++) await s.recordSecondFactorFailure(alice.id, T0 + i * MIN, T0 - 15 * MIN);
      await s.recordSecondFactorFailure(bob.id, T0, T0 - 15 * MIN);
      expect(await s.secondFactorFailures(alice.id, T0)).toBe(3);
      expect(await s.secondFactorFailures(alice.id, T0 + MIN)).toBe(2);
      // A new failure forgets those before the window it is given.
      await s.recordSecondFactorFailure(alice.id, T0 + 20 * MIN, T0 + 2 * MIN);
      expect(await s.secondFactorFailures(alice.id, 0)).toBe(2);
      await s.clearSecondFactorFailures(alice.id);
      expect(await s.secondFactorFailures(alice.id, 0)).toBe(0);
      expect(await s.secondFactorFailures(bob.id, 0)).toBe(1);
    });

    it('removes everything of the second factor with its account, and refuses records of no account', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      await s.putPendingTotp(alice.id, 'SECRET', T0);
      await s.setRecoveryCodes(alice.id, ['h1'], T0);
      await s.addPasskey(passkey(alice.id));
      await s.putSecondFactorChallenge({ idHash: 't', kind: 'login', accountId: alice.id, challenge: null, relyingParty: null, expiresAt: T0 + MIN, createdAt: T0 }, T0);
      await s.recordSecondFactorFailure(alice.id, T0, 0);
      expect(await s.removeAccount('alice')).toBe(true);
      expect(await s.getTotp(alice.id)).toBeNull();
      expect(await s.countRecoveryCodes(alice.id)).toBe(0);
      expect(await s.getPasskeyByCredential('cred-1')).toBeNull();
      expect(await s.getSecondFactorChallenge('t', T0)).toBeNull();
      expect(await s.secondFactorFailures(alice.id, 0)).toBe(0);
      await expect(s.putPendingTotp(alice.id, 'SECRET', T0)).rejects.toMatchObject({ code: 'not_found' });
      await expect(s.addPasskey(passkey(alice.id))).rejects.toMatchObject({ code: 'not_found' });
      await expect(s.setRecoveryCodes(alice.id, ['h'], T0)).rejects.toMatchObject({ code: 'not_found' });
    });
  });
}
