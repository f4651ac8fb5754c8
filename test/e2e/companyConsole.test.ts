/**
 * A company's console in Chromium (issue 19): an admin logs in at the company's URL with their own account and finds
 * the company's console, with Settings → Company (the embed code, the sites, the team, their own status); a plain
 * operator reaches it from their own console's "Companies" list and sees the same without the admins' controls. Both
 * pages pass axe-core (both schemes, desktop and 360 px). An invitation link ("Invite operator") brings a person, who
 * logs in on its page with their own account, into the team and to the company's console. An admin's canned response
 * is inserted by `/shortcut` and Tab in the company's console, and the visitor has the conversation mailed ("Email
 * transcript", at 360 px) to an SMTP sink.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessibilityAudit } from '../support/axeAudit.ts';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, TEST_PASSWORD, type TestKnock } from '../support/knockServer.ts';
import { conversationButtons, expectMessage, expectPresence, logInAsOwner, logOutButton, messageBox, openProfile, sendWithEnter } from '../support/knockUi.ts';
import { MailSink } from '../support/mailSink.ts';

const browser = useBrowser();
let knock: TestKnock;
let sink: MailSink;

beforeAll(async () => {
  sink = await MailSink.start();
  knock = await startKnock({ mailDomain: 'example.test', smtpRelayUrl: sink.url, outboxPollMs: 100 });
  await knock.addUser('ada', 'Ada');
  await knock.addUser('otto', 'Otto');
  await knock.addUser('nina', 'Nina');
  await knock.companies.add({ handle: 'acme', name: 'Acme Ltd', adminHandle: 'ada' });
  await knock.companies.addOperator('acme', 'otto');
  await knock.companies.addSite('acme', 'https://shop.example');
});
afterAll(async () => {
  await knock?.close();
  await sink?.close();
});

describe('a company\u2019s console', { timeout: E2E_TEST_TIMEOUT_MS * 3 }, () => {
  it('lets an admin log in at the company\u2019s URL and manage its sites; a plain operator sees them, without the controls', async () => {
    const audit = new AccessibilityAudit();
    const admin = await browser.newPage('admin');
    await openProfile(admin, knock.url, 'acme');
    await admin.getByRole('button', { name: 'Operator? Log in' }).click();
    await admin.getByRole('textbox', { name: 'Your handle' }).fill('ada');
    await admin.getByRole('textbox', { name: 'Password' }).fill(TEST_PASSWORD);
    await admin.getByRole('button', { name: 'Log in', exact: true }).click();
    await logOutButton(admin).waitFor();
    await expect.poll(() => admin.getByRole('heading', { level: 1 }).innerText()).toBe('Acme Ltd');
    await expectPresence(admin, 'online');

    await admin.getByRole('button', { name: 'Settings' }).click();
    await admin.getByRole('heading', { name: 'Company' }).waitFor();
    await admin.getByText('data-knock="acme"').waitFor();
    await admin.getByRole('button', { name: 'Copy code' }).waitFor();
    const sites = admin.getByRole('list', { name: 'Allowed sites' });
    await sites.getByText('https://shop.example').waitFor();
    await admin.getByRole('textbox', { name: 'Site' }).fill('https://other.example');
    await admin.getByRole('button', { name: 'Add site' }).click();
    await sites.getByText('https://other.example').waitFor();
    await audit.check(admin, 'the company\u2019s settings, for an admin');
    await sites.getByRole('listitem').filter({ hasText: 'https://other.example' }).getByRole('button', { name: 'Remove', exact: true }).click();
    await expect.poll(() => sites.getByRole('listitem').count()).toBe(1);
    await admin.getByRole('combobox', { name: 'Status' }).selectOption('away');
    await admin.getByText('You are away: no new chats come to you.').waitFor();

    const operator = await browser.newPage('operator');
    await openProfile(operator, knock.url, 'otto');
    await logInAsOwner(operator);
    const companies = operator.getByRole('navigation', { name: 'Companies' });
    await companies.getByRole('link', { name: 'Acme Ltd — operator console' }).click();
    await expect.poll(() => operator.getByRole('heading', { level: 1 }).innerText()).toBe('Acme Ltd');
    await operator.getByRole('button', { name: 'Settings' }).click();
    const operators = operator.getByRole('list', { name: 'Operators' });
    await operators.getByText('Ada', { exact: true }).waitFor();
    await operators.getByText('Otto (you)').waitFor();
    expect(await operator.getByRole('button', { name: 'Add site' }).count()).toBe(0);
    expect(await operator.getByRole('button', { name: 'Remove', exact: true }).count()).toBe(0);
    expect(await operator.getByRole('heading', { name: 'Channels' }).count()).toBe(0);
    await audit.check(operator, 'the company\u2019s settings, for a plain operator');
    audit.expectClean();
  });

  it('an admin’s invitation link lets a person log in with their own account and join the team', async () => {
    const admin = await browser.newPage('admin');
    await openProfile(admin, knock.url, 'ada');
    await logInAsOwner(admin);
    await admin.getByRole('navigation', { name: 'Companies' }).getByRole('link', { name: 'Acme Ltd — operator console' }).click();
    await admin.getByRole('button', { name: 'Settings' }).click();
    await admin.getByRole('button', { name: 'Invite operator' }).click();
    const link = await admin.getByText(`${knock.url}/_/join/`).innerText();

    const nina = await browser.newPage('nina');
    await nina.goto(link);
    await nina.getByRole('button', { name: 'Join the team' }).click();
    await nina.getByRole('alert').getByText('Log in with your own account first.').waitFor();
    const audit = new AccessibilityAudit();
    await audit.check(nina, 'an invitation\u2019s page, asking to log in');
    audit.expectClean();
    await nina.getByRole('textbox', { name: 'Your handle' }).fill('nina');
    await nina.getByRole('textbox', { name: 'Password' }).fill(TEST_PASSWORD);
    await nina.getByRole('button', { name: 'Log in and join' }).click();
    await logOutButton(nina).waitFor();
    await expect.poll(() => nina.url()).toBe(`${knock.url}/acme`);
    await expect.poll(() => nina.getByRole('heading', { level: 1 }).innerText()).toBe('Acme Ltd');
  });

  it('inserts an admin’s canned response with /shortcut and Tab, and mails the visitor the transcript', async () => {
    const audit = new AccessibilityAudit();
    const admin = await browser.newPage('admin');
    await openProfile(admin, knock.url, 'ada');
    await logInAsOwner(admin);
    await admin.getByRole('navigation', { name: 'Companies' }).getByRole('link', { name: 'Acme Ltd — operator console' }).click();
    await admin.getByRole('button', { name: 'Settings' }).click();
    await admin.getByRole('textbox', { name: 'Shortcut' }).fill('hello');
    await admin.getByRole('textbox', { name: 'Response' }).fill('Hello! How can we help?');
    await admin.getByRole('button', { name: 'Add response' }).click();
    await admin.getByRole('list', { name: 'Canned responses' }).getByText('/hello').waitFor();
    await audit.check(admin, 'the company’s canned responses, for an admin');

    const visitor = await browser.newPage('visitor', { viewport: { width: 360, height: 740 } });
    await openProfile(visitor, knock.url, 'acme');
    await sendWithEnter(visitor, 'Do you ship to Norway?');
    await expectMessage(visitor, 'Do you ship to Norway?');

    await admin.reload();
    // The company's only conversation (its entry shows the visitor's name).
    await conversationButtons(admin).first().click();
    await messageBox(admin).fill('/hel');
    await admin.getByText('Tab: insert canned response “hello”').waitFor();
    await messageBox(admin).press('Tab');
    await expect.poll(() => messageBox(admin).inputValue()).toBe('Hello! How can we help?');
    await messageBox(admin).press('Enter');
    await expectMessage(visitor, 'Hello! How can we help?');

    await visitor.getByRole('button', { name: 'Email transcript' }).click();
    await visitor.getByRole('textbox', { name: 'Email' }).fill('vera@visitor.test');
    await visitor.getByRole('button', { name: 'Send transcript' }).click();
    await visitor.getByRole('status').getByText('Transcript sent to vera@visitor.test.').waitFor();
    await audit.check(visitor, 'the visitor’s transcript form, 360 px');
    const mail = await sink.next((m) => m.envelope.to.includes('vera@visitor.test'));
    expect(mail.parsed.text).toContain('Acme Ltd: Hello! How can we help?');
    audit.expectClean();
  });
});
