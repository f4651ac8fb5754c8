/**
 * Issue 22, two-factor sign-in as people do it, in Chromium on a 360 px phone: Alice opens Settings → Two-factor
 * sign-in, presses "Add authenticator app", reads the key the page shows (her app would scan the QR code), and turns it
 * on with the code computed here with otpauth, as her app would, and her password; her recovery codes show once, to download. Logged
 * out, her password leads to a second step, "Authentication code", where a wrong code is refused in words and the
 * right one opens her console. Bob adds a passkey (Chromium's virtual authenticator: CTAP2, built in, resident keys,
 * user verification) and signs in with "Sign in with a passkey" alone, and with the passkey as the second step after
 * his password. An operator gives the second step at the company's URL too. Pages are served at localhost: a passkey's RP ID is a host name, never an IP address. Settings and the
 * second step pass axe and fit the phone.
 */
import { readFile } from 'node:fs/promises';
import { Secret, TOTP } from 'otpauth';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessibilityAudit } from '../support/axeAudit.ts';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { secondFactorChange, totpEnrolment } from '../../engine/protocol.ts';
import { Person } from '../support/clients.ts';
import { TEST_PASSWORD, startKnock, type TestKnock } from '../support/knockServer.ts';
import { hasNoHorizontalScroll, logInAsOwner, logOutButton, openProfile } from '../support/knockUi.ts';

const browser = useBrowser();
const PHONE = { viewport: { width: 360, height: 740 } };
let knock: TestKnock;
let base: string;

beforeAll(async () => {
  knock = await startKnock();
  base = knock.url.replace('127.0.0.1', 'localhost');
});
afterAll(() => knock?.close());

const twoFactorSection = (page: Page) => page.getByRole('region', { name: 'Two-factor sign-in' });

/** The code Alice's app shows `steps` 30-second steps from now. */
const codeOf = (secret: string, steps = 0) => new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + steps * 30_000 });

async function openSettings(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Settings' }).click();
  await twoFactorSection(page).getByRole('heading', { name: 'Authenticator app' }).waitFor();
}

async function logOut(page: Page): Promise<void> {
  await logOutButton(page).click();
  await page.getByRole('button', { name: 'Owner? Log in' }).waitFor();
}

/** "Owner? Log in" and the password: the second step is asked for. */
async function passwordStep(page: Page, password = TEST_PASSWORD): Promise<void> {
  await page.getByRole('button', { name: 'Owner? Log in' }).click();
  await page.getByRole('textbox', { name: 'Password' }).fill(password);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.getByText('Two-factor sign-in').waitFor();
}

