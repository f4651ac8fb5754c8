/**
 * Issue 22 as people do it, in Chromium: the owner blocks a visitor from the conversation ("Block", confirmed), and the
 * visitor's next message is refused with the text shown on their page as an alert; Settings → Blocked visitors lets
 * them back. "Export my data" downloads a zip the test opens. "Delete account" asks the password and the handle
 * again, then the account is gone and the page is the landing page. Logging out leaves nothing of the owner in the
 * browser: the owner's localStorage entries and the service worker's kept pages go, while the same browser's
 * conversation with another owner, as a visitor, stays. Every new view passes axe, in light and dark, at 360 px too.
 */
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE, visitorCookieName } from '../../engine/cookies.ts';
import { AccessibilityAudit } from '../support/axeAudit.ts';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { testRateLimits } from '../support/cast.ts';
import { TEST_PASSWORD, startKnock, type TestKnock } from '../support/knockServer.ts';
import {
  deliveryOf,
  eventually,
  expectMessage,
  logInAsOwner,
  logOutButton,
  messageItem,
  messageTexts,
  openConversation,
  openProfile,
  ownerAndVisitor,
  sendWithEnter,
} from '../support/knockUi.ts';
import { readZip } from '../support/zipReader.ts';

const browser = useBrowser();
let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock({ rateLimits: testRateLimits() });
});
afterAll(() => knock?.close());

/** The owner's console with the conversation Mallory (a visitor) started open; the visitor's page beside it. */
async function conversationWithMallory(handle: string, server: TestKnock = knock): Promise<{ owner: Page; visitor: Page }> {
  const { owner, visitor } = await ownerAndVisitor(browser, server, handle);
  await visitor.getByRole('textbox', { name: 'Your name' }).fill('Mallory');
  await sendWithEnter(visitor, 'Hello Alice');
  await openConversation(owner, 'Mallory');
  await expectMessage(owner, 'Hello Alice');
  return { owner, visitor };
}

async function openSettings(owner: Page): Promise<void> {
  await owner.getByRole('button', { name: 'Settings' }).click();
  await owner.getByRole('region', { name: 'Blocked visitors' }).waitFor();
}

describe('blocking a visitor', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('refuses the blocked visitor\u2019s next message with a clear text on their page, until the owner unblocks them in Settings', async () => {
    const { owner, visitor } = await conversationWithMallory('alice-block');
    const audit = new AccessibilityAudit();

    await owner.getByRole('button', { name: 'Block', exact: true }).click();
    const dialog = owner.getByRole('dialog', { name: 'Block Mallory?' });
    await dialog.waitFor();
    await audit.check(owner, 'the Block dialog');
    await dialog.getByRole('button', { name: 'Block' }).click();
    await owner.getByRole('button', { name: 'Unblock', exact: true }).waitFor();
    expect(await dialog.count()).toBe(0);

    await sendWithEnter(visitor, 'Why are you ignoring me?');
    await visitor.getByRole('alert').filter({ hasText: 'Alice does not accept messages from you.' }).waitFor();
    await messageItem(visitor, 'Why are you ignoring me?').getByText('Not sent: Alice does not accept messages from you.').waitFor();
    await audit.check(visitor, 'the visitor page with the refusal');
    // The owner never got it.
    await expectMessage(owner, 'Hello Alice');
    expect(await messageTexts(owner)).not.toContain('Why are you ignoring me?');

    await openSettings(owner);
    const blocked = owner.getByRole('region', { name: 'Blocked visitors' });
    const entry = blocked.getByRole('listitem').filter({ hasText: 'Mallory' });
    await entry.waitFor();
    expect(await entry.textContent()).toMatch(/Blocked .+ by alice-block · their address until /);
    await audit.check(owner, 'Settings with a blocked visitor');
    await blocked.getByRole('button', { name: 'Unblock Mallory' }).click();
    await blocked.getByText('Mallory may write to you again.').waitFor();
    await blocked.getByText('Nobody is blocked.', { exact: false }).waitFor();

    await sendWithEnter(visitor, 'Sorry. May I write again?');
    await eventually(() => deliveryOf(messageItem(visitor, 'Sorry. May I write again?')), (state) => expect(['Sent', 'Delivered', 'Read']).toContain(state));
    audit.expectClean();
  });
});

