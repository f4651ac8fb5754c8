/**
 * Routing in a company's console in Chromium (issue 19): a visitor's chat waits in the "Queue" while the only
 * operator online is away; the operator takes it ("Take"), which opens it with "Assigned to you"; transfers it to
 * another operator ("Transfer to" … "Transfer"), and the pane says so; ends it ("End chat"), and the controls go.
 * The console with a chat waiting and a chat's controls passes axe-core (both schemes, desktop and 360 px).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessibilityAudit } from '../support/axeAudit.ts';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { Person } from '../support/clients.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { logInAsOwner, openProfile } from '../support/knockUi.ts';

const browser = useBrowser();
let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock();
  await knock.addUser('ada', 'Ada');
  await knock.addUser('otto', 'Otto');
  await knock.companies.add({ handle: 'acme', name: 'Acme Ltd', adminHandle: 'ada' });
  await knock.companies.addOperator('acme', 'otto');
  await knock.companies.addSite('acme', 'https://shop.example');
});
afterAll(() => knock?.close());

describe('routing in a company\u2019s console', { timeout: E2E_TEST_TIMEOUT_MS * 2 }, () => {
  it('lists a waiting chat in the Queue; Take opens it as yours, Transfer hands it to another operator, End chat ends it', async () => {
    const acme = (await knock.storage.getAccountByHandle('acme'))!;
    const ada = (await knock.storage.getAccountByHandle('ada'))!;
    // Away: nothing is routed to Ada, so the chat waits for her to take it.
    await knock.storage.setOperatorStatus(acme.id, ada.id, 'away');
    const page = await browser.newPage('ada');
    await openProfile(page, knock.url, 'ada');
    await logInAsOwner(page);
    await page.getByRole('navigation', { name: 'Companies' }).getByRole('link', { name: 'Acme Ltd — operator console' }).click();
    await page.getByText('Nobody is waiting.').waitFor();

    const { conversationId } = await new Person(knock.url).api.knock('acme', 'Vic', undefined, { url: 'https://shop.example/shoes', title: 'Shoes' });
    const queue = page.getByRole('list', { name: 'Queue' });
    const item = queue.getByRole('listitem').filter({ hasText: 'Vic' });
    await item.getByText(/Waiting .* · started on Shoes/).waitFor();
    const audit = new AccessibilityAudit();
    await audit.check(page, 'the console with a chat in the queue');

    await item.getByRole('button', { name: 'Take' }).click();
    await page.getByText('Assigned to you').waitFor();
    await expect.poll(() => queue.getByRole('listitem').count()).toBe(0);
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
