/**
 * Storage contract: own domains (issue 21), what engine/domains.ts and the DNS server rely on. A name is one account's;
 * a domain is pending until a check sees its delegation and stays active after (a resolver's bad moment takes nothing
 * down); its DKIM private key is read back only on purpose; ACME challenges live until they expire or are removed and
 * go with the domain; names that are not lower-case host names are refused; everything goes with the account.
 */
import { describe, expect, it } from 'vitest';
import type { NewDomain } from '../../../engine/ports/storage.ts';
import { T0, seedAccount, type StorageContext } from './fixtures.ts';

const newDomain = (accountId: string, name: string, at = T0): NewDomain => ({
  name, accountId, dkimSelector: 'knock1', dkimPublicKey: 'MIIBIjANBgkq', dkimPrivateKey: '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n', at,
});

export function domainRules(ctx: StorageContext): void {
  describe('own domains', () => {
    it('adds a pending domain, finds it by name and by account, and keeps its DKIM private key out of listings', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      const added = await s.addDomain(newDomain(alice.id, 'alice.example'));
      expect(added).toEqual({
        name: 'alice.example', accountId: alice.id, state: 'pending', createdAt: T0, checkedAt: null, checkError: null, activatedAt: null,
        dkimSelector: 'knock1', dkimPublicKey: 'MIIBIjANBgkq',
      });
      await s.addDomain(newDomain(alice.id, 'chat.alice.example', T0 + 1));
      expect(await s.getDomain('alice.example')).toEqual(added);
      expect((await s.domainsOf(alice.id)).map((d) => d.name)).toEqual(['alice.example', 'chat.alice.example']);
      expect((await s.listDomains()).map((d) => d.name)).toEqual(['alice.example', 'chat.alice.example']);
      expect(JSON.stringify(await s.listDomains())).not.toContain('PRIVATE KEY');
      expect(await s.dkimKeyOf('alice.example')).toEqual({ selector: 'knock1', privateKey: newDomain(alice.id, 'x').dkimPrivateKey });
      expect(await s.dkimKeyOf('nobody.example')).toBeNull();
    });

    it('refuses a name another account (or the same) has, and names that are no lower-case host names', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      const bob = await seedAccount(s, 'bob');
      await s.addDomain(newDomain(alice.id, 'alice.example'));
      await expect(s.addDomain(newDomain(bob.id, 'alice.example'))).rejects.toMatchObject({ code: 'conflict' });
      await expect(s.addDomain(newDomain(alice.id, 'alice.example'))).rejects.toMatchObject({ code: 'conflict' });
      for (const name of ['Alice.example', 'alice.example.', 'localhost', '-a.example', 'a..example', 'a_b.example', 'x'.repeat(64) + '.example', 'ünï.example', '']) {
        await expect(s.addDomain(newDomain(bob.id, name)), name).rejects.toMatchObject({ code: 'bad_request' });
      }
      await expect(s.addDomain(newDomain('no-such-account', 'free.example'))).rejects.toMatchObject({ code: 'not_found' });
      expect((await s.listDomains()).map((d) => d.name)).toEqual(['alice.example']);
    });

    it('activates a domain when its delegation is seen, and keeps it active through a failed check', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      await s.addDomain(newDomain(alice.id, 'alice.example'));
      expect(await s.recordDomainCheck('alice.example', { active: false, error: 'NS points at ns.other.example', at: T0 + 1 })).toMatchObject({
        state: 'pending', checkedAt: T0 + 1, checkError: 'NS points at ns.other.example', activatedAt: null,
      });
      expect(await s.recordDomainCheck('alice.example', { active: true, error: null, at: T0 + 2 })).toMatchObject({ state: 'active', activatedAt: T0 + 2, checkError: null });
      expect(await s.recordDomainCheck('alice.example', { active: false, error: 'SERVFAIL', at: T0 + 3 })).toMatchObject({ state: 'active', activatedAt: T0 + 2, checkError: 'SERVFAIL' });
      expect(await s.recordDomainCheck('nobody.example', { active: true, error: null, at: T0 })).toBeNull();
    });

    it('keeps ACME challenges until they expire or are removed, refuses one for a name that is no domain, and drops them with the domain', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      await s.addDomain(newDomain(alice.id, 'alice.example'));
      await s.putAcmeChallenge({ kind: 'dns-01', name: 'alice.example', token: 'order1', value: 'txt-value-1', expiresAt: T0 + 100 });
      await s.putAcmeChallenge({ kind: 'dns-01', name: 'alice.example', token: 'order2', value: 'txt-value-2', expiresAt: T0 + 10 });
      await s.putAcmeChallenge({ kind: 'http-01', name: 'alice.example', token: 'tok_1', value: 'tok_1.thumb-print', expiresAt: T0 + 100 });
      expect((await s.acmeChallenges('dns-01', 'alice.example', T0)).map((c) => c.value)).toEqual(['txt-value-1', 'txt-value-2']);
      expect((await s.acmeChallenges('dns-01', 'alice.example', T0 + 10)).map((c) => c.value)).toEqual(['txt-value-1']);
      expect(await s.acmeChallenges('http-01', 'alice.example', T0, 'tok_1')).toEqual([
        { kind: 'http-01', name: 'alice.example', token: 'tok_1', value: 'tok_1.thumb-print', expiresAt: T0 + 100 },
      ]);
      expect(await s.acmeChallenges('http-01', 'alice.example', T0, 'other')).toEqual([]);
      // The same token again replaces its value.
      await s.putAcmeChallenge({ kind: 'dns-01', name: 'alice.example', token: 'order1', value: 'txt-value-3', expiresAt: T0 + 100 });
      await s.removeAcmeChallenge('dns-01', 'alice.example', 'order2');
      expect((await s.acmeChallenges('dns-01', 'alice.example', T0)).map((c) => c.value)).toEqual(['txt-value-3']);
      await expect(s.putAcmeChallenge({ kind: 'dns-01', name: 'nobody.example', token: 't', value: 'v', expiresAt: T0 + 1 })).rejects.toMatchObject({ code: 'not_found' });
      await expect(s.putAcmeChallenge({ kind: 'dns-01', name: 'alice.example', token: 'bad token', value: 'v', expiresAt: T0 + 1 })).rejects.toMatchObject({ code: 'bad_request' });
      expect(await s.removeDomain(alice.id, 'alice.example')).toBe(true);
      expect(await s.acmeChallenges('dns-01', 'alice.example', T0)).toEqual([]);
    });

    it('removes a domain only for its account, and every domain with the account', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      const bob = await seedAccount(s, 'bob');
      await s.addDomain(newDomain(alice.id, 'alice.example'));
      await s.addDomain(newDomain(alice.id, 'alice.test'));
      expect(await s.removeDomain(bob.id, 'alice.example')).toBe(false);
      expect(await s.removeDomain(alice.id, 'alice.example')).toBe(true);
      expect(await s.removeDomain(alice.id, 'alice.example')).toBe(false);
      expect(await s.removeAccount('alice')).toBe(true);
      expect(await s.listDomains()).toEqual([]);
    });
  });
}
