/**
 * Storage contract: a company's canned responses (issue 19), what engine/companies.ts and the console's `/shortcut`
 * rely on. One text per shortcut per company (setting it again replaces the text, keeping when it was made), listed by
 * shortcut, kept apart between companies, text byte for byte, bad input refused before anything is stored, and gone
 * with the company's account.
 */
import { describe, expect, it } from 'vitest';
import type { Account, Storage } from '../../../engine/ports/storage.ts';
import { T0, seedAccount, type StorageContext } from './fixtures.ts';

async function company(s: Storage, handle: string): Promise<Account> {
  const account = await seedAccount(s, handle, `${handle} Ltd`);
  await s.makeCompany(account.id, T0);
  return account;
}

export function cannedRules(ctx: StorageContext): void {
  describe('canned responses', () => {
    it('stores one text per shortcut, replaces it keeping its creation time, and lists them by shortcut', async () => {
      const s = ctx.storage();
      const acme = await company(s, 'acme');
      expect(await s.setCannedResponse(acme.id, 'thanks', 'Thank you!', T0 + 1)).toEqual({
        companyId: acme.id, shortcut: 'thanks', text: 'Thank you!', createdAt: T0 + 1, updatedAt: T0 + 1,
      });
      await s.setCannedResponse(acme.id, 'hello', 'Hello! How can we help?', T0 + 2);
      const replaced = await s.setCannedResponse(acme.id, 'thanks', 'Thanks a lot!', T0 + 3);
      expect(replaced).toMatchObject({ text: 'Thanks a lot!', createdAt: T0 + 1, updatedAt: T0 + 3 });
      expect((await s.listCannedResponses(acme.id)).map((c) => [c.shortcut, c.text])).toEqual([
        ['hello', 'Hello! How can we help?'],
        ['thanks', 'Thanks a lot!'],
      ]);
    });

    it('keeps each company\u2019s responses apart, and removes one once', async () => {
      const s = ctx.storage();
      const acme = await company(s, 'acme');
      const globex = await company(s, 'globex');
      await s.setCannedResponse(acme.id, 'hello', 'Hello from Acme', T0);
      await s.setCannedResponse(globex.id, 'hello', 'Hello from Globex', T0);
      expect(await s.removeCannedResponse(acme.id, 'hello')).toBe(true);
      expect(await s.removeCannedResponse(acme.id, 'hello')).toBe(false);
      expect(await s.listCannedResponses(acme.id)).toEqual([]);
      expect((await s.listCannedResponses(globex.id)).map((c) => c.text)).toEqual(['Hello from Globex']);
    });

    it('keeps the text byte for byte: lines, emoji, a NUL', async () => {
      const s = ctx.storage();
      const acme = await company(s, 'acme');
      const text = 'Line one\nLine two 😀\u0000 café';
      await s.setCannedResponse(acme.id, 'x', text, T0);
      expect((await s.listCannedResponses(acme.id))[0]?.text).toBe(text);
    });

    it('refuses a bad shortcut, an empty or oversized text, a broken character and a non-company, storing nothing', async () => {
      const s = ctx.storage();
      const acme = await company(s, 'acme');
      const person = await seedAccount(s, 'ann');
      for (const shortcut of ['', 'Hello', '-x', 'a b', 'x'.repeat(33), '/hello']) {
        await expect(s.setCannedResponse(acme.id, shortcut, 'text', T0)).rejects.toMatchObject({ code: 'bad_request' });
      }
      await expect(s.setCannedResponse(acme.id, 'a', '', T0)).rejects.toMatchObject({ code: 'bad_request' });
      await expect(s.setCannedResponse(acme.id, 'a', 'x'.repeat(2001), T0)).rejects.toMatchObject({ code: 'bad_request' });
      await expect(s.setCannedResponse(acme.id, 'a', 'broken \uD800', T0)).rejects.toMatchObject({ code: 'bad_request' });
      await expect(s.setCannedResponse(person.id, 'a', 'text', T0)).rejects.toMatchObject({ code: 'not_found' });
      expect(await s.listCannedResponses(acme.id)).toEqual([]);
      expect(await s.setCannedResponse(acme.id, 'x'.repeat(32), 'y'.repeat(2000), T0)).toMatchObject({ shortcut: 'x'.repeat(32) });
    });

    it('goes with the company\u2019s account', async () => {
      const s = ctx.storage();
      const acme = await company(s, 'acme');
      await s.setCannedResponse(acme.id, 'hello', 'Hello!', T0);
      expect(await s.removeAccount('acme')).toBe(true);
      expect(await s.listCannedResponses(acme.id)).toEqual([]);
    });
  });
}
