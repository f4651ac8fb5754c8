/**
 * Continuing a conversation elsewhere and seeing the other side type, in real Chromium: the visitor's resume link,
 * opened in another context (another device, no cookies), is the same conversation; typing shows on the other side.
 * A link opened in a browser that already holds another conversation with the owner never switches by itself: the
 * person chooses (resume-link fixation, issue 13).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import type { Page } from 'playwright-core';
import {
  conversationButtons,
  openProfile,
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

    // The phone keeps the conversation: opening the owner's plain URL there continues it.
    await phone.goto(`${knock.url}/alice`);
    await eventually(
      () => messageTexts(phone),
      (texts) => expect(texts).toEqual(['Written on my laptop', 'Answered to the laptop', 'Now on my phone']),
    );
  });

  /** A visitor of /<handle> in a fresh browser who writes `body` as `name`; returns the page and its resume link's path. */
  async function visitorWhoWrote(handle: string, label: string, name: string, body: string): Promise<{ page: Page; link: string }> {
    const page = await browser.newPage(label);
    await openProfile(page, knock.url, handle);
    await page.getByRole('textbox', { name: 'Your name' }).fill(name);
    await sendWithEnter(page, body);
    await expectDelivery(page, body, 'Sent');
    const link = page.getByRole('link', { name: new RegExp(`/${handle}/c/`) });
    await link.waitFor();
    return { page, link: (await link.getAttribute('href'))! };
  }

  const choice = (page: Page) => page.getByRole('heading', { name: 'Which conversation do you want to continue?' });

  it('asks before switching when the browser already holds another conversation, and keeps its own when told so', async () => {
    await knock.addUser('alice-fixation', 'Alice');
    const { link: attackersLink } = await visitorWhoWrote('alice-fixation', 'attacker', 'Mallory', 'I read whatever is written here');
    const { page: victim } = await visitorWhoWrote('alice-fixation', 'victim', 'Victoria', 'My private question');

    // The victim follows the attacker's link: she is asked, and sees nothing of the attacker's conversation yet.
    await victim.goto(`${knock.url}${attackersLink}`);
    await choice(victim).waitFor();
    expect(await victim.getByText('I read whatever is written here').count()).toBe(0);
    await victim.getByRole('button', { name: 'Keep my conversation' }).click();

    await eventually(() => messageTexts(victim), (texts) => expect(texts).toEqual(['My private question']));
    expect(new URL(victim.url()).pathname).toBe('/alice-fixation');
    // And her browser still holds her own conversation.
    await victim.reload();
    await eventually(() => messageTexts(victim), (texts) => expect(texts).toEqual(['My private question']));
  });

  it('continues the linked conversation in that browser when the person chooses it', async () => {
    await knock.addUser('alice-choice', 'Alice');
    const { link: laptopLink } = await visitorWhoWrote('alice-choice', 'laptop', 'Bob', 'Started on my laptop');
    const { page: phone } = await visitorWhoWrote('alice-choice', 'phone', 'Bob', 'Another chat from my phone');

    await phone.goto(`${knock.url}${laptopLink}`);
    await choice(phone).waitFor();
    await phone.getByRole('button', { name: 'Continue the conversation from the link' }).click();
    await eventually(() => messageTexts(phone), (texts) => expect(texts).toEqual(['Started on my laptop']));

    // From now on this browser holds the linked conversation.
    await phone.goto(`${knock.url}/alice-choice`);
    await eventually(() => messageTexts(phone), (texts) => expect(texts).toEqual(['Started on my laptop']));
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
