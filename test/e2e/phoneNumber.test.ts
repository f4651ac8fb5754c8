/**
 * Issue 20 as people do it, in Chromium: Alice, on a 360 px phone, opens Settings → Phone number, types her number
 * the way she writes it, presses "Send code", types the code the carrier (the loopback SMSC) got, presses "Verify",
 * and her number shows with its URL. A visitor who types the number another way lands on `/+15551234567` and talks
 * to Alice there; Alice at her phone URL has her console; a number nobody claimed says nobody is there. Every page
 * passes axe and fits the phone.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessibilityAudit } from '../support/axeAudit.ts';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import {
  expectMessage,
  expectPresence,
  hasNoHorizontalScroll,
  logInAsOwner,
  logOutButton,
  messageBox,
  openConversation,
  openProfile,
} from '../support/knockUi.ts';
import { smsText, TestSmsc } from '../support/smsc.ts';

const browser = useBrowser();
const PHONE = { viewport: { width: 360, height: 740 } };
let knock: TestKnock;
let smsc: TestSmsc;

beforeAll(async () => {
  smsc = await TestSmsc.start({ systemId: 'knock', password: 'pw' });
  knock = await startKnock({ smppUrl: smsc.url, smppSystemId: 'knock', smppPassword: 'pw', smsNumber: '+15550001111' });
  await knock.addUser('alice', 'Alice');
});
afterAll(async () => {
  await knock?.close();
  await smsc?.close();
});

const phoneSection = (page: Page) => page.getByRole('region', { name: 'Phone number' });

describe('Settings → Phone number', () => {
  it('claims a number by the code sent to it; the number\u2019s URL, in any spelling, reaches Alice', async () => {
    const owner = await browser.newPage('owner', PHONE);
    await openProfile(owner, knock.url, 'alice');
    await logInAsOwner(owner);
    await owner.getByRole('button', { name: 'Settings' }).click();
    const section = phoneSection(owner);
    await section.getByRole('textbox', { name: 'Phone number' }).fill('+1 (555) 123-4567');
    const before = smsc.submits.length;
    await section.getByRole('button', { name: 'Send code' }).click();
    await section.getByText('We sent a code to +1 555 123 4567.').waitFor();
    const sms = await smsc.until(() => smsc.submits.slice(before).find((s) => String(s.pdu.destination_addr) === '15551234567'), 'the code by SMS');
    const code = /\d{6}/.exec(smsText(sms))![0];
    // A wrong code first: said in words, the number is not hers yet.
    await section.getByRole('textbox', { name: 'Verification code' }).fill(code === '000000' ? '111111' : '000000');
    await section.getByRole('button', { name: 'Verify' }).click();
    await section.getByRole('alert').filter({ hasText: 'That is not the code we sent' }).waitFor();
    await section.getByRole('textbox', { name: 'Verification code' }).fill(code);
    await section.getByRole('button', { name: 'Verify' }).click();
    await section.getByText('+1 555 123 4567 is your address now.').waitFor();
    await section.getByRole('link', { name: `${knock.url}/+15551234567` }).waitFor();
    expect((await hasNoHorizontalScroll(owner)).ok).toBe(true);
    const audit = new AccessibilityAudit();
    await audit.check(owner, 'Settings with a phone number claimed');

    // A visitor types the number as they know it: the page moves to its one URL and is Alice's.
    const visitor = await browser.newPage('visitor', PHONE);
    await visitor.goto(`${knock.url}/+1-555-123-4567`);
    await messageBox(visitor).waitFor();
    expect(new URL(visitor.url()).pathname).toBe('/+15551234567');
    await visitor.getByRole('heading', { name: 'Alice' }).waitFor();
    await expectPresence(visitor, 'online');
    await visitor.getByRole('textbox', { name: 'Your name' }).fill('Vic');
    await messageBox(visitor).fill('Found you by your number!');
    await messageBox(visitor).press('Enter');
    await expectMessage(visitor, 'Found you by your number!');
    expect((await hasNoHorizontalScroll(visitor)).ok).toBe(true);
    await audit.check(visitor, 'the visitor page at a phone URL');

    // Alice at her phone URL: the same console, the same conversation.
    await owner.goto(`${knock.url}/+15551234567`);
    await logOutButton(owner).waitFor();
    await openConversation(owner, 'Vic');
    await expectMessage(owner, 'Found you by your number!');

    // A number nobody claimed.
    const stranger = await browser.newPage('stranger', PHONE);
    await stranger.goto(`${knock.url}/+447700900123`);
    await stranger.getByRole('heading', { name: 'There is nobody at /+447700900123.' }).waitFor();
    await stranger.getByText('Nobody has claimed this phone number here.').waitFor();
    await audit.check(stranger, 'an unclaimed phone URL');
    audit.expectClean();
  }, E2E_TEST_TIMEOUT_MS);
});
