/**
 * The matchmaking route under Knock's own HTTP limits (issue 13, hole 4): Colyseus's route read whole bodies of any
 * size (a 50 MB POST raised the server's memory from 129 to 389 MB), never answered PUT or HEAD, took any URL that
 * contained "/matchmake", exposed create / join / joinById / reconnect, and had no rate limit. Each test is the
 * probe's request; each failed (or hung) on the code before.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../engine/http/matchmaking.ts';
import { testRateLimits } from '../support/cast.ts';
import { get, post } from '../support/httpClient.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';

const JOINS_PER_MINUTE = 20;
let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock({ rateLimits: testRateLimits({ matchmakesPerIp: { perWindow: JOINS_PER_MINUTE, windowMs: 60_000 } }) });
  await knock.addUser('alice', 'Alice');
});
afterAll(() => knock.close());

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A request whose body is announced but never sent (or only `send` of it): the answer must come anyway, without the
 * server waiting for (or reading) bytes beyond its limit.
 */
function request(method: string, path: string, opts: { headers?: Record<string, string | number>; send?: Buffer } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, knock.url);
    const req = http.request(url, { method, headers: { origin: knock.url, ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || (err as NodeJS.ErrnoException).code === 'EPIPE' ? undefined : reject(err)));
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${path}: no answer within 5 s`)));
    if (opts.send) req.write(opts.send);
    else req.flushHeaders();
  });
}

describe('the matchmaking route', () => {
  it('refuses a 50 MB body at once, from what it announces, without reading it', async () => {
    for (const path of ['/_/matchmake/joinOrCreate/user', '/matchmake/joinOrCreate/user']) {
      const answer = await request('POST', path, { headers: { 'content-type': 'application/json', 'content-length': 50 * 1024 * 1024 } });
      expect(answer.status, path).toBe(path.startsWith('/_/') ? 413 : 405);
    }
  });

  it('stops reading a body sent without a length once it passes the limit', async () => {
    const answer = await request('POST', '/_/matchmake/joinOrCreate/user', {
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      send: Buffer.alloc(MAX_BODY_BYTES * 4, 0x20),
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'too_large' } });
  });

  it.each(['PUT', 'DELETE', 'PATCH', 'HEAD', 'GET'])('answers %s with 405 and the methods it takes', async (method) => {
    for (const path of ['/_/matchmake/joinOrCreate/user', '/matchmake/x']) {
      const answer = await request(method, path);
      expect(answer.status, path).toBe(method === 'GET' || method === 'HEAD' ? (path.startsWith('/_/') ? 405 : 404) : 405);
    }
  });

  it.each(['create/user', 'join/user', 'joinById/abcdefghi', 'reconnect/abcdefghi', 'joinOrCreate/nosuchroom', 'joinOrCreate/user/extra'])(
    'offers no %s: only joinOrCreate on Knock\u2019s room types',
    async (call) => {
      const res = await post(knock.url, `/_/matchmake/${call}`, { handle: 'alice' }, { origin: knock.url });
      const text = await res.text();
      expect(res.status).toBe(404);
      expect(text).not.toMatch(/sessionId/);
    },
  );

  it('takes JSON only (no cross-site form can send it without a preflight)', async () => {
    const res = await post(knock.url, '/_/matchmake/joinOrCreate/user', 'handle=alice', { origin: knock.url, contentType: 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(400);
  });

  it('is a page, not the matchmaker, wherever else "/matchmake" appears in a URL', async () => {
    const res = await get(knock.url, '/alice/matchmake/joinOrCreate/user');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('answers a preflight from the server\u2019s own pages, and refuses one from another site', async () => {
    const own = await request('OPTIONS', '/_/matchmake/joinOrCreate/user', { headers: { 'access-control-request-method': 'POST' } });
    expect(own.status).toBe(204);
    expect(own.headers['access-control-allow-origin']).toBe(knock.url);
    const foreign = await request('OPTIONS', '/_/matchmake/joinOrCreate/user', { headers: { origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
  });

  // Last: it spends this address's joins.
  it('limits joins per address with a clear answer saying when to try again, and nothing else', async () => {
    const join = () => post(knock.url, '/_/matchmake/joinOrCreate/user', { handle: 'alice' }, { origin: knock.url });
    const answers: number[] = [];
    for (let i = 0; i < JOINS_PER_MINUTE + 2; i++) {
      const res = await join();
      await res.arrayBuffer();
      answers.push(res.status);
      if (res.status === 429) {
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        break;
      }
    }
    expect(answers.at(-1)).toBe(429);
    // Earlier tests of this file spent some of the address's joins too (refusals count: they are requests).
    expect(answers.length).toBeLessThanOrEqual(JOINS_PER_MINUTE + 1);
    expect((await get(knock.url, '/_/api/profile/alice')).status).toBe(200);
  });
});
