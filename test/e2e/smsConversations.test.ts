/**
 * Issue 20 as people see it, in Chromium, with a loopback SMSC playing the carrier: Alice at her console; a phone with
 * no internet texts "alice hello" to Knock's number and the conversation shows with the phone's number; Alice answers
 * in the message box and the SMSC gets the submit_sm; a second text continues the conversation; "@bob hi" goes to
 * Bob; STOP, and Alice's next reply is not sent, in words she reads. Then her own number while her phone is off: a
 * text to it shows live, a failed delivery receipt marks it in her browser, and her webhook hears of it. axe on the
 * console with the SMS conversation open; it fits a 360 px phone.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSms } from '../../adapters/channels/sms/smsEncoding.ts';
import { AccessibilityAudit } from '../support/axeAudit.ts';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { conversationButtons, eventually, expectMessage, hasNoHorizontalScroll, logInAsOwner, messageBox, messageItem, openConversation, openProfile } from '../support/knockUi.ts';
import { smsText, TestSmsc } from '../support/smsc.ts';
import { WebhookReceiver } from '../support/webhookReceiver.ts';

const SERVICE = '+15550001111';
const PHONE = '+447700900123';
const ALICE_NUMBER = '+15551234567';

const browser = useBrowser();
let knock: TestKnock;
let smsc: TestSmsc;
let receiver: WebhookReceiver;

beforeAll(async () => {
  smsc = await TestSmsc.start({ systemId: 'knock', password: 'pw' });
  receiver = await WebhookReceiver.start();
  knock = await startKnock({ smppUrl: smsc.url, smppSystemId: 'knock', smppPassword: 'pw', smsNumber: SERVICE, channelsAllowPrivate: true, outboxRetryBaseMs: 50, outboxPollMs: 100 });
  await knock.addUser('alice', 'Alice');
  await knock.addUser('bob', 'Bob');
  await smsc.until(() => smsc.boundSessions > 0, 'Knock bound');
});
afterAll(async () => {
  await knock?.close();
  await Promise.all([smsc?.close(), receiver?.close()]);
});

/** The phone texts `to` (Knock's service number unless said), as its carrier's SMSC would hand it over. */
async function text(from: string, body: string, to = SERVICE): Promise<void> {
  const { dataCoding, parts } = encodeSms(body, 1);
  const answer = await smsc.deliver({ source_addr: from.slice(1), source_addr_ton: 1, destination_addr: to.slice(1), dest_addr_ton: 1, data_coding: dataCoding, short_message: parts[0] });
  expect(answer.command_status).toBe(0);
}

const submitTo = (number: string, includes: string) =>
  smsc.until(() => smsc.submits.find((s) => String(s.pdu.destination_addr) === number.slice(1) && smsText(s).includes(includes)), `an SMS to ${number} with "${includes}"`);

async function aliceAtHerConsole(): Promise<Page> {
  const page = await browser.newPage('alice', { viewport: { width: 1000, height: 760 } });
  await openProfile(page, knock.url, 'alice');
  await logInAsOwner(page);
  return page;
}

