/**
 * engine/companies.ts on a real SQLite store: making a company (an account nobody logs in as, its admin, its verified
 * address), operators and the last admin, sites typed as people type them, the company list, and invitations.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStorage } from '../../adapters/storage/sqlite/SqliteStorage.ts';
import { Accounts } from '../../engine/accounts.ts';
import { Auth, NO_LOGIN_PASSWORD_HASH, verifyPassword } from '../../engine/auth.ts';
import { Companies, INVITE_TTL_MS, siteOrigin } from '../../engine/companies.ts';
import type { Account, Storage } from '../../engine/ports/storage.ts';
import { ManualClock, T0 } from '../support/roomHarness.ts';

let storage: Storage;
let clock: ManualClock;
let companies: Companies;

beforeEach(() => {
  storage = SqliteStorage.open({ file: ':memory:' });
  clock = new ManualClock(T0);
  companies = new Companies({ storage, accounts: new Accounts(storage, clock), clock, mailDomain: 'knock.example' });
});

afterEach(() => storage.close());

/** A person's account, made directly (argon2 hashing would only slow the tests down). */
function person(handle: string, name = handle.toUpperCase()): Promise<Account> {
  return storage.createAccount({ handle, displayName: name, passwordHash: `hash-of-${handle}`, at: T0 });
}

/** `acme` with `ann` as its admin. */
async function acmeWithAnn(): Promise<{ ann: Account; acme: Account }> {
  const ann = await person('ann', 'Ann Admin');
  const acme = await companies.add({ handle: 'acme', name: 'Acme Ltd', adminHandle: 'ann' });
  return { ann, acme };
}

