/**
 * Issue 18 as people do it, in Chromium: the owner opens Settings → Channels, picks "Webhook" under "Channel type",
 * types the address, presses "Add channel", types the code the webhook got under "Verification code", presses
 * "Verify", and the channel shows in the "Channels" list as verified; puts a second channel first; pauses and resumes
 * forwarding. Then a visitor knocks in another browser while the owner is away; the bot gets the forward and answers,
 * and the visitor sees the owner's answer. The page passes axe and fits a 360 px phone.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessibilityAudit } from '../support/axeAudit.ts';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { eventually, expectMessage, expectPresence, hasNoHorizontalScroll, logInAsOwner, logOutButton, messageBox, openProfile } from '../support/knockUi.ts';
import { smsText, TestSmsc } from '../support/smsc.ts';
import { signedReply, WebhookReceiver } from '../support/webhookReceiver.ts';

const browser = useBrowser();
let knock: TestKnock;
let receiver: WebhookReceiver;
let smsc: TestSmsc;

beforeAll(async () => {
  receiver = await WebhookReceiver.start();
  smsc = await TestSmsc.start({ systemId: 'knock', password: 'pw' });
  knock = await startKnock({
    channelsAllowPrivate: true,
    smppUrl: smsc.url,
    smppSystemId: 'knock',
    smppPassword: 'pw',
    smsNumber: '+15550001111',
    outboxRetryBaseMs: 50,
    outboxPollMs: 100,
  });
  await knock.addUser('alice', 'Alice');
});
afterAll(async () => {
  await knock?.close();
  await Promise.all([receiver?.close(), smsc?.close()]);
});

async function settings(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'Channels' }).waitFor();
  // The heading shows while the section still says "Loading…"; the form comes with the server's answer.
  await page.getByRole('combobox', { name: 'Channel type' }).waitFor();
}

const channelList = (page: Page) => page.getByRole('list', { name: 'Channels' });

async function addChannel(page: Page, type: string, address: string): Promise<void> {
  await page.getByRole('combobox', { name: 'Channel type' }).selectOption({ label: type });
  await page.getByRole('textbox', { name: 'Address', exact: true }).fill(address);
  await page.getByRole('button', { name: 'Add channel' }).click();
}

async function typeCode(page: Page, code: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Verification code' }).fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
}

describe('Settings → Channels', () => {
  it('adds and verifies a webhook and an SMS number by their codes, orders them, pauses; a knock then reaches the bot and its answer the visitor', async () => {
    const owner = await browser.newPage('owner', { viewport: { width: 360, height: 740 } });
    await openProfile(owner, knock.url, 'alice');
    await logInAsOwner(owner);
    await settings(owner);
    const options = await owner.getByRole('combobox', { name: 'Channel type' }).locator('option').allTextContents();
    expect(options).toEqual(['XMPP', 'Email', 'SMS', 'Webhook', 'Push']);

    await addChannel(owner, 'Webhook', receiver.url);
    const verifyCall = await receiver.next((c) => c.body.type === 'knock.verify', 'the verification call');
    receiver.secret = (await owner.locator('code.settings-address').textContent()) ?? '';
    expect(receiver.secret).toMatch(/^whsec_/);
    await typeCode(owner, String(verifyCall.body.code));
    await channelList(owner).getByRole('listitem').filter({ hasText: `Webhook: ${receiver.url}` }).filter({ hasText: 'Verified' }).waitFor();

    await addChannel(owner, 'SMS', '+1 555 765 4321');
    const sms = await smsc.until(() => smsc.submits.find((s) => String(s.pdu.destination_addr).endsWith('15557654321')), 'the code by SMS');
    // A wrong code first: said in words, the channel stays unverified.
    await typeCode(owner, '000000' === /\d{6}/.exec(smsText(sms))![0] ? '111111' : '000000');
    await owner.getByRole('alert').filter({ hasText: 'That is not the code we sent' }).waitFor();
    await typeCode(owner, /\d{6}/.exec(smsText(sms))![0]);
    const items = channelList(owner).getByRole('listitem');
    await items.filter({ hasText: 'SMS: +15557654321' }).filter({ hasText: 'Verified' }).waitFor();

    // SMS first, by keyboard: focus its "Move up" and press Enter.
    await owner.getByRole('button', { name: 'Move up +15557654321' }).focus();
    await owner.keyboard.press('Enter');
    await eventually(() => items.allTextContents(), (texts) => expect(texts[0]).toContain('SMS: +15557654321'));
    const alice = (await knock.storage.getAccountByHandle('alice'))!;
    expect((await knock.storage.listChannels(alice.id)).map((c) => c.kind)).toEqual(['sms', 'webhook']);
    // A new channel comes two minutes after the last: the SMS now goes at once, as the webhook does.
    const smsDelay = owner.getByRole('spinbutton', { name: 'Minutes after the knock for +15557654321' });
    expect(await smsDelay.inputValue()).toBe('2');
    await smsDelay.fill('0');
    await smsDelay.press('Tab');
    await eventually(() => knock.storage.listChannels(alice.id), (channels) => expect(channels.map((c) => c.delayMs)).toEqual([0, 0]));

    await owner.getByRole('switch', { name: 'Pause all forwarding' }).check();
    await eventually(() => knock.storage.getForwardingSettings(alice.id), (s) => expect(s.paused).toBe(true));
    await owner.getByRole('switch', { name: 'Pause all forwarding' }).uncheck();
    await eventually(() => knock.storage.getForwardingSettings(alice.id), (s) => expect(s.paused).toBe(false));

    expect((await hasNoHorizontalScroll(owner)).ok).toBe(true);
    const audit = new AccessibilityAudit();
    await audit.check(owner, 'Settings with channels');
    audit.expectClean();

    // The owner leaves; a visitor knocks.
    await logOutButton(owner).click();
    const visitor = await browser.newPage('visitor');
    await openProfile(visitor, knock.url, 'alice');
    await expectPresence(visitor, 'offline');
    await visitor.getByRole('textbox', { name: 'Your name' }).fill('Vic');
    await messageBox(visitor).fill('Are you there?');
    await messageBox(visitor).press('Enter');
    await expectMessage(visitor, 'Are you there?');
    const forwardSms = await smsc.until(
      () => smsc.submits.find((s) => smsText(s).includes('Are you there?')),
      'the forward by SMS',
    );
    expect(smsText(forwardSms)).toContain('Vic');
    const forward = await receiver.next((c) => c.body.type === 'knock.forward', 'the forward to the webhook');
    expect(forward.signatureOk).toBe(true);
    expect((await signedReply(String(forward.body.replyUrl), receiver.secret, { conversationId: forward.body.conversationId, text: 'On my way!', id: 'bot-1' })).status).toBe(201);
    await expectMessage(visitor, 'On my way!');
  }, E2E_TEST_TIMEOUT_MS);
});
