/**
 * With a conference server, browsers open Janus's WebSocket API themselves: the pages' Content-Security-Policy names
 * its origin in connect-src, and nothing else. (A file of its own: Colyseus allows one server per process.)
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { get } from '../support/httpClient.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';

let knock: TestKnock;
beforeAll(async () => {
  // Nothing listens there: Knock talks to Janus only when a call needs a room, and this test makes none.
  knock = await startKnock({ janusUrl: 'http://127.0.0.1:9/janus', janusPublicUrl: 'wss://media.example.com:8989/_/janus' });
  await knock.addUser('alice', 'Alice');
});
afterAll(() => knock.close());

it('lets pages open sockets to their own origin and to Janus\u2019s WebSocket API', async () => {
  const header = (await get(knock.url, '/alice')).headers.get('content-security-policy') ?? '';
  const connectSrc = header.split(';').map((d) => d.trim()).find((d) => d.startsWith('connect-src'));
  expect(connectSrc).toBe("connect-src 'self' wss://media.example.com:8989");
});
