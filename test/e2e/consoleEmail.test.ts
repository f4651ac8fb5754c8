/**
 * The console's side of email (issue 17), in Chromium against a real Knock server and its real mail endpoints, with
 * no relay: what the console sends out waits in the outbox, which is all these checks need (the mail itself going out
 * and coming in is test/e2e/email.test.ts's). "New email" refuses what is not an address in words and keeps what was
 * typed; Send creates the email conversation, opens it and sends the message there, files too; the server's refusal
 * (too many new emails within the hour) is shown next to the form, the message kept. Settings shows the mail address
 * to copy, saves the notification address (then waiting for its link) and removes it, and revokes a mail device. Both
 * pass the accessibility audit and fit a 360 px phone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { Account } from '../../engine/ports/storage.ts';
import { AccessibilityAudit } from '../support/axeAudit.ts';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { eventually, hasNoHorizontalScroll, logInAsOwner, messageBox, messageList, openProfile, sendButton } from '../support/knockUi.ts';

const DOMAIN = 'knock.example';
/** New emails (and new notification addresses) an account may start within the hour, here. */
const NEW_EMAILS_PER_HOUR = 2;
const browser = useBrowser();
let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock({
    smtpPort: -1,
    smtpRelayUrl: undefined,
    mailDomain: DOMAIN,
    rateLimits: { newEmailsPerAccount: { perWindow: NEW_EMAILS_PER_HOUR, windowMs: 3_600_000 } },
  });
});
afterAll(() => knock?.close());

async function newOwner(handle: string, name: string): Promise<Account> {
  await knock.addUser(handle, name);
  return (await knock.storage.getAccountByHandle(handle))!;
}

async function ownerConsole(handle: string, viewport = { width: 1000, height: 760 }): Promise<Page> {
  const page = await browser.newPage(handle, { viewport, permissions: ['clipboard-read', 'clipboard-write'] });
  await openProfile(page, knock.url, handle);
  await logInAsOwner(page);
  return page;
}

const field = (page: Page, name: string) => page.getByRole('textbox', { name, exact: true });

/** The owner's email conversation with this subject, as the server stored it, and its messages. */
async function emailConversation(owner: Account, subject: string) {
  const summary = (await knock.storage.listConversations(owner.id, { limit: 50 })).find((c) => c.subject === subject);
  if (!summary) return null;
  return { summary, messages: await knock.storage.messagesAfter(summary.id, 0, 50) };
}

async function writeNewEmail(page: Page, to: string, subject: string, body: string): Promise<void> {
  await page.getByRole('button', { name: 'New email' }).click();
  await field(page, 'To').fill(to);
  await field(page, 'Subject').fill(subject);
  await messageBox(page).fill(body);
}

describe('New email', () => {
  it('says in words what is wrong with the address, keeps what was typed, and makes no conversation', async () => {
    const amy = await newOwner('amy', 'Amy');
    const page = await ownerConsole('amy', { width: 360, height: 740 });
    await writeNewEmail(page, 'bob at example', 'Lunch', 'Thursday?');
    await sendButton(page).click();
    await page.getByRole('alert').filter({ hasText: 'This does not look like an email address.' }).waitFor();
    expect(await field(page, 'To').getAttribute('aria-invalid')).toBe('true');
    expect([await field(page, 'To').inputValue(), await field(page, 'Subject').inputValue(), await messageBox(page).inputValue()]).toEqual(['bob at example', 'Lunch', 'Thursday?']);
    expect(await knock.storage.listConversations(amy.id, { limit: 50 })).toEqual([]);
    expect((await hasNoHorizontalScroll(page)).ok).toBe(true);
    const audit = new AccessibilityAudit();
    await audit.check(page, 'New email with an error');
    audit.expectClean();
  }, E2E_TEST_TIMEOUT_MS);

  it("creates the email conversation and sends the message there, files too; past the hour's limit, shows the server's refusal and keeps the message", async () => {
    const ava = await newOwner('ava', 'Ava');
    const page = await ownerConsole('ava');

    await writeNewEmail(page, ' bob@example.net ', 'Lunch on Thursday', 'Shall we?');
    await sendButton(page).click();
    await messageList(page).getByText('Shall we?').waitFor();
    const pane = page.getByRole('region', { name: 'Conversation' });
    await pane.getByRole('heading', { name: 'bob@example.net', level: 2 }).waitFor();
    await pane.getByText('Lunch on Thursday', { exact: true }).waitFor();
    expect(await messageBox(page).inputValue()).toBe('');
    // Stored by the server in an email conversation to that address: the message is the conversation's own.
    const lunch = await eventually(
      () => emailConversation(ava, 'Lunch on Thursday'),
      (found) => expect(found?.messages.map((m) => [m.senderRole, m.body])).toEqual([['owner', 'Shall we?']]),
    );
    expect([lunch!.summary.kind, lunch!.summary.visitorEmail]).toEqual(['email', 'bob@example.net']);

    // With a file: the conversation first, the file uploaded into it, then the message.
    await writeNewEmail(page, 'carl@example.net', 'The plan', 'Attached.');
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Attach files' }).click()]);
    await chooser.setFiles([{ name: 'plan.txt', mimeType: 'text/plain', buffer: Buffer.from('the plan') }]);
    await sendButton(page).click();
    await messageList(page).getByRole('link', { name: 'plan.txt', exact: true }).waitFor();
    await messageList(page).getByText('Attached.').waitFor();
    await pane.getByRole('heading', { name: 'carl@example.net', level: 2 }).waitFor();
    await pane.getByText('The plan', { exact: true }).waitFor();
    await eventually(
      () => emailConversation(ava, 'The plan'),
      (found) => {
        expect(found?.summary.visitorEmail).toBe('carl@example.net');
        expect(found?.messages.map((m) => [m.body, m.event.kind === 'file' ? m.event.files.map((f) => f.name) : []])).toEqual([['Attached.', ['plan.txt']]]);
      },
    );

    // A third within the hour: the server says no, in words, next to the form; nothing typed is lost.
    await writeNewEmail(page, 'dan@example.net', 'One more', 'Last one.');
    await sendButton(page).click();
    await page.getByRole('alert').filter({ hasText: /^New emails from your account: too many, too fast\. Try again in \d+ s\.$/ }).waitFor();
    expect([await field(page, 'To').inputValue(), await field(page, 'Subject').inputValue(), await messageBox(page).inputValue()]).toEqual([
      'dan@example.net',
      'One more',
      'Last one.',
    ]);
    expect((await knock.storage.listConversations(ava.id, { limit: 50 })).map((c) => c.subject).sort()).toEqual(['Lunch on Thursday', 'The plan']);
  }, E2E_TEST_TIMEOUT_MS);
});

