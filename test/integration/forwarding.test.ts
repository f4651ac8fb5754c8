/**
 * Issue 18 through a real Knock: the owner adds channels over the console's API (each verified by the code it was
 * sent, as a person types it), a visitor knocks while the owner is away, and the knock reaches each real peer on
 * 127.0.0.1: a webhook receiver (signatures checked both ways), an SMSC (smpp), a push service (VAPID checked, the
 * payload decrypted), an SMTP sink; the owner's answers come back from each into the visitor's conversation. And the
 * escalation: a later step is cancelled when the owner answers first; forged and replayed webhook replies are refused.
 */
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Person, waitFor } from '../support/clients.ts';
import { startKnock, TEST_PASSWORD, type TestKnock } from '../support/knockServer.ts';
import { MailSink } from '../support/mailSink.ts';
import { startPushService, type PushService } from '../support/pushService.ts';
import { smsText, TestSmsc } from '../support/smsc.ts';
import { signedReply, WebhookReceiver as Receiver } from '../support/webhookReceiver.ts';

const DOMAIN = 'example.test';
const OWNER_PHONE = '+15557654321';
const WAIT_MS = 15_000;

let knock: TestKnock;
let sink: MailSink;
let smsc: TestSmsc;
let push: PushService;
let receiver: Receiver;

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)?.slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A fresh owner (its own account, so tests do not see each other's channels), logged in over the API. */
async function newOwner(handle: string): Promise<Person> {
  await knock.addUser(handle, handle[0]!.toUpperCase() + handle.slice(1));
  const owner = new Person(knock.url);
  await owner.login(handle);
  return owner;
}

/** The code in a text a channel got: six digits. */
function codeIn(text: string): string {
  const code = /\b(\d{6})\b/.exec(text)?.[1];
  if (!code) throw new Error(`no code in ${JSON.stringify(text)}`);
  return code;
}

async function visitorWrites(handle: string, name: string, text: string) {
  const visitor = new Person(knock.url);
  const { session, conversationId } = await visitor.knock(handle, name);
  session.send(text);
  await waitFor(session, (s) => s.messages.some((m) => m.body === text && m.seq !== null), 'the visitor\u2019s message stored');
  return { visitor, session, conversationId };
}


beforeAll(async () => {
  [sink, push, receiver] = await Promise.all([MailSink.start(), startPushService(), Receiver.start()]);
  smsc = await TestSmsc.start({ systemId: 'knock', password: 'smpp-pw' });
  knock = await startKnock({
    smtpPort: 0,
    smtpHost: '127.0.0.1',
    mailDomain: DOMAIN,
    smtpRelayUrl: sink.url,
    smppUrl: smsc.url,
    smppSystemId: 'knock',
    smppPassword: 'smpp-pw',
    smsNumber: '+15550001111',
    channelsAllowPrivate: true,
    outboxRetryBaseMs: 50,
    outboxPollMs: 100,
  });
});
afterAll(async () => {
  await knock?.close();
  await Promise.all([sink?.close(), smsc?.close(), push?.close(), receiver?.close()]);
});

describe('a webhook channel', () => {
  it('is verified by the code of its signed test call, gets the knock signed, and its signed reply reaches the visitor', async () => {
    const owner = await newOwner('wanda');
    const added = await owner.api.addChannel({ kind: 'webhook', address: receiver.url });
    expect(added.secret).toMatch(/^whsec_/);
    expect(added.channel).toMatchObject({ kind: 'webhook', verified: false });
    receiver.secret = added.secret!;
    const verifyCall = await receiver.next((c) => c.body.type === 'knock.verify' && c.body.channelId === added.channel.id, 'the verification call');
    expect(verifyCall.signatureOk).toBe(true);
    await expect(owner.api.verifyChannel(added.channel.id, '000000' === verifyCall.body.code ? '111111' : '000000')).rejects.toThrow(/not the code/);
    expect(await owner.api.verifyChannel(added.channel.id, String(verifyCall.body.code))).toMatchObject({ verified: true });

    const { session, conversationId } = await visitorWrites('wanda', 'Vera', 'Is the shop open today?');
    const forward = await receiver.next((c) => c.body.type === 'knock.forward' && c.body.conversationId === conversationId, 'the forward');
    expect(forward.signatureOk).toBe(true);
    expect(forward.body).toMatchObject({ tag: '#1', visitor: { name: 'Vera' }, texts: ['Is the shop open today?'] });
    expect(String(forward.body.link)).toBe(`${knock.url}/wanda#c=${conversationId}`);

    const replyUrl = String(forward.body.replyUrl);
    const answer = await signedReply(replyUrl, receiver.secret, { conversationId, text: 'Yes, until six.', id: 'slack-1' }, 'call-1');
    expect(answer.status).toBe(201);
    await waitFor(session, (s) => s.messages.some((m) => m.body === 'Yes, until six.' && m.senderRole === 'owner'), 'the owner\u2019s answer at the visitor');

    // The same reply again (a retry, or a replay within the 5 minutes): it lands once.
    const again = await signedReply(replyUrl, receiver.secret, { conversationId, text: 'Yes, until six.', id: 'slack-1' }, 'call-2');
    expect(again.status).toBe(200);
    // Forged: a wrong secret, or no signature at all. Nothing is posted.
    expect((await signedReply(replyUrl, 'whsec_forged0000000000000000000000000000000', { conversationId, text: 'I am the owner', id: 'x1' })).status).toBe(401);
    const unsigned = await fetch(replyUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ conversationId, text: 'unsigned', id: 'x2' }) });
    expect(unsigned.status).toBe(401);
    const stored = await knock.storage.messagesAfter(conversationId, 0, 50);
    expect(stored.filter((m) => m.senderRole === 'owner').map((m) => m.body)).toEqual(['Yes, until six.']);
    await session.close();
  });

  it('is not called for a step due after the owner answered at the URL: the step is cancelled', async () => {
    const owner = await newOwner('otto');
    const added = await owner.api.addChannel({ kind: 'webhook', address: `${receiver.url}?otto` });
    receiver.secret = added.secret!;
    const call = await receiver.next((c) => c.body.type === 'knock.verify' && c.body.channelId === added.channel.id, 'the verification call');
    await owner.api.verifyChannel(added.channel.id, String(call.body.code));
    await owner.api.setChannelDelay(added.channel.id, 60_000);

    const { session, conversationId } = await visitorWrites('otto', 'Vic', 'Hello?');
    const forward = await until(() => knock.storage.getOpenForward(conversationId), (f) => f !== null, 'the forward planned');
    const ownerSession = owner.conversation(conversationId);
    ownerSession.send('Here now!');
    await waitFor(session, (s) => s.messages.some((m) => m.body === 'Here now!'), 'the owner\u2019s message');
    const job = await until(() => knock.storage.getJobByKey(`forward:${forward!.id}:${added.channel.id}`), (j) => j?.state === 'cancelled', 'the step cancelled');
    expect(job!.state).toBe('cancelled');
    const listed = await owner.api.channels();
    expect(listed.channels[0]!.lastForward).toMatchObject({ state: 'cancelled' });
    expect(receiver.calls.filter((c) => c.body.type === 'knock.forward' && c.body.conversationId === conversationId)).toEqual([]);
    await owner.closeAll();
    await session.close();
  });
});

