/**
 * One-to-one calls in real Chromium with a fake camera and microphone (issue 4, "Done when" 2): the owner and a
 * visitor call each other from the page, and each side decodes the other's video frames and audio, read from WebRTC's
 * own statistics; a declined and a missed call are recorded in the conversation on both sides; hanging up releases
 * the camera and the microphone. Without Janus, a third device joins peer-to-peer (a mesh).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { CALL_ARGS, CALL_TEST_PING_INTERVAL_MS, CALL_UI_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { callButton, captureTrackCount, expectMediaFlowing, liveCaptureTracks, ownerDevice, peerStats, videoOf, visitorWhoWrote } from '../support/callUi.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { eventually, expectMessage, messageBox, messageTexts, openConversation } from '../support/knockUi.ts';

const browser = useBrowser({ args: CALL_ARGS, timeoutMs: CALL_UI_TIMEOUT_MS });
let knock: TestKnock;
/** Short enough for the missed-call test, long enough for a busy machine to click Accept in time. */
const RING_TIMEOUT_MS = 8000;

beforeAll(async () => {
  knock = await startKnock({ callRingTimeoutMs: RING_TIMEOUT_MS, pingIntervalMs: CALL_TEST_PING_INTERVAL_MS });
});
afterAll(() => knock?.close());

/** The owner logged in at their URL (no conversation open), and a visitor "Vic" who wrote to them. */
async function ownerAndVisitorTalking(handle: string): Promise<{ owner: Page; visitor: Page }> {
  await knock.addUser(handle, 'Alice');
  const [owner, visitor] = await Promise.all([
    ownerDevice(browser, knock.url, handle, 'owner'),
    visitorWhoWrote(browser, knock.url, handle, 'Vic', 'Hello, can we talk?'),
  ]);
  await callButton(visitor, 'Video call').waitFor();
  return { owner, visitor };
}

