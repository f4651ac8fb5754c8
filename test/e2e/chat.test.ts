/**
 * A visitor and the owner chatting in two real Chromium contexts (two people, two cookie jars): logging in at one's
 * own URL, presence, both directions with Enter and with Send, text shown as text, links, history across a reload,
 * the owner leaving and coming back to an unread message, read receipts. Every page is watched for dialogs, CSP
 * violations and uncaught errors (test/support/browser.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import {
  conversationButtons,
  conversationList,
  eventually,
  expectDelivery,
  expectMessage,
  expectPresence,
  logInAsOwner,
  logOutButton,
  messageBox,
  messageItem,
  messageList,
  messageTexts,
  openConversation,
  ownerAndVisitor,
  openProfile,
  sendWithButton,
  sendWithEnter,
} from '../support/knockUi.ts';

const browser = useBrowser();
let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock();
});
afterAll(() => knock?.close());

describe('chatting in the browser', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('carries messages both ways, sent once with Enter and once with Send, and shows them read', async () => {
    const { owner, visitor } = await ownerAndVisitor(browser, knock, 'alice');
    await expectPresence(visitor, 'online');

    await visitor.getByRole('textbox', { name: 'Your name' }).fill('Bob');
    await sendWithEnter(visitor, 'Hello Alice, it is Bob.');
    await expectMessage(visitor, 'Hello Alice, it is Bob.');
    expect(await messageBox(visitor).inputValue()).toBe('');

    // The conversation appears in the owner's list, under the visitor's name.
    await openConversation(owner, 'Bob');
    await expectMessage(owner, 'Hello Alice, it is Bob.');

    await sendWithButton(owner, 'Hi Bob!');
    await expectMessage(visitor, 'Hi Bob!');
    expect(await messageBox(owner).inputValue()).toBe('');

    await sendWithButton(visitor, 'Second one, with the button.');
    await expectMessage(owner, 'Second one, with the button.');

    await sendWithEnter(owner, 'And Enter works for me too.');
    await expectMessage(visitor, 'And Enter works for me too.');

    // Each message exactly once, in the order written, on both sides.
    const conversation = ['Hello Alice, it is Bob.', 'Hi Bob!', 'Second one, with the button.', 'And Enter works for me too.'];
    for (const page of [visitor, owner]) {
      await eventually(() => messageTexts(page), (texts) => expect(texts).toEqual(conversation));
    }
    // The owner has the conversation open: what the visitor wrote is read, and what the owner wrote too.
    await expectDelivery(visitor, 'Second one, with the button.', 'Read');
    await expectDelivery(owner, 'And Enter works for me too.', 'Read');
    // Still one conversation: a visitor's messages do not start new ones.
    expect(await conversationButtons(owner).count()).toBe(1);
  });

  it('sends every message typed while the first one is still opening the conversation, in order', async () => {
    const { owner, visitor } = await ownerAndVisitor(browser, knock, 'erin');
    // The knock (the first message opens the conversation) is held until two more messages were sent with Enter:
    // a visitor typing fast must not lose them to a Send that is off while the conversation opens.
    let releaseKnock!: () => void;
    const knockHeld = new Promise<void>((resolve) => (releaseKnock = resolve));
    await visitor.route('**/_/api/u/erin/knock', async (route) => {
      await knockHeld;
      await route.continue();
    });
    await sendWithEnter(visitor, 'One');
    await sendWithEnter(visitor, 'Two');
    await sendWithEnter(visitor, 'Three');
    await eventually(() => messageTexts(visitor), (texts) => expect(texts).toEqual(['One', 'Two', 'Three']));
    expect(await messageBox(visitor).inputValue()).toBe('');
    releaseKnock();

    await openConversation(owner, 'Visitor');
    await eventually(() => messageTexts(owner), (texts) => expect(texts).toEqual(['One', 'Two', 'Three']));
    for (const body of ['One', 'Two', 'Three']) await expectDelivery(visitor, body, 'Read');
  });

  it('shows message text as text: markup runs nowhere, a URL becomes a link that cannot reach back', async () => {
    const { owner, visitor } = await ownerAndVisitor(browser, knock, 'alice-text');
    const markup = '<img src=x onerror=alert(1)>';
    const ownersMarkup = '<script>alert(2)</script><b onmouseover=alert(3)>bold?</b>';
    const withLink = 'Look at https://example.com/page please';

    // The first message (the knock) with Send, here; with Enter in the test above.
    await sendWithButton(visitor, markup);
    await openConversation(owner, 'Visitor');
    await sendWithEnter(owner, ownersMarkup);
    await sendWithEnter(visitor, withLink);

    for (const page of [visitor, owner]) {
      await expectMessage(page, markup);
      await expectMessage(page, ownersMarkup);
      await expectMessage(page, withLink);
      await messageItem(page, ownersMarkup).hover();
      const list = messageList(page);
      expect(await list.locator('img').count()).toBe(0);
      expect(await list.locator('script, b, [onerror], [onmouseover]').count()).toBe(0);

      const link = list.getByRole('link', { name: 'https://example.com/page' });
      expect(await link.getAttribute('href')).toBe('https://example.com/page');
      expect((await link.getAttribute('rel'))?.split(/\s+/)).toContain('noopener');
      expect(browser.problemsOf(page)).toEqual([]);
    }
  });

  it('keeps the conversation through a reload, and through the owner leaving: offline, message waits unread, then read', async () => {
    const { owner, visitor } = await ownerAndVisitor(browser, knock, 'alice-away');
    await visitor.getByRole('textbox', { name: 'Your name' }).fill('Bob');
    await sendWithEnter(visitor, 'Before the reload');
    await openConversation(owner, 'Bob');
    await sendWithEnter(owner, 'Answer before the reload');
    await expectMessage(visitor, 'Answer before the reload');

    // The visitor reloads: the same history, the same name, the same conversation.
    await visitor.reload();
    await eventually(
      () => messageTexts(visitor),
      (texts) => expect(texts).toEqual(['Before the reload', 'Answer before the reload']),
    );
    expect(await visitor.getByRole('textbox', { name: 'Your name' }).inputValue()).toBe('Bob');
    await sendWithEnter(visitor, 'After the reload');
    await eventually(
      () => messageTexts(owner),
      (texts) => expect(texts).toEqual(['Before the reload', 'Answer before the reload', 'After the reload']),
    );
    expect(await conversationButtons(owner).count()).toBe(1);
    await expectPresence(visitor, 'online');

    // The owner logs out: the visitor sees them go.
    await logOutButton(owner).click();
    await owner.getByRole('button', { name: 'Owner? Log in' }).waitFor();
    await expectPresence(visitor, 'offline');

    // Writing to someone away works: the message is stored ("Sent"), not left "Sending…".
    await sendWithButton(visitor, 'I will leave a message then.');
    await expectDelivery(visitor, 'I will leave a message then.', 'Sent');

    // The owner comes back: the conversation shows one unread message before it is opened.
    await logInAsOwner(owner);
    await expectPresence(visitor, 'online');
    const entry = conversationButtons(owner).filter({ hasText: 'Bob' });
    await eventually(
      () => entry.getAttribute('aria-label'),
      (label) => expect(label).toBe('Bob, 1 unread'),
    );
    // The preview is shown in the entry, beside the button (whose visible text is the name alone).
    expect(await conversationList(owner).getByRole('listitem').filter({ hasText: 'Bob' }).innerText()).toContain('I will leave a message then.');
    expect(await conversationButtons(owner).count()).toBe(1);

    // Opening it shows the message, and the visitor sees it read.
    await entry.click();
    await expectMessage(owner, 'I will leave a message then.');
    await expectDelivery(visitor, 'I will leave a message then.', 'Read');
    await eventually(
      () => entry.getAttribute('aria-label'),
      (label) => expect(label).toBe('Bob'),
    );
  });
});

describe('the page watch (test/support/browser.ts)', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('catches a Content Security Policy violation, so a clean run means there were none', async () => {
    await knock.addUser('alice-csp', 'Alice');
    const page = await browser.newPage('visitor');
    await openProfile(page, knock.url, 'alice-csp');
    // An inline script: the policy bars it, and Chromium reports the violation on the console.
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'document.title = "inline ran"';
      document.head.append(script);
    });
    await eventually(
      async () => browser.problemsOf(page),
      (problems) => expect(problems.join('\n')).toMatch(/CSP violation/),
    );
    expect(await page.title()).not.toBe('inline ran');
    browser.forgetProblems(page);
  });
});
