/**
 * Issue 17, "Done when 1 and 2", end to end through a real Knock: mail sent by nodemailer over SMTP to Knock's own
 * server (127.0.0.1, a free port) becomes an email conversation, threaded; the owner's answer goes out through a relay
 * (an smtp-server sink the test controls: 451 twice, 550, accept), DKIM-signed, threaded, with the conversation's
 * reply address; the answer to that comes back into the same conversation; a bounce marks the mail not delivered; an
 * owner who is away hears of a visitor's message by email once; a reply to a deleted conversation is refused politely.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { authenticate } from 'mailauth';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Person, waitFor } from '../support/clients.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { MailSink } from '../support/mailSink.ts';
import type { MessageRecord } from '../../engine/protocol.ts';
import type { Conversation } from '../../engine/ports/storage.ts';

const DOMAIN = 'example.test';
const WAIT_MS = 15_000;

let knock: TestKnock;
let sink: MailSink;
let keyDir: string;
let dkimPublicKey: string;

/** Polls storage (the state a user's next page load shows) until `read` gives something `ok` accepts. */
async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)?.slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function sendToKnock(mail: SendMailOptions): Promise<unknown> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: knock.mailPort!, secure: false, ignoreTLS: true, logger: false });
  return transport.sendMail(mail).finally(() => transport.close());
}

async function aliceId(): Promise<string> {
  return (await knock.storage.getAccountByHandle('alice'))!.id;
}

async function conversationWithSubject(subject: string): Promise<Conversation> {
  const id = await until(
    async () => (await knock.storage.listConversations(await aliceId(), { limit: 50, filter: 'all' })).find((c) => c.subject === subject)?.id,
    (found) => found !== undefined,
    `a conversation "${subject}"`,
  );
  return (await knock.storage.getConversation(id!))!;
}

async function messagesOf(conversationId: string): Promise<MessageRecord[]> {
  return knock.storage.messagesAfter(conversationId, 0, 100);
}

async function ownerSays(conversationId: string, body: string): Promise<void> {
  const owner = new Person(knock.url);
  await owner.login('alice');
  const session = owner.conversation(conversationId);
  session.send(body);
  await waitFor(session, (s) => s.messages.some((m) => m.body === body && m.seq !== null), 'the message stored');
  await owner.closeAll();
}

beforeAll(async () => {
  sink = await MailSink.start();
  keyDir = await mkdtemp(path.join(os.tmpdir(), 'knock-dkim-'));
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(path.join(keyDir, 'dkim.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  dkimPublicKey = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  knock = await startKnock({
    smtpPort: 0,
    smtpHost: '127.0.0.1',
    mailDomain: DOMAIN,
    smtpRelayUrl: sink.url,
    dkimSelector: 'k1',
    dkimKeyFile: path.join(keyDir, 'dkim.pem'),
    outboxRetryBaseMs: 50,
    outboxPollMs: 100,
    visitorMailDelayMs: 0,
  });
  await knock.addUser('alice', 'Alice Liddell');
});
afterAll(async () => {
  await knock?.close();
  await sink?.close();
  await rm(keyDir, { recursive: true, force: true });
});