// Calls start cameras, encoders and decoders in two pages: slower than chat on a busy machine.
describe('one-to-one calls in the browser', { timeout: 90_000 }, () => {
  it('connects a video call from the visitor, answered in the owner console: both sides decode video and audio', async () => {
    const { owner, visitor } = await ownerAndVisitorTalking('alice-video');
    // The owner has no conversation open: the console rings (through the owner's UserRoom) and Accept opens it.
    await callButton(visitor, 'Video call').click();
    await visitor.getByText('Ringing…').waitFor();
    await callButton(owner, 'Accept').click();
    await messageBox(owner).waitFor();

    await videoOf(visitor, 'Alice').waitFor({ timeout: 10_000 });
    await videoOf(owner, 'Vic').waitFor({ timeout: 10_000 });
    await Promise.all([expectMediaFlowing(visitor, { videoFrom: 1 }), expectMediaFlowing(owner, { videoFrom: 1 })]);
    // Connected: the status gives way to the timer; the call buttons are gone while in the call.
    await visitor.getByLabel(/^Call time \d+:\d\d$/).waitFor({ timeout: 10_000 });
    expect(await callButton(visitor, 'Video call').count()).toBe(0);

    await callButton(owner, 'Hang up').click();
    for (const page of [owner, visitor]) {
      await page.getByText('Call ended').waitFor();
      // The record, from the caller: "Video call, 7 s" (short calls count seconds).
      await eventually(() => messageTexts(page), (texts) => expect(texts.some((t) => /^Video call, \d+ s$/.test(t.trim()))).toBe(true));
    }
  });

  it('records a declined call and a missed call in the conversation of both sides', async () => {
    const { owner, visitor } = await ownerAndVisitorTalking('alice-declines');
    await openConversation(owner, 'Vic');

    // Declined: the owner has the conversation open, so it rings in its pane.
    await callButton(visitor, 'Voice call').click();
    await callButton(owner, 'Decline').click();
    for (const page of [owner, visitor]) await expectMessage(page, 'Declined call');
    await eventually(() => liveCaptureTracks(visitor), (live) => expect(live).toEqual([]));

    // Missed: the owner calls and nobody answers before the ring times out.
    await callButton(owner, 'Video call').click();
    await callButton(visitor, 'Accept').waitFor();
    for (const page of [owner, visitor]) {
      await eventually(() => page.getByText('Missed video call', { exact: true }).count(), (n) => expect(n).toBe(1), RING_TIMEOUT_MS + 5000);
    }
    // The ring stopped, and the caller's camera is free again.
    expect(await callButton(visitor, 'Accept').count()).toBe(0);
    await eventually(() => liveCaptureTracks(owner), (live) => expect(live).toEqual([]));
  });

  it('stops the camera on "Camera off", silences on "Mute", and releases camera and microphone on both sides when either hangs up', async () => {
    const { owner, visitor } = await ownerAndVisitorTalking('alice-hangs-up');
    await openConversation(owner, 'Vic');
    await callButton(owner, 'Video call').click();
    await callButton(visitor, 'Accept').click();
    await expectMediaFlowing(owner, { videoFrom: 1, audio: false });
    for (const page of [owner, visitor]) {
      // Camera and microphone were really opened, and are live during the call.
      expect(await captureTrackCount(page)).toBeGreaterThanOrEqual(2);
      expect((await liveCaptureTracks(page)).length).toBeGreaterThanOrEqual(2);
    }

    // Camera off stops the camera itself (its light goes off), and the other side is told; on again, video resumes.
    await callButton(owner, 'Camera off').click();
    await eventually(() => liveCaptureTracks(owner), (live) => expect(live.map((t) => t.split(':')[0])).toEqual(['audio']));
    await visitor.getByText('(camera off)').waitFor();
    await callButton(owner, 'Camera off').click();
    await eventually(() => liveCaptureTracks(owner), (live) => expect(live.map((t) => t.split(':')[0]).sort()).toEqual(['audio', 'video']));
    await expectMediaFlowing(visitor, { videoFrom: 1, audio: false });

    // Mute: the other side is told, and hears (almost) nothing more: the audio energy it receives over a second and a
    // half falls to a small part of what it was before. (No event marks silence: a span of time is what it takes.)
    const energy = async () => (await peerStats(visitor)).flatMap((s) => s.audioEnergy).reduce((a, b) => a + b, 0);
    const heard = async () => {
      const from = await energy();
      await visitor.waitForTimeout(1500);
      return (await energy()) - from;
    };
    const unmuted = await heard();
    await callButton(owner, 'Mute').click();
    await visitor.getByText('(muted)').waitFor();
    await visitor.waitForTimeout(500); // what was on its way when the microphone went quiet (the jitter buffer)
    expect(await heard()).toBeLessThan(unmuted / 20);
    await callButton(owner, 'Mute').click();
    await expectMediaFlowing(visitor, { videoFrom: 0, audioFrom: 1 });

    await callButton(visitor, 'Hang up').click();
    for (const page of [visitor, owner]) {
      await eventually(() => liveCaptureTracks(page), (live) => expect(live).toEqual([]));
      await callButton(page, 'Video call').waitFor();
    }
  });

  it('carries a call of three devices peer-to-peer (a mesh) when there is no conference server', async () => {
    const { owner: laptop, visitor } = await ownerAndVisitorTalking('alice-mesh');
    const phone = await ownerDevice(browser, knock.url, 'alice-mesh', 'owner phone', 'Vic');
    await openConversation(laptop, 'Vic');
    await callButton(visitor, 'Video call').click();
    await callButton(laptop, 'Accept').click();
    await expectMediaFlowing(visitor, { videoFrom: 1 });
    await callButton(phone, 'Join call').click();
    // Each device sends to and receives from both others: two peer connections per page, video from two.
    for (const page of [visitor, laptop, phone]) await expectMediaFlowing(page, { videoFrom: 2, timeout: 20_000 });
    for (const page of [visitor, laptop, phone]) {
      await eventually(() => peerStats(page), (stats) => expect(stats.map((s) => s.state)).toEqual(['connected', 'connected']));
    }
    expect(await videoOf(visitor, 'Alice').count()).toBe(2);
    expect(await videoOf(phone, 'Vic').count()).toBe(1);
  });

  it('switches to another microphone and shares the screen mid-call, the other side still receiving', async () => {
    const { owner, visitor } = await ownerAndVisitorTalking('alice-devices');
    await openConversation(owner, 'Vic');
    await callButton(visitor, 'Video call').click();
    await callButton(owner, 'Accept').click();
    await expectMediaFlowing(visitor, { videoFrom: 1 });
    const connections = (await peerStats(owner)).length;

    // Chromium's fake devices: several microphones. Choosing another opens it, stops the one before, and the
    // visitor keeps hearing the owner over the same connection (the track is replaced, nothing renegotiated).
    await owner.getByRole('button', { name: 'Devices' }).click();
    const microphone = owner.getByRole('combobox', { name: 'Microphone' });
    // The list fills once the browser has listed its devices (a moment after the panel opens), as a person sees.
    const choices = await eventually(
      () => microphone.locator('option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value)),
      (values) => expect(values.length).toBeGreaterThan(1),
    );
    const current = await microphone.inputValue();
    const before = await liveCaptureTracks(owner);
    await microphone.selectOption(choices.find((c) => c !== current)!);
    await eventually(() => liveCaptureTracks(owner), (live) => {
      const audio = live.filter((t) => t.startsWith('audio'));
      expect(audio).toHaveLength(1);
      expect(before).not.toContain(audio[0]);
    });
    await expectMediaFlowing(visitor, { videoFrom: 1 });
    expect((await peerStats(owner)).length).toBe(connections);

    // The screen instead of the camera (Chromium's fake screen), then the camera again: video never stops.
    const share = callButton(owner, 'Share screen');
    await share.click();
    await eventually(() => share.getAttribute('aria-pressed'), (pressed) => expect(pressed).toBe('true'));
    await expectMediaFlowing(visitor, { videoFrom: 1, audio: false });
    await share.click();
    await eventually(() => share.getAttribute('aria-pressed'), (pressed) => expect(pressed).toBe('false'));
    await expectMediaFlowing(visitor, { videoFrom: 1, audio: false });
    expect((await peerStats(owner)).length).toBe(connections);
  });

  it('restarts ICE on either side (as after a network change) through the conversation, media still flowing', async () => {
    const { owner, visitor } = await ownerAndVisitorTalking('alice-ice');
    await openConversation(owner, 'Vic');
    await callButton(visitor, 'Video call').click();
    await callButton(owner, 'Accept').click();
    await expectMediaFlowing(visitor, { videoFrom: 1 });
    // What the app does when a connection fails or stays disconnected: restartIce(), here on each side in turn (the
    // caller answered the first offer; the callee made it), with new ICE credentials negotiated each time.
    // Both ends' credentials change and the offer/answer completes: the restart went through the signalling.
    const ice = (page: typeof owner) =>
      page.evaluate(() => {
        const pc = window.__knockMedia!.connections.find((c) => c.connectionState !== 'closed')!;
        const ufrag = (sdp: string | undefined) => /a=ice-ufrag:(\S+)/.exec(sdp ?? '')?.[1] ?? null;
        // '|' is not an ICE character; '/' is, and a ufrag holding one split the answer wrongly.
        return `${ufrag(pc.localDescription?.sdp)}|${ufrag(pc.remoteDescription?.sdp)}|${pc.signalingState}`;
      });
    for (const page of [visitor, owner]) {
      const [local, remote] = (await ice(page)).split('|');
      await page.evaluate(() => window.__knockMedia!.connections.find((c) => c.connectionState !== 'closed')!.restartIce());
      await eventually(() => ice(page), (now) => {
        const [l, r, state] = now.split('|');
        expect([l !== local, r !== remote, state]).toEqual([true, true, 'stable']);
      }, 10_000);
      await Promise.all([expectMediaFlowing(visitor, { videoFrom: 1 }), expectMediaFlowing(owner, { videoFrom: 1 })]);
    }
    expect((await peerStats(owner)).map((s) => s.state)).toEqual(['connected']);
  });
});
