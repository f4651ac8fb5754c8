/**
 * Knock on a phone (iPhone 13 metrics in Chromium): nothing scrolls sideways, not even with a 300-character word or a
 * long URL in a message; the message box stays in view; the owner's console shows the list, then one conversation
 * with a way back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devices, type Page } from 'playwright-core';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import {
  conversationList,
  expectDelivery,
  expectMessage,
  hasNoHorizontalScroll,
  isInViewport,
  messageBox,
  messageItem,
  messageList,
  openConversation,
  ownerAndVisitor,
  sendButton,
  sendWithEnter,
} from '../support/knockUi.ts';

// defaultBrowserType says which engine Playwright would pick; here it is always Chromium.
const { defaultBrowserType: _engine, ...iPhone13 } = devices['iPhone 13'];

const LONG_WORD = 'Supercalifragilistic'.repeat(15);
const LONG_URL = `https://example.com/${'a-rather-long-path-segment/'.repeat(8)}?query=${'z'.repeat(60)}`;

const browser = useBrowser();
let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock();
});
afterAll(() => knock?.close());

/** Nothing sticks out sideways, and the message box and Send are on screen. */
async function expectFitsThePhone(page: Page, where: string): Promise<void> {
  expect(await hasNoHorizontalScroll(page), `horizontal scrolling on ${where}`).toMatchObject({ ok: true });
  expect(await isInViewport(messageBox(page)), `message box in view on ${where}`).toBe(true);
  expect(await isInViewport(sendButton(page)), `Send in view on ${where}`).toBe(true);
}

/** The message's text wraps inside its bubble, and the bubble stays on screen: nothing runs off the right edge. */
async function expectWithinScreenWidth(page: Page, body: string): Promise<void> {
  const text = messageItem(page, body).getByText(body, { exact: true });
  const fit = await text.evaluate((el) => {
    const bubble = el.closest('li')?.querySelector('.bubble') ?? el;
    const box = bubble.getBoundingClientRect();
    return {
      left: box.left,
      right: box.right,
      screen: window.innerWidth,
      textOverflows: el.scrollWidth > el.clientWidth || bubble.scrollWidth > bubble.clientWidth,
    };
  });
  const what = `"${body.slice(0, 24)}…"`;
  expect(fit.textOverflows, `${what} runs out of its bubble`).toBe(false);
  expect(fit.left, `${what} starts off screen`).toBeGreaterThanOrEqual(0);
  expect(fit.right, `${what} ends off screen (${JSON.stringify(fit)})`).toBeLessThanOrEqual(fit.screen);
}

describe('on a phone', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('fits the visitor page to the screen, long words and URLs included, with the message box in view', async () => {
    expect(LONG_WORD).toHaveLength(300);
    const { owner, visitor } = await ownerAndVisitor(browser, knock, 'alice', { owner: iPhone13, visitor: iPhone13 });
    expect(await visitor.evaluate(() => window.innerWidth)).toBe(iPhone13.viewport.width);
    await expectFitsThePhone(visitor, 'the visitor page before any message');

    await sendWithEnter(visitor, LONG_WORD);
    await sendWithEnter(visitor, `See ${LONG_URL}`);
    await expectDelivery(visitor, LONG_WORD, 'Sent');
    await expectDelivery(visitor, `See ${LONG_URL}`, 'Sent');
    await expectFitsThePhone(visitor, 'the visitor page with long messages');
    await expectWithinScreenWidth(visitor, LONG_WORD);
    await expectWithinScreenWidth(visitor, `See ${LONG_URL}`);

    // The owner's console on the phone: the list first, without sideways scrolling.
    await conversationList(owner).getByRole('button').first().waitFor();
    expect(await hasNoHorizontalScroll(owner), 'horizontal scrolling on the console list').toMatchObject({ ok: true });
    expect(await messageList(owner).count()).toBe(0);

    // Then the conversation alone, with a way back.
    await openConversation(owner, 'Visitor');
    await expectMessage(owner, LONG_WORD);
    await expectMessage(owner, `See ${LONG_URL}`);
    expect(await conversationList(owner).isVisible(), 'the list hides while a conversation is open').toBe(false);
    await expectFitsThePhone(owner, 'the open conversation in the console');
    await expectWithinScreenWidth(owner, LONG_WORD);
    await expectWithinScreenWidth(owner, `See ${LONG_URL}`);

    await owner.getByRole('button', { name: 'Back' }).click();
    await conversationList(owner).waitFor();
    await messageList(owner).waitFor({ state: 'detached' });
    expect(await hasNoHorizontalScroll(owner), 'horizontal scrolling on the console list').toMatchObject({ ok: true });
  });
});
