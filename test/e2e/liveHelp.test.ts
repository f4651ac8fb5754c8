/**
 * Issue 19, "Done when" 1-3, end to end in Chromium with nothing faked: Knock on 127.0.0.1, a company's shop on
 * another origin (test/support/thirdPartySite.ts: http://localhost:<port>, another site for the browser) embedding
 * the real `/_/widget.js`, an operator logged in at the company's URL in another browser context, and an SMTP sink as
 * Knock's relay.
 * 1. A visitor browses two pages of the shop; the operator's "Visitors" list shows them and follows their page live;
 *    the operator invites; the visitor starts the chat from the invitation; they chat; the visitor moves on to another
 *    page and the chat goes on there, with its history.
 * 2. With no operator online the button is "Leave a message"; the message reaches the company's inbox and its email.
 * 3. A site not on the company's list gets no widget and is not monitored.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessibilityAudit } from '../support/axeAudit.ts';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, TEST_PASSWORD, type TestKnock } from '../support/knockServer.ts';
import { eventually, expectMessage, logOutButton, messageTexts, openConversation, openProfile, sendWithEnter } from '../support/knockUi.ts';
import { MailSink } from '../support/mailSink.ts';
import { startThirdPartySite, type ThirdPartySite } from '../support/thirdPartySite.ts';
import { chatPanelFrame, inviteDialog, widgetButton, widgetHost } from '../support/widgetUi.ts';

const MAIL_WAIT_MS = 15_000;
const browser = useBrowser();
let knock: TestKnock;
let sink: MailSink;
let shop: ThirdPartySite;

beforeAll(async () => {
  sink = await MailSink.start();
  knock = await startKnock({
    smtpPort: 0,
    smtpHost: '127.0.0.1',
    mailDomain: 'example.test',
    smtpRelayUrl: sink.url,
    outboxRetryBaseMs: 50,
    outboxPollMs: 100,
    visitorMailDelayMs: 0,
  });
  await knock.addUser('olga', 'Olga');
  await knock.companies.add({ handle: 'acme', name: 'Acme Ltd', adminHandle: 'olga' });
  await knock.companies.add({ handle: 'bolt', name: 'Bolt Bikes', adminHandle: 'olga', email: 'help@bolt.example' });
  shop = await startThirdPartySite({ knockUrl: knock.url, handle: 'acme' });
  await knock.companies.addSite('acme', shop.origin);
});
afterAll(async () => {
  await shop?.close();
  await knock?.close();
  await sink?.close();
});

/** Olga logs in at the company's URL with her own account: the operators' console of that company. */
async function operatorConsole(handle = 'acme'): Promise<Page> {
  const operator = await browser.newPage('operator Olga');
  await openProfile(operator, knock.url, handle);
  await operator.getByRole('button', { name: 'Operator? Log in' }).click();
  await operator.getByRole('textbox', { name: 'Your handle' }).fill('olga');
  await operator.getByRole('textbox', { name: 'Password' }).fill(TEST_PASSWORD);
  await operator.getByRole('button', { name: 'Log in', exact: true }).click();
  await logOutButton(operator).waitFor();
  await operator.getByText('Nobody is on your sites right now.', { exact: false }).waitFor();
  return operator;
}

function visitorsList(operator: Page) {
  return operator.getByRole('list', { name: 'Visitors' });
}

/** The one visitor the list shows (the test has one at a time on the shop). */
function onlyVisitor(operator: Page) {
  return visitorsList(operator).getByRole('listitem');
}

