/**
 * Storage contract: live help for companies (issue 19), what engine/companies.ts, the SiteRoom and the widget rely on.
 * An account becomes a company once; its operators are other accounts, added again to change their role and capacity
 * (their status and the time they joined stay); sites are origins only, each once; an invitation makes one operator,
 * once, before it expires, and never lowers what an operator already has; a page view ends once; a visitor's history
 * counts the page views kept; retention deletes by start time; everything goes with its account; and a conversation
 * keeps the page it was started on.
 */
import { describe, expect, it } from 'vitest';
import type { Account, OperatorRole, PageView, Storage } from '../../../engine/ports/storage.ts';
import { PURGE_BATCH } from '../../../adapters/storage/companyRows.ts';
import { T0, range, seedAccount, seedConversation, type StorageContext } from './fixtures.ts';

const DAY = 86_400_000;

/** `handle` as a company with `admin` as its first operator (role admin, capacity 3, added at T0 + 1). */
async function seedCompany(s: Storage, handle = 'acme', admin?: Account): Promise<Account> {
  const company = await seedAccount(s, handle, `${handle} Ltd`);
  await s.makeCompany(company.id, T0);
  if (admin) await s.addOperator({ companyId: company.id, accountId: admin.id, role: 'admin', capacity: 3, at: T0 + 1 });
  return company;
}

function view(company: Account, visitorId: string, n: number, fields: Partial<PageView> = {}): Omit<PageView, 'endedAt'> {
  return {
    id: `view-${visitorId}-${n}`, companyId: company.id, visitorId, url: `https://shop.example/page/${n}`, title: `Page ${n}`,
    referrer: n === 0 ? '' : `https://shop.example/page/${n - 1}`, startedAt: T0 + n * 1000, ...fields,
  };
}

async function invite(s: Storage, company: Account, by: Account, tokenHash: string, role: OperatorRole, expiresAt = T0 + DAY) {
  await s.createOperatorInvite({ tokenHash, companyId: company.id, role, createdBy: by.id, expiresAt, at: T0 });
}

const VISITOR = 'visitor-aaaaaaaaaaaaaaaa';