describe('SMS conversations in the owner\u2019s console', () => {
  it(
    'a phone without internet talks to Alice; her answers go back by SMS; @bob switches; STOP stops her replies, and she reads why',
    async () => {
      const alice = await aliceAtHerConsole();
      await text(PHONE, 'alice hello');
      // The owner reads the whole number, formatted; the list says it is SMS.
      const entry = conversationButtons(alice).filter({ hasText: '+44 7700 900123' });
      await entry.waitFor();
      await openConversation(alice, '+44 7700 900123');
      await expectMessage(alice, 'hello');
      await alice.getByText('SMS, replies from Knock\u2019s number').waitFor();

      await messageBox(alice).fill('Hi! Who is this?');
      await messageBox(alice).press('Enter');
      const reply = await submitTo(PHONE, 'Hi! Who is this?');
      expect(smsText(reply)).toBe('Alice: Hi! Who is this?');
      await messageItem(alice, 'Hi! Who is this?').getByText('Sent', { exact: true }).waitFor();

      await text(PHONE, 'It is Sam, from the bakery');
      await expectMessage(alice, 'It is Sam, from the bakery');

      const audit = new AccessibilityAudit();
      await audit.check(alice, 'Console with an SMS conversation open');
      audit.expectClean();

      await text(PHONE, '@bob hi');
      const bob = (await knock.storage.getAccountByHandle('bob'))!;
      const withBob = await eventually(() => knock.storage.smsThread(PHONE, bob.id), (t) => expect(t).not.toBeNull());
      expect((await knock.storage.messagesAfter(withBob!.conversationId, 0, 10)).map((m) => m.body)).toEqual(['hi']);
      const withAlice = (await knock.storage.smsThread(PHONE, (await knock.storage.getAccountByHandle('alice'))!.id))!;
      expect((await knock.storage.messagesAfter(withAlice.conversationId, 0, 10)).map((m) => m.body)).not.toContain('hi'); // Bob's, not Alice's

      await text(PHONE, 'STOP');
      await submitTo(PHONE, 'no more texts');
      await alice.getByText(/^This phone texted STOP/).waitFor();
      await alice.getByText('Texted STOP: your replies are not sent').waitFor();
      await messageBox(alice).fill('Sam, are you there?');
      await messageBox(alice).press('Enter');
      await messageItem(alice, 'Sam, are you there?').getByText('Not delivered: this phone texted STOP').waitFor();
      expect(smsc.submits.some((s) => smsText(s).includes('Sam, are you there?'))).toBe(false);
    },
    E2E_TEST_TIMEOUT_MS,
  );

  it(
    'her own number while her phone is off: a text shows live, a failed receipt marks it, her webhook is told',
    async () => {
      const account = (await knock.storage.getAccountByHandle('alice'))!;
      await knock.storage.assignPhoneNumber(account.id, ALICE_NUMBER, Date.now());
      await knock.storage.addChannel({ accountId: account.id, kind: 'webhook', address: receiver.url, secret: JSON.stringify(['whsec_e2e']), delayMs: 0, verified: true, at: Date.now() });
      receiver.secret = 'whsec_e2e';
      const alice = await browser.newPage('alice-360', { viewport: { width: 360, height: 740 } });
      await openProfile(alice, knock.url, 'alice');
      await logInAsOwner(alice);
      await text('+447700900456', 'Dinner at 8?', ALICE_NUMBER);
      await openConversation(alice, '+44 7700 900456');
      const item = await expectMessage(alice, 'Dinner at 8?');
      await alice.getByText('SMS to your number').waitFor();
      const passed = await submitTo(ALICE_NUMBER, 'Dinner at 8?');
      await smsc.deliver({
        source_addr: ALICE_NUMBER.slice(1), destination_addr: SERVICE.slice(1), esm_class: 0x04,
        short_message: Buffer.from(`id:${passed.messageId} sub:001 dlvrd:000 submit date:2601011200 done date:2601011201 stat:EXPIRED err:001 text:`),
      });
      await item.getByText('Not delivered to your phone, shown here').waitFor();
      const notice = await receiver.next((c) => c.body.type === 'knock.forward' && JSON.stringify(c.body.texts).includes('Dinner at 8?'), 'the notice on the webhook');
      expect(String((notice.body.texts as string[])[0])).toContain('Not delivered to your phone (EXPIRED)');
      expect((await hasNoHorizontalScroll(alice)).ok).toBe(true);

      await messageBox(alice).fill('Yes, 8 is good');
      await messageBox(alice).press('Enter');
      const answer = await submitTo('+447700900456', 'Yes, 8 is good');
      expect(String(answer.pdu.source_addr)).toBe(ALICE_NUMBER.slice(1));
      const audit = new AccessibilityAudit();
      await audit.check(alice, 'SMS to the owner\u2019s number, 360 px');
      audit.expectClean();
    },
    E2E_TEST_TIMEOUT_MS,
  );
});
