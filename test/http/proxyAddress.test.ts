/**
 * Per-address limits behind a reverse proxy (KNOCK_TRUST_PROXY), attacked as a client would: it writes
 * X-Forwarded-For entries of its own, hoping to be counted as someone new each time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { post } from '../support/httpClient.ts';
import { testRateLimits } from '../support/cast.ts';

let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock({ trustProxy: true, rateLimits: testRateLimits({ knocksPerIp: { perWindow: 2, windowMs: 60_000 } }) });
  await knock.addUser('alice', 'Alice');
});
afterAll(() => knock?.close());

/** A knock as it reaches Knock through nginx: the client's own header, then the address nginx saw, appended. */
function knockVia(clientWrote: string, proxySaw: string): Promise<Response> {
  return post(knock.url, '/_/api/u/alice/knock', {}, { headers: { 'x-forwarded-for': `${clientWrote}, ${proxySaw}` } });
}

describe('behind one trusted proxy', () => {
  it('counts a client by the address its proxy added, whatever X-Forwarded-For entries it wrote itself', async () => {
    expect((await knockVia('10.0.0.1', '203.0.113.7')).status).toBe(201);
    expect((await knockVia('10.0.0.2', '203.0.113.7')).status).toBe(201);

    const third = await knockVia('10.0.0.3', '203.0.113.7');
    expect(third.status).toBe(429);
    expect(((await third.json()) as { error: { code: string } }).error.code).toBe('rate_limited');

    // Someone else behind the same proxy is not affected.
    expect((await knockVia('10.0.0.3', '203.0.113.8')).status).toBe(201);
  });
});