describe('mail to a URL', () => {
  it('opens an email conversation with its subject, sender, text and attachment, and a reply joins it', async () => {
    const attachment = Buffer.alloc(100 * 1024, 7);
    await sendToKnock({
      from: 'Bob Builder <bob@sender.test>',
      to: `alice@${DOMAIN}`,
      subject: 'Quote for the roof',
      text: 'Hello Alice,\nthe quote is attached.',
      messageId: '<quote-1@sender.test>',
      attachments: [{ filename: 'quote.bin', content: attachment }],
    });
    const conversation = await conversationWithSubject('Quote for the roof');
    expect(conversation.kind).toBe('email');
    expect(conversation.visitorEmail).toBe('bob@sender.test');
    const [first] = await messagesOf(conversation.id);
    expect(first!.body).toBe('Hello Alice,\nthe quote is attached.');
    expect(first!.senderName).toBe('Bob Builder');
    if (first!.event.kind !== 'email') throw new Error(`expected an email event, got ${first!.event.kind}`);
    expect(first!.event.from).toEqual({ address: 'bob@sender.test', name: 'Bob Builder' });
    expect(first!.event.files.map((f) => [f.name, f.size])).toEqual([['quote.bin', attachment.length]]);

    await sendToKnock({
      from: 'Bob Builder <bob@sender.test>',
      to: `alice@${DOMAIN}`,
      subject: 'Re: Quote for the roof',
      text: 'One more thing: we start Monday.\n\nOn Mon, Dec 7, 2026, Bob Builder wrote:\n> Hello Alice,\n> the quote is attached.',
      messageId: '<quote-2@sender.test>',
      inReplyTo: '<quote-1@sender.test>',
      references: ['<quote-1@sender.test>'],
    });
    const both = await until(() => messagesOf(conversation.id), (m) => m.length === 2, 'the reply in the same conversation');
    expect(both[1]!.body).toBe('One more thing: we start Monday.');
    const summaries = await knock.storage.listConversations(await aliceId(), { limit: 50 });
    expect(summaries.filter((c) => c.subject === 'Quote for the roof')).toHaveLength(1);
  });

  it('keeps a small mail byte for byte, and a big one as its message and files only (which count to the quota)', async () => {
    await sendToKnock({ from: 'Kim <kim@sender.test>', to: `alice@${DOMAIN}`, subject: 'Small one', text: 'Short.', messageId: '<small-1@sender.test>' });
    const small = await conversationWithSubject('Small one');
    expect((await knock.storage.getMail(small.id, 1))?.rawBlobId).toMatch(/^[0-9a-f]{64}$/);
    const plans = Buffer.alloc(400 * 1024, 9);
    await sendToKnock({
      from: 'Kim <kim@sender.test>',
      to: `alice@${DOMAIN}`,
      subject: 'Big one',
      text: 'The plans.',
      messageId: '<big-1@sender.test>',
      attachments: [{ filename: 'plans.bin', content: plans }],
    });
    const big = await conversationWithSubject('Big one');
    expect(await knock.storage.getMail(big.id, 1)).toMatchObject({ messageId: 'big-1@sender.test', rawBlobId: null });
    const [message] = await messagesOf(big.id);
    if (message!.event.kind !== 'email') throw new Error('expected an email event');
    expect(message!.event.files.map((f) => f.size)).toEqual([plans.length]);
    expect(await knock.storage.ownerFileBytes(await aliceId())).toBeGreaterThanOrEqual(plans.length);
  });

  it('does not let a stranger who knows a Message-ID write into someone else\u2019s conversation', async () => {
    await sendToKnock({ from: 'Ivy <ivy@sender.test>', to: `alice@${DOMAIN}`, subject: 'Bathroom tiles', text: 'Tiles?', messageId: '<tiles-1@sender.test>' });
    const ivys = await conversationWithSubject('Bathroom tiles');
    await sendToKnock({
      from: 'Ivy <ivy@forger.test>',
      to: `alice@${DOMAIN}`,
      subject: 'Re: Bathroom tiles',
      text: 'Please pay the invoice to this new account.',
      messageId: '<forged-1@forger.test>',
      inReplyTo: '<tiles-1@sender.test>',
      references: ['<tiles-1@sender.test>'],
    });
    const forged = await conversationWithSubject('Re: Bathroom tiles');
    expect(forged.id).not.toBe(ivys.id);
    expect(forged.visitorEmail).toBe('ivy@forger.test');
    expect((await messagesOf(ivys.id)).map((m) => m.body)).toEqual(['Tiles?']);
  });

  it('refuses unknown mailboxes and other domains at RCPT TO', async () => {
    await expect(sendToKnock({ from: 'x@sender.test', to: `nobody@${DOMAIN}`, subject: 's', text: 't' })).rejects.toMatchObject({ responseCode: 550 });
    await expect(sendToKnock({ from: 'x@sender.test', to: 'carol@elsewhere.test', subject: 's', text: 't' })).rejects.toMatchObject({ responseCode: 550 });
  });
});