describe('two-factor sign-in', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('turns on an authenticator app in Settings; then the password and the app\u2019s code sign Alice in', async () => {
    await knock.addUser('alice', 'Alice');
    const audit = new AccessibilityAudit();
    const page = await browser.newPage('alice', PHONE);
    await openProfile(page, base, 'alice');
    await logInAsOwner(page);
    await openSettings(page);
    const section = twoFactorSection(page);
    await section.getByRole('button', { name: 'Add authenticator app' }).click();
    await section.getByRole('img', { name: 'QR code to add Knock to your authenticator app' }).waitFor();
    const key = (await section.getByText('Key:').locator('code').textContent()) ?? '';
    expect(key).toMatch(/^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/);
    const secret = key.replace(/\s/g, '');
    await audit.check(page, 'Settings → Two-factor sign-in, adding an app');
    await section.getByRole('textbox', { name: 'Verification code' }).fill(codeOf(secret));
    await section.getByRole('textbox', { name: 'Password' }).fill(TEST_PASSWORD);
    await section.getByRole('button', { name: 'Turn on' }).click();

    const codes = section.getByRole('list', { name: 'Your recovery codes' }).getByRole('listitem');
    await section.getByText('Your authenticator app is on').waitFor();
    expect(await codes.count()).toBe(10);
    await section.getByText('they will not be shown again').waitFor();
    const shown = (await codes.allTextContents()).map((c) => c.trim());
    const [download] = await Promise.all([page.waitForEvent('download'), section.getByRole('link', { name: 'Download' }).click()]);
    expect((await readFile(await download.path(), 'utf8')).trim().split('\n')).toEqual(shown);
    await section.getByRole('button', { name: 'Copy' }).waitFor();
    expect((await hasNoHorizontalScroll(page)).ok).toBe(true);
    await audit.check(page, 'Settings → Two-factor sign-in, the recovery codes shown once');
    await section.getByRole('button', { name: 'I have kept them' }).click();
    expect(await codes.count()).toBe(0);
    await section.getByText('10 recovery codes left.').waitFor();

    await logOut(page);
    await page.getByRole('button', { name: 'Owner? Log in' }).click();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
    await audit.check(page, 'the login form with "Sign in with a passkey"');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await passwordStep(page);
    const code = page.getByRole('textbox', { name: 'Authentication code' });
    await page.getByRole('button', { name: 'Use a recovery code' }).waitFor();
    expect((await hasNoHorizontalScroll(page)).ok).toBe(true);
    await audit.check(page, 'the login\u2019s second step');
    const next = codeOf(secret, 1); // the step after the one that turned the app on: a code is never taken twice
    await code.fill(next === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('alert').filter({ hasText: 'That code is not right' }).waitFor();
    await code.fill(next);
    await page.getByRole('button', { name: 'Verify' }).click();
    await logOutButton(page).waitFor();
    audit.expectClean();
  });

  it('adds a passkey with the browser\u2019s authenticator; it signs Bob in alone, and after his password', async () => {
    await knock.addUser('bob', 'Bob');
    const page = await browser.newPage('bob');
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    await openProfile(page, base, 'bob');
    await logInAsOwner(page);
    await openSettings(page);
    const section = twoFactorSection(page);
    await section.getByRole('button', { name: 'Add passkey' }).click();
    await section.getByRole('textbox', { name: 'Passkey name' }).fill('This laptop');
    await section.getByRole('textbox', { name: 'Password' }).fill(TEST_PASSWORD);
    await section.getByRole('button', { name: 'Add', exact: true }).click();
    await section.getByText('Added the passkey This laptop.').waitFor();
    await section.getByRole('button', { name: 'Remove This laptop' }).waitFor();
    // The first second factor brings the recovery codes.
    expect(await section.getByRole('list', { name: 'Your recovery codes' }).getByRole('listitem').count()).toBe(10);
    const audit = new AccessibilityAudit();
    await audit.check(page, 'Settings → Two-factor sign-in with a passkey');
    audit.expectClean();

    await logOut(page);
    await page.getByRole('button', { name: 'Owner? Log in' }).click();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await logOutButton(page).waitFor();

    await logOut(page);
    await passwordStep(page);
    // No app: the passkey is the second step, with a recovery code as the way out.
    await page.getByRole('button', { name: 'Use a recovery code' }).waitFor();
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await logOutButton(page).waitFor();
    // One resident credential: made once, then signing both sign-ins (its counter counts all three).
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials.map((c) => ({ resident: c.isResidentCredential, rpId: c.rpId, signCount: c.signCount }))).toEqual([{ resident: true, rpId: 'localhost', signCount: 3 }]);
  });

  it('asks an operator for the second step at the company’s URL; the company’s Settings have no Two-factor sign-in', async () => {
    await knock.addUser('carol', 'Carol');
    await knock.companies.add({ handle: 'acme', name: 'Acme Ltd', adminHandle: 'carol' });
    // Carol turned her app on earlier, in her own console.
    const carol = new Person(knock.url);
    await carol.login('carol');
    const { secret } = await carol.api.request('POST', '/_/api/security/second-factor/totp', {}, totpEnrolment);
    await carol.api.request('POST', '/_/api/security/second-factor/totp/confirm', { code: codeOf(secret), password: TEST_PASSWORD }, secondFactorChange);

    const page = await browser.newPage('carol', PHONE);
    await openProfile(page, base, 'acme');
    await page.getByRole('button', { name: 'Operator? Log in' }).click();
    await page.getByRole('textbox', { name: 'Your handle' }).fill('carol');
    await page.getByRole('textbox', { name: 'Password' }).fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByRole('textbox', { name: 'Authentication code' }).fill(codeOf(secret, 1));
    await page.getByRole('button', { name: 'Verify' }).click();
    await logOutButton(page).waitFor();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toBe('Acme Ltd');
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Company' }).waitFor();
    expect(await twoFactorSection(page).count()).toBe(0);
  });
});

