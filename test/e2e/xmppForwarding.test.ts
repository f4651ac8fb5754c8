/**
 * Issue 18, "Done when 1", with every peer real: Prosody on 127.0.0.1 with two accounts, Knock's own and the owner's;
 * the owner in an ordinary XMPP client (@xmpp/client), available there and not at their URL. The owner adds their
 * JID in Settings and types back the code that arrived by XMPP. A visitor knocks in Chromium; the owner's client gets
 * the forward and replies; the visitor sees the reply. Two visitors at once: each reply, by thread or by tag, reaches
 * the right one. The owner goes offline on XMPP: the next knock goes to email (an SMTP sink) instead, and the owner's
 * answer by email lands in the visitor's page.
 */
import type { Page } from 'playwright-core';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Person } from '../support/clients.ts';
import { E2E_TEST_TIMEOUT_MS, useBrowser } from '../support/browser.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { eventually, expectMessage, expectPresence, messageBox, openProfile } from '../support/knockUi.ts';
import { MailSink } from '../support/mailSink.ts';
import { Prosody } from '../support/prosody.ts';
import { XmppOwner } from '../support/xmppOwner.ts';

const DOMAIN = 'knock.test';
const browser = useBrowser();
let prosody: Prosody;
let sink: MailSink;
let knock: TestKnock;
let phone: XmppOwner;
let owner: Person;
let aliceJid: string;

beforeAll(async () => {
  [prosody, sink] = await Promise.all([Prosody.start(), MailSink.start()]);
  const knockJid = await prosody.register('knock', 'knock-pw');
  aliceJid = await prosody.register('alice', 'alice-pw');
  knock = await startKnock({
    xmppService: prosody.service,
    xmppJid: knockJid,
    xmppPassword: 'knock-pw',
    smtpPort: 0,
    smtpHost: '127.0.0.1',
    mailDomain: DOMAIN,
    smtpRelayUrl: sink.url,
    outboxRetryBaseMs: 50,
    outboxPollMs: 100,
  });
  await knock.addUser('alice', 'Alice');
  owner = new Person(knock.url);
  await owner.login('alice');
  phone = await XmppOwner.login({ service: prosody.service, domain: prosody.domain, username: 'alice', password: 'alice-pw' });
  await phone.setPresence('available');
});
afterAll(async () => {
  await phone?.close();
  await owner?.closeAll();
  await knock?.close();
  await Promise.all([prosody?.close(), sink?.close()]);
});

async function visitorSays(name: string, text: string): Promise<Page> {
  const page = await browser.newPage(`visitor ${name}`);
  await openProfile(page, knock.url, 'alice');
  await expectPresence(page, 'offline');
  await page.getByRole('textbox', { name: 'Your name' }).fill(name);
  await messageBox(page).fill(text);
  await messageBox(page).press('Enter');
  await expectMessage(page, text);
  return page;
}

const presenceOnXmpp = async () => (await owner.api.channels()).channels.find((c) => c.kind === 'xmpp')?.presence;