describe('the owner answers by email', () => {
  it('goes out threaded and DKIM-signed with the reply address, and the answer to it comes back into the conversation', async () => {
    await sendToKnock({ from: 'Dana <dana@sender.test>', to: `alice@${DOMAIN}`, subject: 'Gutters', text: 'Can you clean gutters?', messageId: '<gutters-1@sender.test>' });
    const conversation = await conversationWithSubject('Gutters');
    await ownerSays(conversation.id, 'Yes, on Friday.');
    const out = await sink.next((m) => m.parsed.text?.includes('Yes, on Friday.') ?? false);
    expect(out.subject).toBe('Re: Gutters');
    expect(out.envelope.to).toEqual(['dana@sender.test']);
    expect(out.parsed.from?.value[0]?.address).toBe(`alice@${DOMAIN}`);
    expect(out.parsed.inReplyTo).toBe('<gutters-1@sender.test>');
    expect(out.messageId).toMatch(new RegExp(`^knock\\.${conversation.id}\\.2@${DOMAIN}$`));
    const replyTo = out.parsed.replyTo?.value[0]?.address ?? '';
    expect(replyTo).toMatch(new RegExp(`^alice\\+c-[A-Za-z0-9_-]+@${DOMAIN.replace('.', '\\.')}$`));
    // One-click unsubscribe (RFC 8058), as mailbox providers ask of bulk and reply mail alike.
    expect(out.raw.toString('utf8')).toMatch(/^List-Unsubscribe:(\r\n)? <http:\/\/127\.0\.0\.1:\d+\/_\/mail\/unsubscribe\/[a-z2-7]+>\r$/m);
    expect(out.raw.toString('utf8')).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);

    // The DKIM signature verifies against the public key published for selector k1.
    const resolver = async (name: string, type: string) => {
      if (type === 'TXT' && name === `k1._domainkey.${DOMAIN}`) return [[`v=DKIM1; k=rsa; p=${dkimPublicKey}`]];
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    };
    const auth = await authenticate(out.raw, { ip: '127.0.0.1', helo: 'relay.test', sender: `alice@${DOMAIN}`, resolver, trustReceived: false } as never);
    const dkim = (auth as { dkim: { results: Array<{ signingDomain: string; status: { result: string } }> } }).dkim.results;
    expect(dkim.map((r) => [r.signingDomain, r.status.result])).toContainEqual([DOMAIN, 'pass']);

    await sendToKnock({
      from: 'Dana <dana@sender.test>',
      to: replyTo,
      subject: 'Re: Gutters',
      text: 'Great, see you then!\n\nOn Mon, Dec 7, 2026 at 10:00, Alice Liddell wrote:\n> Yes, on Friday.',
      messageId: '<gutters-3@sender.test>',
      inReplyTo: `<${out.messageId}>`,
    });
    const messages = await until(() => messagesOf(conversation.id), (m) => m.length === 3, 'the answer in the conversation');
    expect(messages[2]!.body).toBe('Great, see you then!');
    expect(messages[2]!.senderRole).toBe('visitor');
  });

  it('retries a relay answering 451 twice and delivers exactly once; the owner sees it sent', async () => {
    await sendToKnock({ from: 'Eve <eve@sender.test>', to: `alice@${DOMAIN}`, subject: 'Fence', text: 'Fence repair?', messageId: '<fence-1@sender.test>' });
    const conversation = await conversationWithSubject('Fence');
    const before = sink.attempts;
    sink.answer(['451 4.3.0 Greylisted, try again', '451 4.3.0 Greylisted, try again']);
    await ownerSays(conversation.id, 'The fence is fine.');
    await sink.next((m) => m.parsed.text?.includes('The fence is fine.') ?? false);
    const [job] = await until(() => knock.storage.conversationJobs(conversation.id), (jobs) => jobs[0]?.state === 'sent', 'the job sent');
    expect(job!.attempts).toBe(3);
    expect(sink.attempts - before).toBe(3);
    expect(sink.received.filter((m) => m.parsed.text?.includes('The fence is fine.'))).toHaveLength(1);
  });

  it('stops at a 550 and tells the owner why', async () => {
    await sendToKnock({ from: 'Finn <finn@sender.test>', to: `alice@${DOMAIN}`, subject: 'Pool', text: 'Pool cleaning?', messageId: '<pool-1@sender.test>' });
    const conversation = await conversationWithSubject('Pool');
    sink.answer([], '550 5.1.1 No such user here');
    try {
      const owner = new Person(knock.url);
      await owner.login('alice');
      const session = owner.conversation(conversation.id);
      session.send('No pools, sorry.');
      const failed = await waitFor(session, (s) => s.messages.some((m) => m.delivery?.state === 'failed'), 'the mailing shown failed', WAIT_MS);
      const delivery = failed.messages.find((m) => m.delivery?.state === 'failed')!.delivery!;
      expect(delivery.reason).toContain('550');
      expect(delivery.reason).toContain('No such user here');
      expect(delivery.attempts).toBe(1);
      await owner.closeAll();
    } finally {
      sink.answer([]);
    }
  });

  it('marks a mail not delivered when its bounce comes back', async () => {
    await sendToKnock({ from: 'Gus <gus@sender.test>', to: `alice@${DOMAIN}`, subject: 'Shed', text: 'Shed?', messageId: '<shed-1@sender.test>' });
    const conversation = await conversationWithSubject('Shed');
    await ownerSays(conversation.id, 'Shed done.');
    const out = await sink.next((m) => m.parsed.text?.includes('Shed done.') ?? false);
    await until(() => knock.storage.conversationJobs(conversation.id), (jobs) => jobs[0]?.state === 'sent', 'the job sent');
    const dsn = [
      `From: Mail Delivery System <MAILER-DAEMON@mx.sender.test>`,
      `To: alice@${DOMAIN}`,
      'Subject: Undelivered Mail Returned to Sender',
      'Auto-Submitted: auto-replied',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
      '',
      '--B',
      'Content-Type: text/plain',
      '',
      'Your message could not be delivered.',
      '--B',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.sender.test',
      '',
      'Final-Recipient: rfc822; gus@sender.test',
      'Action: failed',
      'Status: 5.2.2',
      'Diagnostic-Code: smtp; 552 5.2.2 Mailbox full',
      '--B',
      'Content-Type: text/rfc822-headers',
      '',
      `Message-ID: <${out.messageId}>`,
      'Subject: Re: Shed',
      '--B--',
      '',
    ].join('\r\n');
    await sendToKnock({ envelope: { from: '', to: [`alice@${DOMAIN}`] }, raw: dsn });
    const [job] = await until(() => knock.storage.conversationJobs(conversation.id), (jobs) => jobs[0]?.state === 'failed', 'the bounce to mark the job');
    expect(job!.lastError).toContain('Mailbox full');
    // The bounce is about a mail, not a message of anyone's: the conversation holds the two messages only.
    expect(await messagesOf(conversation.id)).toHaveLength(2);
  });

  it('refuses politely a reply to a deleted conversation', async () => {
    await sendToKnock({ from: 'Hal <hal@sender.test>', to: `alice@${DOMAIN}`, subject: 'Attic', text: 'Attic?', messageId: '<attic-1@sender.test>' });
    const conversation = await conversationWithSubject('Attic');
    const token = await knock.storage.conversationMailToken(conversation.id);
    expect(await knock.storage.deleteConversation(conversation.id)).not.toBeNull();
    const refused = await sendToKnock({ from: 'hal@sender.test', to: `alice+c-${token}@${DOMAIN}`, subject: 'Re: Attic', text: 'Hello?' }).catch((err: unknown) => err);
    expect(refused).toMatchObject({ responseCode: 550 });
    expect(String((refused as Error).message)).toContain('no longer exists');
    expect(String((refused as Error).message)).toContain(`alice@${DOMAIN}`);
  });
});

