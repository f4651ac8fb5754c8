/**
 * A call outlives a reload, and a call that has no room left says so (issue 4, "What users get"): the caller reloads
 * the page during a video call and the page rejoins it by itself, media flowing again both ways; on a Knock without
 * a conference server, a device beyond the mesh limit that tries to join reads that the call is full.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_ARGS, CALL_TEST_PING_INTERVAL_MS, CALL_UI_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { callButton, expectMediaFlowing, ownerDevice, peerStats, videoOf, visitorWhoWrote } from '../support/callUi.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { eventually } from '../support/knockUi.ts';

const browser = useBrowser({ args: CALL_ARGS, timeoutMs: CALL_UI_TIMEOUT_MS });
let knock: TestKnock;

beforeAll(async () => {
  // Two devices at most without Janus, so a third is refused.
  knock = await startKnock({ callMeshMax: 2, pingIntervalMs: CALL_TEST_PING_INTERVAL_MS });
});
afterAll(() => knock?.close());

describe('calls across reloads and limits', { timeout: 90_000 }, () => {
  it('rejoins the call after the caller reloads the page: video flows again both ways', async () => {
    await knock.addUser('alice-reload', 'Alice');
    const visitor = await visitorWhoWrote(browser, knock.url, 'alice-reload', 'Vic', 'Calling you now');
    const owner = await ownerDevice(browser, knock.url, 'alice-reload', 'owner', 'Vic');

    await callButton(visitor, 'Video call').click();
    await callButton(owner, 'Accept').click();
    await expectMediaFlowing(visitor, { videoFrom: 1 });

    await visitor.reload();
    // Nothing clicked: the tab takes its place back in the call, and the owner's side connects to it again.
    await videoOf(visitor, 'Alice').waitFor({ timeout: 30_000 });
    await callButton(visitor, 'Hang up').waitFor();
    // Sound may wait for a click after a reload (autoplay rules), so only video is checked here.
    await Promise.all([expectMediaFlowing(visitor, { videoFrom: 1, audio: false }), expectMediaFlowing(owner, { videoFrom: 1, audio: false })]);
    // The owner's connection to the tab that reloaded is gone; one live connection remains.
    await eventually(() => peerStats(owner), (stats) => expect(stats.map((s) => s.state)).toEqual(['connected']));
    // Still the same call: the owner never saw it end.
    expect(await owner.getByText('Call ended').count()).toBe(0);
  });

  it('tells a device beyond the limit that the call is full', async () => {
    await knock.addUser('alice-full', 'Alice');
    const visitor = await visitorWhoWrote(browser, knock.url, 'alice-full', 'Vic', 'Both of you?');
    const [laptop, phone] = await Promise.all([
      ownerDevice(browser, knock.url, 'alice-full', 'owner laptop', 'Vic'),
      ownerDevice(browser, knock.url, 'alice-full', 'owner phone', 'Vic'),
    ]);

    await callButton(visitor, 'Voice call').click();
    await callButton(laptop, 'Accept').click();
    await callButton(phone, 'Join call').click();
    await phone.getByRole('alert').filter({ hasText: 'This call is full: it takes at most 2 people.' }).waitFor();
    // The phone stays out; the call of the two others goes on.
    expect(await callButton(phone, 'Hang up').count()).toBe(0);
    await expectMediaFlowing(visitor, { videoFrom: 0, audioFrom: 1 });
    expect(await callButton(laptop, 'Hang up').isVisible()).toBe(true);
  });
});
