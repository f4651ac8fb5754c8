/**
 * A company's console in Chromium (issue 19): an admin logs in at the company's URL with their own account and finds
 * the company's console, with Settings → Company (the embed code, the sites, the team, their own status); a plain
 * operator reaches it from their own console's "Companies" list and sees the same without the admins' controls. Both
 * pages pass axe-core (both schemes, desktop and 360 px). An invitation link ("Invite operator") brings a person, who
 * logs in on its page with their own account, into the team and to the company's console.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessibilityAudit } from '../support/axeAudit.ts';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, TEST_PASSWORD, type TestKnock } from '../support/knockServer.ts';
import { expectPresence, logInAsOwner, logOutButton, openProfile } from '../support/knockUi.ts';

const browser = useBrowser();
let knock: TestKnock;

beforeAll(async () => {
  knock = await startKnock();
  await knock.addUser('ada', 'Ada');
  await knock.addUser('otto', 'Otto');
  await knock.addUser('nina', 'Nina');
  await knock.companies.add({ handle: 'acme', name: 'Acme Ltd', adminHandle: 'ada' });
  await knock.companies.addOperator('acme', 'otto');
  await knock.companies.addSite('acme', 'https://shop.example');
});
afterAll(() => knock?.close());

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
});
