/**
 * Logging out leaves nothing of the owner in the browser (issue 13): replies not sent yet (the outbox) and copies of
 * documents (the document cache) are kept in localStorage while the owner works, and are gone once they log out.
 * A tiny message rate keeps the owner's second reply unsent, as on a bad network, without faking anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { testRateLimits } from '../support/cast.ts';
import { knockCli } from '../support/knockCli.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { deliveryOf, eventually, expectMessage, messageItem, logOutButton, openConversation, ownerAndVisitor, sendWithEnter } from '../support/knockUi.ts';

const browser = useBrowser();
let knock: TestKnock;

beforeAll(async () => {
  // Two messages per connection per 10 minutes: the owner's first two (a document card, a reply) go, the next waits.
  knock = await startKnock({ rateLimits: testRateLimits({ socketMessages: { perWindow: 2, windowMs: 600_000 } }) });
});
afterAll(() => knock?.close());

/** Every entry of the page's localStorage: key and value. */
const localEntries = (page: Page) => page.evaluate(() => Object.entries(localStorage));

/** A new owner at `handle`, logged in, with the conversation Bob (a visitor) started open in the console. */
async function ownerInConversationWithBob(handle: string): Promise<Page> {
  const { owner, visitor } = await ownerAndVisitor(browser, knock, handle);
  await visitor.getByRole('textbox', { name: 'Your name' }).fill('Bob');
  await sendWithEnter(visitor, 'Hello Alice');
  await openConversation(owner, 'Bob');
  await expectMessage(owner, 'Hello Alice');
  return owner;
}

describe('logging out', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('removes the owner\u2019s unsent replies and cached documents from localStorage', async () => {
    const owner = await ownerInConversationWithBob('alice-logout');

    // A document, written in by the owner: its copy is kept in the browser.
    await owner.getByRole('button', { name: 'New document' }).click();
    await owner.getByRole('textbox', { name: 'Title' }).fill('Private notes');
    await owner.getByRole('button', { name: 'Create document' }).click();
    const editor = owner.getByRole('textbox', { name: 'Document' });
    await editor.waitFor();
    await editor.click();
    await owner.keyboard.type('Salary negotiation plan');
    await owner.getByRole('status').filter({ hasText: 'All changes saved' }).waitFor();
    await eventually(() => localEntries(owner), (entries) => expect(entries.some(([k]) => k.includes(':doc:'))).toBe(true));
    await owner.getByRole('button', { name: 'Close document' }).click();

    // One reply goes; the next is held back by the rate limit and waits in the outbox.
    await sendWithEnter(owner, 'A reply that was sent');
    await eventually(() => deliveryOf(messageItem(owner, 'A reply that was sent')), (state) => expect(['Sent', 'Delivered', 'Read']).toContain(state));
    await sendWithEnter(owner, 'A reply not sent yet');
    await eventually(() => localEntries(owner), (entries) => expect(entries.some(([, v]) => v.includes('A reply not sent yet'))).toBe(true));

    await logOutButton(owner).click();
    await owner.getByRole('button', { name: 'Owner? Log in' }).waitFor();

    const left = await localEntries(owner);
    expect(left.filter(([, v]) => v.includes('A reply not sent yet'))).toEqual([]);
    expect(left.filter(([k]) => k.startsWith('knock:'))).toEqual([]);
  });

  it('happens by itself when the operator changes the password with the CLI: the console closes and forgets the owner\u2019s data', async () => {
    const owner = await ownerInConversationWithBob('alice-revoked');
    for (const body of ['First reply', 'Second reply']) {
      await sendWithEnter(owner, body);
      await eventually(() => deliveryOf(messageItem(owner, body)), (state) => expect(['Sent', 'Delivered', 'Read']).toContain(state));
    }
    await sendWithEnter(owner, 'A reply still waiting');
    await eventually(() => localEntries(owner), (entries) => expect(entries.some(([, v]) => v.includes('A reply still waiting'))).toBe(true));

    const run = await knockCli(['user', 'passwd', 'alice-revoked', '--password-stdin'], { KNOCK_DATA_DIR: knock.dataDir }, 'a new password for alice\n');
    expect(run.code).toBe(0);

    await owner.getByRole('button', { name: 'Owner? Log in' }).waitFor({ timeout: 10_000 });
    const left = await localEntries(owner);
    expect(left.filter(([k]) => k.startsWith('knock:'))).toEqual([]);
  });
});
