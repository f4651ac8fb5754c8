/**
 * What the call tests look at in a page: the call's buttons and status by their names, and what really flows, read
 * from WebRTC's own statistics (mediaProbe.ts: inbound video frames decoded, inbound audio energy, the selected ICE
 * candidate pair).
 *
 * @example
 *   await watchMedia(page);
 *   await page.goto(url);
 *   await expectMediaFlowing(page, { videoFrom: 1 });
 */
import { expect } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import type { BrowserHarness } from './browser.ts';
import { expectMessage, logInAsOwner, openConversation, openProfile, sendWithEnter } from './knockUi.ts';
import { peerStats, watchMedia } from './mediaProbe.ts';

export { captureTrackCount, liveCaptureTracks, peerStats, watchMedia, type PeerStats } from './mediaProbe.ts';

/** Sum of frames decoded (video) and audio energy received, over every inbound stream of the page. */
async function totals(page: Page): Promise<{ frames: number; energy: number; videoStreams: number; audioStreams: number }> {
  const stats = await peerStats(page);
  const frames = stats.flatMap((s) => s.framesDecoded);
  const energy = stats.flatMap((s) => s.audioEnergy);
  return {
    frames: frames.reduce((a, b) => a + b, 0),
    energy: energy.reduce((a, b) => a + b, 0),
    videoStreams: frames.filter((f) => f > 0).length,
    audioStreams: energy.filter((e) => e > 0).length,
  };
}

/**
 * Waits until the page decodes video from `videoFrom` streams and audio with energy from `audioFrom` (default: as
 * many as video; 0 with `audio: false`), then checks that both keep increasing over a second: media flows, it did
 * not just arrive once.
 */
export async function expectMediaFlowing(
  page: Page,
  opts: { videoFrom: number; audioFrom?: number; audio?: boolean; timeout?: number },
): Promise<void> {
  const timeout = opts.timeout ?? 15_000;
  const audioFrom = opts.audio === false ? 0 : (opts.audioFrom ?? opts.videoFrom);
  if (opts.videoFrom + audioFrom === 0) throw new Error('expectMediaFlowing: expect at least one stream');
  let before = await totals(page);
  await expect
    .poll(
      async () => {
        before = await totals(page);
        return before.videoStreams >= opts.videoFrom && before.audioStreams >= audioFrom;
      },
      { timeout, interval: 250, message: `decoding video from ${opts.videoFrom} and audio from ${audioFrom} participant(s)` },
    )
    .toBe(true);
  await expect
    .poll(
      async () => {
        const after = await totals(page);
        return (opts.videoFrom === 0 || after.frames > before.frames) && (audioFrom === 0 || after.energy > before.energy);
      },
      { timeout: 5000, interval: 250, message: 'frames decoded and audio energy increasing' },
    )
    .toBe(true);
}

export function callButton(
  page: Page,
  name: 'Video call' | 'Voice call' | 'Accept' | 'Decline' | 'Hang up' | 'Mute' | 'Camera off' | 'Share screen' | 'Join call',
): Locator {
  return page.getByRole('button', { name, exact: true });
}

/** The remote participant's video, by its accessible name "Video of <name>". */
export function videoOf(page: Page, name: string): Locator {
  return page.getByLabel(`Video of ${name}`, { exact: true });
}

/** The call's status line ("Ringing…", "Connecting…", a timer, "Call ended"). */
export function callStatus(page: Page): Locator {
  return page.locator('.call-status');
}

/** A visitor at `handle`'s URL, in a context of its own, who gave a name and wrote a first message (a conversation). */
export async function visitorWhoWrote(browser: BrowserHarness, baseUrl: string, handle: string, name: string, message: string): Promise<Page> {
  const page = await browser.newPage('visitor');
  await watchMedia(page);
  await openProfile(page, baseUrl, handle);
  await page.getByRole('textbox', { name: 'Your name' }).fill(name);
  await sendWithEnter(page, message);
  await expectMessage(page, message);
  return page;
}

/** One of the owner's devices (a context of its own), logged in, with the conversation with `visitorName` open if given. */
export async function ownerDevice(browser: BrowserHarness, baseUrl: string, handle: string, label: string, visitorName?: string): Promise<Page> {
  const page = await browser.newPage(label);
  await watchMedia(page);
  await openProfile(page, baseUrl, handle);
  await logInAsOwner(page);
  if (visitorName !== undefined) await openConversation(page, visitorName);
  return page;
}
