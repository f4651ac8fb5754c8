/**
 * DNS rebinding against a server with KNOCK_PUBLIC_URL set: the attacker's name resolves to Knock, so the attacker's
 * page sends requests whose Origin and Host both name the attacker's host. Only the public URL's pages may write
 * through the API, open sockets or be answered by matchmaking.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { rawPost, wsHandshake } from '../support/httpClient.ts';

const PUBLIC_URL = 'https://chat.example.com';
const REBOUND = 'rebound.example:8080';
let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock({ publicUrl: PUBLIC_URL });
  await knock.addUser('alice', 'Alice');
});
afterAll(() => knock?.close());

/** A WebSocket handshake as the page at `origin` makes it, naming `host`. */
function handshake(headers: { origin: string; host: string }): Promise<'open' | number> {
  return wsHandshake(knock.url, { origin: headers.origin, headers: { host: headers.host } });
}

describe('with KNOCK_PUBLIC_URL set', () => {
  it('refuses API writes from a page whose Origin only equals the Host it sent', async () => {
    const res = await rawPost(knock.url, '/_/api/u/alice/knock', {}, { origin: `http://${REBOUND}`, host: REBOUND });
    expect(res.status).toBe(403);
    expect((JSON.parse(res.body) as { error: { code: string } }).error.code).toBe('forbidden');

    const fromPublicPage = await rawPost(knock.url, '/_/api/u/alice/knock', {}, { origin: PUBLIC_URL, host: REBOUND });
    expect(fromPublicPage.status).toBe(201);
  });

  it('refuses the WebSocket handshake of such a page, and accepts the public URL\u2019s', async () => {
    expect(await handshake({ origin: `http://${REBOUND}`, host: REBOUND })).toBe(403);
    expect(await handshake({ origin: PUBLIC_URL, host: REBOUND })).toBe('open');
  });

  it('does not let such a page read matchmaking answers, nor be seated in a room', async () => {
    const res = await rawPost(knock.url, '/_/matchmake/joinOrCreate/user', { handle: 'alice' }, { origin: `http://${REBOUND}`, host: REBOUND });
    expect(res.status).toBe(403);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(JSON.parse(res.body)).not.toHaveProperty('sessionId');

    const fromPublicPage = await rawPost(knock.url, '/_/matchmake/joinOrCreate/user', { handle: 'alice' }, { origin: PUBLIC_URL, host: REBOUND });
    expect(fromPublicPage.status).toBe(200);
    expect(fromPublicPage.headers['access-control-allow-origin']).toBe(PUBLIC_URL);
    expect(JSON.parse(fromPublicPage.body)).toHaveProperty('sessionId');
  });
});