describe('forwarding to XMPP, by presence', () => {
  it('verifies the JID by a code over XMPP, forwards a knock to the available owner, and the chat reply reaches the visitor', async () => {
    const added = await owner.api.addChannel({ kind: 'xmpp', address: aliceJid });
    const codeMessage = await phone.nextMessage((m) => /\b\d{6}\b/.test(m.body));
    await owner.api.verifyChannel(added.channel.id, /\b(\d{6})\b/.exec(codeMessage.body)![1]!);
    // Knock asks to follow the owner's presence once the channel is verified; the owner's client accepts.
    await eventually(presenceOnXmpp, (p) => expect(p).toBe('available'));
    // Email is second, after 3 seconds: an owner who answers on XMPP first never gets it.
    const email = await owner.api.addChannel({ kind: 'email', address: 'alice.home@inbox.test' });
    const codeMail = await sink.next((m) => m.subject.startsWith('Your Knock verification code'));
    await owner.api.verifyChannel(email.channel.id, /\d{6}/.exec(codeMail.subject)![0]);
    await owner.api.setChannelDelay(email.channel.id, 3000);

    const vic = await visitorSays('Vic', 'Hello, is the flat still free?');
    const forward = await phone.nextMessage((m) => m.body.includes('Hello, is the flat still free?'));
    expect(forward.body).toContain('Vic');
    expect(forward.thread).toMatch(/^knock-/);
    await phone.reply(forward.from, 'Yes! Come by at five.', { thread: forward.thread });
    await expectMessage(vic, 'Yes! Come by at five.');
    const conversationId = forward.thread!.slice('knock-'.length);
    const messages = await knock.storage.messagesAfter(conversationId, 0, 10);
    expect(messages.map((m) => [m.senderRole, m.body])).toEqual([
      ['visitor', 'Hello, is the flat still free?'],
      ['owner', 'Yes! Come by at five.'],
    ]);
    // The answer on XMPP came first: the email step was cancelled, never mailed.
    const forwardRecord = await knock.storage.lastForward(conversationId);
    await eventually(() => knock.storage.getJobByKey(`forward:${forwardRecord!.id}:${email.channel.id}`), (job) => expect(job?.state).toBe('cancelled'));
    expect(sink.received.filter((m) => m.subject.includes('Vic'))).toEqual([]);
  }, E2E_TEST_TIMEOUT_MS);

  it('sends two visitors\u2019 replies to the right one each: by thread, and by tag without one', async () => {
    const ann = await visitorSays('Ann', 'Ann here: do you deliver?');
    const annForward = await phone.nextMessage((m) => m.body.includes('Ann here'));
    const ben = await visitorSays('Ben', 'Ben here: what time do you open?');
    const benForward = await phone.nextMessage((m) => m.body.includes('Ben here'));
    const benTag = /#\d+/.exec(benForward.body)![0];
    // Ann's answer in Ann's thread; Ben's as a plain message that starts with Ben's tag.
    await phone.reply(annForward.from, 'We deliver on Tuesdays.', { thread: annForward.thread });
    await phone.reply(benForward.from, `${benTag} We open at nine.`);
    await expectMessage(ann, 'We deliver on Tuesdays.');
    await expectMessage(ben, 'We open at nine.');
    await eventually(
      async () => ann.getByText('We open at nine.').count(),
      (n) => expect(n).toBe(0),
    );
    expect(await ben.getByText('We deliver on Tuesdays.').count()).toBe(0);
  }, E2E_TEST_TIMEOUT_MS);

  it('skips XMPP while the owner is offline there: the knock goes to email, and the emailed answer lands', async () => {
    await phone.setPresence('unavailable');
    await eventually(presenceOnXmpp, (p) => expect(p).toBe('unavailable'));
    const before = phone.messages.length;
    const cleo = await visitorSays('Cleo', 'Cleo here: can I bring my dog?');
    const mail = await sink.next((m) => m.envelope.to.includes('alice.home@inbox.test') && m.parsed.text?.includes('can I bring my dog?') === true);
    expect(mail.subject).toContain('Cleo');
    const replyTo = mail.parsed.replyTo?.value[0]?.address ?? '';
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: knock.mailPort!, secure: false, ignoreTLS: true, logger: false });
    try {
      await transport.sendMail({ from: 'alice.home@inbox.test', to: replyTo, subject: `Re: ${mail.subject}`, text: 'Of course, dogs are welcome.\n\n> Cleo here: can I bring my dog?', inReplyTo: mail.messageId });
    } finally {
      transport.close();
    }
    await expectMessage(cleo, 'Of course, dogs are welcome.');
    // Nothing went to XMPP for Cleo.
    expect(phone.messages.slice(before).filter((m) => m.body.includes('Cleo'))).toEqual([]);
  }, E2E_TEST_TIMEOUT_MS);
});