describe('an owner who is away', () => {
  it('is not told of mail a machine sent (an auto-reply), so two servers never mail each other for ever', async () => {
    const alice = (await knock.storage.getAccountByHandle('alice'))!;
    await knock.storage.setAccountEmail(alice.id, { address: 'alice.home@inbox.test', verifyTokenHash: 'h-auto-verify', at: Date.now() });
    expect(await knock.storage.verifyAccountEmail('h-auto-verify', Date.now())).not.toBeNull();
    await sendToKnock({
      from: 'Auto Responder <robot@sender.test>',
      to: `alice@${DOMAIN}`,
      subject: 'Out of office',
      text: 'I am away until Monday.',
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    const automatic = await conversationWithSubject('Out of office');
    const [stored] = await messagesOf(automatic.id);
    expect(stored!.event).toMatchObject({ kind: 'email', automatic: true });
    // A person's mail after it is told of: once that mail is out and nothing waits in the outbox, no mail about the
    // auto-reply went anywhere, nor will.
    await sendToKnock({ from: 'Real Person <person@sender.test>', to: `alice@${DOMAIN}`, subject: 'Hello there', text: 'A real question.' });
    await sink.next((m) => m.subject.startsWith('Real Person left you a message'));
    await until(() => knock.storage.nextJobAt(), (next) => next === null, 'the outbox to be empty');
    expect(sink.received.filter((m) => m.subject.startsWith('Auto Responder'))).toEqual([]);
  });

  it('cannot be notified at an address of this same Knock (the mail would come back in)', async () => {
    const owner = new Person(knock.url);
    await owner.login('alice');
    const res = await fetch(`${knock.url}/_/api/settings/email`, {
      method: 'PUT',
      headers: { ...owner.headers, 'content-type': 'application/json', origin: knock.url },
      body: JSON.stringify({ address: `alice@${DOMAIN}` }),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(`${DOMAIN} is this Knock's own mail domain`);
  });

  it('gets one email when a visitor leaves a message, with the text and a link', async () => {
    const alice = (await knock.storage.getAccountByHandle('alice'))!;
    await knock.storage.setAccountEmail(alice.id, { address: 'alice.home@inbox.test', verifyTokenHash: 'h-test-verify', at: Date.now() });
    expect(await knock.storage.verifyAccountEmail('h-test-verify', Date.now())).not.toBeNull();
    const visitor = new Person(knock.url);
    const { session, conversationId } = await visitor.knock('alice', 'Vic');
    session.send('Are you free on Sunday?');
    await waitFor(session, (s) => s.messages.some((m) => m.body === 'Are you free on Sunday?' && m.seq !== null), 'the first message stored');
    const notice = await sink.next((m) => m.envelope.to.includes('alice.home@inbox.test') && m.subject.startsWith('Vic left you a message'));
    expect(notice.subject).toBe(`Vic left you a message at ${knock.url}/alice`);
    expect(notice.parsed.text).toContain('Are you free on Sunday?');
    expect(notice.parsed.text).toContain(`${knock.url}/alice`);
    // A second message within ten minutes waits for the next mail, gathered with whatever else comes.
    session.send('Or Monday?');
    await waitFor(session, (s) => s.messages.some((m) => m.body === 'Or Monday?' && m.seq !== null), 'the second message stored');
    const jobs = await until(
      async () => {
        const next = await knock.storage.nextJobAt();
        return next;
      },
      (next) => next !== null,
      'the next notification queued',
    );
    expect(jobs!).toBeGreaterThanOrEqual(Date.now() + 9 * 60_000);
    expect(sink.received.filter((m) => m.subject.startsWith('Vic left you a message'))).toHaveLength(1);
    expect((await knock.storage.getNotifyMark(conversationId)).seq).toBeGreaterThanOrEqual(1);
    await visitor.closeAll();
  });
});