describe('Settings → Your data', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('"Export my data" downloads a zip of the account\u2019s profile, conversations and audit log', async () => {
    const { owner } = await conversationWithMallory('alice-export');
    await openSettings(owner);
    const section = owner.getByRole('region', { name: 'Your data' });
    const downloading = owner.waitForEvent('download');
    await section.getByRole('button', { name: 'Export my data' }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toMatch(/^knock-alice-export-\d{4}-\d{2}-\d{2}\.zip$/);
    const entries = readZip(await readFile(await download.path()));
    expect(JSON.parse(entries.get('account.json')!.toString())).toMatchObject({ handle: 'alice-export', displayName: 'Alice' });
    const conversations = [...entries.keys()].filter((name) => name.startsWith('conversations/'));
    expect(conversations).toHaveLength(1);
    expect(JSON.parse(entries.get(conversations[0]!)!.toString())).toMatchObject({ messages: [{ from: 'Mallory', body: 'Hello Alice' }] });
    expect(entries.get('audit.json')!.toString()).toContain('"login"');
    await section.getByText(`Your data is downloaded as ${download.suggestedFilename()}.`).waitFor();
    const audit = new AccessibilityAudit();
    await audit.check(owner, 'Settings after an export');
    audit.expectClean();
  });

  it('"Delete account" asks the password and the handle again, then the account is gone and the page is the landing page', async () => {
    const { owner } = await conversationWithMallory('alice-delete');
    await openSettings(owner);
    await owner.getByRole('region', { name: 'Your data' }).getByRole('button', { name: 'Delete account' }).click();
    const dialog = owner.getByRole('dialog', { name: 'Delete your account?' });
    await dialog.waitFor();
    const audit = new AccessibilityAudit();
    await audit.check(owner, 'the Delete account dialog');

    await dialog.getByLabel('Password').fill('not my password');
    await dialog.getByRole('textbox', { name: 'Type your handle, alice-delete, to confirm' }).fill('alice-delete');
    await dialog.getByRole('button', { name: 'Delete for good' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'That is not your password.' }).waitFor();
    expect(await knock.storage.getAccountByHandle('alice-delete')).not.toBeNull();

    await dialog.getByLabel('Password').fill(TEST_PASSWORD);
    await dialog.getByLabel('Password').press('Enter');
    await owner.waitForURL(`${knock.url}/`);
    expect(await knock.storage.getAccountByHandle('alice-delete')).toBeNull();
    expect(await owner.evaluate(() => Object.keys(localStorage).filter((key) => key.startsWith('knock:owner:')))).toEqual([]);
    expect((await owner.context().cookies()).filter((c) => c.name === SESSION_COOKIE && c.value !== '')).toEqual([]);
    audit.expectClean();
  });
});

describe('logging out', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  let slow: TestKnock;
  // One message per connection per 10 minutes: the owner's first reply goes, the next waits in the browser's outbox.
  beforeAll(async () => {
    slow = await startKnock({ rateLimits: testRateLimits({ socketMessages: { perWindow: 1, windowMs: 600_000 } }) });
  });
  afterAll(() => slow?.close());

  it('removes the owner’s unsent replies and the service worker’s kept pages, and keeps this browser’s conversation with another owner', async () => {
    await slow.addUser('bob-elsewhere', 'Bob');
    const { owner } = await conversationWithMallory('alice-traces', slow);
    // The same browser, as a visitor of Bob's: its conversation there is a cookie, and stays.
    const asVisitor = await owner.context().newPage();
    await openProfile(asVisitor, slow.url, 'bob-elsewhere');
    await sendWithEnter(asVisitor, 'Hi Bob, from Alice’s browser');
    await expectMessage(asVisitor, 'Hi Bob, from Alice’s browser');
    await asVisitor.close();

    await sendWithEnter(owner, 'A reply that was sent');
    await eventually(() => deliveryOf(messageItem(owner, 'A reply that was sent')), (state) => expect(['Sent', 'Delivered', 'Read']).toContain(state));
    await sendWithEnter(owner, 'A reply not sent yet');
    const ownerEntries = () => owner.evaluate(() => Object.entries(localStorage).filter(([key]) => key.startsWith('knock:owner:')));
    await eventually(ownerEntries, (entries) => expect(entries.some(([, value]) => value.includes('A reply not sent yet'))).toBe(true));
    // The service worker keeps the app's pages.
    const keptCaches = () => owner.evaluate(async () => (await caches.keys()).filter((name) => name.startsWith('knock-')));
    await owner.evaluate(() => navigator.serviceWorker.ready);
    await eventually(keptCaches, (names) => expect(names.length).toBeGreaterThan(0));

    await logOutButton(owner).click();
    await owner.getByRole('button', { name: 'Owner? Log in' }).waitFor();
    expect(await ownerEntries()).toEqual([]);
    expect(await keptCaches()).toEqual([]);
    // Knock keeps nothing in IndexedDB, for the owner or anyone.
    expect(await owner.evaluate(async () => (await indexedDB.databases()).map((db) => db.name))).toEqual([]);
    expect((await owner.context().cookies()).map((c) => c.name)).toContain(visitorCookieName('bob-elsewhere'));
    const again = await owner.context().newPage();
    await openProfile(again, slow.url, 'bob-elsewhere');
    await expectMessage(again, 'Hi Bob, from Alice’s browser');
    // The owner logs in again afterwards: nothing the app needs was lost.
    await openProfile(owner, slow.url, 'alice-traces');
    await logInAsOwner(owner);
  });
});
