/**
 * The widget's HTTP face against a real server (issue 19): `/_/widget.js` loadable from any site, the monitor frame's
 * page framable by exactly the listed site it was made for, the chat page (`/acme?embed=<site>`) likewise, and every
 * other answer as strict about framing as before. Malformed queries and header injection are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { cspDirectives, get } from '../support/httpClient.ts';

const SHOP = 'https://shop.example';
const OTHER_SHOP = 'https://other.example:8443';
let knock: TestKnock;
let base: string;

beforeAll(async () => {
  knock = await startKnock();
  base = knock.url;
  await knock.addUser('acme', 'Acme Ltd');
  await knock.addUser('alice', 'Alice');
  await knock.addUser('lonely', 'Lonely Ltd');
  const acme = (await knock.storage.getAccountByHandle('acme'))!;
  const lonely = (await knock.storage.getAccountByHandle('lonely'))!;
  await knock.storage.makeCompany(acme.id, Date.now());
  await knock.storage.makeCompany(lonely.id, Date.now());
  await knock.storage.addSite(acme.id, SHOP, Date.now());
  await knock.storage.addSite(acme.id, OTHER_SHOP, Date.now());
});
afterAll(() => knock?.close());

function framePath(query: Record<string, string>): string {
  return `/_/widget/frame?${new URLSearchParams(query)}`;
}
const validFrame = { handle: 'acme', site: SHOP, monitor: '1', declined: '0' };

/** The page's own policy: what every page of the app gets (pages.test.ts checks it in full). */
async function appPolicy(): Promise<Map<string, string[]>> {
  return cspDirectives((await get(base, '/alice')).headers.get('content-security-policy'));
}

describe('GET /_/widget.js', () => {
  it('serves the built widget to any site: script type, CORS and CORP open, nosniff, cached five minutes', async () => {
    const res = await get(base, '/_/widget.js', { origin: SHOP });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const body = await res.text();
    expect(body.length).toBeGreaterThan(1000);
    expect(body).toContain('knock-widget');
  });

  it('answers HEAD with the headers and no body, and refuses other methods', async () => {
    const head = await fetch(`${base}/_/widget.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const post = await fetch(`${base}/_/widget.js`, { method: 'POST' });
    expect(post.status).toBe(405);
  });
});

describe('GET /_/widget/frame', () => {
  it('lets exactly the listed site it was made for frame it, under the app\u2019s policy otherwise', async () => {
    const res = await get(base, framePath(validFrame));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('x-frame-options')).toBeNull();
    const csp = cspDirectives(res.headers.get('content-security-policy'));
    // Not the company's whole list: the other listed shop is not named, so nobody learns of it here.
    expect(csp.get('frame-ancestors')).toEqual([SHOP]);
    const app = await appPolicy();
    for (const [name, values] of app) if (name !== 'frame-ancestors') expect({ name, values: csp.get(name) }).toEqual({ name, values });
    expect(res.headers.get('cache-control')).toBe('no-cache');
  });

  it('is a page with one script of our own, which is served', async () => {
    const html = await (await get(base, framePath({ ...validFrame, site: OTHER_SHOP, monitor: '0', declined: '1', visitor: 'AbCdEfGhIjKlMnOpQrStUv' }))).text();
    const scripts = [...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(1);
    expect(scripts[0]).toMatch(/^\/_\/assets\/frame-[A-Z0-9]+\.js$/);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i);
    expect((await get(base, scripts[0]!)).status).toBe(200);
  });

  it('refuses a site that is not on the company\u2019s list, with the framing ban kept and no page', async () => {
    for (const site of ['https://evil.example', 'http://shop.example', 'https://shop.example:444']) {
      const res = await get(base, framePath({ ...validFrame, site }));
      expect({ site, status: res.status }).toEqual({ site, status: 403 });
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    }
  });

  it('refuses a handle that is not a company, or a company without sites', async () => {
    for (const handle of ['alice', 'nobody', 'lonely']) {
      const res = await get(base, framePath({ ...validFrame, handle }));
      expect({ handle, status: res.status }).toEqual({ handle, status: 403 });
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
  });

  it('refuses malformed queries with a readable error', async () => {
    const bad: Array<Record<string, string>> = [
      { ...validFrame, handle: 'ACME!' },
      { ...validFrame, site: 'https://shop.example/path' },
      { ...validFrame, site: 'javascript:alert(1)' },
      { ...validFrame, site: `${SHOP} https://evil.example` },
      { ...validFrame, site: `${SHOP}; script-src *` },
      { ...validFrame, monitor: 'yes' },
      { ...validFrame, declined: '' },
      { ...validFrame, visitor: 'short' },
      { ...validFrame, visitor: 'x'.repeat(65) },
      { ...validFrame, visitor: 'not/a+visitor=id==' },
      { handle: 'acme', site: SHOP },
    ];
    for (const query of bad) {
      const res = await get(base, framePath(query));
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('bad_request');
      expect(body.error.message.length).toBeGreaterThan(5);
      expect(res.headers.get('content-security-policy') ?? '').not.toContain('evil');
    }
  });
});

describe('the chat page in the widget (/<handle>?embed=<site>)', () => {
  it('may be framed by the listed site named in embed, and by nothing else', async () => {
    const res = await get(base, `/acme?embed=${encodeURIComponent(SHOP)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-frame-options')).toBeNull();
    const csp = cspDirectives(res.headers.get('content-security-policy'));
    expect(csp.get('frame-ancestors')).toEqual([SHOP]);
    const app = await appPolicy();
    for (const [name, values] of app) if (name !== 'frame-ancestors') expect({ name, values: csp.get(name) }).toEqual({ name, values });
  });

  it('keeps the framing ban for an unlisted or malformed embed, a non-company, a resume link and every other page', async () => {
    const knocked = (await (await fetch(`${base}/_/api/u/acme/knock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as {
      resumePath: string;
    };
    const paths = [
      '/acme',
      `/acme?embed=${encodeURIComponent('https://evil.example')}`,
      `/acme?embed=${encodeURIComponent(`${SHOP}/page`)}`,
      `/acme?embed=${encodeURIComponent(`${SHOP} https://evil.example`)}`,
      '/acme?embed=1',
      `/alice?embed=${encodeURIComponent(SHOP)}`,
      `/lonely?embed=${encodeURIComponent(SHOP)}`,
      `/nobody?embed=${encodeURIComponent(SHOP)}`,
      `${knocked.resumePath}?embed=${encodeURIComponent(SHOP)}`,
      `/?embed=${encodeURIComponent(SHOP)}`,
      `/_/signup?embed=${encodeURIComponent(SHOP)}`,
    ];
    for (const path of paths) {
      const res = await get(base, path);
      const csp = cspDirectives(res.headers.get('content-security-policy'));
      expect({ path, ancestors: csp.get('frame-ancestors'), xfo: res.headers.get('x-frame-options') }).toEqual({
        path,
        ancestors: ["'none'"],
        xfo: 'DENY',
      });
    }
  });
});
