/**
 * Knock's outgoing mail (adapters/channels/email/smtpRelay.ts) through a real SMTP server on 127.0.0.1 playing the
 * relay (`smtp-server`, no TLS, AUTH only where a test logs in): what arrives, byte for byte where it matters, how
 * each refusal comes back (permanent or not, in the relay's words), and whether the DKIM signature of what arrived
 * verifies against the published key (mailauth, with the key served by the test).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { dkimVerify } from 'mailauth';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpRelay, type SmtpRelayOptions } from '../../adapters/channels/email/smtpRelay.ts';
import { KnockError } from '../../engine/errors.ts';
import { createLogger } from '../../engine/logger.ts';
import { MailSendError, type OutboundMail } from '../../engine/ports/mail.ts';
import { dkimKeys, txtResolver } from '../support/mailPeers.ts';
import { freePort } from '../support/ports.ts';

const logger = createLogger(process.env.KNOCK_TEST_LOG ?? 'silent');

interface Arrived {
  mailFrom: string;
  rcptTo: string[];
  raw: Buffer;
}

/** Refusals the sink plays, by recipient. */
const REFUSED_AT_RCPT: Record<string, [number, string]> = {
  'full@relay.test': [451, '4.2.2 Mailbox full, try again later'],
  'gone@relay.test': [550, '5.1.1 No such user'],
};

/** A relay on a free port that takes everything except the recipients above and mails whose subject says "spam". */
async function startSink(options: { password?: string } = {}): Promise<{ port: number; arrived: Arrived[]; close(): Promise<void> }> {
  const arrived: Arrived[] = [];
  const sink = new SMTPServer({
    authOptional: options.password === undefined,
    allowInsecureAuth: true,
    disabledCommands: options.password === undefined ? ['STARTTLS', 'AUTH'] : ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onAuth: (auth, _session, callback) =>
      auth.password === options.password ? callback(null, { user: auth.username }) : callback(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 })),
    onRcptTo: (address, _session, callback) => {
      const refusal = REFUSED_AT_RCPT[address.address];
      callback(refusal ? Object.assign(new Error(refusal[1]), { responseCode: refusal[0] }) : undefined);
    },
    onData: (stream, session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        if (/^Subject: .*spam/im.test(raw.toString('utf8'))) {
          callback(Object.assign(new Error('5.7.1 Message refused as spam'), { responseCode: 554 }));
          return;
        }
        arrived.push({ mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', rcptTo: session.envelope.rcptTo.map((r) => r.address), raw });
        callback(null, '2.0.0 Queued as 4711');
      });
    },
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const port = (sink.server.address() as { port: number }).port;
  return { port, arrived, close: () => new Promise<void>((resolve) => sink.close(() => resolve())) };
}

const closers: Array<() => Promise<void>> = [];
let tmp: string;
let sink: Awaited<ReturnType<typeof startSink>>;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'knock-relay-'));
  sink = await startSink();
  closers.push(() => sink.close());
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await rm(tmp, { recursive: true, force: true });
});

function relayTo(port: number, overrides: Partial<SmtpRelayOptions> = {}): SmtpRelay {
  const relay = new SmtpRelay({ url: `smtp://127.0.0.1:${port}`, heloName: 'knock.test', logger, ...overrides });
  closers.push(() => relay.close());
  return relay;
}

function mailTo(...to: string[]): OutboundMail {
  return {
    from: { address: 'alice@knock.test', name: 'Alice Liddell' },
    to: to.map((address) => ({ address, name: '' })),
    subject: 'Lunch',
    text: 'Noon?',
    messageId: `knock.c1.${randomBytes(4).toString('hex')}@knock.test`,
  };
}

