/**
 * Pages, assets and the doors to the sockets, against a real server with plain fetch and the `ws` package:
 * the HTML shell and its security headers, the built assets, path traversal, and the Origin rule of the
 * WebSocket handshake and of matchmaking.
 */
import WebSocket from 'ws';
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

describe('pages', () => {
  it('serves an owner\u2019s URL as HTML under a strict Content-Security-Policy', async () => {
    const res = await get(base, '/alice');

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = cspDirectives(res.headers.get('content-security-policy'));
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('object-src')).toEqual(["'none'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(csp.get('base-uri')).toEqual(["'none'"]);
    for (const [, values] of csp) {
      expect(values).not.toContain("'unsafe-inline'");
      expect(values).not.toContain("'unsafe-eval'");
    }
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('lets pages open sockets to their own origin only (no conference server here)', async () => {
    const csp = cspDirectives((await get(base, '/alice')).headers.get('content-security-policy'));
    expect(csp.get('connect-src')).toEqual(["'self'"]);
  });

  it('carries no inline script or style, so the policy does not break the page', async () => {
    const html = await (await get(base, '/alice')).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });

  it('answers a URL nobody has with a 404 HTML page', async () => {
    const res = await get(base, '/nobody');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('serves a resume link, the sign-up page, the password recovery page and the landing page, none of them leaking its URL as Referer', async () => {
    const knocked = (await (await post(base, '/_/api/u/alice/knock', {})).json()) as { resumePath: string };

    for (const path of [knocked.resumePath, '/_/signup', '/_/reset', '/']) {
      const res = await get(base, path);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });
});

describe('assets', () => {
  it('serves the scripts and stylesheets the HTML shell names, with their type and immutable caching', async () => {
    const html = await (await get(base, '/alice')).text();
    const scripts = [...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]!);
    const styles = [...html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);

    for (const [paths, type] of [[scripts, /^text\/javascript/], [styles, /^text\/css/]] as const) {
      for (const path of paths) {
        expect(path).toMatch(/^\/_\/assets\//);
        const res = await get(base, path);
        expect({ path, status: res.status }).toEqual({ path, status: 200 });
        expect(res.headers.get('content-type')).toMatch(type);
        expect(res.headers.get('cache-control')).toMatch(/immutable/);
        expect(res.headers.get('cache-control')).toMatch(/max-age=31536000/);
        expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
      }
    }
  });

  it.each([
    '/_/assets/../package.json',
    '/_/assets/..%2Fpackage.json',
    '/_/assets/%2e%2e/package.json',
    '/_/assets/..%2F..%2Fengine%2Fconfig.ts',
    '/_/assets/index.html',
    '/_/assets/app-DOESNOTEXIST.js',
    '/_/assets/.env',
  ])('answers %s with 404 and not a file', async (path) => {
    const res = await rawGet(base, path);
    expect(res.status).toBe(404);
    expect(res.body).not.toMatch(/"name":\s*"knock"|configSchema|KNOCK_/);
  });
});

describe('sockets from other sites', () => {
  const wsUrl = () => base.replace(/^http/, 'ws');

  /** How the handshake ends: the HTTP status of a refusal, or 'open'. */
  function handshake(headers: Record<string, string>): Promise<number | 'open'> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${wsUrl()}/anything`, { headers });
      socket.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        socket.terminate();
      });
      socket.on('open', () => {
        resolve('open');
        socket.terminate();
      });
      socket.on('error', (err) => reject(err));
    });
  }

  it('refuses a WebSocket handshake from a foreign Origin', async () => {
    const outcome = await handshake({ origin: 'http://evil.example' });
    expect([401, 403]).toContain(outcome);
  });

  it('lets the handshake of the server\u2019s own pages through', async () => {
    expect(await handshake({ origin: base })).toBe('open');
  });

  it('refuses matchmaking requested from a foreign Origin with an error, and reserves no seat', async () => {
    const res = await post(base, '/_/matchmake/joinOrCreate/user', { handle: 'alice' }, { origin: 'http://evil.example' });
    const body = (await res.json()) as { error?: { code: string; message: string } };

    expect(res.status).toBe(403);
    expect(body.error).toMatchObject({ code: 'forbidden', message: expect.stringMatching(/not allowed/) });
    expect(body).not.toHaveProperty('sessionId');
  });

  it('gives a foreign Origin no CORS grant on matchmaking answers', async () => {
    // Colyseus's own route answered every origin with `Access-Control-Allow-Origin: *` (its DEFAULT_CORS_HEADERS);
    // Knock's grants only its own pages.
    const res = await post(base, '/_/matchmake/joinOrCreate/user', { handle: 'alice' }, { origin: 'http://evil.example' });
    await res.arrayBuffer();

    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('grants matchmaking with the same body when it comes from the server\u2019s own pages', async () => {
    const res = await post(base, '/_/matchmake/joinOrCreate/user', { handle: 'alice' }, { origin: base });
    const body = (await res.json()) as Record<string, unknown>;

    expect(body).toHaveProperty('sessionId');
    expect(res.headers.get('access-control-allow-origin')).toBe(base);
  });
});
