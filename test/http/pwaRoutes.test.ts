/**
 * The installable app's files over HTTP (issue 20), against a real server: the manifest, the service worker (at
 * /_/sw.js for the whole origin, and the same script at the old push address), the offline page; their types and
 * caching, that everything the worker keeps at install is really there (one missing file fails its install), that
 * pages keep their strict policy, and what strangers' requests get.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { cspDirectives, get, post, rawGet } from '../support/httpClient.ts';

let knock: TestKnock;
let base: string;
beforeAll(async () => {
  knock = await startKnock();
  base = knock.url;
  await knock.addUser('alice', 'Alice');
});
afterAll(() => knock.close());

/** The `self.KNOCK_SHELL = {...};` line the build puts in front of the worker. */
function shellOf(worker: string): { version: string; precache: string[] } {
  const line = /^self\.KNOCK_SHELL = (\{.*\});$/m.exec(worker);
  expect(line, 'the worker starts with the list of files it keeps').not.toBeNull();
  return JSON.parse(line![1]!) as { version: string; precache: string[] };
}

describe('the web app manifest', () => {
  it('is served as application/manifest+json, revalidated, and names the app, its scope and its icons', async () => {
    const res = await get(base, '/_/manifest.webmanifest');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/manifest\+json/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const manifest = (await res.json()) as Record<string, unknown> & { icons: { src: string; sizes: string; type: string }[] };
    expect(manifest).toMatchObject({ name: 'Knock', start_url: '/', scope: '/', display: 'standalone' });
    expect(manifest.theme_color).toMatch(/^#[0-9a-f]{6}$/);
    expect(manifest.background_color).toMatch(/^#[0-9a-f]{6}$/);
    for (const icon of manifest.icons) {
      const png = await get(base, icon.src);
      expect({ src: icon.src, status: png.status, type: png.headers.get('content-type') }).toEqual({ src: icon.src, status: 200, type: 'image/png' });
      const bytes = Buffer.from(await png.arrayBuffer());
      // PNG signature, then IHDR's width and height (RFC 2083): the size the manifest states.
      expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      expect(`${bytes.readUInt32BE(16)}x${bytes.readUInt32BE(20)}`).toBe(icon.sizes);
    }
  });

  it('is linked from the shell, with the browser bar colour and the home-screen icon', async () => {
    const html = await (await get(base, '/alice')).text();
    expect(html).toContain('<link rel="manifest" href="/_/manifest.webmanifest">');
    expect(html).toMatch(/<meta name="theme-color"[^>]*content="#[0-9a-f]{6}">/);
    expect(html).toContain('<link rel="apple-touch-icon" href="/_/assets/icon-192.png">');
    expect(html).toMatch(/<meta name="viewport" content="[^"]*interactive-widget=resizes-content/);
  });
});

describe('the service worker', () => {
  it('is served for the whole origin (Service-Worker-Allowed: /), as JavaScript, revalidated on every check', async () => {
    const res = await get(base, '/_/sw.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(res.headers.get('service-worker-allowed')).toBe('/');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(cspDirectives(res.headers.get('content-security-policy')).get('default-src')).toEqual(["'self'"]);
    const body = await res.text();
    expect(body).toContain("addEventListener('push'");
    expect(body).toContain("addEventListener('notificationclick'");
  });

  it('keeps, at install, the shell, the offline page, the manifest and what every page loads, all of them there', async () => {
    const { version, precache } = shellOf(await (await get(base, '/_/sw.js')).text());
    expect(version).toMatch(/^[0-9a-f]{12}$/);
    const html = await (await get(base, '/alice')).text();
    const shellAssets = [...html.matchAll(/(?:src|href)="(\/_\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(precache).toEqual(expect.arrayContaining(['/', '/_/offline', '/_/manifest.webmanifest', ...shellAssets]));
    // Never the API, downloads or matchmaking: they are live, and may be private.
    expect(precache.filter((p) => /^\/_\/(api|files|matchmake)\//.test(p))).toEqual([]);
    for (const url of precache) expect({ url, status: (await get(base, url)).status }).toEqual({ url, status: 200 });
  });

  it('answers the old push address with the same script, without claiming the whole origin there', async () => {
    const [current, legacy] = await Promise.all([get(base, '/_/sw.js'), get(base, '/_/push-sw.js')]);
    expect(legacy.status).toBe(200);
    expect(legacy.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(legacy.headers.get('service-worker-allowed')).toBeNull();
    expect(await legacy.text()).toBe(await current.text());
  });

  it('answers HEAD with the headers alone, and refuses other methods', async () => {
    const head = await fetch(`${base}/_/sw.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('service-worker-allowed')).toBe('/');
    expect(await head.text()).toBe('');
    const posted = await post(base, '/_/sw.js', {});
    expect(posted.status).toBe(405);
  });

  it('claims the whole origin only at its exact address: look-alikes get no script, and no Service-Worker-Allowed', async () => {
    for (const look of ['/_/sw.js/', '/_/SW.JS', '/_/sw.jsx', '/_/sw.js%00', '/sw.js', '/_/sw.js.map']) {
      const res = await rawGet(base, look);
      expect({ look, js: /javascript/.test(String(res.headers['content-type'])) }).toEqual({ look, js: false });
    }
    // The build's copy under /_/assets/ is a plain file there: registered from that address it could serve /_/assets/ alone.
    for (const look of ['/_/assets/sw.js', '/_/push-sw.js', '/_/sw.js/', '/sw.js']) {
      const res = await rawGet(base, look);
      expect({ look, allowed: res.headers['service-worker-allowed'] }).toEqual({ look, allowed: undefined });
    }
  });
});

describe('the offline page', () => {
  it('is an HTML page under the pages\u2019 strict policy, with no script, that says what still works', async () => {
    const res = await get(base, '/_/offline');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = cspDirectives(res.headers.get('content-security-policy'));
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(html).toContain('<h1>You are offline</h1>');
    expect(html).toContain('<h2>What still works</h2>');
    expect(html).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i);
  });

  it('leaves the app pages\u2019 policy as it was: same origin only, nothing inline', async () => {
    const csp = cspDirectives((await get(base, '/alice')).headers.get('content-security-policy'));
    expect(csp.get('default-src')).toEqual(["'self'"]);
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.has('worker-src')).toBe(false);
    expect(csp.has('manifest-src')).toBe(false);
  });
});

describe('before the browser app is built', () => {
  let bare: TestKnock;
  let emptyAssets: string;
  beforeAll(async () => {
    emptyAssets = await mkdtemp(path.join(os.tmpdir(), 'knock-no-assets-'));
    bare = await startKnock({ assetsDir: emptyAssets });
  });
  afterAll(async () => {
    await bare?.close();
    await rm(emptyAssets, { recursive: true, force: true });
  });

  it('answers 503 with a clear error, not a half-served worker', async () => {
    for (const file of ['/_/sw.js', '/_/push-sw.js', '/_/manifest.webmanifest', '/_/offline']) {
      const res = await get(bare.url, file);
      expect({ file, status: res.status }).toEqual({ file, status: 503 });
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/not built yet/);
    }
  });
});
