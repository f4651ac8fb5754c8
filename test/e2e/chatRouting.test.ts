/**
 * Routing in Chromium (issue 19): while the only operator with a console open is away, a visitor on the company's
 * site (a second local origin) sees "Leave a message"; the message waits in the console's "Queue" (with the page it
 * started on); the operator takes it ("Take": "Assigned to you", "Started on …"). Back online with room for one chat,
 * the operator is full: a second visitor sees "Chat with us", and their chat waits with "You are number 1 in the
 * queue…" in the widget; the operator transfers the first chat to another operator ("Transfer to" … "Transfer"), and
 * the waiting chat comes to her by itself, the visitor's place going away; "End chat" ends the first and its
 * controls go. The console with a chat waiting and a chat's controls passes axe-core (both schemes, desktop and 360 px).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessibilityAudit } from '../support/axeAudit.ts';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { logInAsOwner, openConversation, openProfile, sendWithButton } from '../support/knockUi.ts';
import { startThirdPartySite, type ThirdPartySite } from '../support/thirdPartySite.ts';
import { chatPanelFrame, widgetHost } from '../support/widgetUi.ts';

const browser = useBrowser();
let knock: TestKnock;
let shop: ThirdPartySite;

beforeAll(async () => {
  knock = await startKnock();
  await knock.addUser('ada', 'Ada');
  await knock.addUser('otto', 'Otto');
  await knock.companies.add({ handle: 'acme', name: 'Acme Ltd', adminHandle: 'ada' });
  await knock.companies.addOperator('acme', 'otto');
  shop = await startThirdPartySite({ knockUrl: knock.url, handle: 'acme' });
  await knock.companies.addSite('acme', shop.origin);
});
afterAll(async () => {
  await shop?.close();
  await knock?.close();
});

describe('routing in a company\u2019s console', { timeout: E2E_TEST_TIMEOUT_MS * 2 }, () => {
  it('queues chats while the operator is away or full: Leave a message, the Queue, Take, the visitor\u2019s place, Transfer frees her for the next, End chat', async () => {
    const acme = (await knock.storage.getAccountByHandle('acme'))!;
    const ada = (await knock.storage.getAccountByHandle('ada'))!;
    // Away: nothing is routed to Ada, so the chat waits for her to take it, and visitors are told to leave a message.
    await knock.storage.setOperatorStatus(acme.id, ada.id, 'away');
    const page = await browser.newPage('ada');
    await openProfile(page, knock.url, 'ada');
    await logInAsOwner(page);
    await page.getByRole('navigation', { name: 'Companies' }).getByRole('link', { name: 'Acme Ltd — operator console' }).click();
    await page.getByText('Nobody is waiting.').waitFor();

    const first = await browser.newPage('first visitor');
    await first.goto(shop.url('/products'));
    await widgetHost(first).getByRole('button', { name: 'Leave a message', exact: true }).click();
    await sendWithButton(chatPanelFrame(first, 'Acme Ltd'), 'Do you ship to the desert?');

    const queue = page.getByRole('list', { name: 'Queue' });
    const item = queue.getByRole('listitem');
    await item.getByText(/Waiting .* · started on Acme Shop — Products/).waitFor();
    const firstId = (await knock.storage.openChats(acme.id))[0]!.conversationId;
    const audit = new AccessibilityAudit();
    await audit.check(page, 'the console with a chat in the queue');

    await item.getByRole('button', { name: 'Take' }).click();
    await page.getByText('Assigned to you').waitFor();
    await page.getByRole('link', { name: 'Acme Shop — Products' }).waitFor();
    await expect.poll(() => queue.getByRole('listitem').count()).toBe(0);
    await audit.check(page, 'a chat\u2019s routing controls');

    // Back online, with room for one chat at a time: she has one, so the next visitor waits, and is told so.
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('combobox', { name: 'Status' }).selectOption('online');
    await page.getByRole('spinbutton', { name: 'Capacity' }).fill('1');
    await page.getByRole('button', { name: 'Save capacity' }).click();
    await page.getByText('You take up to 1 chat at once.').waitFor();
    await openConversation(page, 'Visitor');
    await page.getByText('Assigned to you').waitFor();

    const second = await browser.newPage('second visitor');
    await second.goto(shop.url('/'));
    await widgetHost(second).getByRole('button', { name: 'Chat with us', exact: true }).click();
    await sendWithButton(chatPanelFrame(second, 'Acme Ltd'), 'Is the red kettle back?');
    const place = widgetHost(second).getByRole('status');
    await place.getByText('You are number 1 in the queue. Someone will be with you soon.').waitFor();

    // She hands the first chat to Otto: now she has room, and the waiting chat comes to her without a click.
    await page.getByRole('combobox', { name: 'Transfer to' }).selectOption({ label: 'Otto' });
    await page.getByRole('button', { name: 'Transfer', exact: true }).click();
    await page.getByText('Assigned to Otto').waitFor();
    expect((await knock.storage.getChatAssignment(firstId))?.operatorId).toBe((await knock.storage.getAccountByHandle('otto'))!.id);
    await place.waitFor({ state: 'hidden' });
    await expect
      .poll(async () => (await knock.storage.openChats(acme.id)).filter((c) => c.conversationId !== firstId).map((c) => c.operatorId))
      .toEqual([ada.id]);

    await page.getByRole('button', { name: 'End chat' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'End chat' }).count()).toBe(0);
    expect((await knock.storage.getChatAssignment(firstId))?.state).toBe('ended');
    audit.expectClean();
  });
});
