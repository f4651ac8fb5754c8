/**
 * A conference of three in real Chromium through a real Janus (issue 4, "Done when" 3): a visitor calls, the owner
 * answers on one device and joins from another; at the third device the call moves from peer-to-peer to Janus's
 * VideoRoom, and every participant decodes video (and audio) from both others, read from WebRTC's statistics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_ARGS, CALL_TEST_PING_INTERVAL_MS, CALL_UI_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { callButton, expectMediaFlowing, ownerDevice, peerStats, videoOf, visitorWhoWrote } from '../support/callUi.ts';
import { startJanus, type JanusProcess } from '../support/janusProcess.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { eventually, messageList } from '../support/knockUi.ts';

const ADMIN_KEY = 'e2e-admin-key';
const TOKEN_SECRET = 'e2e-token-secret';
const browser = useBrowser({ args: CALL_ARGS, timeoutMs: CALL_UI_TIMEOUT_MS });
let janus: JanusProcess;
let knock: TestKnock;

beforeAll(async () => {
  janus = await startJanus({ adminKey: ADMIN_KEY, tokenSecret: TOKEN_SECRET });
  knock = await startKnock({
    janusUrl: janus.httpUrl,
    janusPublicUrl: janus.wsUrl,
    janusAdminKey: ADMIN_KEY,
    janusTokenSecret: TOKEN_SECRET,
    pingIntervalMs: CALL_TEST_PING_INTERVAL_MS,
  });
});
afterAll(async () => {
  await knock?.close();
  await janus?.stop();
});

describe('conference calls through Janus', { timeout: 120_000 }, () => {
  it('moves the call to Janus at the third device; everyone decodes video and audio from both others, and the rest go on when one leaves', async () => {
    await knock.addUser('alice-conf', 'Alice');
    const visitor = await visitorWhoWrote(browser, knock.url, 'alice-conf', 'Vic', 'A call with all of you?');
    const [laptop, phone] = await Promise.all([
      ownerDevice(browser, knock.url, 'alice-conf', 'owner laptop', 'Vic'),
      ownerDevice(browser, knock.url, 'alice-conf', 'owner phone', 'Vic'),
    ]);

    await callButton(visitor, 'Video call').click();
    // Both of the owner's devices ring; the laptop answers, the phone then offers to join the call going on.
    await callButton(phone, 'Accept').waitFor();
    await callButton(laptop, 'Accept').click();
    await expectMediaFlowing(visitor, { videoFrom: 1 });
    await callButton(phone, 'Join call').click();

    await eventually(() => videoOf(visitor, 'Alice').count(), (n) => expect(n).toBe(2), 20_000);
    await Promise.all([
      expectMediaFlowing(visitor, { videoFrom: 2, timeout: 30_000 }),
      expectMediaFlowing(laptop, { videoFrom: 2, timeout: 30_000 }),
      expectMediaFlowing(phone, { videoFrom: 2, timeout: 30_000 }),
    ]);
    for (const page of [laptop, phone]) {
      await eventually(async () => [await videoOf(page, 'Vic').count(), await videoOf(page, 'Alice').count()], (counts) => expect(counts).toEqual([1, 1]));
    }
    // Through Janus: no peer connection goes between two browsers any more. Each page has its publisher and one
    // subscriber per other participant, all connected, and the peer-to-peer connection of before is closed.
    for (const page of [visitor, laptop, phone]) {
      const open = await peerStats(page);
      expect(open.map((s) => s.state)).toEqual(['connected', 'connected', 'connected']);
    }

    // One leaves: the two others go on through Janus, without a reconnection, each still receiving the other.
    await callButton(phone, 'Hang up').click();
    await eventually(() => videoOf(visitor, 'Alice').count(), (n) => expect(n).toBe(1), 10_000);
    await expectMediaFlowing(visitor, { videoFrom: 1 });
    await expectMediaFlowing(laptop, { videoFrom: 1 });
    expect(await visitor.getByText('Reconnecting…').count()).toBe(0);
    await callButton(laptop, 'Hang up').click();
    for (const page of [visitor, laptop]) await messageList(page).getByText(/^Video call, \d+ s$/).waitFor({ timeout: 10_000 });
  });
});
