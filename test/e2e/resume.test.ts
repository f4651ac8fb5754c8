/**
 * Continuing a conversation elsewhere and seeing the other side type, in real Chromium: the visitor's resume link,
 * opened in another context (another device, no cookies), is the same conversation; typing shows on the other side.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import {
  conversationButtons,
  eventually,
  expectDelivery,
  expectMessage,
  messageBox,
  messageTexts,
  openConversation,
  ownerAndVisitor,
  sendWithEnter,
} from '../support/knockUi.ts';

const browser = useBrowser();
let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock();
});
afterAll(() => knock?.close());

describe('the resume link', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('continues the same conversation on another device: earlier messages there, new ones reach the owner in it', async () => {
    const { owner, visitor: laptop } = await ownerAndVisitor(browser, knock, 'alice');
    const resumeLink = laptop.getByRole('link', { name: /\/alice\/c\// });
    // No conversation yet, so nothing to resume.
    expect(await resumeLink.count()).toBe(0);

    await laptop.getByRole('textbox', { name: 'Your name' }).fill('Bob');
    await sendWithEnter(laptop, 'Written on my laptop');
    await openConversation(owner, 'Bob');
    await sendWithEnter(owner, 'Answered to the laptop');
    await expectMessage(laptop, 'Answered to the laptop');

    await resumeLink.waitFor();
    const href = await resumeLink.getAttribute('href');
    expect(href).toMatch(/^\/alice\/c\/[^/]+$/);
    const shownUrl = await resumeLink.innerText();
    expect(shownUrl).toBe(new URL(href!, knock.url).href);

    const phone = await browser.newPage('visitor elsewhere');
    await phone.goto(shownUrl);
    await eventually(
      () => messageTexts(phone),
      (texts) => expect(texts).toEqual(['Written on my laptop', 'Answered to the laptop']),
    );
    await sendWithEnter(phone, 'Now on my phone');
    await expectDelivery(phone, 'Now on my phone', 'Read');

    // The owner has it in the conversation already open, and the list still holds one conversation.
    await expectMessage(owner, 'Now on my phone');
    await eventually(
      () => messageTexts(owner),
      (texts) => expect(texts).toEqual(['Written on my laptop', 'Answered to the laptop', 'Now on my phone']),
    );
    expect(await conversationButtons(owner).count()).toBe(1);
    // And the first device sees what was written on the second.
    await expectMessage(laptop, 'Now on my phone');
  });
});

describe('typing', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('shows the visitor "Alice is typing…" while the owner types, and the other way round', async () => {
    const { owner, visitor } = await ownerAndVisitor(browser, knock, 'alice-typing');
    await visitor.getByRole('textbox', { name: 'Your name' }).fill('Bob');
    await sendWithEnter(visitor, 'Can I ask something?');
    await openConversation(owner, 'Bob');
    await expectMessage(owner, 'Can I ask something?');

    const ownerTyping = visitor.getByText('Alice is typing…', { exact: true });
    expect(await ownerTyping.count()).toBe(0);
    await messageBox(owner).pressSequentially('Of course, ask');
    await ownerTyping.waitFor();
    // Sending ends it.
    await messageBox(owner).press('Enter');
    await expectMessage(visitor, 'Of course, ask');
    await ownerTyping.waitFor({ state: 'detached' });

    await messageBox(visitor).pressSequentially('Well');
    await owner.getByText('Bob is typing…', { exact: true }).waitFor();
  });
});