describe('live help on a company’s website', { timeout: E2E_TEST_TIMEOUT_MS * 3 }, () => {
  it('shows a visitor’s pages live to an operator, who invites; they chat, and the chat goes on on the next page', async () => {
    const audit = new AccessibilityAudit();
    const operator = await operatorConsole();
    const visitor = await browser.newPage('visitor');

    await visitor.goto(shop.url('/'));
    await expect.poll(() => widgetButton(visitor).innerText()).toBe('Chat with us');
    await onlyVisitor(operator).filter({ hasText: 'Acme Shop — Home' }).waitFor();
    await expect.poll(() => onlyVisitor(operator).count()).toBe(1);

    // The visitor moves to another page of the shop: the same item follows, live.
    await visitor.getByRole('link', { name: 'Products' }).click();
    await onlyVisitor(operator).filter({ hasText: 'Acme Shop — Products' }).waitFor();
    await expect.poll(() => onlyVisitor(operator).count()).toBe(1);
    await expect.poll(() => onlyVisitor(operator).innerText()).toMatch(/\b2 pages\b/);
    await audit.check(operator, 'the operators’ console with a visitor listed');

    await onlyVisitor(operator).getByRole('button', { name: 'Invite to chat' }).click();
    const invitation = inviteDialog(visitor);
    await invitation.getByText('Can we help?').waitFor();
    await audit.check(visitor, 'the shop with the invitation');
    await invitation.getByRole('button', { name: 'Start chat' }).click();

    const chat = chatPanelFrame(visitor, 'Acme Ltd');
    await sendWithEnter(chat, 'Do you have the blue kettle in stock?');
    await expectMessage(chat, 'Do you have the blue kettle in stock?');
    await onlyVisitor(operator).getByText('Chatting').waitFor();

    await openConversation(operator, 'Visitor');
    await expectMessage(operator, 'Do you have the blue kettle in stock?');
    await sendWithEnter(operator, 'Yes, three left.');
    await expectMessage(chat, 'Yes, three left.');

    // On to the shop's home page: the chat opens there again by itself, with its history, and goes on.
    await visitor.getByRole('link', { name: 'Home' }).click();
    await onlyVisitor(operator).filter({ hasText: 'Acme Shop — Home' }).waitFor();
    const again = chatPanelFrame(visitor, 'Acme Ltd');
    await eventually(() => messageTexts(again), (texts) => expect(texts).toEqual(['Do you have the blue kettle in stock?', 'Yes, three left.']));
    await sendWithEnter(again, 'Great, I will take one.');
    await expectMessage(operator, 'Great, I will take one.');
    // Still one conversation, which records the page it started on.
    const company = (await knock.storage.getAccountByHandle('acme'))!;
    const inbox = await knock.storage.listConversations(company.id, { limit: 10 });
    expect(inbox).toHaveLength(1);
    expect(inbox[0]?.startedOn).toEqual({ url: shop.url('/products'), title: 'Acme Shop — Products' });
    audit.expectClean();
  });

  it('with no operator online, the button is “Leave a message”: the message reaches the company’s inbox and its email', async () => {
    const bolt = await startThirdPartySite({ knockUrl: knock.url, handle: 'bolt' });
    try {
      await knock.companies.addSite('bolt', bolt.origin);
      const visitor = await browser.newPage('visitor');
      await visitor.goto(bolt.url('/'));
      await expect.poll(() => widgetButton(visitor).innerText()).toBe('Leave a message');
      await widgetButton(visitor).click();
      const chat = chatPanelFrame(visitor, 'Bolt Bikes');
      await chat.getByRole('textbox', { name: 'Your name' }).fill('Vera');
      await sendWithEnter(chat, 'Can you fix a flat tyre on Saturday?');
      await expectMessage(chat, 'Can you fix a flat tyre on Saturday?');

      const notice = await sink.next((m) => m.envelope.to.includes('help@bolt.example'), MAIL_WAIT_MS);
      expect(notice.parsed.text).toContain('Can you fix a flat tyre on Saturday?');
      const company = (await knock.storage.getAccountByHandle('bolt'))!;
      const [conversation] = await knock.storage.listConversations(company.id, { limit: 10 });
      expect(conversation?.visitorName).toBe('Vera');
      expect(conversation?.lastMessage?.body).toBe('Can you fix a flat tyre on Saturday?');
    } finally {
      await bolt.close();
    }
  });

  it('gives a site that is not on the company’s list no widget, and does not monitor its visitors', async () => {
    // A company of its own, so that no visitor of the tests before is still in its list (they stay a grace period).
    await knock.companies.add({ handle: 'cosy', name: 'Cosy Chairs', adminHandle: 'olga' });
    const listed = await startThirdPartySite({ knockUrl: knock.url, handle: 'cosy' });
    const unlisted = await startThirdPartySite({ knockUrl: knock.url, handle: 'cosy' });
    try {
      await knock.companies.addSite('cosy', listed.origin);
      const operator = await operatorConsole('cosy');
      const outsider = await browser.newPage('visitor on another site');
      // The monitor frame is made, and refused: Knock answers 403 with frame-ancestors 'none', its page never loads.
      const framed = outsider.waitForResponse((r) => r.url().startsWith(`${knock.url}/_/widget/frame?`));
      await outsider.goto(unlisted.url('/'));
      expect((await framed).status()).toBe(403);

      // Then a visitor of the listed site: once the operator sees this one, the outsider would have been there first.
      const insider = await browser.newPage('visitor on the listed site');
      await insider.goto(listed.url('/'));
      await expect.poll(() => widgetButton(insider).innerText()).toBe('Chat with us');
      await onlyVisitor(operator).filter({ hasText: 'Acme Shop — Home' }).waitFor();
      await expect.poll(() => onlyVisitor(operator).count()).toBe(1);
      expect(await widgetButton(outsider).count()).toBe(0);
      expect(await widgetHost(outsider).getByRole('button').count()).toBe(0);
    } finally {
      await listed.close();
      await unlisted.close();
    }
  });
});
