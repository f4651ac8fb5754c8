/**
 * A company's canned responses over HTTP (issue 19, engine/http/companyApi.ts): every operator of the company reads
 * them (the console expands `/shortcut` with them), only its admins change them. Attacks: a plain operator changing
 * them, a stranger naming the company in the header, a person's own account, an oversized body or text, a shortcut
 * that is no shortcut, a request from another site.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CannedAnswer } from '../../engine/protocol.ts';
import { Cast, NO_PINGS } from '../support/cast.ts';
import type { Person } from '../support/clients.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { call, errorOf, mailTestRateLimits } from '../support/mailApiClient.ts';

let knock: TestKnock;
let cast: Cast;

beforeAll(async () => {
  knock = await startKnock({ pingIntervalMs: NO_PINGS, rateLimits: mailTestRateLimits() });
  cast = new Cast(knock);
});
afterEach(() => cast.closeAll());
afterAll(async () => {
  await knock?.close();
});

let teams = 0;
async function team() {
  const company = `acme-${process.pid}-${++teams}`;
  const admin = await cast.owner('Ada');
  const operator = await cast.owner('Otto');
  const stranger = await cast.owner('Mallory');
  await knock.companies.add({ handle: company, name: 'Acme Ltd', adminHandle: admin.handle });
  await knock.companies.addOperator(company, operator.handle);
  return { company, admin: admin.person, operator: operator.person, stranger: stranger.person };
}

/** A request of `who` (their console's cookies) acting for `account`. */
function as(who: Person, account?: string): { headers: Record<string, string> } {
  return { headers: { ...who.headers, origin: knock.url, ...(account === undefined ? {} : { 'x-knock-account': account }) } };
}

async function responses(res: Response): Promise<Array<[string, string]>> {
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as CannedAnswer).responses.map((c) => [c.shortcut, c.text]);
}

describe('canned responses over HTTP', () => {
  it('an admin adds, replaces and removes responses; every operator reads them, by shortcut', async () => {
    const t = await team();
    expect(await responses(await call(knock.url, 'PUT', '/_/api/company/canned/hello', as(t.admin, t.company), { text: 'Hello! How can we help?' }))).toEqual([
      ['hello', 'Hello! How can we help?'],
    ]);
    await call(knock.url, 'PUT', '/_/api/company/canned/bye', as(t.admin, t.company), { text: 'Bye 👋' });
    await call(knock.url, 'PUT', '/_/api/company/canned/hello', as(t.admin, t.company), { text: 'Hi!' });
    expect(await responses(await call(knock.url, 'GET', '/_/api/company/canned', as(t.operator, t.company)))).toEqual([
      ['bye', 'Bye 👋'],
      ['hello', 'Hi!'],
    ]);
    expect(await responses(await call(knock.url, 'DELETE', '/_/api/company/canned/bye', as(t.admin, t.company)))).toEqual([['hello', 'Hi!']]);
    const again = await call(knock.url, 'DELETE', '/_/api/company/canned/bye', as(t.admin, t.company));
    expect(again.status).toBe(404);
    // What the CLI sees is what the console set.
    expect((await knock.companies.listCanned(t.company)).map((c) => c.text)).toEqual(['Hi!']);
  });

  it('refuses a plain operator\u2019s changes (403) and keeps the list as it was', async () => {
    const t = await team();
    await knock.companies.setCanned(t.company, 'hello', 'Hello!');
    const put = await call(knock.url, 'PUT', '/_/api/company/canned/hello', as(t.operator, t.company), { text: 'Hacked' });
    expect(put.status).toBe(403);
    expect((await errorOf(put)).message).toContain('Only an admin');
    expect((await call(knock.url, 'DELETE', '/_/api/company/canned/hello', as(t.operator, t.company))).status).toBe(403);
    expect((await knock.companies.listCanned(t.company)).map((c) => c.text)).toEqual(['Hello!']);
  });

  it('refuses a stranger naming the company (403), a person\u2019s own account (404: no company), and nobody (401)', async () => {
    const t = await team();
    await knock.companies.setCanned(t.company, 'hello', 'Hello!');
    expect((await call(knock.url, 'GET', '/_/api/company/canned', as(t.stranger, t.company))).status).toBe(403);
    expect((await call(knock.url, 'PUT', '/_/api/company/canned/x', as(t.stranger, t.company), { text: 'Hacked' })).status).toBe(403);
    expect((await call(knock.url, 'GET', '/_/api/company/canned', as(t.admin))).status).toBe(404);
    expect((await call(knock.url, 'GET', '/_/api/company/canned', { headers: { 'x-knock-account': t.company } })).status).toBe(401);
    expect((await knock.companies.listCanned(t.company)).map((c) => c.shortcut)).toEqual(['hello']);
  });

  it('refuses a shortcut that is none, an empty or oversized text (400), an oversized body (413) and another site\u2019s request', async () => {
    const t = await team();
    const put = (shortcut: string, body: unknown, extra: Record<string, string> = {}) =>
      call(knock.url, 'PUT', `/_/api/company/canned/${shortcut}`, { headers: { ...as(t.admin, t.company).headers, ...extra } }, body);
    for (const shortcut of ['Hello', '-x', 'a%20b', 'x'.repeat(33), '%2Fhello']) {
      const res = await put(shortcut, { text: 'text' });
      expect(res.status, shortcut).toBe(400);
    }
    expect((await put('a', { text: '' })).status).toBe(400);
    expect((await put('a', { text: '   ' })).status).toBe(400);
    const long = await put('a', { text: 'x'.repeat(2001) });
    expect(long.status).toBe(400);
    expect((await errorOf(long)).message).toContain('too long');
    expect((await put('a', JSON.stringify({ text: 'x'.repeat(20_000) }))).status).toBe(413);
    expect((await put('a', { text: 'fine' }, { origin: 'https://evil.example' })).status).toBe(403);
    expect(await knock.companies.listCanned(t.company)).toEqual([]);
  });
});
