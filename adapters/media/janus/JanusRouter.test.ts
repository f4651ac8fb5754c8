/**
 * The Janus adapter against a real Janus started on 127.0.0.1 by the test: the MediaRouter contract (with and
 * without Janus's signed tokens), and what Janus itself must refuse to anyone who is not Knock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../engine/logger.ts';
import { systemClock } from '../../../engine/ports/clock.ts';
import { mediaRouterContract } from '../../../test/contract/mediaRouter.contract.ts';
import { tryJanusJoin } from '../../../test/support/janusBrowser.ts';
import { startJanus, type JanusOptions, type JanusProcess } from '../../../test/support/janusProcess.ts';
import { JanusHttp, JanusError } from './janusHttp.ts';
import { JanusRouter } from './JanusRouter.ts';

const ADMIN_KEY = 'room-admin-key-for-tests';
const TOKEN_SECRET = 'signed-token-secret-for-tests';

function routerFor(janus: JanusProcess, options: JanusOptions): JanusRouter {
  return new JanusRouter({
    url: janus.httpUrl,
    publicUrl: janus.wsUrl,
    adminKey: options.adminKey,
    tokenSecret: options.tokenSecret,
    joinTtlMs: 600_000,
    clock: systemClock,
    logger: createLogger('silent'),
  });
}

async function underTest(options: JanusOptions) {
  const janus = await startJanus(options);
  const router = routerFor(janus, options);
  return {
    router,
    canJoin: async (join: Parameters<typeof tryJanusJoin>[0]) => (await tryJanusJoin(join)).joined,
    async close() {
      await router.close();
      await janus.stop();
    },
  };
}

mediaRouterContract('JanusRouter (admin_key, signed tokens)', () => underTest({ adminKey: ADMIN_KEY, tokenSecret: TOKEN_SECRET }));
mediaRouterContract('JanusRouter (no admin_key, no tokens)', () => underTest({}));

describe('JanusRouter on a Janus that requires signed tokens', () => {
  let janus: JanusProcess;
  let router: JanusRouter;
  beforeAll(async () => {
    janus = await startJanus({ adminKey: ADMIN_KEY, tokenSecret: TOKEN_SECRET });
    router = routerFor(janus, { adminKey: ADMIN_KEY, tokenSecret: TOKEN_SECRET });
  });
  afterAll(async () => {
    await router?.close();
    await janus?.stop();
  });

  it('creates a room only Knock can manage: a room secret and admin key Janus checks', async () => {
    const room = await router.createRoom('call-secret-check', { capacity: 4 });
    const knock = new JanusHttp({ url: janus.httpUrl, tokenSecret: TOKEN_SECRET, timeoutMs: 5000, clock: systemClock });
    const refusal = (body: Record<string, unknown>) =>
      knock.withPlugin('janus.plugin.videoroom', (request) => request(body)).then(
        () => null,
        (err: unknown) => (err instanceof JanusError ? err.code : String(err)),
      );

    expect(await refusal({ request: 'destroy', room: Number(room.ref), secret: 'guessed-secret' })).toBe(433);
    expect(await refusal({ request: 'allowed', room: Number(room.ref), secret: 'guessed-secret', action: 'add', allowed: ['mine'] })).toBe(433);
    expect(await refusal({ request: 'create', secret: 'x', description: 'not knock' })).toBe(429); // admin_key missing
    const listed = await knock.withPlugin('janus.plugin.videoroom', (request) => request({ request: 'list' }));
    expect(JSON.stringify(listed)).not.toContain(room.ref);
    knock.close();

    await router.destroyRoom(room);
  });

  it('lets a member in with the pass Knock issued, and nobody in without Janus\u2019s signed token', async () => {
    const room = await router.createRoom('call-token-check', { capacity: 4 });
    const join = await router.issueJoin(room, { memberId: 'device-1', name: 'Alice' });
    expect(join).toMatchObject({ provider: 'janus', url: janus.wsUrl, room: room.ref });
    expect(join.params.apiToken).toMatch(/^\d+,janus,janus\.plugin\.videoroom:/);

    expect(await tryJanusJoin(join)).toEqual({ joined: true });
    const { apiToken: _dropped, ...withoutApiToken } = join.params;
    expect(await tryJanusJoin({ ...join, params: withoutApiToken })).toMatchObject({ joined: false, reason: expect.stringMatching(/Unauthorized/) });
    const expired = join.params.apiToken!.replace(/^\d+/, String(Math.floor(Date.now() / 1000) - 60));
    expect(await tryJanusJoin({ ...join, params: { ...join.params, apiToken: expired } })).toMatchObject({ joined: false });
    await router.destroyRoom(room);
  });

  it('fails readably when Janus is not there', async () => {
    const gone = new JanusRouter({
      url: 'http://127.0.0.1:9/janus',
      publicUrl: 'ws://127.0.0.1:9',
      joinTtlMs: 60_000,
      requestTimeoutMs: 1000,
      clock: systemClock,
      logger: createLogger('silent'),
    });
    await expect(gone.createRoom('call-nowhere', { capacity: 4 })).rejects.toThrow();
    await gone.close();
    await gone.close();
    await expect(gone.createRoom('call-after-close', { capacity: 4 })).rejects.toThrow(/closed/);
  });
});
