/**
 * The console's side of email (issue 17), in Chromium against a real Knock server, with the mail endpoints answered by
 * this test (Playwright routes) as the protocol says they answer: "New email" refuses what is not an address in words
 * and keeps what was typed; Send creates the email conversation (POST /_/api/emails, stood in for by a visitor's
 * conversation) and sends the message, with its files, through the ordinary conversation; Settings shows the mail
 * address, saves the notification address (PUT) and revokes mail devices (DELETE). Both pass the accessibility audit
 * and fit a 360 px phone. Mail itself going in and out is the server's to test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page, Route } from 'playwright-core';
import type { SettingsAnswer } from '../../engine/protocol.ts';
import { AccessibilityAudit } from '../support/axeAudit.ts';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { post } from '../support/httpClient.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { eventually, hasNoHorizontalScroll, logInAsOwner, messageBox, messageList, openProfile, sendButton } from '../support/knockUi.ts';

const browser = useBrowser();
let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock();
});
afterAll(() => knock?.close());

/** A conversation with `handle` started by a visitor: it stands in for the email conversation the server would create. */
async function conversationWith(handle: string, name: string): Promise<string> {
  const res = await post(knock.url, `/_/api/u/${handle}/knock`, { name });
  return ((await res.json()) as { conversationId: string }).conversationId;
}

async function ownerConsole(handle: string, viewport = { width: 1000, height: 760 }): Promise<Page> {
  const page = await browser.newPage(handle, { viewport });
  await openProfile(page, knock.url, handle);
  await logInAsOwner(page);
  return page;
}

const field = (page: Page, name: string) => page.getByRole('textbox', { name, exact: true });

describe('New email', () => {
  it('says in words what is wrong with the address, keeps what was typed, and asks the server nothing', async () => {
    await knock.addUser('amy', 'Amy');
    const page = await ownerConsole('amy', { width: 360, height: 740 });
    const created: unknown[] = [];
    await page.route('**/_/api/emails', (route) => {
      created.push(route.request().postDataJSON());
      return route.abort();
    });
    await page.getByRole('button', { name: 'New email' }).click();
    await field(page, 'To').fill('bob at example');
    await field(page, 'Subject').fill('Lunch');
    await messageBox(page).fill('Thursday?');
    await sendButton(page).click();
    await page.getByRole('alert').filter({ hasText: 'This does not look like an email address.' }).waitFor();
    expect(await field(page, 'To').getAttribute('aria-invalid')).toBe('true');
    expect([await field(page, 'To').inputValue(), await field(page, 'Subject').inputValue(), await messageBox(page).inputValue()]).toEqual(['bob at example', 'Lunch', 'Thursday?']);
    expect(created).toEqual([]);
    expect((await hasNoHorizontalScroll(page)).ok).toBe(true);
    const audit = new AccessibilityAudit();
    await audit.check(page, 'New email with an error');
    audit.expectClean();
  }, E2E_TEST_TIMEOUT_MS);

  it("shows the server's refusal next to the form and keeps the message", async () => {
    await knock.addUser('ann', 'Ann');
    const page = await ownerConsole('ann');
    await page.route('**/_/api/emails', (route) =>
      route.fulfill({ status: 400, json: { error: { code: 'bad_request', message: 'Mail to example.invalid cannot be delivered.' } } }),
    );
    await page.getByRole('button', { name: 'New email' }).click();
    await field(page, 'To').fill('bob@example.invalid');
    await field(page, 'Subject').fill('Lunch');
    await messageBox(page).fill('Thursday?');
    await sendButton(page).click();
    await page.getByRole('alert').filter({ hasText: 'Mail to example.invalid cannot be delivered.' }).waitFor();
    expect(await messageBox(page).inputValue()).toBe('Thursday?');
  });

  it('creates the email conversation, opens it and sends the message and its file there', async () => {
    await knock.addUser('ava', 'Ava');
    const [first, second] = [await conversationWith('ava', 'Bob'), await conversationWith('ava', 'Carl')];
    const page = await ownerConsole('ava');
    const created: unknown[] = [];
    const answers = [first, second];
    await page.route('**/_/api/emails', (route: Route) => {
      created.push(route.request().postDataJSON());
      return route.fulfill({ status: 201, json: { conversationId: answers.shift() } });
    });

    await page.getByRole('button', { name: 'New email' }).click();
    await field(page, 'To').fill(' bob@example.net ');
    await field(page, 'Subject').fill('Lunch on Thursday');
    await messageBox(page).fill('Shall we?');
    await sendButton(page).click();
    await messageList(page).getByText('Shall we?').waitFor();
    expect(created).toEqual([{ to: 'bob@example.net', subject: 'Lunch on Thursday' }]);
    expect(await page.getByRole('heading', { name: 'Bob', level: 2 }).count()).toBe(1);
    // Stored by the server: the conversation's own message, not a copy the form keeps.
    await eventually(() => page.locator('.message--mine .delivery').allTextContents(), (lines) => expect(lines).toHaveLength(1));
    expect(await messageBox(page).inputValue()).toBe('');

    // With a file: the conversation first, the file uploaded into it, then the message.
    await page.getByRole('button', { name: 'New email' }).click();
    await field(page, 'To').fill('carl@example.net');
    await field(page, 'Subject').fill('The plan');
    await messageBox(page).fill('Attached.');
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Attach files' }).click()]);
    await chooser.setFiles([{ name: 'plan.txt', mimeType: 'text/plain', buffer: Buffer.from('the plan') }]);
    await sendButton(page).click();
    await messageList(page).getByRole('link', { name: 'plan.txt', exact: true }).waitFor();
    await messageList(page).getByText('Attached.').waitFor();
    expect(created).toHaveLength(2);
    expect(await page.getByRole('heading', { name: 'Carl', level: 2 }).count()).toBe(1);
  }, E2E_TEST_TIMEOUT_MS);
});

