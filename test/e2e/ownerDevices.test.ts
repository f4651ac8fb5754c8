/**
 * Issue 20, "the same number on computer and phone" (WhatsApp Web, Google Messages for Web): Alice is logged in on
 * her computer and on her phone (Pixel 7 emulation) at once. A visitor's message shows on both; her answer from the
 * phone shows on the computer as hers and reaches the visitor; reading on one device clears the unread count on the other.
 */
import { devices } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { conversationButtons, eventually, expectDelivery, expectMessage, logInAsOwner, messageBox, openConversation, openProfile, sendWithButton } from '../support/knockUi.ts';

const browser = useBrowser();
let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock();
  await knock.addUser('alice', 'Alice');
});
afterAll(() => knock?.close());

describe('an owner on two devices at once', () => {
  it('shows every message on both, and what she writes on one on the other', async () => {
    const computer = await browser.newPage('computer');
    const phone = await browser.newPage('phone', { ...devices['Pixel 7'] });
    for (const page of [computer, phone]) {
      await openProfile(page, knock.url, 'alice');
      await logInAsOwner(page);
    }
    const visitor = await browser.newPage('visitor');
    await openProfile(visitor, knock.url, 'alice');
    await visitor.getByRole('textbox', { name: 'Your name' }).fill('Vic');
    await messageBox(visitor).fill('Hello, anyone there?');
    await messageBox(visitor).press('Enter');
    await expectMessage(visitor, 'Hello, anyone there?');

    // The conversation arrives on both, unread on both.
    const entry = (page: typeof phone) => conversationButtons(page).filter({ hasText: 'Vic' });
    for (const page of [computer, phone]) {
      await eventually(() => entry(page).getAttribute('aria-label'), (label) => expect(label).toContain('1 unread'));
    }
    // Alice answers from her phone.
    await openConversation(phone, 'Vic');
    await expectMessage(phone, 'Hello, anyone there?');
    await sendWithButton(phone, 'Yes, on my phone!');
    await expectMessage(visitor, 'Yes, on my phone!');
    // Read on the phone is read on the computer; there her answer shows as hers (with its receipt).
    await eventually(() => entry(computer).getAttribute('aria-label'), (label) => expect(label).not.toContain('unread'));
    await openConversation(computer, 'Vic');
    await expectMessage(computer, 'Yes, on my phone!');
    await expectDelivery(computer, 'Yes, on my phone!', 'Read');
    await messageBox(visitor).fill('Great, thanks');
    await messageBox(visitor).press('Enter');
    await expectMessage(computer, 'Great, thanks');
    await expectMessage(phone, 'Great, thanks');
  }, E2E_TEST_TIMEOUT_MS);
});