describe('Settings', () => {
  it('shows the mail address to copy, saves and removes the notification address, and revokes a mail device', async () => {
    const ada = await newOwner('ada', 'Ada');
    await knock.storage.createDeviceToken({ accountId: ada.id, name: 'Laptop', tokenHash: 'console-email-laptop', at: Date.UTC(2026, 10, 1) });
    await knock.storage.useDeviceToken('console-email-laptop', Date.UTC(2026, 11, 5));
    await knock.storage.createDeviceToken({ accountId: ada.id, name: 'Phone', tokenHash: 'console-email-phone', at: Date.UTC(2026, 11, 1) });
    const page = await ownerConsole('ada', { width: 360, height: 740 });

    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByText(`ada@${DOMAIN}`, { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Copy address' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`ada@${DOMAIN}`);
    await page.getByText('No email address: nothing is sent to you by email.').waitFor();

    await field(page, 'Email address').fill('ada.private@example.org');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Unverified: we sent a link to ada.private@example.org').waitFor();
    expect(await knock.storage.getAccountEmail(ada.id)).toMatchObject({ address: 'ada.private@example.org', verifiedAt: null });

    await field(page, 'Email address').fill('not an address');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').filter({ hasText: 'This does not look like an email address.' }).waitFor();
    expect(await field(page, 'Email address').inputValue()).toBe('not an address');
    expect((await knock.storage.getAccountEmail(ada.id))?.address).toBe('ada.private@example.org');

    // Saving the box empty removes the address.
    await field(page, 'Email address').fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('No email address: nothing is sent to you by email.').waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await knock.storage.getAccountEmail(ada.id)).toBeNull();

    const devices = page.getByRole('list', { name: 'Mail devices' });
    expect(await devices.getByRole('listitem').filter({ hasText: 'Phone' }).innerText()).toMatch(/Never used/);
    expect(await devices.getByRole('listitem').filter({ hasText: 'Laptop' }).innerText()).toMatch(/Last used/);

    await page.getByRole('button', { name: 'Revoke Phone' }).click();
    await page.getByText('Revoked Phone: it can no longer reach your mail.').waitFor();
    expect(await page.getByRole('button', { name: 'Revoke Phone' }).count()).toBe(0);
    expect((await knock.storage.listDeviceTokens(ada.id)).map((d) => d.name)).toEqual(['Laptop']);
    // Settings opened again: the server's list, the phone gone for good.
    await page.getByRole('button', { name: 'Back' }).click();
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('button', { name: 'Revoke Laptop' }).waitFor();
    expect(await page.getByRole('button', { name: 'Revoke Phone' }).count()).toBe(0);
    expect((await hasNoHorizontalScroll(page)).ok).toBe(true);
    const audit = new AccessibilityAudit();
    await audit.check(page, 'Settings');
    audit.expectClean();
  }, E2E_TEST_TIMEOUT_MS);
});
