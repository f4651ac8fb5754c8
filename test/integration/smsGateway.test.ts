/**
 * Issue 20 through a real Knock and a loopback SMSC (test/support/smsc.ts): phones without internet text Knock's
 * service number and talk to owners by naming them; owners answer from the console (a real ConversationSession) and
 * the SMSC gets the submit_sm; STOP, START, HELP; every limit an attacker meets; and the owner's own number while
 * their phone is off (passed on to the phone, a failed receipt marks it and tells the owner's webhook).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Person, waitFor } from '../support/clients.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { smsText, TestSmsc, type ReceivedSubmit } from '../support/smsc.ts';
import { encodeSms } from '../../adapters/channels/sms/smsEncoding.ts';
import { WebhookReceiver } from '../support/webhookReceiver.ts';

const SERVICE = '+15550001111';
const WAIT_MS = 15_000;

let knock: TestKnock;
let smsc: TestSmsc;
let receiver: WebhookReceiver;
let phones = 0;

beforeAll(async () => {
  smsc = await TestSmsc.start({ systemId: 'knock', password: 'pw' });
  receiver = await WebhookReceiver.start();
  knock = await startKnock({
    smppUrl: smsc.url, smppSystemId: 'knock', smppPassword: 'pw', smsNumber: SERVICE,
    channelsAllowPrivate: true, outboxRetryBaseMs: 50, outboxPollMs: 100,
    rateLimits: {
      smsConversationsPerPhone: { perWindow: 3, windowMs: 3600_000 },
      smsTextsPerPhone: { perWindow: 8, windowMs: 3600_000 },
      smsRepliesPerPhone: { perWindow: 3, windowMs: 3600_000 },
      smsConversationsPerOwner: { perWindow: 4, windowMs: 3600_000 },
    } as never,
  });
  await smsc.until(() => smsc.boundSessions > 0, 'Knock bound');
});
afterAll(async () => {
  await knock?.close();
  await Promise.all([smsc?.close(), receiver?.close()]);
});

/** A phone number of its own for each use, so the per-phone limits of one test do not reach another. */
function newPhone(): string {
  phones++;
  return `+4477009${String(phones).padStart(5, '0')}`;
}

async function newOwner(handle: string, name = handle[0]!.toUpperCase() + handle.slice(1)) {
  await knock.addUser(handle, name);
  return (await knock.storage.getAccountByHandle(handle))!;
}

/** The phone texts Knock: a deliver_sm from it to `to` (the service number unless said), as a phone's SMSC encodes it. */
async function text(from: string, body: string, to = SERVICE): Promise<void> {
  const { dataCoding, parts } = encodeSms(body, 1);
  const answer = await smsc.deliver({
    source_addr: from.slice(1), source_addr_ton: 1, destination_addr: to.slice(1), dest_addr_ton: 1, data_coding: dataCoding, short_message: parts[0],
  });
  expect(answer.command_status).toBe(0);
}

/** `read()` once `ok` holds of it (vitest's poll: no fixed sleep decides anything). */
async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  let last: T | undefined;
  await expect.poll(async () => ok((last = await read())), { timeout: WAIT_MS, interval: 20, message: what }).toBe(true);
  return last as T;
}

const to = (phone: string) => (s: ReceivedSubmit) => String(s.pdu.destination_addr) === phone.slice(1);
const submitsTo = (phone: string) => smsc.submits.filter(to(phone));
const submitTo = (phone: string, includes: string) =>
  smsc.until(() => smsc.submits.find((s) => to(phone)(s) && smsText(s).includes(includes)), `an SMS to ${phone} with "${includes}"`);

async function threadOf(phone: string, accountId: string) {
  return until(() => knock.storage.smsThread(phone, accountId), (t) => t !== null, `the thread of ${phone}`).then((t) => t!);
}

async function bodiesOf(conversationId: string): Promise<string[]> {
  return (await knock.storage.messagesAfter(conversationId, 0, 100)).map((m) => m.body);
}

/**
 * No further SMS reaches `phone`: an SMS sent after this to a control number arrives, and nothing to `phone` came
 * before it (the SMSC sees Knock's submits in order).
 */
async function nothingMoreTo(phone: string, before: number): Promise<void> {
  const control = newPhone();
  await text(control, 'help');
  await submitTo(control, 'Start your text');
  expect(submitsTo(phone)).toHaveLength(before);
}