export function companyRules(ctx: StorageContext): void {
  describe('companies and their operators', () => {
    it('makes an account a company once, and tells a company from any other account', async () => {
      const s = ctx.storage();
      const acme = await seedAccount(s, 'acme');
      const ann = await seedAccount(s, 'ann');
      expect(await s.getCompany(acme.id)).toBeNull();
      expect(await s.makeCompany(acme.id, T0 + 5)).toBe(true);
      expect(await s.makeCompany(acme.id, T0 + 9)).toBe(false);
      expect(await s.getCompany(acme.id)).toEqual({ accountId: acme.id, createdAt: T0 + 5 });
      expect(await s.getCompany(ann.id)).toBeNull();
      await expect(s.makeCompany('no-such-account', T0)).rejects.toMatchObject({ code: 'not_found' });
    });

    it("adds operators with the account's handle and name, online, and lists them oldest first", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann', 'Ann Example');
      const bob = await seedAccount(s, 'bob', 'Bob 😀');
      const acme = await seedCompany(s);
      const added = await s.addOperator({ companyId: acme.id, accountId: bob.id, role: 'operator', capacity: 2, at: T0 + 20 });
      expect(added).toEqual({
        companyId: acme.id, accountId: bob.id, handle: 'bob', displayName: 'Bob 😀', role: 'operator', status: 'online', capacity: 2,
        addedAt: T0 + 20,
      });
      const admin = await s.addOperator({ companyId: acme.id, accountId: ann.id, role: 'admin', capacity: 5, at: T0 + 10 });
      expect(admin).toMatchObject({ handle: 'ann', displayName: 'Ann Example', role: 'admin', capacity: 5, addedAt: T0 + 10 });
      expect(await s.listOperators(acme.id)).toEqual([admin, added]);
      expect(await s.getOperator(acme.id, bob.id)).toEqual(added);
      expect(await s.getOperator(acme.id, acme.id)).toBeNull();
      expect(await s.getOperator('no-such-company', bob.id)).toBeNull();
      expect(await s.listOperators(ann.id)).toEqual([]);
    });

    it('adding an operator again changes the role and capacity, and keeps the status and the time they joined', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const acme = await seedCompany(s, 'acme', ann);
      expect(await s.setOperatorStatus(acme.id, ann.id, 'away')).toBe(true);
      const changed = await s.addOperator({ companyId: acme.id, accountId: ann.id, role: 'operator', capacity: 7, at: T0 + 500 });
      expect(changed).toMatchObject({ role: 'operator', capacity: 7, status: 'away', addedAt: T0 + 1 });
      expect(await s.listOperators(acme.id)).toEqual([changed]);
    });

    it('refuses an operator of no company, an unknown account, the company itself, and a role or capacity that cannot be', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const notACompany = await seedAccount(s, 'bob');
      const acme = await seedCompany(s);
      const operator = { companyId: acme.id, accountId: ann.id, role: 'operator' as const, capacity: 3, at: T0 };
      await expect(s.addOperator({ ...operator, companyId: notACompany.id })).rejects.toMatchObject({ code: 'not_found' });
      await expect(s.addOperator({ ...operator, accountId: 'no-such-account' })).rejects.toMatchObject({ code: 'not_found' });
      await expect(s.addOperator({ ...operator, accountId: acme.id })).rejects.toMatchObject({ code: 'bad_request' });
      for (const capacity of [0, -1, 1.5, Number.NaN]) {
        await expect(s.addOperator({ ...operator, capacity }), String(capacity)).rejects.toMatchObject({ code: 'bad_request' });
      }
      await expect(s.addOperator({ ...operator, role: 'owner' as OperatorRole })).rejects.toMatchObject({ code: 'bad_request' });
      expect(await s.listOperators(acme.id)).toEqual([]);
      expect(await s.listOperators(notACompany.id)).toEqual([]);
    });

    it('sets an operator\u2019s status and capacity, and says false for someone who is not an operator', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      const acme = await seedCompany(s, 'acme', ann);
      expect(await s.setOperatorStatus(acme.id, ann.id, 'away')).toBe(true);
      expect(await s.setOperatorCapacity(acme.id, ann.id, 12)).toBe(true);
      expect(await s.getOperator(acme.id, ann.id)).toMatchObject({ status: 'away', capacity: 12, role: 'admin' });
      expect(await s.setOperatorStatus(acme.id, ann.id, 'online')).toBe(true);
      expect(await s.getOperator(acme.id, ann.id)).toMatchObject({ status: 'online' });
      expect(await s.setOperatorStatus(acme.id, bob.id, 'away')).toBe(false);
      expect(await s.setOperatorCapacity(acme.id, bob.id, 2)).toBe(false);
      await expect(s.setOperatorCapacity(acme.id, ann.id, 0)).rejects.toMatchObject({ code: 'bad_request' });
      await expect(s.setOperatorStatus(acme.id, ann.id, 'busy' as 'away')).rejects.toMatchObject({ code: 'bad_request' });
      expect(await s.getOperator(acme.id, ann.id)).toMatchObject({ status: 'online', capacity: 12 });
    });

    it('removes an operator once, and lists the companies an account works for by handle, with its role in each', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      const zeta = await seedCompany(s, 'zeta', ann);
      const acme = await seedCompany(s, 'acme', bob);
      await s.addOperator({ companyId: acme.id, accountId: ann.id, role: 'operator', capacity: 1, at: T0 + 2 });
      expect((await s.companiesOf(ann.id)).map((c) => [c.company.handle, c.role])).toEqual([['acme', 'operator'], ['zeta', 'admin']]);
      const [first] = await s.companiesOf(ann.id);
      expect(first?.company).toEqual(acme);
      expect(await s.removeOperator(acme.id, ann.id)).toBe(true);
      expect(await s.removeOperator(acme.id, ann.id)).toBe(false);
      expect((await s.companiesOf(ann.id)).map((c) => c.company.handle)).toEqual(['zeta']);
      expect((await s.listOperators(acme.id)).map((o) => o.handle)).toEqual(['bob']);
      expect(await s.companiesOf(zeta.id)).toEqual([]);
    });
  });

  describe("companies' sites", () => {
    it('adds an origin once, lists them oldest first, and removes one once', async () => {
      const s = ctx.storage();
      const acme = await seedCompany(s);
      const globex = await seedCompany(s, 'globex');
      expect(await s.addSite(acme.id, 'https://shop.example', T0 + 2)).toBe(true);
      expect(await s.addSite(acme.id, 'http://localhost:8080', T0 + 1)).toBe(true);
      expect(await s.addSite(acme.id, 'https://shop.example', T0 + 3)).toBe(false);
      expect(await s.addSite(globex.id, 'https://shop.example', T0 + 4)).toBe(true);
      expect(await s.listSites(acme.id)).toEqual([
        { companyId: acme.id, origin: 'http://localhost:8080', addedAt: T0 + 1 },
        { companyId: acme.id, origin: 'https://shop.example', addedAt: T0 + 2 },
      ]);
      expect(await s.removeSite(acme.id, 'https://shop.example')).toBe(true);
      expect(await s.removeSite(acme.id, 'https://shop.example')).toBe(false);
      expect((await s.listSites(acme.id)).map((x) => x.origin)).toEqual(['http://localhost:8080']);
      expect((await s.listSites(globex.id)).map((x) => x.origin)).toEqual(['https://shop.example']);
    });

    it('refuses what is not an origin (it goes into a Content-Security-Policy header), and a site of no company', async () => {
      const s = ctx.storage();
      const acme = await seedCompany(s);
      const ann = await seedAccount(s, 'ann');
      for (const bad of [
        'https://shop.example/', 'https://shop.example/path', 'https://shop.example?q=1', 'ftp://shop.example', 'https://Shop.example',
        'shop.example', 'https://shop.example; script-src *', 'javascript:alert(1)', '', 'https://shop.example:443',
      ]) {
        await expect(s.addSite(acme.id, bad, T0), bad).rejects.toMatchObject({ code: 'bad_request' });
      }
      await expect(s.addSite(ann.id, 'https://shop.example', T0)).rejects.toMatchObject({ code: 'not_found' });
      expect(await s.listSites(acme.id)).toEqual([]);
    });
  });

  describe('invitations to become an operator', () => {
    it('makes the account an operator with the role invited and the capacity given, once', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob', 'Bob');
      const cleo = await seedAccount(s, 'cleo');
      const acme = await seedCompany(s, 'acme', ann);
      await invite(s, acme, ann, 'invite-hash-1', 'operator');
      const taken = await s.takeOperatorInvite('invite-hash-1', bob.id, 4, T0 + 100);
      expect(taken).toEqual({
        companyId: acme.id, accountId: bob.id, handle: 'bob', displayName: 'Bob', role: 'operator', status: 'online', capacity: 4, addedAt: T0 + 100,
      });
      expect(await s.takeOperatorInvite('invite-hash-1', cleo.id, 4, T0 + 101)).toBeNull();
      expect(await s.takeOperatorInvite('invite-hash-1', bob.id, 4, T0 + 102)).toBeNull();
      expect(await s.takeOperatorInvite('no-such-invite', cleo.id, 4, T0 + 103)).toBeNull();
      expect((await s.listOperators(acme.id)).map((o) => o.handle)).toEqual(['ann', 'bob']);
    });

    it('works until it expires: at its expiry and after, it makes nobody an operator', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      const acme = await seedCompany(s, 'acme', ann);
      await invite(s, acme, ann, 'expires-at-expiry', 'operator', T0 + 1000);
      await invite(s, acme, ann, 'expires-later', 'operator', T0 + 1000);
      await invite(s, acme, ann, 'taken-in-time', 'operator', T0 + 1000);
      expect(await s.takeOperatorInvite('expires-at-expiry', bob.id, 3, T0 + 1000)).toBeNull();
      expect(await s.takeOperatorInvite('expires-later', bob.id, 3, T0 + 5000)).toBeNull();
      expect(await s.getOperator(acme.id, bob.id)).toBeNull();
      expect(await s.takeOperatorInvite('taken-in-time', bob.id, 3, T0 + 999)).toMatchObject({ accountId: bob.id });
    });

    it("never lowers what an operator has: their capacity and status stay, the role is raised to admin, never lowered", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      const acme = await seedCompany(s, 'acme', ann);
      await s.addOperator({ companyId: acme.id, accountId: bob.id, role: 'operator', capacity: 9, at: T0 + 5 });
      await s.setOperatorStatus(acme.id, bob.id, 'away');
      await invite(s, acme, ann, 'make-admin', 'admin');
      expect(await s.takeOperatorInvite('make-admin', bob.id, 3, T0 + 50)).toMatchObject({
        role: 'admin', capacity: 9, status: 'away', addedAt: T0 + 5,
      });
      await invite(s, acme, ann, 'as-operator', 'operator');
      expect(await s.takeOperatorInvite('as-operator', ann.id, 1, T0 + 60)).toMatchObject({ role: 'admin', capacity: 3, addedAt: T0 + 1 });
    });

    it('keeps an invitation unspent when the account taking it cannot be an operator', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      const acme = await seedCompany(s, 'acme', ann);
      await invite(s, acme, ann, 'invite-hash', 'operator');
      await expect(s.takeOperatorInvite('invite-hash', acme.id, 3, T0 + 10)).rejects.toMatchObject({ code: 'bad_request' });
      await expect(s.takeOperatorInvite('invite-hash', 'no-such-account', 3, T0 + 11)).rejects.toMatchObject({ code: 'not_found' });
      await expect(s.takeOperatorInvite('invite-hash', bob.id, 0, T0 + 12)).rejects.toMatchObject({ code: 'bad_request' });
      expect(await s.takeOperatorInvite('invite-hash', bob.id, 3, T0 + 13)).toMatchObject({ accountId: bob.id });
    });

    it('refuses an invitation of no company or by an unknown account, a token hash used twice, and a role that cannot be', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const acme = await seedCompany(s, 'acme', ann);
      await invite(s, acme, ann, 'taken-hash', 'admin');
      await expect(invite(s, acme, ann, 'taken-hash', 'operator')).rejects.toMatchObject({ code: 'conflict' });
      await expect(invite(s, ann, ann, 'other-hash-1', 'operator')).rejects.toMatchObject({ code: 'not_found' });
      await expect(invite(s, acme, { ...ann, id: 'no-such-account' }, 'other-hash-2', 'operator')).rejects.toMatchObject({ code: 'not_found' });
      await expect(invite(s, acme, ann, 'other-hash-3', 'owner' as OperatorRole)).rejects.toMatchObject({ code: 'bad_request' });
      const bob = await seedAccount(s, 'bob');
      // The first invitation is as it was made: admin.
      expect(await s.takeOperatorInvite('taken-hash', bob.id, 3, T0 + 1)).toMatchObject({ role: 'admin' });
      for (const hash of ['other-hash-1', 'other-hash-2', 'other-hash-3']) expect(await s.takeOperatorInvite(hash, bob.id, 3, T0 + 2)).toBeNull();
    });
  });

  describe('page views of monitored visitors', () => {
    it('keeps a page view as given, ended once', async () => {
      const s = ctx.storage();
      const acme = await seedCompany(s);
      const first = view(acme, VISITOR, 0, { title: 'Ünïcode 😀 title \u0000 with NUL', referrer: 'https://search.example/?q=shoes' });
      await s.recordPageView(first);
      expect(await s.pageViewsOf(acme.id, VISITOR, 10)).toEqual([{ ...first, endedAt: null }]);
      expect(await s.endPageView(first.id, T0 + 500)).toBe(true);
      expect(await s.endPageView(first.id, T0 + 900)).toBe(false);
      expect(await s.endPageView('no-such-view', T0 + 900)).toBe(false);
      expect(await s.pageViewsOf(acme.id, VISITOR, 10)).toEqual([{ ...first, endedAt: T0 + 500 }]);
    });

    it("returns a visitor's newest page views first, at most the limit, of that company only", async () => {
      const s = ctx.storage();
      const acme = await seedCompany(s);
      const globex = await seedCompany(s, 'globex');
      for (const n of [2, 0, 3, 1]) await s.recordPageView(view(acme, VISITOR, n));
      await s.recordPageView(view(acme, 'other-visitor-aaaaaa', 9));
      await s.recordPageView(view(globex, VISITOR, 8, { id: 'globex-view' }));
      expect((await s.pageViewsOf(acme.id, VISITOR, 10)).map((v) => v.url)).toEqual([3, 2, 1, 0].map((n) => `https://shop.example/page/${n}`));
      expect((await s.pageViewsOf(acme.id, VISITOR, 2)).map((v) => v.id)).toEqual([`view-${VISITOR}-3`, `view-${VISITOR}-2`]);
      expect(await s.pageViewsOf(acme.id, VISITOR, 0)).toEqual([]);
      expect(await s.pageViewsOf(acme.id, VISITOR, -1)).toEqual([]);
      expect((await s.pageViewsOf(globex.id, VISITOR, 10)).map((v) => v.id)).toEqual(['globex-view']);
      expect(await s.pageViewsOf(acme.id, 'unknown-visitor-aaaa', 10)).toEqual([]);
    });

    it("counts a visitor's pages on the company's sites and tells when they were first seen", async () => {
      const s = ctx.storage();
      const acme = await seedCompany(s);
      const globex = await seedCompany(s, 'globex');
      expect(await s.visitorHistory(acme.id, VISITOR)).toEqual({ pages: 0, firstSeenAt: null });
      for (const n of [4, 2, 7]) await s.recordPageView(view(acme, VISITOR, n));
      await s.recordPageView(view(globex, VISITOR, 1, { id: 'globex-view' }));
      await s.recordPageView(view(acme, 'other-visitor-aaaaaa', 0));
      expect(await s.visitorHistory(acme.id, VISITOR)).toEqual({ pages: 3, firstSeenAt: T0 + 2000 });
      expect(await s.visitorHistory(globex.id, VISITOR)).toEqual({ pages: 1, firstSeenAt: T0 + 1000 });
    });

    it('refuses a page view of no company, an id used twice, and text that cannot be stored exactly', async () => {
      const s = ctx.storage();
      const acme = await seedCompany(s);
      const ann = await seedAccount(s, 'ann');
      await expect(s.recordPageView(view(ann, VISITOR, 0))).rejects.toMatchObject({ code: 'not_found' });
      await s.recordPageView(view(acme, VISITOR, 0));
      await expect(s.recordPageView(view(acme, VISITOR, 0, { url: 'https://shop.example/again' }))).rejects.toMatchObject({ code: 'conflict' });
      await expect(s.recordPageView(view(acme, VISITOR, 1, { title: 'broken \uD800' }))).rejects.toMatchObject({ code: 'bad_request' });
      expect((await s.pageViewsOf(acme.id, VISITOR, 10)).map((v) => v.url)).toEqual(['https://shop.example/page/0']);
    });

    it('deletes the page views started before a time, however many, and says how many', async () => {
      const s = ctx.storage();
      const acme = await seedCompany(s);
      // More than one batch of deletion (both adapters delete PURGE_BATCH at a time), all started before the cut.
      const old = range(1, PURGE_BATCH + 1).map((n) => view(acme, 'old-visitor-aaaaaaaa', n, { startedAt: T0 - n }));
      for (let i = 0; i < old.length; i += 200) await Promise.all(old.slice(i, i + 200).map((v) => s.recordPageView(v)));
      await s.recordPageView(view(acme, VISITOR, 0, { startedAt: T0 }));
      await s.recordPageView(view(acme, VISITOR, 1, { startedAt: T0 + 1 }));
      expect(await s.purgePageViews(T0)).toBe(PURGE_BATCH + 1);
      expect(await s.visitorHistory(acme.id, 'old-visitor-aaaaaaaa')).toEqual({ pages: 0, firstSeenAt: null });
      expect(await s.visitorHistory(acme.id, VISITOR)).toEqual({ pages: 2, firstSeenAt: T0 });
      expect(await s.purgePageViews(T0)).toBe(0);
      expect(await s.purgePageViews(T0 + 1)).toBe(1);
      expect(await s.visitorHistory(acme.id, VISITOR)).toEqual({ pages: 1, firstSeenAt: T0 + 1 });
    });
  });

  describe('companies and accounts removed', () => {
    it('removes with a company its operators, sites, invitations and page views; with a person, their places and invitations', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      const cleo = await seedAccount(s, 'cleo');
      const acme = await seedCompany(s, 'acme', ann);
      const globex = await seedCompany(s, 'globex', bob);
      await s.addOperator({ companyId: acme.id, accountId: bob.id, role: 'operator', capacity: 3, at: T0 + 2 });
      await s.addOperator({ companyId: globex.id, accountId: ann.id, role: 'operator', capacity: 3, at: T0 + 2 });
      await s.addSite(acme.id, 'https://acme.example', T0);
      await s.addSite(globex.id, 'https://globex.example', T0);
      await invite(s, acme, ann, 'acme-invite', 'operator');
      await invite(s, globex, ann, 'globex-invite-by-ann', 'operator');
      await invite(s, globex, bob, 'globex-invite-by-bob', 'operator');
      await s.recordPageView(view(acme, VISITOR, 0));
      await s.recordPageView(view(globex, VISITOR, 0, { id: 'globex-view' }));

      expect(await s.removeAccount('acme')).toBe(true);
      expect(await s.getCompany(acme.id)).toBeNull();
      expect(await s.listOperators(acme.id)).toEqual([]);
      expect(await s.listSites(acme.id)).toEqual([]);
      expect(await s.visitorHistory(acme.id, VISITOR)).toEqual({ pages: 0, firstSeenAt: null });
      expect(await s.endPageView(`view-${VISITOR}-0`, T0 + 5)).toBe(false);
      expect(await s.takeOperatorInvite('acme-invite', cleo.id, 3, T0 + 5)).toBeNull();
      expect((await s.companiesOf(bob.id)).map((c) => c.company.handle)).toEqual(['globex']);

      expect(await s.removeAccount('ann')).toBe(true);
      expect(await s.companiesOf(ann.id)).toEqual([]);
      expect((await s.listOperators(globex.id)).map((o) => o.handle)).toEqual(['bob']);
      expect(await s.takeOperatorInvite('globex-invite-by-ann', cleo.id, 3, T0 + 6)).toBeNull();
      // What the removals did not own is as it was.
      expect((await s.listSites(globex.id)).map((x) => x.origin)).toEqual(['https://globex.example']);
      expect(await s.visitorHistory(globex.id, VISITOR)).toEqual({ pages: 1, firstSeenAt: T0 });
      expect(await s.takeOperatorInvite('globex-invite-by-bob', cleo.id, 3, T0 + 7)).toMatchObject({ accountId: cleo.id });
    });
  });

  describe('the page a conversation was started on', () => {
    it('keeps the page given at creation in every read of the conversation and its summary, and none when none was given', async () => {
      const s = ctx.storage();
      const acme = await seedCompany(s);
      const startedOn = { url: 'https://shop.example/shoes?size=42#red', title: 'Red shoes — Acme 👟' };
      const { conversation } = await s.createConversation({ ownerAccountId: acme.id, tokenHash: 'started-on-hash', visitorName: 'Vic', startedOn, at: T0 });
      const plain = await seedConversation(s, acme, { at: T0 + 1 });
      expect(conversation.startedOn).toEqual(startedOn);
      expect(await s.getConversation(conversation.id)).toEqual(conversation);
      expect(await s.getConversationByTokenHash('started-on-hash')).toEqual(conversation);
      expect(await s.getConversationByMailToken(await s.conversationMailToken(conversation.id))).toEqual(conversation);
      expect((await s.getConversationSummary(conversation.id))?.startedOn).toEqual(startedOn);
      expect((await s.listConversations(acme.id, { limit: 10 })).map((c) => c.startedOn)).toEqual([null, startedOn]);
      expect(plain.conversation.startedOn).toBeNull();
      expect((await s.getConversation(plain.conversation.id))?.startedOn).toBeNull();
      expect((await s.getConversationSummary(plain.conversation.id))?.startedOn).toBeNull();
    });

    it('refuses a page whose title cannot be stored exactly, creating nothing', async () => {
      const s = ctx.storage();
      const acme = await seedCompany(s);
      const creating = s.createConversation({
        ownerAccountId: acme.id, tokenHash: 'broken-hash', visitorName: 'Vic', startedOn: { url: 'https://shop.example/', title: 'x\uDC00' }, at: T0,
      });
      await expect(creating).rejects.toMatchObject({ code: 'bad_request' });
      expect(await s.getConversationByTokenHash('broken-hash')).toBeNull();
    });
  });
}
