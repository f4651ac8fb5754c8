/**
 * Conferences through mediasoup in real Chromium with fake devices (issue 23, "Done when" 2): Knock itself is the
 * SFU (its worker built by npm install), on 127.0.0.1. A visitor calls, the owner answers on one device and joins
 * from others; from the third device the call goes through mediasoup and every member decodes video and audio from
 * every other one (WebRTC's statistics: frames decoded and audio energy growing). Mute and camera off are seen by the
 * others, a reloaded tab rejoins, and a worker killed with SIGKILL is replaced while the call recovers by itself.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { CALL_ARGS, CALL_TEST_PING_INTERVAL_MS, CALL_UI_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { callButton, expectMediaFlowing, ownerDevice, peerStats, videoOf, visitorWhoWrote } from '../support/callUi.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { eventually } from '../support/knockUi.ts';

const browser = useBrowser({ args: CALL_ARGS, timeoutMs: CALL_UI_TIMEOUT_MS });
let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock({ sfu: 'mediasoup', mediasoupWorkers: 1, rtcListenIp: '127.0.0.1', pingIntervalMs: CALL_TEST_PING_INTERVAL_MS });
});
afterAll(() => knock?.close());

/** The mediasoup workers this test's Knock started (children of this process). */
function workerPids(): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid), '-f', 'mediasoup-worker'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Through mediasoup each page holds two connections, to send and to receive, both connected; none to another browser. */
async function expectThroughSfu(page: Page): Promise<void> {
  await eventually(() => peerStats(page), (stats) => expect(stats.map((s) => s.state)).toEqual(['connected', 'connected']), 30_000);
}

/** A visitor and `devices` of the owner's devices in one video call (the first answers, the others join). */
async function conference(handle: string, devices: number): Promise<{ visitor: Page; owners: Page[] }> {
  await knock.addUser(handle, 'Alice');
  const visitor = await visitorWhoWrote(browser, knock.url, handle, 'Vic', 'A call with all of you?');
  const owners: Page[] = [];
  for (let i = 0; i < devices; i++) owners.push(await ownerDevice(browser, knock.url, handle, `owner device ${i + 1}`, 'Vic'));
  await callButton(visitor, 'Video call').click();
  await callButton(owners[0]!, 'Accept').click();
  await expectMediaFlowing(visitor, { videoFrom: 1 });
  for (const owner of owners.slice(1)) await callButton(owner, 'Join call').click();
  return { visitor, owners };
}

describe('conference calls through mediasoup', { timeout: 240_000 }, () => {
  it('moves a call to mediasoup at the third device; all decode each other; mute, camera off, a reload and a killed worker are lived through', async () => {
    const { visitor, owners } = await conference('alice-sfu3', 2);
    const [laptop, phone] = owners as [Page, Page];
    const everyone = [visitor, laptop, phone];
    await Promise.all(everyone.map((page) => expectMediaFlowing(page, { videoFrom: 2, timeout: 45_000 })));
    await Promise.all(everyone.map(expectThroughSfu));
    for (const page of [laptop, phone]) {
      await eventually(async () => [await videoOf(page, 'Vic').count(), await videoOf(page, 'Alice').count()], (counts) => expect(counts).toEqual([1, 1]));
    }

    // Camera off and mute on the laptop: the others are told; back on, its video is decoded again.
    await callButton(laptop, 'Camera off').click();
    await visitor.getByText('(camera off)').waitFor();
    await callButton(laptop, 'Camera off').click();
    await callButton(laptop, 'Mute').click();
    await phone.getByText('(muted)').waitFor();
    await callButton(laptop, 'Mute').click();
    await expectMediaFlowing(visitor, { videoFrom: 2, timeout: 30_000 });

    // The visitor reloads (its page is the conversation's own address; an owner's reload lands in the inbox): nothing
    // clicked, it takes its place back, sees both of Alice's devices again and both decode it again (its own sound may
    // wait for a click after a reload: video only there).
    await visitor.reload();
    await videoOf(visitor, 'Alice').nth(1).waitFor({ timeout: 30_000 });
    await Promise.all([
      expectMediaFlowing(visitor, { videoFrom: 2, audio: false, timeout: 45_000 }),
      expectMediaFlowing(laptop, { videoFrom: 2, timeout: 45_000 }),
      expectMediaFlowing(phone, { videoFrom: 2, timeout: 45_000 }),
    ]);

    // The worker dies (SIGKILL): Knock starts another, the members join it again by themselves, media flows again.
    const [dead] = workerPids();
    expect(dead).toBeDefined();
    process.kill(dead!, 'SIGKILL');
    await eventually(async () => workerPids(), (pids) => expect(pids.length === 1 && pids[0] !== dead).toBe(true), 15_000);
    await Promise.all(everyone.map(expectThroughSfu));
    await Promise.all([
      expectMediaFlowing(visitor, { videoFrom: 2, audio: false, timeout: 45_000 }),
      expectMediaFlowing(laptop, { videoFrom: 2, timeout: 45_000 }),
      expectMediaFlowing(phone, { videoFrom: 2, timeout: 45_000 }),
    ]);
    expect(await visitor.getByText('Call ended').count()).toBe(0);
    // The visitor hangs up: Alice is left alone on her own devices, so the call ends on both.
    await callButton(visitor, 'Hang up').click();
    await Promise.all([laptop, phone].map((page) => callButton(page, 'Hang up').waitFor({ state: 'detached' })));
  });

  it('carries a conference of five: every member decodes video and audio from the four others', async () => {
    const { visitor, owners } = await conference('alice-sfu5', 4);
    const everyone = [visitor, ...owners];
    await Promise.all(everyone.map((page) => expectMediaFlowing(page, { videoFrom: 4, timeout: 90_000 })));
    await Promise.all(everyone.map(expectThroughSfu));
    await eventually(() => videoOf(visitor, 'Alice').count(), (n) => expect(n).toBe(4));
    // Two of Alice's devices leave: the call goes on for the three others, still decoding each other.
    for (const page of owners.slice(2)) await callButton(page, 'Hang up').click();
    await Promise.all([visitor, ...owners.slice(0, 2)].map((page) => expectMediaFlowing(page, { videoFrom: 2, timeout: 45_000 })));
    await callButton(visitor, 'Hang up').click();
    await Promise.all(owners.slice(0, 2).map((page) => callButton(page, 'Hang up').waitFor({ state: 'detached' })));
  });
});
