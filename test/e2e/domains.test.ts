/**
 * Issue 21 as an owner does it, in Chromium on a 360 px phone: Settings → Domains lists the name servers to set at
 * the registrar; Alice types her domain under "Domain" and presses "Add domain"; it waits for the name servers, saying
 * what Knock sees; once the registrar (the stand-in resolver, test/support/worldDns.ts) delegates it, "Check now"
 * makes it active. The section passes axe and fits the phone.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessibilityAudit } from '../support/axeAudit.ts';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { hasNoHorizontalScroll, logInAsOwner, openProfile } from '../support/knockUi.ts';
import { WorldDns } from '../support/worldDns.ts';

const browser = useBrowser();
let knock: TestKnock;
let world: WorldDns;

beforeAll(async () => {
  world = await WorldDns.start();
  knock = await startKnock({ dnsNameservers: ['ns1.knock.test', 'ns2.knock.test'], publicIps: ['127.0.0.1'], dnsCheckResolver: world.address });
  await knock.addUser('alice', 'Alice');
});
afterAll(async () => {
  await knock?.close();
  await world?.close();
});

const section = (page: Page) => page.getByRole('region', { name: 'Domains' });

describe('Settings → Domains', () => {
  it('adds a domain, shows the NS records to set and that it waits for them, and activates it once delegated', async () => {
    const owner = await browser.newPage('owner', { viewport: { width: 360, height: 740 } });
    await openProfile(owner, knock.url, 'alice');
    await logInAsOwner(owner);
    await owner.getByRole('button', { name: 'Settings' }).click();
    const domains = section(owner);
    const records = domains.getByRole('list', { name: 'Name servers to set' });
    await records.waitFor();
    expect(await records.getByRole('listitem').allTextContents()).toEqual(['ns1.knock.test', 'ns2.knock.test']);

    await domains.getByRole('textbox', { name: 'Domain' }).fill('Alice.Example');
    await domains.getByRole('button', { name: 'Add domain' }).click();
    const entry = domains.getByRole('list', { name: 'Your domains' }).getByRole('listitem').filter({ hasText: 'alice.example' });
    await entry.filter({ hasText: 'Waiting for the name servers: No NS records for alice.example yet.' }).waitFor();
    expect(await domains.getByRole('textbox', { name: 'Domain' }).inputValue()).toBe('');

    world.delegate('alice.example', ['ns1.knock.test', 'ns2.knock.test']);
    await domains.getByRole('button', { name: 'Check alice.example now' }).click();
    await entry.filter({ hasText: 'Active' }).waitFor();
    await domains.getByText('alice.example is active.').waitFor();

    expect((await hasNoHorizontalScroll(owner)).ok).toBe(true);
    const audit = new AccessibilityAudit();
    await audit.check(owner, 'Settings with a domain');
    audit.expectClean();

    // Taken by keyboard too: Remove, focused and pressed with Enter.
    await domains.getByRole('button', { name: 'Remove alice.example' }).focus();
    await owner.keyboard.press('Enter');
    await domains.getByText('Removed alice.example.').waitFor();
    expect(await knock.storage.getDomain('alice.example')).toBeNull();
  }, E2E_TEST_TIMEOUT_MS);
});