describe('a phone without internet at the service number', () => {
  it('starts a conversation by naming the owner, shown by the masked number; the next text continues it; the owner\u2019s reply goes back signed', async () => {
    const alice = await newOwner('alice');
    const phone = '+447700900123';
    await text(phone, 'alice hello');
    const thread = await threadOf(phone, alice.id);
    expect(thread).toMatchObject({ via: 'service', shown: '+44 7700 900123' });
    await until(() => bodiesOf(thread.conversationId), (b) => b.length === 1, 'the first text');
    const [first] = await knock.storage.messagesAfter(thread.conversationId, 0, 1);
    expect(first).toMatchObject({ body: 'hello', senderRole: 'visitor', senderName: 'SMS ••••0123', event: { kind: 'sms', via: 'service' } });
    expect(await knock.storage.getConversationSummary(thread.conversationId)).toMatchObject({
      visitorName: 'SMS ••••0123', sms: { phone, shown: '+44 7700 900123', via: 'service', stopped: false },
    });

    await text(phone, 'are you there?');
    await until(() => bodiesOf(thread.conversationId), (b) => b.join('|') === 'hello|are you there?', 'the second text in the same conversation');

    const owner = new Person(knock.url);
    await owner.login('alice');
    const session = owner.conversation(thread.conversationId);
    session.send('Yes, here!');
    const reply = await submitTo(phone, 'Yes, here!');
    expect(smsText(reply)).toBe('Alice: Yes, here!');
    expect(String(reply.pdu.source_addr)).toBe(SERVICE.slice(1));
    await waitFor(session, (s) => s.messages.some((m) => m.body === 'Yes, here!' && m.delivery?.state === 'sent' && m.delivery.channel === 'sms'), 'the reply shown sent', WAIT_MS);
    await owner.closeAll();
  });

  it('switches owner with @bob, /bob or a phone URL; a bare first word with a current owner is part of the message', async () => {
    const carol = await newOwner('carol');
    const dave = await newOwner('dave');
    const phone = newPhone();
    await knock.storage.assignPhoneNumber(dave.id, '+15557770000', Date.now());
    await text(phone, 'carol hi carol');
    const withCarol = await threadOf(phone, carol.id);
    await text(phone, 'dave is here too'); // a bare handle while talking to Carol: for Carol
    await until(() => bodiesOf(withCarol.conversationId), (b) => b.includes('dave is here too'), 'the bare word kept in Carol\u2019s conversation');
    expect(await knock.storage.smsThread(phone, dave.id)).toBeNull();
    await text(phone, '@dave hi dave');
    const withDave = await threadOf(phone, dave.id);
    await until(() => bodiesOf(withDave.conversationId), (b) => b.join('|') === 'hi dave', 'the switch to Dave');
    await text(phone, 'still dave?');
    await until(() => bodiesOf(withDave.conversationId), (b) => b.includes('still dave?'), 'Dave stays current');
    await text(phone, '/carol back to you');
    await text(phone, '+1 555 777 0000'); // a phone URL spelt with spaces is not one word: a message to the current owner
    await until(() => bodiesOf(withCarol.conversationId), (b) => b.includes('back to you') && b.includes('+1 555 777 0000'), 'back at Carol');
    expect((await knock.storage.smsPhone(phone))?.currentAccountId).toBe(carol.id);
    // Another phone names Dave by his phone URL.
    const other = newPhone();
    await text(other, '+15557770000 by number');
    const byNumber = await threadOf(other, dave.id);
    await until(() => bodiesOf(byNumber.conversationId), (b) => b.join('|') === 'by number', 'Dave named by his phone URL');
  });

  it('STOP is recorded and confirmed once, told to the owner; a reply is then not sent and says why; START resumes', async () => {
    const erin = await newOwner('erin');
    const phone = newPhone();
    await text(phone, 'erin hello erin');
    const thread = await threadOf(phone, erin.id);
    await text(phone, 'Stop');
    await submitTo(phone, 'no more texts');
    await until(() => bodiesOf(thread.conversationId), (b) => b.some((x) => x.startsWith('This phone texted STOP')), 'the note to the owner');
    await text(phone, 'STOP');
    const owner = new Person(knock.url);
    await owner.login('erin');
    const session = owner.conversation(thread.conversationId);
    session.send('Are you still there?');
    await waitFor(
      session,
      (s) => s.messages.some((m) => m.body === 'Are you still there?' && m.delivery?.state === 'failed' && m.delivery.reason === 'this phone texted STOP'),
      'the reply not sent, and why',
      WAIT_MS,
    );
    expect((await knock.storage.getConversationSummary(thread.conversationId))?.sms?.stopped).toBe(true);
    await nothingMoreTo(phone, 1); // one confirmation, no second one, no reply
    await text(phone, 'START');
    await submitTo(phone, 'texts are on again');
    session.send('Welcome back');
    await submitTo(phone, 'Erin: Welcome back');
    await owner.closeAll();
  });

  it('answers HELP and texts naming nobody with usage, at most once per interval; never a claimed number', async () => {
    const phone = newPhone();
    await text(phone, 'HELP');
    expect(smsText(await submitTo(phone, 'Start your text'))).toContain('Text STOP to end.');
    await text(phone, 'hello there'); // no owner yet, and "hello" is nobody: usage, but not again so soon
    await text(phone, '@nobody-here hi');
    await nothingMoreTo(phone, 1);

    const fresh = newPhone();
    await text(fresh, '@nobody-here hi');
    expect(smsText(await submitTo(fresh, 'nobody is at'))).toContain('@nobody-here');

    // A claimed number (another owner's phone, an auto-responder) is never answered by a machine.
    const frank = await newOwner('frank');
    const claimed = '+15558880000';
    await knock.storage.assignPhoneNumber(frank.id, claimed, Date.now());
    await text(claimed, 'HELP');
    await text(claimed, 'who is this');
    await text(claimed, 'STOP');
    await nothingMoreTo(claimed, 0);
  });

  it('drops texts from the service number itself, and whatever names no phone', async () => {
    await newOwner('gina');
    await smsc.deliver({ source_addr: SERVICE.slice(1), source_addr_ton: 1, destination_addr: SERVICE.slice(1), short_message: Buffer.from('gina loop') });
    await smsc.deliver({ source_addr: 'KnockAlert', source_addr_ton: 5, destination_addr: SERVICE.slice(1), short_message: Buffer.from('gina spoof') });
    await nothingMoreTo(SERVICE, 0);
    const gina = (await knock.storage.getAccountByHandle('gina'))!;
    expect(await knock.storage.listConversations(gina.id, { limit: 10 })).toEqual([]);
  });

  it('an SMS to a company is a chat in its queue, as a knock is', async () => {
    const acme = await newOwner('acme', 'Acme');
    await knock.storage.makeCompany(acme.id, Date.now());
    const phone = newPhone();
    await text(phone, 'acme my order is late');
    const thread = await threadOf(phone, acme.id);
    expect(await knock.storage.getChatAssignment(thread.conversationId)).toMatchObject({ state: 'queued' });
  });
});