/** What sendMail's promise rejected with, which the test expects to be a MailSendError. */
async function sendError(relay: SmtpRelay, mail: OutboundMail): Promise<MailSendError> {
  const error = await relay.send(mail).then(
    () => null,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(MailSendError);
  return error as MailSendError;
}

describe('mail through the relay', () => {
  it('arrives with its Message-ID, threading headers, Reply-To, extra headers, text and HTML parts and attachments', async () => {
    const relay = relayTo(sink.port);
    const pdf = randomBytes(64 * 1024);
    const mail: OutboundMail = {
      from: { address: 'alice@knock.test', name: 'Alice Liddell' },
      to: [{ address: 'bob@relay.test', name: 'Bob' }],
      replyTo: 'alice+c-7Hq2@knock.test',
      subject: 'Re: Lunch ☕',
      text: 'Noon is fine.',
      html: '<p>Noon is <b>fine</b>.</p>',
      messageId: 'knock.c1.4@knock.test',
      inReplyTo: 'bob.1@relay.test',
      references: ['bob.0@relay.test', 'bob.1@relay.test'],
      headers: { 'Auto-Submitted': 'auto-generated', 'List-Unsubscribe': '<https://knock.test/_/unsubscribe/x>' },
      attachments: [
        { filename: 'menu.pdf', contentType: 'application/pdf', content: pdf },
        { filename: 'notes.txt', contentType: 'text/plain', content: () => Readable.from([Buffer.from('streamed notes')]) },
      ],
      date: new Date('2026-12-07T10:00:00Z'),
    };
    const { response } = await relay.send(mail);
    expect(response).toBe('250 2.0.0 Queued as 4711');
    const arrived = sink.arrived.at(-1)!;
    expect(arrived.mailFrom).toBe('alice@knock.test');
    expect(arrived.rcptTo).toEqual(['bob@relay.test']);
    const parsed = await simpleParser(arrived.raw);
    expect(parsed.messageId).toBe('<knock.c1.4@knock.test>');
    expect(parsed.inReplyTo).toBe('<bob.1@relay.test>');
    expect(parsed.references).toEqual(['<bob.0@relay.test>', '<bob.1@relay.test>']);
    expect(parsed.replyTo?.value).toEqual([{ address: 'alice+c-7Hq2@knock.test', name: '' }]);
    expect(parsed.from?.value).toEqual([{ address: 'alice@knock.test', name: 'Alice Liddell' }]);
    expect(parsed.subject).toBe('Re: Lunch ☕');
    expect(parsed.date?.toISOString()).toBe('2026-12-07T10:00:00.000Z');
    expect(parsed.headers.get('auto-submitted')).toBe('auto-generated');
    expect(parsed.text?.trim()).toBe('Noon is fine.');
    expect(parsed.html).toBe('<p>Noon is <b>fine</b>.</p>');
    expect(parsed.attachments.map((a) => [a.filename, a.contentType])).toEqual([
      ['menu.pdf', 'application/pdf'],
      ['notes.txt', 'text/plain'],
    ]);
    expect(parsed.attachments[0]!.content.equals(pdf)).toBe(true);
    expect(parsed.attachments[1]!.content.toString()).toBe('streamed notes');
  });

  it('goes to every recipient the relay takes, and counts as sent when it refuses only some', async () => {
    const relay = relayTo(sink.port);
    const { response } = await relay.send(mailTo('bob@relay.test', 'gone@relay.test'));
    expect(response).toMatch(/^250 /);
    expect(sink.arrived.at(-1)!.rcptTo).toEqual(['bob@relay.test']);
  });

  it('is signed with DKIM for the mail domain, and the signature of what arrived verifies', async () => {
    const keys = dkimKeys();
    const keyFile = path.join(tmp, 'dkim.pem');
    await writeFile(keyFile, keys.privateKeyPem);
    const relay = relayTo(sink.port, { dkim: { domain: 'knock.test', selector: 'k2026', keyFile } });
    await relay.send(mailTo('bob@relay.test'));
    const verified = await dkimVerify(sink.arrived.at(-1)!.raw, {
      resolver: txtResolver({ 'k2026._domainkey.knock.test': [`v=DKIM1; k=rsa; p=${keys.publicKeyBase64}`] }),
    });
    expect(verified.results.map((r) => [r.signingDomain, r.selector, r.status.result])).toEqual([['knock.test', 'k2026', 'pass']]);
    expect(verified.results[0]!.status.aligned).toBe('knock.test');
  });

  it('refuses to start with a DKIM key file that is not a private key', async () => {
    const keyFile = path.join(tmp, 'not-a-key.pem');
    await writeFile(keyFile, 'hello');
    expect(() => new SmtpRelay({ url: `smtp://127.0.0.1:${sink.port}`, heloName: 'knock.test', logger, dkim: { domain: 'knock.test', selector: 's', keyFile } })).toThrow(KnockError);
  });
});

describe('what comes back when a mail does not go', () => {
  it('a 4xx answer is temporary, in the relay words', async () => {
    const error = await sendError(relayTo(sink.port), mailTo('full@relay.test'));
    expect(error).toMatchObject({ permanent: false, code: 451, message: '451 4.2.2 Mailbox full, try again later' });
  });

  it('a 5xx answer to a recipient is permanent, in the relay words', async () => {
    const error = await sendError(relayTo(sink.port), mailTo('gone@relay.test'));
    expect(error).toMatchObject({ permanent: true, code: 550, message: '550 5.1.1 No such user' });
  });

  it('a 5xx answer to the message is permanent', async () => {
    const error = await sendError(relayTo(sink.port), { ...mailTo('bob@relay.test'), subject: 'Cheap spam' });
    expect(error).toMatchObject({ permanent: true, code: 554, message: '554 5.7.1 Message refused as spam' });
  });

  it('no relay listening is temporary', async () => {
    const error = await sendError(relayTo(await freePort()), mailTo('bob@relay.test'));
    expect(error.permanent).toBe(false);
    expect(error.code).toBeNull();
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it('a refused login is temporary: the operator fixes the password, and the mails waiting go out then', async () => {
    const guarded = await startSink({ password: 'right' });
    closers.push(() => guarded.close());
    const error = await sendError(relayTo(0, { url: `smtp://knock:wrong@127.0.0.1:${guarded.port}` }), mailTo('bob@relay.test'));
    expect(error).toMatchObject({ permanent: false, code: 535 });
    const { response } = await relayTo(0, { url: `smtp://knock:right@127.0.0.1:${guarded.port}` }).send(mailTo('bob@relay.test'));
    expect(response).toMatch(/^250 /);
  });

  it('a closed relay sends nothing more (temporary: the mail waits in the outbox)', async () => {
    const relay = relayTo(sink.port);
    await relay.close();
    const error = await sendError(relay, mailTo('bob@relay.test'));
    expect(error.permanent).toBe(false);
  });
});