describe('making a company', () => {
  it('makes an account named as given, with the admin as its first operator (admin, capacity 3)', async () => {
    const { ann, acme } = await acmeWithAnn();
    expect(acme).toMatchObject({ handle: 'acme', displayName: 'Acme Ltd', createdAt: T0 });
    expect(await companies.get('acme')).toEqual({ account: acme, company: { accountId: acme.id, createdAt: T0 } });
    expect(await companies.listOperators('acme')).toEqual([
      { companyId: acme.id, accountId: ann.id, handle: 'ann', displayName: 'Ann Admin', role: 'admin', status: 'online', capacity: 3, addedAt: T0 },
    ]);
    expect(await companies.get('ann')).toBeNull();
    expect(await companies.get('nobody')).toBeNull();
  });

  it('lets nobody log in as the company, whatever the password', async () => {
    await acmeWithAnn();
    const acme = await storage.getAccountByHandle('acme');
    expect(acme?.passwordHash).toBe(NO_LOGIN_PASSWORD_HASH);
    for (const password of ['', '!no-login', NO_LOGIN_PASSWORD_HASH, 'a long password']) expect(await verifyPassword(NO_LOGIN_PASSWORD_HASH, password)).toBe(false);
    const auth = new Auth(storage, clock, 3600_000);
    await expect(auth.checkPassword('acme', 'a long password')).rejects.toMatchObject({ code: 'unauthorized', message: 'Wrong handle or password.' });
  });

  it("stores the address given as the company's verified email, for its offline messages", async () => {
    await person('ann');
    const acme = await companies.add({ handle: 'acme', name: 'Acme Ltd', adminHandle: 'ann', email: 'help@acme.example' });
    expect(await storage.getAccountEmail(acme.id)).toEqual({ accountId: acme.id, address: 'help@acme.example', verifiedAt: T0 });
  });

  it('refuses a bad address, an address at this Knock, an unknown admin, a company as admin, a taken or reserved handle, leaving nothing', async () => {
    await acmeWithAnn();
    await person('bob');
    const cases: Array<[Parameters<Companies['add']>[0], string, RegExp]> = [
      [{ handle: 'globex', name: 'Globex', adminHandle: 'bob', email: 'not an address' }, 'bad_request', /email address/],
      [{ handle: 'globex', name: 'Globex', adminHandle: 'bob', email: 'help@Knock.Example' }, 'bad_request', /knock\.example is this Knock's own mail domain/],
      [{ handle: 'globex', name: 'Globex', adminHandle: 'nobody' }, 'not_found', /There is no account "nobody" to be the admin\./],
      [{ handle: 'globex', name: 'Globex', adminHandle: 'acme' }, 'bad_request', /"acme" is a company/],
      [{ handle: 'bob', name: 'Bob Ltd', adminHandle: 'ann' }, 'conflict', /The handle "bob" is taken\./],
      [{ handle: 'postmaster', name: 'Post', adminHandle: 'ann' }, 'bad_request', /reserved/],
      [{ handle: 'Globex!', name: 'Globex', adminHandle: 'ann' }, 'bad_request', /A handle is 2 to 32 characters/],
      [{ handle: 'globex', name: '', adminHandle: 'ann' }, 'bad_request', /./],
    ];
    for (const [input, code, message] of cases) {
      const adding = companies.add(input);
      await expect(adding, JSON.stringify(input)).rejects.toMatchObject({ code });
      await expect(adding).rejects.toThrow(message);
    }
    expect(await storage.getAccountByHandle('globex')).toBeNull();
    expect((await companies.list()).map((c) => c.account.handle)).toEqual(['acme']);
  });
});

describe('operators', () => {
  it('adds a person as an operator (operator, capacity 3 unless told), and changes the role and capacity of one there', async () => {
    const { acme } = await acmeWithAnn();
    const bob = await person('bob', 'Bob');
    clock.advance(10);
    expect(await companies.addOperator('acme', 'bob')).toEqual({
      companyId: acme.id, accountId: bob.id, handle: 'bob', displayName: 'Bob', role: 'operator', status: 'online', capacity: 3, addedAt: T0 + 10,
    });
    expect(await companies.addOperator('acme', 'bob', { role: 'admin', capacity: 8 })).toMatchObject({ role: 'admin', capacity: 8, addedAt: T0 + 10 });
    expect((await companies.listOperators('acme')).map((o) => [o.handle, o.role, o.capacity])).toEqual([['ann', 'admin', 3], ['bob', 'admin', 8]]);
  });

  it('refuses an unknown company or person, a company as operator, and a role or capacity that cannot be', async () => {
    await acmeWithAnn();
    await person('bob');
    await person('zed');
    await companies.add({ handle: 'globex', name: 'Globex', adminHandle: 'zed' });
    await expect(companies.addOperator('nocompany', 'bob')).rejects.toMatchObject({ code: 'not_found', message: 'There is no company "nocompany".' });
    await expect(companies.addOperator('bob', 'ann')).rejects.toMatchObject({ code: 'not_found', message: 'There is no company "bob".' });
    await expect(companies.addOperator('acme', 'nobody')).rejects.toMatchObject({ code: 'not_found' });
    await expect(companies.addOperator('acme', 'globex')).rejects.toMatchObject({ code: 'bad_request' });
    await expect(companies.addOperator('acme', 'acme')).rejects.toMatchObject({ code: 'bad_request' });
    for (const capacity of [0, 51, 2.5, Number.NaN]) {
      await expect(companies.addOperator('acme', 'bob', { capacity }), String(capacity)).rejects.toMatchObject({
        code: 'bad_request', message: 'The capacity is a whole number of chats at once, from 1 to 50.',
      });
    }
    await expect(companies.addOperator('acme', 'bob', { role: 'owner' as 'admin' })).rejects.toMatchObject({ code: 'bad_request' });
    expect((await companies.listOperators('acme')).map((o) => o.handle)).toEqual(['ann']);
  });

  it('never leaves a company without an admin: the last one can be neither removed nor made an operator', async () => {
    await acmeWithAnn();
    await person('bob');
    await expect(companies.removeOperator('acme', 'ann')).rejects.toMatchObject({
      code: 'conflict', message: 'ann is the last admin of acme: make someone else admin before you remove them.',
    });
    await expect(companies.addOperator('acme', 'ann', { role: 'operator' })).rejects.toMatchObject({ code: 'conflict' });
    await companies.addOperator('acme', 'bob', { role: 'admin' });
    expect(await companies.addOperator('acme', 'ann', { role: 'operator' })).toMatchObject({ role: 'operator' });
    await expect(companies.removeOperator('acme', 'bob')).rejects.toMatchObject({ code: 'conflict' });
    expect(await companies.removeOperator('acme', 'ann')).toBe(true);
    expect(await companies.removeOperator('acme', 'ann')).toBe(false);
    expect(await companies.removeOperator('acme', 'nobody')).toBe(false);
    expect((await companies.listOperators('acme')).map((o) => [o.handle, o.role])).toEqual([['bob', 'admin']]);
  });

  it("tells an account's place in a company, and nothing for a non-operator or an account that is no company", async () => {
    const { ann, acme } = await acmeWithAnn();
    const bob = await person('bob');
    expect(await companies.operatorOf(acme.id, ann.id)).toMatchObject({ handle: 'ann', role: 'admin' });
    expect(await companies.operatorOf(acme.id, bob.id)).toBeNull();
    expect(await companies.operatorOf(ann.id, ann.id)).toBeNull();
    expect(await companies.operatorOf('no-such-account', ann.id)).toBeNull();
  });
});

describe('sites', () => {
  it('takes an origin as a person types it, stores it as the browser writes it, and removes it the same way', async () => {
    const { acme } = await acmeWithAnn();
    expect(await companies.addSite('acme', 'https://Shop.Example/')).toBe(true);
    expect(await companies.addSite('acme', 'https://shop.example:443')).toBe(false);
    clock.advance(5);
    expect(await companies.addSite('acme', '  http://localhost:8080  ')).toBe(true);
    expect(await companies.listSites('acme')).toEqual([
      { companyId: acme.id, origin: 'https://shop.example', addedAt: T0 },
      { companyId: acme.id, origin: 'http://localhost:8080', addedAt: T0 + 5 },
    ]);
    expect(await companies.removeSite('acme', 'HTTPS://SHOP.EXAMPLE')).toBe(true);
    expect(await companies.removeSite('acme', 'https://shop.example')).toBe(false);
    expect((await companies.listSites('acme')).map((s) => s.origin)).toEqual(['http://localhost:8080']);
  });

  it('refuses a path, a query, a fragment, credentials, another scheme or no address at all, rather than cut them off', () => {
    for (const bad of [
      'https://shop.example/help', 'https://shop.example/?q=1', 'https://shop.example?', 'https://shop.example/#top', 'https://shop.example#',
      'https://user:pw@shop.example', 'ftp://shop.example', 'javascript:alert(1)', 'data:text/html,hi', 'shop.example', '', 'https://',
    ]) {
      expect(() => siteOrigin(bad), bad).toThrow(expect.objectContaining({ code: 'bad_request' }));
    }
    expect(siteOrigin('https://bücher.example/')).toBe('https://xn--bcher-kva.example');
    expect(siteOrigin('http://[::1]:3000')).toBe('http://[::1]:3000');
  });

  it('refuses a site of an account that is no company', async () => {
    await acmeWithAnn();
    await expect(companies.addSite('ann', 'https://shop.example')).rejects.toMatchObject({ code: 'not_found', message: 'There is no company "ann".' });
    await expect(companies.listSites('ann')).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('the list of companies', () => {
  it('lists every company by handle with how many operators and sites it has, and no other account', async () => {
    await acmeWithAnn();
    await person('zed');
    await companies.add({ handle: 'globex', name: 'Globex', adminHandle: 'zed' });
    await companies.addOperator('acme', 'zed');
    await companies.addSite('acme', 'https://a.example');
    await companies.addSite('acme', 'https://b.example');
    expect((await companies.list()).map((c) => [c.account.handle, c.operators, c.sites])).toEqual([['acme', 2, 2], ['globex', 1, 0]]);
  });
});

describe('invitations', () => {
  it("makes the account that opens an admin's link an operator with the role invited, once, for 7 days", async () => {
    const { ann, acme } = await acmeWithAnn();
    const bob = await person('bob');
    const cleo = await person('cleo');
    const made = await companies.invite('acme', ann.id, 'operator');
    expect(made.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(made.expiresAt).toBe(T0 + INVITE_TTL_MS);
    clock.advance(1000);
    expect(await companies.acceptInvite(made.token, bob.id)).toMatchObject({ companyId: acme.id, handle: 'bob', role: 'operator', capacity: 3 });
    expect(await companies.acceptInvite(made.token, cleo.id)).toBeNull();

    const late = await companies.invite('acme', ann.id, 'admin');
    clock.advance(INVITE_TTL_MS);
    expect(await companies.acceptInvite(late.token, cleo.id)).toBeNull();
    expect(await companies.operatorOf(acme.id, cleo.id)).toBeNull();
  });

  it('lets only an admin invite, only a person accept, and finds nothing for a token it never made', async () => {
    const { ann, acme } = await acmeWithAnn();
    const bob = await person('bob');
    await companies.addOperator('acme', 'bob');
    await expect(companies.invite('acme', bob.id, 'operator')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(companies.invite('acme', 'no-such-account', 'operator')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(companies.invite('ann', ann.id, 'operator')).rejects.toMatchObject({ code: 'not_found' });
    await expect(companies.invite('acme', ann.id, 'owner' as 'admin')).rejects.toMatchObject({ code: 'bad_request' });

    const { token } = await companies.invite('acme', ann.id, 'admin');
    await expect(companies.acceptInvite(token, acme.id)).rejects.toMatchObject({ code: 'bad_request' });
    await expect(companies.acceptInvite(token, 'no-such-account')).rejects.toMatchObject({ code: 'not_found' });
    for (const wrong of ['', 'x', `${token}x`, token.slice(1), token.replace(/^./, token[0] === 'A' ? 'B' : 'A')]) {
      expect(await companies.acceptInvite(wrong, bob.id), wrong).toBeNull();
    }
    // The refusals spent nothing: the link still works, and raises Bob to admin (his capacity stays).
    expect(await companies.acceptInvite(token, bob.id)).toMatchObject({ handle: 'bob', role: 'admin', capacity: 3 });
  });
});