describe('an SMS channel', () => {
  it('gets its code and the knock over SMPP, and the owner\u2019s SMS reply lands in the conversation; a receipt shows delivered', async () => {
    const owner = await newOwner('sam');
    const added = await owner.api.addChannel({ kind: 'sms', address: '+1 (555) 765-4321' });
    expect(added.channel.address).toBe(OWNER_PHONE);
    const codeSms = await smsc.until(() => smsc.submits.find((s) => s.pdu.destination_addr === OWNER_PHONE.slice(1) || s.pdu.destination_addr === OWNER_PHONE), 'the code by SMS');
    await owner.api.verifyChannel(added.channel.id, codeIn(smsText(codeSms)));

    const before = smsc.submits.length;
    const { session, conversationId } = await visitorWrites('sam', 'Nina', 'Can I call you?');
    const forward = await smsc.until(() => smsc.submits.slice(before).find((s) => smsText(s).includes('Can I call you?')), 'the forward by SMS');
    expect(smsText(forward)).toContain('Nina');

    await smsc.deliver({ source_addr: OWNER_PHONE.slice(1), destination_addr: '15550001111', short_message: Buffer.from('#1 Sure, in ten minutes') });
    await waitFor(session, (s) => s.messages.some((m) => m.body === 'Sure, in ten minutes' && m.senderRole === 'owner'), 'the SMS reply at the visitor');

    await smsc.deliver({
      source_addr: OWNER_PHONE.slice(1),
      esm_class: 4,
      short_message: Buffer.from(`id:${forward.messageId} sub:001 dlvrd:001 submit date:2612071200 done date:2612071201 stat:DELIVRD err:000 text:`),
    });
    await until(async () => (await owner.api.channels()).channels[0]!.lastForward?.state, (s) => s === 'delivered', 'the receipt shown');
    // A tag that names no open conversation: nothing is posted, and the owner's phone is told why (once).
    const told = smsc.submits.length;
    await smsc.deliver({ source_addr: OWNER_PHONE.slice(1), destination_addr: '15550001111', short_message: Buffer.from('#9 Who is this?') });
    const notice = await smsc.until(() => smsc.submits.slice(told).find((s) => String(s.pdu.destination_addr).endsWith(OWNER_PHONE.slice(1))), 'the notice');
    expect(smsText(notice)).toBe('Knock: no open conversation has the tag #9, so your reply was not posted.');
    // From a number no owner verified: nothing is posted.
    await smsc.deliver({ source_addr: '15550009999', short_message: Buffer.from('#1 I am not the owner') });
    const stored = await knock.storage.messagesAfter(conversationId, 0, 50);
    expect(stored.filter((m) => m.senderRole === 'owner').map((m) => m.body)).toEqual(['Sure, in ten minutes']);
    await session.close();
  });
});