describe('limits a flood meets', () => {
  it('caps new conversations and switches per phone, and texts per phone, answering the phone once', async () => {
    const names = ['hank', 'ivy', 'jay', 'kim'];
    for (const name of names) await newOwner(name);
    const phone = newPhone();
    for (const name of names) await text(phone, `@${name} hi ${name}`);
    const kim = (await knock.storage.getAccountByHandle('kim'))!;
    await submitTo(phone, 'too many new conversations');
    expect(await knock.storage.smsThread(phone, kim.id)).toBeNull(); // the fourth switch in the hour: refused
    const jay = (await knock.storage.getAccountByHandle('jay'))!;
    const withJay = await threadOf(phone, jay.id);
    for (let i = 0; i < 7; i++) await text(phone, `more ${i}`);
    // 8 texts an hour: the 4 that named owners (Kim's refused) and 4 more; the rest dropped, unanswered.
    await until(() => bodiesOf(withJay.conversationId), (b) => b.length === 5, 'five texts to Jay');
    await nothingMoreTo(phone, 1);
    expect(await bodiesOf(withJay.conversationId)).toEqual(['hi jay', 'more 0', 'more 1', 'more 2', 'more 3']);
  });

  it('caps new SMS conversations per owner, whatever the number of phones', async () => {
    const lea = await newOwner('lea');
    const flood = Array.from({ length: 7 }, () => newPhone());
    for (const phone of flood) await text(phone, `lea hi from ${phone}`);
    await until(() => knock.storage.countSmsThreadsSince(lea.id, 0), (n) => n === 4, 'four conversations');
    const last = flood[flood.length - 1]!;
    expect(smsText(await submitTo(last, 'cannot take new texts'))).toContain('Lea');
    expect(await knock.storage.countSmsThreadsSince(lea.id, 0)).toBe(4);
  });

  it('caps replies to one phone (an auto-responder loop): the one past the cap is not sent, and says so', async () => {
    const mo = await newOwner('mo');
    const phone = newPhone();
    await text(phone, 'mo ping');
    const thread = await threadOf(phone, mo.id);
    const owner = new Person(knock.url);
    await owner.login('mo');
    const session = owner.conversation(thread.conversationId);
    for (let i = 1; i <= 4; i++) session.send(`pong ${i}`);
    // The outbox sends several at once: which one is refused depends on their race; that one of four is does not.
    const settled = (s: ReturnType<typeof session.snapshot>) => s.messages.filter((m) => m.body.startsWith('pong') && (m.delivery?.state === 'sent' || m.delivery?.state === 'failed'));
    const snapshot = await waitFor(session, (s) => settled(s).length === 4, 'every reply settled', WAIT_MS);
    const failed = settled(snapshot).filter((m) => m.delivery?.state === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.delivery?.reason).toMatch(/^more than 3 texts to this phone/);
    const sent = await smsc.until(() => { const t = submitsTo(phone).map(smsText).filter((x) => x.startsWith('Mo: pong')); return t.length === 3 && t; }, 'three replies');
    expect(sent).not.toContain(`Mo: ${failed[0]!.body}`);
    await owner.closeAll();
  });

  it('posts a text as long as the link carries whole, and nothing of one past the adapter\u2019s bound', async () => {
    const ned = await newOwner('ned');
    const phone = newPhone();
    const deliverPayload = (body: string) =>
      smsc.deliver({ source_addr: phone.slice(1), source_addr_ton: 1, destination_addr: SERVICE.slice(1), short_message: Buffer.alloc(0), message_payload: Buffer.from(body) });
    // A 17 KB deliver_sm (past the 16 KiB PDU bound) is refused by the adapter: nothing reaches Ned.
    expect((await deliverPayload(`ned ${'y'.repeat(17_000)}`)).command_status).not.toBe(0);
    const long = 'x'.repeat(15_000);
    expect((await deliverPayload(`ned ${long}`)).command_status).toBe(0);
    const thread = await threadOf(phone, ned.id);
    expect(await until(() => bodiesOf(thread.conversationId), (b) => b.length === 1, 'the long text')).toEqual([long]);
  });
});

