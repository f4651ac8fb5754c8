/**
 * Routing in Chromium (issue 19): a visitor on the company's site (a second local origin) starts a chat in the
 * widget while the only operator online is away; the widget tells them their place ("You are number 1 in the
 * queue…"), and the chat waits in the console's "Queue"; the operator takes it ("Take"), which opens it with "Assigned to you"; transfers it to
 * another operator ("Transfer to" … "Transfer"), and the pane says so; ends it ("End chat"), and the controls go.
 * The visitor's place goes once the chat is taken.
 * The console with a chat waiting and a chat's controls passes axe-core (both schemes, desktop and 360 px).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessibilityAudit } from '../support/axeAudit.ts';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { logInAsOwner, openProfile, sendWithButton } from '../support/knockUi.ts';
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
  it('shows the visitor their place and the chat in the Queue; Take opens it as yours, Transfer hands it on, End chat ends it', async () => {
    const acme = (await knock.storage.getAccountByHandle('acme'))!;
    const ada = (await knock.storage.getAccountByHandle('ada'))!;
    // Away: nothing is routed to Ada, so the chat waits for her to take it.
    await knock.storage.setOperatorStatus(acme.id, ada.id, 'away');
    const page = await browser.newPage('ada');
    await openProfile(page, knock.url, 'ada');
    await logInAsOwner(page);
    await page.getByRole('navigation', { name: 'Companies' }).getByRole('link', { name: 'Acme Ltd — operator console' }).click();
    await page.getByText('Nobody is waiting.').waitFor();

    const visitor = await browser.newPage('visitor');
    await visitor.goto(shop.url('/products'));
    await widgetHost(visitor).getByRole('button', { name: 'Chat with us', exact: true }).click();
    await sendWithButton(chatPanelFrame(visitor, 'Acme Ltd'), 'Do you ship to the desert?');
    const place = widgetHost(visitor).getByRole('status');
    await place.getByText('You are number 1 in the queue. Someone will be with you soon.').waitFor();

    const queue = page.getByRole('list', { name: 'Queue' });
    const item = queue.getByRole('listitem');
    await item.getByText(/Waiting .* · started on Acme Shop — Products/).waitFor();
    const conversationId = (await knock.storage.openChats(acme.id))[0]!.conversationId;
    const audit = new AccessibilityAudit();
    await audit.check(page, 'the console with a chat in the queue');

    await item.getByRole('button', { name: 'Take' }).click();
    await page.getByText('Assigned to you').waitFor();
    await expect.poll(() => queue.getByRole('listitem').count()).toBe(0);
    await place.waitFor({ state: 'hidden' });
    await audit.check(page, 'a chat\u2019s routing controls');

    await page.getByRole('combobox', { name: 'Transfer to' }).selectOption({ label: 'Otto' });
    await page.getByRole('button', { name: 'Transfer', exact: true }).click();
    await page.getByText('Assigned to Otto').waitFor();
    expect((await knock.storage.getChatAssignment(conversationId))?.operatorId).toBe((await knock.storage.getAccountByHandle('otto'))!.id);

    await page.getByRole('button', { name: 'End chat' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'End chat' }).count()).toBe(0);
    expect((await knock.storage.getChatAssignment(conversationId))?.state).toBe('ended');
    audit.expectClean();
  });
});