describe('a push channel', () => {
  it('is this device\u2019s subscription, and a knock arrives at the push service encrypted, VAPID-signed, with the link', async () => {
    const owner = await newOwner('pia');
    const { vapidPublicKey } = await owner.api.channels();
    expect(vapidPublicKey).toMatch(/^[A-Za-z0-9_-]{80,90}$/);
    const device = push.subscribe({ applicationServerKey: vapidPublicKey! });
    const added = await owner.api.addChannel({ kind: 'push', subscription: device.subscription });
    expect(added).toMatchObject({ codeSent: false, channel: { kind: 'push', verified: true } });

    const { session, conversationId } = await visitorWrites('pia', 'Lou', 'Knock knock');
    const pushed = await until(async () => push.delivered.find((m) => m.endpoint === device.subscription.endpoint), (m) => m !== undefined, 'the push');
    expect(pushed!.json).toMatchObject({ title: expect.stringContaining('Lou'), url: `${knock.url}/pia#c=${conversationId}`, tag: conversationId });
    await session.close();
  });

  it('refuses a subscription that is not one', async () => {
    const owner = await newOwner('pat');
    await expect(owner.api.addChannel({ kind: 'push', subscription: { endpoint: 'https://push.example/x', keys: { p256dh: 'short', auth: 'short' } } })).rejects.toThrow(/subscription/);
  });
});

describe('an email channel', () => {
  it('gets the knock with the owner\u2019s reply address, and the owner\u2019s answer by mail lands; a stranger\u2019s does not', async () => {
    const owner = await newOwner('emma');
    const added = await owner.api.addChannel({ kind: 'email', address: 'emma.home@inbox.test' });
    const codeMail = await sink.next((m) => m.envelope.to.includes('emma.home@inbox.test') && m.subject.startsWith('Your Knock verification code'));
    await owner.api.verifyChannel(added.channel.id, codeIn(codeMail.subject));

    const { session } = await visitorWrites('emma', 'Theo', 'Do you still have the bike?');
    const forward = await sink.next((m) => m.envelope.to.includes('emma.home@inbox.test') && m.subject.startsWith('Theo (#1) knocked'));
    expect(forward.parsed.text).toContain('Do you still have the bike?');
    const replyTo = forward.parsed.replyTo?.value[0]?.address ?? '';
    expect(replyTo).toMatch(new RegExp(`^emma\\+r-[a-z2-7]+-[a-z2-7]{16}@${DOMAIN}$`));

    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: knock.mailPort!, secure: false, ignoreTLS: true, logger: false });
    try {
      await transport.sendMail({ from: 'Emma <emma.home@inbox.test>', to: replyTo, subject: 'Re: knock', text: 'Yes, it is still here.', inReplyTo: forward.messageId });
      await waitFor(session, (s) => s.messages.some((m) => m.body === 'Yes, it is still here.' && m.senderRole === 'owner'), 'the mailed answer at the visitor');
      // Someone else writing to the owner's reply address is refused: it names the owner's verified channels only.
      await expect(transport.sendMail({ from: 'mallory@evil.test', to: replyTo, subject: 'Re: knock', text: 'Send me your bank details.' })).rejects.toThrow(/verified email channels/);
      // A visitor who turns their own reply address (c-) into the owner's (r-) without the MAC reaches nothing.
      const forged = replyTo.replace(/-[a-z2-7]{16}@/, '-aaaaaaaaaaaaaaaa@');
      await expect(transport.sendMail({ from: 'emma.home@inbox.test', to: forged, subject: 'x', text: 'forged' })).rejects.toThrow(/no longer exists/);
    } finally {
      transport.close();
    }
    await session.close();
  });
});

