/**
 * TURN credentials as Knock mints them (engine/turn.ts) against a real coturn configured with the shared-secret
 * scheme: they open a relay while valid, and an expired one, one minted with another secret, or a username someone
 * changed, does not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IceServerIssuer, turnCredential, turnUsername } from '../../engine/turn.ts';
import { startCoturn, type CoturnProcess } from '../support/coturnProcess.ts';
import { allocate } from '../support/turnClient.ts';

const SECRET = 'the-shared-secret-of-knock-and-coturn';
let turn: CoturnProcess;

beforeAll(async () => {
  turn = await startCoturn({ secret: SECRET });
});
afterAll(() => turn?.stop());

function issuer(secret: string, now = Date.now()): IceServerIssuer {
  return new IceServerIssuer({ iceServers: [{ urls: [`turn:127.0.0.1:${turn.port}?transport=udp`] }], turnSecret: secret, turnTtlMs: 600_000 }, { now: () => now });
}

describe('TURN credentials from the shared secret', () => {
  it('opens a relay with the credentials a call member is given', async () => {
    const [server] = issuer(SECRET).issue('call-1.device-1').iceServers;
    expect(server).toMatchObject({ username: expect.stringMatching(/^\d+:call-1\.device-1$/) });
    expect(await allocate(turn, { username: server!.username!, credential: server!.credential! })).toEqual({ ok: true });
  });

  it('refuses credentials that expired', async () => {
    const [server] = issuer(SECRET, Date.now() - 3600_000).issue('call-1.device-1').iceServers;
    expect(await allocate(turn, { username: server!.username!, credential: server!.credential! })).toMatchObject({ ok: false, code: 401 });
  });

  it('refuses credentials minted with another secret, or a username extended by hand', async () => {
    const [forged] = issuer('not-the-shared-secret-at-all').issue('call-1.device-1').iceServers;
    expect(await allocate(turn, { username: forged!.username!, credential: forged!.credential! })).toMatchObject({ ok: false, code: 401 });

    const username = turnUsername(Date.now() + 600_000, 'device-1');
    const credential = turnCredential(SECRET, username);
    const extended = turnUsername(Date.now() + 30 * 24 * 3600_000, 'device-1');
    expect(await allocate(turn, { username: extended, credential })).toMatchObject({ ok: false, code: 401 });
    expect(await allocate(turn, { username, credential })).toEqual({ ok: true });
  });
});
