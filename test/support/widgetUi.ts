/**
 * The widget on a third-party site (test/support/thirdPartySite.ts) as a visitor's browser shows it, by the names it
 * gives things: the button "Chat with us" / "Leave a message" (inside the open shadow root of `<knock-widget>`, which
 * Playwright's locators enter), the chat panel's frame "Chat with <name>", "Close chat", the invitation dialog with
 * "Start chat" and "No thanks"; and Knock's two frames in the page.
 *
 * `sayFromMonitorFrame` posts a message from inside Knock's real monitor frame (its origin, its window) to the site,
 * as the frame does when its SiteRoom speaks: for tests of the widget's side that do not need the room.
 */
import type { Frame, FrameLocator, Locator, Page } from 'playwright-core';
import type { FrameToWidget, WidgetToFrame } from '../../client/src/widget/frameMessages.ts';
import { expect } from 'vitest';
import { UI_TIMEOUT_MS } from './browser.ts';
import { eventually } from './knockUi.ts';

export const WIDGET_TAG_NAME = 'knock-widget';

export function widgetHost(page: Page): Locator {
  return page.locator(WIDGET_TAG_NAME);
}

/** The widget's button, whichever of its two names it has now. */
export function widgetButton(page: Page): Locator {
  return widgetHost(page).getByRole('button', { name: /^(Chat with us|Leave a message)$/ });
}

export function chatPanelFrame(page: Page, companyName: string): FrameLocator {
  return widgetHost(page).frameLocator(`iframe[title="Chat with ${companyName}"]`);
}

export function inviteDialog(page: Page): Locator {
  return widgetHost(page).getByRole('dialog');
}

/** The `src` of the widget's monitor frame (`/_/widget/frame?...`), once it is made. */
export async function monitorFrameSrc(page: Page): Promise<URL> {
  const frame = widgetHost(page).locator('iframe.monitor');
  await frame.waitFor({ state: 'attached' });
  return new URL((await frame.getAttribute('src')) ?? '');
}

/** Knock's monitor frame in the page, once its document (Knock's page, not an error page) has loaded. */
export async function monitorFrame(page: Page, knockUrl: string): Promise<Frame> {
  const prefix = `${knockUrl}/_/widget/frame?`;
  const deadline = Date.now() + UI_TIMEOUT_MS;
  for (;;) {
    const frame = page.frames().find((f) => f.url().startsWith(prefix));
    if (frame !== undefined) {
      await frame.waitForLoadState('load');
      return frame;
    }
    if (Date.now() > deadline) throw new Error(`No monitor frame of ${knockUrl} loaded in ${page.url()}.`);
    await page.waitForEvent('framenavigated', { timeout: Math.max(1, deadline - Date.now()) }).catch(() => undefined);
  }
}

type Untagged<M> = M extends unknown ? Omit<M, 'tag'> : never;

/** Posts `message` to the site from inside Knock's monitor frame, as the frame relays what its SiteRoom says. */
export async function sayFromMonitorFrame(frame: Frame, siteOrigin: string, message: Untagged<FrameToWidget>): Promise<void> {
  await frame.evaluate(([m, origin]) => window.parent.postMessage({ tag: 'knock-widget', ...m }, origin), [message, siteOrigin] as const);
}

/**
 * Records, inside every monitor frame the page will load (before the frame's own script runs, so the first `page` is
 * heard too), each message the frame's window receives (read with `heardByMonitorFrame`). Call before navigating.
 */
export async function recordMonitorFrames(page: Page): Promise<void> {
  await page.addInitScript(() => {
    if (location.pathname !== '/_/widget/frame') return;
    const heard: unknown[] = [];
    (window as unknown as { __heard: unknown[] }).__heard = heard;
    window.addEventListener('message', (event) => heard.push({ origin: event.origin, fromParent: event.source === window.parent, data: event.data }));
  });
}

export interface HeardMessage {
  origin: string;
  fromParent: boolean;
  data: WidgetToFrame;
}

/** Waits until the monitor frame has heard a message matching `match`; returns it. */
export async function heardByMonitorFrame(frame: Frame, match: (m: HeardMessage) => boolean, what: string): Promise<HeardMessage> {
  const heard = await eventually(
    () => frame.evaluate(() => (window as unknown as { __heard?: HeardMessage[] }).__heard ?? []),
    (messages) => expect(messages.some(match), `the monitor frame heard ${what}: ${JSON.stringify(messages)}`).toBe(true),
  );
  return heard.find(match)!;
}