describe('the escalation', () => {
  it('goes down the list in time, and the owner\u2019s answer on the first channel cancels the next', async () => {
    const owner = await newOwner('eli');
    const hook = await owner.api.addChannel({ kind: 'webhook', address: `${receiver.url}?eli` });
    receiver.secret = hook.secret!;
    const call = await receiver.next((c) => c.body.type === 'knock.verify' && c.body.channelId === hook.channel.id, 'the verification call');
    await owner.api.verifyChannel(hook.channel.id, String(call.body.code));
    const sms = await owner.api.addChannel({ kind: 'sms', address: '+15551112222' });
    const code = await smsc.until(() => smsc.submits.find((s) => String(s.pdu.destination_addr).endsWith('15551112222')), 'the code');
    await owner.api.verifyChannel(sms.channel.id, codeIn(smsText(code)));
    await owner.api.setChannelDelay(sms.channel.id, 60_000);
    const listed = await owner.api.channels();
    expect(listed.channels.map((c) => [c.kind, c.delayMs])).toEqual([['webhook', 0], ['sms', 60_000]]);

    const { session, conversationId } = await visitorWrites('eli', 'Ada', 'Urgent: the door is locked');
    const forward = await receiver.next((c) => c.body.type === 'knock.forward' && c.body.conversationId === conversationId, 'the first step');
    const open = await knock.storage.getOpenForward(conversationId);
    expect(open!.steps.map((s) => s.kind)).toEqual(['webhook', 'sms']);
    expect(open!.steps[1]!.at - open!.steps[0]!.at).toBe(60_000);
    const answer = await signedReply(String(forward.body.replyUrl), receiver.secret, { tag: '#1', text: 'Coming down now', id: 'eli-1' });
    expect(answer.status).toBe(201);
    await waitFor(session, (s) => s.messages.some((m) => m.body === 'Coming down now'), 'the answer');
    const smsJob = await until(() => knock.storage.getJobByKey(`forward:${open!.id}:${sms.channel.id}`), (j) => j?.state === 'cancelled', 'the SMS step cancelled');
    expect(smsJob!.state).toBe('cancelled');
    await session.close();
  });
});

describe('an owner who comes back', () => {
  it('is sent nothing once online at the URL: a step due after that is cancelled', async () => {
    const owner = await newOwner('ivy');
    const hook = await owner.api.addChannel({ kind: 'webhook', address: `${receiver.url}?ivy` });
    receiver.secret = hook.secret!;
    const call = await receiver.next((c) => c.body.type === 'knock.verify' && c.body.channelId === hook.channel.id, 'the verification call');
    await owner.api.verifyChannel(hook.channel.id, String(call.body.code));
    await owner.api.setChannelDelay(hook.channel.id, 1500);
    const { session, conversationId } = await visitorWrites('ivy', 'Rob', 'Anyone home?');
    const forward = await until(() => knock.storage.getOpenForward(conversationId), (f) => f !== null, 'the forward planned');
    // The owner opens the console (online at the URL) before the step is due, and reads nothing yet.
    const inbox = owner.ownerSession('ivy');
    await waitFor(inbox, (s) => s.conversations.some((c) => c.id === conversationId), 'the console open');
    const job = await until(() => knock.storage.getJobByKey(`forward:${forward!.id}:${hook.channel.id}`), (j) => j?.state === 'cancelled', 'the step cancelled');
    expect(job!.state).toBe('cancelled');
    expect(receiver.calls.filter((c) => c.body.type === 'knock.forward' && c.body.conversationId === conversationId)).toEqual([]);
    expect(await knock.storage.getOpenForward(conversationId)).toBeNull();
    await owner.closeAll();
    await session.close();
  });
});

