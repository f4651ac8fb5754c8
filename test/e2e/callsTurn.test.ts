/**
 * Calls through a TURN relay (issue 4, "Done when" 4): a real coturn on 127.0.0.1 with the shared-secret scheme, and
 * Knock configured with KNOCK_ICE_TRANSPORT_POLICY=relay, so browsers may use relayed candidates only. The call
 * connects, media flows, and the candidate pair WebRTC selected is a relay on both sides, with the credentials Knock
 * minted for each member (no static TURN password anywhere).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_ARGS, CALL_TEST_PING_INTERVAL_MS, CALL_UI_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { callButton, expectMediaFlowing, ownerDevice, peerStats, videoOf, visitorWhoWrote } from '../support/callUi.ts';
import { startCoturn, type CoturnProcess } from '../support/coturnProcess.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { eventually } from '../support/knockUi.ts';

const TURN_SECRET = 'e2e-turn-shared-secret';
const browser = useBrowser({ args: CALL_ARGS, timeoutMs: CALL_UI_TIMEOUT_MS });
let turn: CoturnProcess;
let knock: TestKnock;

beforeAll(async () => {
  turn = await startCoturn({ secret: TURN_SECRET });
  knock = await startKnock({
    iceServers: [{ urls: [`turn:${turn.host}:${turn.port}?transport=udp`] }],
    turnSecret: TURN_SECRET,
    iceTransportPolicy: 'relay',
    pingIntervalMs: CALL_TEST_PING_INTERVAL_MS,
  });
});
afterAll(async () => {
  await knock?.close();
  await turn?.stop();
});

describe('calls through a TURN relay', { timeout: 90_000 }, () => {
  it('connects a call with iceTransportPolicy "relay": media flows and the selected candidate pair is a relay', async () => {
    await knock.addUser('alice-turn', 'Alice');
    const visitor = await visitorWhoWrote(browser, knock.url, 'alice-turn', 'Vic', 'Calling from behind a NAT');
    const owner = await ownerDevice(browser, knock.url, 'alice-turn', 'owner', 'Vic');

    await callButton(visitor, 'Video call').click();
    await callButton(owner, 'Accept').click();
    await videoOf(visitor, 'Alice').waitFor({ timeout: 10_000 });
    await Promise.all([expectMediaFlowing(visitor, { videoFrom: 1 }), expectMediaFlowing(owner, { videoFrom: 1 })]);
    for (const page of [owner, visitor]) {
      const [stats] = await eventually(() => peerStats(page), (s) => expect(s[0]?.localCandidateType).not.toBeNull());
      expect(stats).toMatchObject({ state: 'connected', localCandidateType: 'relay', remoteCandidateType: 'relay' });
    }
    // The page got the policy and TURN credentials of its own, expiring ("<expiry>:<call>.<device>"), from its ticket.
    const configs = await visitor.evaluate(() =>
      (window.__knockMedia?.connections ?? []).map((pc) => {
        const c = pc.getConfiguration();
        return { policy: c.iceTransportPolicy, usernames: (c.iceServers ?? []).map((s) => s.username) };
      }),
    );
    expect(configs.length).toBeGreaterThan(0);
    for (const c of configs) {
      expect(c.policy).toBe('relay');
      expect(c.usernames).toEqual([expect.stringMatching(/^\d{10}:[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)]);
    }
  });
});