describe('Settings', () => {
  it('shows the mail address to copy, saves the notification address and revokes a mail device', async () => {
    await knock.addUser('ada', 'Ada');
    const page = await ownerConsole('ada', { width: 360, height: 740 });
    let settings: SettingsAnswer = {
      email: null,
      mailAddress: 'ada@knock.example',
      devices: [
        { id: 'device-laptop-01', name: 'Laptop', createdAt: Date.UTC(2026, 10, 1), lastUsedAt: Date.UTC(2026, 11, 5) },
        { id: 'device-phone-001', name: 'Phone', createdAt: Date.UTC(2026, 11, 1), lastUsedAt: null },
      ],
    };
    const asked: string[] = [];
    await page.route('**/_/api/settings**', (route) => {
      const request = route.request();
      const path = new URL(request.url()).pathname;
      asked.push(`${request.method()} ${path}${request.method() === 'PUT' ? ` ${request.postData()}` : ''}`);
      if (request.method() === 'PUT') {
        const { address } = request.postDataJSON() as { address: string | null };
        settings = { ...settings, email: address === null ? null : { address, verified: false } };
        return route.fulfill({ status: 204, body: '' });
      }
      if (request.method() === 'DELETE') {
        settings = { ...settings, devices: settings.devices.filter((d) => !path.endsWith(`/${d.id}`)) };
        return route.fulfill({ status: 204, body: '' });
      }
      return route.fulfill({ json: settings });
    });

    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByText('ada@knock.example', { exact: true }).waitFor();
    expect(await page.getByRole('button', { name: 'Copy address' }).count()).toBe(1);

    await field(page, 'Email address').fill('ada.private@example.org');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Unverified: we sent a link to ada.private@example.org').waitFor();
    expect(asked).toContain('PUT /_/api/settings/email {"address":"ada.private@example.org"}');

    await field(page, 'Email address').fill('not an address');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').filter({ hasText: 'This does not look like an email address.' }).waitFor();

    expect(await page.getByRole('listitem').filter({ hasText: 'Phone' }).innerText()).toMatch(/Never used/);
    await page.getByRole('button', { name: 'Revoke Phone' }).click();
    await eventually(() => page.getByRole('button', { name: 'Revoke Phone' }).count(), (n) => expect(n).toBe(0));
    expect(asked).toContain('DELETE /_/api/settings/devices/device-phone-001');
    expect(await page.getByRole('button', { name: 'Revoke Laptop' }).count()).toBe(1);
    expect((await hasNoHorizontalScroll(page)).ok).toBe(true);
    const audit = new AccessibilityAudit();
    await audit.check(page, 'Settings');
    audit.expectClean();
    await page.setViewportSize({ width: 360, height: 740 });

    // Verified, as the server says after the link was followed.
    settings = { ...settings, email: { address: 'ada.private@example.org', verified: true } };
    await page.getByRole('button', { name: 'Back' }).click();
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByText('Verified', { exact: true }).waitFor();
  }, E2E_TEST_TIMEOUT_MS);
});
