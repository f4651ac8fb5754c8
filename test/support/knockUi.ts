/**
 * What a person does and sees in Knock's browser app, by the names the UI gives things (roles and labels, the
 * contract the views keep): the message box "Message", the "Send" button, the "Messages" and "Conversations" lists,
 * the presence status, "Owner? Log in". Waits poll what is on screen, for a few seconds at most.
 */
import { expect } from 'vitest';
import type { BrowserContextOptions, FrameLocator, Locator, Page } from 'playwright-core';
import { TEST_PASSWORD, type TestKnock } from './knockServer.ts';
import { UI_TIMEOUT_MS, type BrowserHarness } from './browser.ts';

const poll = { timeout: UI_TIMEOUT_MS, interval: 50 };

/** A page, or a frame in one (the visitor page as the chat frame of a company's widget, issue 19). */
export type PageScope = Page | FrameLocator;

/** Opens someone's URL and waits until the page (visitor page or console) is there. */
export async function openProfile(page: Page, baseUrl: string, handle: string): Promise<void> {
  await page.goto(`${baseUrl}/${handle}`);
  await messageBox(page).or(logOutButton(page)).first().waitFor();
}

/** On the visitor page of the owner's URL: "Owner? Log in", the password, "Log in"; waits for the console. */
export async function logInAsOwner(page: Page, password = TEST_PASSWORD): Promise<void> {
  await page.getByRole('button', { name: 'Owner? Log in' }).click();
  await page.getByRole('textbox', { name: 'Password' }).fill(password);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await logOutButton(page).waitFor();
  await conversationList(page).waitFor();
  // Online means the console's live session joined: before that, a visitor would still see "offline".
  await expectPresence(page, 'online');
}

/**
 * A new account "Alice" at `handle`; its owner logged in at their URL in one context (checking they first see the
 * visitor page, then the console), a visitor on the same URL in another.
 */
export async function ownerAndVisitor(
  browser: BrowserHarness,
  knock: Pick<TestKnock, 'addUser' | 'url'>,
  handle: string,
  devices: { owner?: BrowserContextOptions; visitor?: BrowserContextOptions } = {},
): Promise<{ owner: Page; visitor: Page }> {
  await knock.addUser(handle, 'Alice');
  // Both at once (the visitor's presence display is live, so the order does not matter): half the waiting.
  const [owner, visitor] = await Promise.all([
    (async () => {
      const page = await browser.newPage('owner', devices.owner);
      await openProfile(page, knock.url, handle);
      // Not logged in yet: the owner sees what a stranger sees, the visitor page with the discreet login.
      expect(await logOutButton(page).count()).toBe(0);
      await logInAsOwner(page);
      expect(await logOutButton(page).isVisible()).toBe(true);
      expect(await conversationList(page).isVisible()).toBe(true);
      return page;
    })(),
    (async () => {
      const page = await browser.newPage('visitor', devices.visitor);
      await openProfile(page, knock.url, handle);
      return page;
    })(),
  ]);
  return { owner, visitor };
}

/** The owner opens the conversation whose entry in the list shows `name`. */
export async function openConversation(owner: Page, name: string): Promise<void> {
  await conversationButtons(owner).filter({ hasText: name }).click();
  await messageList(owner).waitFor();
}

export function logOutButton(page: Page): Locator {
  // Exact: Settings → Sessions has "Log out everywhere" too.
  return page.getByRole('button', { name: 'Log out', exact: true });
}

export function conversationList(page: Page): Locator {
  return page.getByRole('list', { name: 'Conversations' });
}

/** The conversations in the owner's list, by the name of their button ("Bob", "Bob, 1 unread"). */
export function conversationButtons(page: Page): Locator {
  return conversationList(page).getByRole('button');
}

export function messageList(page: PageScope): Locator {
  return page.getByRole('list', { name: 'Messages' });
}

export function messageBox(page: PageScope): Locator {
  return page.getByRole('textbox', { name: 'Message' });
}

export function sendButton(page: PageScope): Locator {
  return page.getByRole('button', { name: 'Send', exact: true });
}

/** The message whose text is exactly `body`, as a list item (with its sender, time and delivery state). */
export function messageItem(page: PageScope, body: string): Locator {
  return messageList(page)
    .getByRole('listitem')
    .filter({ has: page.getByText(body, { exact: true }) });
}

/** Types `body` and presses Enter once. */
export async function sendWithEnter(page: PageScope, body: string): Promise<void> {
  await messageBox(page).fill(body);
  await messageBox(page).press('Enter');
}

/** Types `body` and clicks Send once. */
export async function sendWithButton(page: PageScope, body: string): Promise<void> {
  await messageBox(page).fill(body);
  await sendButton(page).click();
}

/** Waits until the message with exactly this text is on screen. */
export async function expectMessage(page: PageScope, body: string): Promise<Locator> {
  const item = messageItem(page, body);
  await item.waitFor();
  return item;
}

/** Waits until my message shows this delivery state ("Sent", "Delivered", "Read"). */
export async function expectDelivery(page: Page, body: string, state: 'Sent' | 'Delivered' | 'Read'): Promise<void> {
  const item = messageItem(page, body);
  await expect.poll(() => deliveryOf(item), { ...poll, message: `delivery state of "${body}"` }).toBe(state);
}

/** "Sending…", "Sent", "Delivered", "Read", "Not sent: …", or null when the item has none (their message). */
export async function deliveryOf(item: Locator): Promise<string | null> {
  const texts = await item.getByText(/^(Sending…|Sent|Delivered|Read|.*Not sent:.*)$/).allInnerTexts();
  return texts[0]?.trim() ?? null;
}

/** The visible text of every message body on screen, in order. */
export async function messageTexts(page: PageScope): Promise<string[]> {
  // Each item holds sender (hidden for screen readers), body, time and state; the body is its paragraph.
  return messageList(page).getByRole('listitem').getByRole('paragraph').allInnerTexts();
}

/** Waits until the presence status says online or offline. */
export async function expectPresence(page: Page, state: 'online' | 'offline', timeout = UI_TIMEOUT_MS): Promise<void> {
  await expect
    .poll(async () => presenceOf(page), { timeout, interval: 50, message: `presence shown as ${state}` })
    .toBe(state);
}

export async function presenceOf(page: Page): Promise<'online' | 'offline' | string> {
  const texts = await page.getByRole('status').allInnerTexts();
  const text = texts.join(' | ');
  if (/\bonline\b/.test(text)) return 'online';
  if (/\boffline\b/.test(text)) return 'offline';
  return text;
}

/** Polls `read` until it satisfies `check` (e.g. a text appears), for a few seconds. */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => void, timeout = UI_TIMEOUT_MS): Promise<T> {
  let last: T | undefined;
  await expect
    .poll(async () => {
      last = await read();
      check(last);
      return true;
    }, { timeout, interval: 50 })
    .toBe(true);
  return last as T;
}

/** True when the page cannot be scrolled sideways (nothing sticks out to the right). */
export async function hasNoHorizontalScroll(page: Page): Promise<{ scrollWidth: number; innerWidth: number; ok: boolean }> {
  return page.evaluate(() => {
    const scrollWidth = document.documentElement.scrollWidth;
    const innerWidth = window.innerWidth;
    return { scrollWidth, innerWidth, ok: scrollWidth <= innerWidth };
  });
}

/** True when the element's box lies entirely inside the viewport (a person can see it without scrolling). */
export async function isInViewport(locator: Locator): Promise<boolean> {
  return locator.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 && r.right <= window.innerWidth && r.bottom <= window.innerHeight;
  });
}
