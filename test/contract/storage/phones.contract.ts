/**
 * Storage contract: phone numbers as URLs (issue 20), what engine/phoneNumbers.ts relies on. A number belongs to one
 * account at a time and an account has one; a claim waits for its code (a new one replaces it and its tries), counts
 * every try, spends the code that verifies and moves the number from whoever held it; anything but E.164 is refused
 * before it is stored; numbers and claims go with their account.
 */
import { describe, expect, it } from 'vitest';
import { secretHash } from '../../../engine/auth.ts';
import { T0, seedAccount, type StorageContext } from './fixtures.ts';

const HOUR = 3_600_000;

export function phoneRules(ctx: StorageContext): void {
  describe('phone numbers', () => {
    it('verifies a claim by its code: the number is the account\u2019s, found by number and by account, listed', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      expect(await s.getPhoneNumber('+15551234567')).toBeNull();
      await s.setPhoneClaim({ accountId: alice.id, number: '+15551234567', codeHash: secretHash('123456'), expiresAt: T0 + HOUR, at: T0 });
      expect(await s.getPhoneClaim(alice.id)).toEqual({ accountId: alice.id, number: '+15551234567', expiresAt: T0 + HOUR });
      expect(await s.getPhoneNumber('+15551234567')).toBeNull(); // not before the code
      const check = await s.checkPhoneClaim(alice.id, secretHash('123456'), T0 + 1, 5);
      expect(check).toEqual({ result: 'verified', number: { number: '+15551234567', accountId: alice.id, claimedAt: T0 + 1 } });
      expect(await s.getPhoneNumber('+15551234567')).toEqual({ number: '+15551234567', accountId: alice.id, claimedAt: T0 + 1 });
      expect(await s.phoneNumberOf(alice.id)).toMatchObject({ number: '+15551234567' });
      expect(await s.getPhoneClaim(alice.id)).toBeNull(); // the code is spent
      expect(await s.checkPhoneClaim(alice.id, secretHash('123456'), T0 + 2, 5)).toEqual({ result: 'noCode' });
      expect(await s.listPhoneNumbers()).toEqual([{ number: '+15551234567', accountId: alice.id, claimedAt: T0 + 1 }]);
    });

    it('counts wrong codes, ends the claim after too many, and refuses an expired code', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      await s.setPhoneClaim({ accountId: alice.id, number: '+15551234567', codeHash: secretHash('123456'), expiresAt: T0 + HOUR, at: T0 });
      for (let i = 0; i < 3; i++) expect((await s.checkPhoneClaim(alice.id, secretHash('000000'), T0, 3)).result).toBe('wrong');
      // The right code after the tries are spent does not verify.
      expect((await s.checkPhoneClaim(alice.id, secretHash('123456'), T0, 3)).result).toBe('tooManyTries');
      expect(await s.getPhoneNumber('+15551234567')).toBeNull();
      // A new claim starts the count again; past its expiry the right code is refused.
      await s.setPhoneClaim({ accountId: alice.id, number: '+15551234567', codeHash: secretHash('654321'), expiresAt: T0 + HOUR, at: T0 });
      expect((await s.checkPhoneClaim(alice.id, secretHash('123456'), T0, 3)).result).toBe('wrong');
      expect((await s.checkPhoneClaim(alice.id, secretHash('654321'), T0 + HOUR, 3)).result).toBe('expired');
      expect(await s.getPhoneNumber('+15551234567')).toBeNull();
    });

    it('moves a number to the account that verifies it, and an account\u2019s new number releases its old one', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      const bob = await seedAccount(s, 'bob');
      await s.assignPhoneNumber(alice.id, '+15551234567', T0);
      // Bob's claim of Alice's number needs its code; until then the number stays Alice's.
      await s.setPhoneClaim({ accountId: bob.id, number: '+15551234567', codeHash: secretHash('222222'), expiresAt: T0 + HOUR, at: T0 });
      expect((await s.checkPhoneClaim(bob.id, secretHash('111111'), T0 + 1, 5)).result).toBe('wrong');
      expect(await s.getPhoneNumber('+15551234567')).toMatchObject({ accountId: alice.id });
      expect((await s.checkPhoneClaim(bob.id, secretHash('222222'), T0 + 2, 5)).result).toBe('verified');
      expect(await s.getPhoneNumber('+15551234567')).toMatchObject({ accountId: bob.id, claimedAt: T0 + 2 });
      expect(await s.phoneNumberOf(alice.id)).toBeNull();
      // Bob's next number releases this one.
      await s.assignPhoneNumber(bob.id, '+447700900123', T0 + 3);
      expect(await s.getPhoneNumber('+15551234567')).toBeNull();
      expect(await s.phoneNumberOf(bob.id)).toMatchObject({ number: '+447700900123' });
      expect(await s.releasePhoneNumber(bob.id)).toBe(true);
      expect(await s.releasePhoneNumber(bob.id)).toBe(false);
      expect(await s.listPhoneNumbers()).toEqual([]);
    });

    it('refuses anything but E.164 and an unknown account, storing nothing', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      for (const number of ['15551234567', '+1 555 123 4567', '+0551234567', '+1', '+1234567890123456', "+1555'; DROP TABLE x"]) {
        await expect(s.assignPhoneNumber(alice.id, number, T0)).rejects.toMatchObject({ code: 'bad_request' });
        await expect(s.setPhoneClaim({ accountId: alice.id, number, codeHash: 'h', expiresAt: T0 + HOUR, at: T0 })).rejects.toMatchObject({ code: 'bad_request' });
      }
      await expect(s.assignPhoneNumber('no-such-account', '+15551234567', T0)).rejects.toMatchObject({ code: 'not_found' });
      await expect(s.setPhoneClaim({ accountId: 'no-such-account', number: '+15551234567', codeHash: 'h', expiresAt: T0 + HOUR, at: T0 })).rejects.toMatchObject({ code: 'not_found' });
      expect(await s.listPhoneNumbers()).toEqual([]);
      expect(await s.getPhoneClaim(alice.id)).toBeNull();
    });

    it('forgets the number and the claim with the account', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      await s.assignPhoneNumber(alice.id, '+15551234567', T0);
      await s.setPhoneClaim({ accountId: alice.id, number: '+447700900123', codeHash: 'h', expiresAt: T0 + HOUR, at: T0 });
      expect(await s.removeAccount('alice')).toBe(true);
      expect(await s.getPhoneNumber('+15551234567')).toBeNull();
      expect(await s.getPhoneClaim(alice.id)).toBeNull();
    });
  });
}