describe('the owner\u2019s own number while their phone is off', () => {
  it('shows a text to the owner\u2019s number as an SMS conversation, passes it on to the phone; a failed receipt marks it and tells the webhook', async () => {
    const olga = await newOwner('olga');
    const number = '+15551234567';
    await knock.storage.assignPhoneNumber(olga.id, number, Date.now());
    const hook = await knock.storage.addChannel({ accountId: olga.id, kind: 'webhook', address: receiver.url, secret: JSON.stringify(['whsec_test']), delayMs: 0, verified: true, at: Date.now() });
    receiver.secret = 'whsec_test';
    const phone = newPhone();
    await text(phone, 'olga are you free tonight?', number);
    const thread = await threadOf(phone, olga.id);
    expect(thread.via).toBe('number');
    const [message] = await until(() => knock.storage.messagesAfter(thread.conversationId, 0, 10), (m) => m.length === 1, 'the text');
    // To a person's own number, the first word is not a name: the whole text is the message.
    expect(message).toMatchObject({ body: 'olga are you free tonight?', event: { kind: 'sms', via: 'number' } });
    const passed = await submitTo(number, 'olga are you free tonight?');
    expect(smsText(passed)).toBe(`${thread.shown}: olga are you free tonight?`);
    expect(String(passed.pdu.source_addr)).toBe(SERVICE.slice(1));
    expect(passed.pdu.registered_delivery).toBe(1);
    // The phone's own texts to the service number are not changed: it talks to nobody there.
    expect((await knock.storage.smsPhone(phone))?.currentAccountId ?? null).toBeNull();

    const owner = new Person(knock.url);
    await owner.login('olga');
    const session = owner.conversation(thread.conversationId);
    await waitFor(session, (s) => s.messages.length === 1, 'the conversation open', WAIT_MS);
    await smsc.deliver({
      source_addr: number.slice(1), destination_addr: SERVICE.slice(1), esm_class: 0x04,
      short_message: Buffer.from(`id:${passed.messageId} sub:001 dlvrd:000 submit date:2601011200 done date:2601011201 stat:UNDELIV err:001 text:`),
    });
    await waitFor(session, (s) => s.messages[0]?.delivery?.state === 'failed', 'the text marked not delivered to the phone', WAIT_MS);
    expect(session.snapshot().messages[0]?.delivery).toMatchObject({ purpose: 'passOn', channel: 'sms', to: number, reason: 'UNDELIV: not delivered to your phone, shown here' });
    const notice = await receiver.next((c) => c.body.type === 'knock.forward' && JSON.stringify(c.body.texts).includes('are you free tonight'), 'the notice on the webhook');
    expect(notice.signatureOk).toBe(true);
    expect(notice.body).toMatchObject({ conversationId: thread.conversationId, visitor: { name: `SMS ••••${phone.slice(-4)}` } });
    expect(String((notice.body.texts as string[])[0])).toMatch(/^Not delivered to your phone \(UNDELIV\)/);
    expect(hook.verified).toBe(true);

    // Answered from the computer: it leaves from the owner's own number, without a signature.
    session.send('Yes! 8pm?');
    const reply = await submitTo(phone, 'Yes! 8pm?');
    expect(smsText(reply)).toBe('Yes! 8pm?');
    expect(String(reply.pdu.source_addr)).toBe(number.slice(1));
    await owner.closeAll();
  });
});