describe('attacks', () => {
  it('keeps one owner out of another\u2019s channels, and a mail device out of them all', async () => {
    const victim = await newOwner('vicky');
    const added = await victim.api.addChannel({ kind: 'sms', address: '+15553334444' });
    const attacker = await newOwner('mallory');
    await expect(attacker.api.verifyChannel(added.channel.id, '123456')).rejects.toMatchObject({ status: 404 });
    await expect(attacker.api.removeChannel(added.channel.id)).rejects.toMatchObject({ status: 404 });
    await expect(attacker.api.setChannelDelay(added.channel.id, 0)).rejects.toMatchObject({ status: 404 });
    await expect(attacker.api.orderChannels([added.channel.id])).rejects.toMatchObject({ status: 400 });
    expect((await victim.api.channels()).channels.map((c) => c.id)).toEqual([added.channel.id]);
    // A mail client's token (npx knock mail login) reads mail; it cannot redirect the owner's knocks.
    const device = await fetch(`${knock.url}/_/api/devices`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ handle: 'vicky', password: TEST_PASSWORD, name: 'laptop' }),
    });
    const { token } = (await device.json()) as { token: string };
    const asDevice = await fetch(`${knock.url}/_/api/channels`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ kind: 'webhook', address: 'https://evil.example/hook' }),
    });
    expect(asDevice.status).toBe(403);
    expect((await fetch(`${knock.url}/_/api/channels`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(403);
  });

  it('spends a code after five wrong tries: even the right one is refused until a new code is sent', async () => {
    const owner = await newOwner('gus');
    const added = await owner.api.addChannel({ kind: 'sms', address: '+15556667777' });
    const sms = await smsc.until(() => smsc.submits.find((s) => String(s.pdu.destination_addr).endsWith('15556667777')), 'the code');
    const code = codeIn(smsText(sms));
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) await expect(owner.api.verifyChannel(added.channel.id, wrong)).rejects.toThrow(/not the code/);
    await expect(owner.api.verifyChannel(added.channel.id, code)).rejects.toThrow(/Too many wrong codes/);
    expect((await owner.api.channels()).channels[0]!.verified).toBe(false);
  });

  it('refuses a webhook reply that is too large, malformed, or for a channel that is no webhook, posting nothing', async () => {
    const owner = await newOwner('hal');
    const hook = await owner.api.addChannel({ kind: 'webhook', address: `${receiver.url}?hal` });
    receiver.secret = hook.secret!;
    const call = await receiver.next((c) => c.body.type === 'knock.verify' && c.body.channelId === hook.channel.id, 'the verification call');
    await owner.api.verifyChannel(hook.channel.id, String(call.body.code));
    const replyUrl = String(call.body.replyUrl);
    const { session, conversationId } = await visitorWrites('hal', 'Zed', 'Hi Hal');
    await receiver.next((c) => c.body.type === 'knock.forward' && c.body.conversationId === conversationId, 'the forward');
    expect((await signedReply(replyUrl, receiver.secret, { conversationId, text: 'x'.repeat(70_000), id: 'big' })).status).toBe(413);
    expect((await signedReply(replyUrl, receiver.secret, { conversationId, text: 'no id' })).status).toBe(400);
    expect((await signedReply(replyUrl, receiver.secret, { tag: '#99', text: 'to nobody', id: 't99' })).status).toBe(404);
    const sms = await owner.api.addChannel({ kind: 'sms', address: '+15558889999' });
    expect((await signedReply(replyUrl.replace(hook.channel.id, sms.channel.id), receiver.secret, { conversationId, text: 'wrong kind', id: 'k1' })).status).toBe(404);
    const stored = await knock.storage.messagesAfter(conversationId, 0, 50);
    expect(stored.filter((m) => m.senderRole === 'owner')).toEqual([]);
    await session.close();
  });
});
