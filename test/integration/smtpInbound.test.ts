/**
 * Knock's SMTP server (adapters/channels/email/smtpInbound.ts) on 127.0.0.1, spoken to by real clients: swaks,
 * nodemailer, and a bare dialog (test/support/smtpDialog.ts) where a test must see each reply. The handler is a
 * recorder that knows `alice@example.test` (and her `alice+...` reply addresses); any other address of example.test
 * is unknown, any other domain foreign. DNS for SPF, DKIM and DMARC is served by the test (txtResolver).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTransport, type SendMailOptions } from 'nodemailer';
import type { SMTPTransportOptions } from 'nodemailer/lib/smtp-transport';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SmtpInbound, type SmtpInboundOptions } from '../../adapters/channels/email/smtpInbound.ts';
import { KnockError } from '../../engine/errors.ts';
import { createLogger } from '../../engine/logger.ts';
import type { InboundHandler, InboundMail } from '../../engine/ports/mail.ts';
import { dkimKeys, selfSignedPair, swaks, txtResolver } from '../support/mailPeers.ts';
import { ManualClock } from '../support/roomHarness.ts';
import { SmtpDialog } from '../support/smtpDialog.ts';

const logger = createLogger(process.env.KNOCK_TEST_LOG ?? 'silent');
const MAX_BYTES = 256 * 1024;

class RecordingHandler implements InboundHandler {
  readonly delivered: InboundMail[] = [];
  /** What deliver() throws instead of storing, while set. */
  refusal: Error | null = null;
  /** While set, deliver() waits for it (a slow store), after calling `entered`. */
  gate: Promise<void> | null = null;
  entered: () => void = () => undefined;

  async recipient(address: string): Promise<'local' | 'unknown' | 'foreign'> {
    const [local = '', domain] = address.split('@');
    if (domain !== 'example.test') return 'foreign';
    return local === 'alice' || local.startsWith('alice+') ? 'local' : 'unknown';
  }

  async deliver(mail: InboundMail): Promise<void> {
    if (this.gate) {
      this.entered();
      await this.gate;
    }
    if (this.refusal) throw this.refusal;
    this.delivered.push(mail);
  }

  last(): InboundMail {
    const mail = this.delivered.at(-1);
    if (!mail) throw new Error('No mail was delivered.');
    return mail;
  }
}

interface TestInbound {
  port: number;
  handler: RecordingHandler;
  clock: ManualClock;
  send(message: SendMailOptions, transport?: Partial<SMTPTransportOptions>): Promise<InboundMail>;
}

const servers: SmtpInbound[] = [];
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'knock-smtp-'));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(tmp, { recursive: true, force: true });
});

/** An SmtpInbound on a free port, closed after the file; generous limits unless a test sets its own. */
async function startInbound(overrides: Partial<SmtpInboundOptions> = {}): Promise<TestInbound> {
  const handler = new RecordingHandler();
  const clock = new ManualClock(Date.parse('2026-12-07T10:00:00Z'));
  const inbound = new SmtpInbound({
    handler,
    logger,
    clock,
    mailDomain: 'example.test',
    hostname: 'mx.example.test',
    host: '127.0.0.1',
    port: 0,
    maxMailBytes: MAX_BYTES,
    maxRecipients: 5,
    maxConnectionsPerIp: 20,
    connectionsPerIp: { perWindow: 10_000, windowMs: 60_000 },
    mailsPerIp: { perWindow: 10_000, windowMs: 60_000 },
    resolver: txtResolver({}),
    closeTimeoutMs: 2000,
    ...overrides,
  });
  servers.push(inbound);
  const { port } = await inbound.listen();
  return {
    port,
    handler,
    clock,
    async send(message, transport = {}) {
      const client = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, name: 'client.sender.test', ...transport });
      try {
        await client.sendMail({ from: 'Bob <bob@sender.test>', to: 'alice@example.test', ...message });
      } finally {
        client.close();
      }
      return handler.last();
    },
  };
}

/** A mail as its bytes go over the wire (CRLF line ends). */
function message(lines: string[], body: string): string {
  return `${lines.join('\r\n')}\r\n\r\n${body.replace(/\r?\n/g, '\r\n')}\r\n`;
}

describe('an SMTP server for example.test', () => {
  let server: TestInbound;
  beforeAll(async () => {
    server = await startInbound();
  });

  it('announces SIZE, 8BITMIME and SMTPUTF8, and offers neither AUTH nor STARTTLS without a certificate', async () => {
    const { dialog, greeting } = await SmtpDialog.open(server.port);
    expect(greeting.text).toMatch(/^220 mx\.example\.test ESMTP Knock/);
    const extensions = await dialog.ehlo();
    expect(extensions).toContain(`SIZE ${MAX_BYTES}`);
    expect(extensions).toEqual(expect.arrayContaining(['8BITMIME', 'SMTPUTF8', 'PIPELINING']));
    expect(extensions.some((e) => /^(AUTH|STARTTLS)/.test(e))).toBe(false);
    expect((await dialog.command('AUTH PLAIN AGJvYgBzZWNyZXQ=')).code).toBeGreaterThanOrEqual(500);
    await dialog.quit();
  });

  it('takes a plain mail from swaks and hands it over parsed, with Received and Authentication-Results on top', async () => {
    const result = await swaks(server.port, [
      '--from', 'bob@sender.test', '--to', 'alice@example.test',
      '--header', 'Subject: Hello Alice', '--body', 'Hi Alice,\nhow are you?',
    ]);
    expect(result.exitCode, result.transcript).toBe(0);
    const mail = server.handler.last();
    expect(mail.subject).toBe('Hello Alice');
    expect(mail.from.address).toBe('bob@sender.test');
    expect(mail.to).toEqual([{ address: 'alice@example.test', name: '' }]);
    expect(mail.envelope).toEqual({ mailFrom: 'bob@sender.test', rcptTo: ['alice@example.test'], remoteAddress: '127.0.0.1' });
    expect(mail.text).toBe('Hi Alice,\nhow are you?');
    expect(mail.newText).toBe('Hi Alice,\nhow are you?');
    expect(mail.html).toBeNull();
    expect(mail.automatic).toBe(false);
    expect(mail.bounce).toBeNull();
    // Nothing published for sender.test: nothing to pass or fail.
    expect(mail.auth).toEqual({ spf: 'none', dkim: 'none', dmarc: 'none', arc: 'none', suspicious: false });
    const raw = mail.raw.toString('utf8');
    expect(raw).toMatch(/^Received: from client\.sender\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.example\.test \(Knock\) with ESMTP id \S+\r\n\tfor <alice@example\.test>;\r\n\tMon, 07 Dec 2026 10:00:00 \+0000\r\n/);
    expect(raw).toContain('Authentication-Results: mx.example.test;');
    const swaksMessageId = raw.match(/^Message-Id: <([^>]+)>/im)?.[1];
    expect(mail.messageId).toBe(swaksMessageId);
  });

  it('keeps a 100 KB binary attachment sent by swaks byte for byte', async () => {
    const bytes = randomBytes(100 * 1024);
    const file = path.join(tmp, 'data.bin');
    await writeFile(file, bytes);
    const result = await swaks(server.port, [
      '--from', 'bob@sender.test', '--to', 'alice@example.test', '--header', 'Subject: The data',
      '--body', 'Here it is.', '--attach-type', 'application/octet-stream', '--attach-name', 'data.bin', '--attach', `@${file}`,
    ]);
    expect(result.exitCode, result.transcript).toBe(0);
    const mail = server.handler.last();
    expect(mail.text.trim()).toBe('Here it is.');
    expect(mail.attachments).toHaveLength(1);
    expect(mail.attachments[0]!.filename).toBe('data.bin');
    expect(mail.attachments[0]!.content.equals(bytes)).toBe(true);
  });

  it('takes text, HTML, an inline image and a binary attachment from nodemailer, the attachment byte for byte', async () => {
    const bytes = randomBytes(100 * 1024);
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f8a3e60000000049454e44ae426082', 'hex');
    const mail = await server.send({
      subject: 'Report',
      text: 'The report is attached.',
      html: '<p>The report is <b>attached</b>. <img src="cid:logo@sender.test" alt="logo"></p>',
      attachments: [
        { filename: 'report.bin', content: bytes, contentType: 'application/octet-stream' },
        { filename: 'logo.png', content: png, contentType: 'image/png', cid: 'logo@sender.test' },
      ],
    });
    expect(mail.text).toBe('The report is attached.');
    expect(mail.html).toBe('<p>The report is <b>attached</b>. <img alt="logo" src="cid:logo@sender.test" /></p>');
    const report = mail.attachments.find((a) => a.filename === 'report.bin');
    expect(report?.content.equals(bytes)).toBe(true);
    expect(report?.contentId).toBeNull();
    const logo = mail.attachments.find((a) => a.filename === 'logo.png');
    expect(logo).toMatchObject({ contentType: 'image/png', contentId: 'logo@sender.test' });
    expect(logo?.content.equals(png)).toBe(true);
  });

  it('reads a threaded reply: In-Reply-To, then References newest first, and the new text without the quote', async () => {
    const mail = await server.send({
      subject: 'Re: Lunch',
      inReplyTo: '<knock.c1.7@example.test>',
      references: ['<root@sender.test>', '<knock.c1.3@example.test>', '<knock.c1.7@example.test>'],
      text: 'Noon is fine.\n\nOn Mon, 7 Dec 2026 at 09:12, Alice <alice@example.test> wrote:\n> Lunch at noon?\n> Alice\n',
    });
    expect(mail.replyTo).toEqual(['knock.c1.7@example.test', 'knock.c1.3@example.test', 'root@sender.test']);
    expect(mail.newText).toBe('Noon is fine.');
    expect(mail.text).toContain('> Lunch at noon?');
  });

  it('refuses an unknown address of its domain at RCPT TO with 550 5.1.1, and stores nothing', async () => {
    const before = server.handler.delivered.length;
    const result = await swaks(server.port, ['--from', 'bob@sender.test', '--to', 'nobody@example.test']);
    expect(result.exitCode).toBe(24); // swaks: the recipient was refused
    expect(result.transcript).toMatch(/<\*\* +550 5\.1\.1 No such user here/);
    expect(server.handler.delivered).toHaveLength(before);
  });

  it('never relays: another domain is refused with 550 5.7.1, and a mail to it and to alice reaches alice only', async () => {
    const before = server.handler.delivered.length;
    const { dialog } = await SmtpDialog.open(server.port);
    await dialog.ehlo();
    const outcome = await dialog.send({
      from: 'bob@sender.test',
      to: ['carol@elsewhere.test', 'alice@example.test'],
      message: message(['From: bob@sender.test', 'To: carol@elsewhere.test, alice@example.test', 'Subject: Relay?'], 'Pass it on.'),
    });
    expect(outcome.rcptReplies.map((r) => r.text)).toEqual(['550 5.7.1 Relaying denied', '250 Accepted']);
    expect(outcome.stage).toBe('sent');
    const onlyForeign = await dialog.send({ from: 'bob@sender.test', to: ['carol@elsewhere.test'], message: 'Subject: x\r\n\r\nx\r\n' });
    expect(onlyForeign).toMatchObject({ stage: 'rcpt', reply: { code: 550 } });
    await dialog.quit();
    expect(server.handler.delivered).toHaveLength(before + 1);
    expect(server.handler.last().envelope.rcptTo).toEqual(['alice@example.test']);
  });

  it('refuses a mail over the size at MAIL FROM when declared, at the end of DATA when not, and then takes the next', async () => {
    const before = server.handler.delivered.length;
    const { dialog } = await SmtpDialog.open(server.port);
    expect(await dialog.ehlo()).toContain(`SIZE ${MAX_BYTES}`);
    const declared = await dialog.send({ from: 'bob@sender.test', to: ['alice@example.test'], message: 'x', mailParams: `SIZE=${MAX_BYTES + 1}` });
    expect(declared).toMatchObject({ stage: 'mail', reply: { code: 552 } });
    const big = message(['From: bob@sender.test', 'Subject: Big'], 'y'.repeat(76).concat('\n').repeat(Math.ceil(MAX_BYTES / 77) + 10));
    const streamed = await dialog.send({ from: 'bob@sender.test', to: ['alice@example.test'], message: big });
    expect(streamed.stage).toBe('data');
    expect(streamed.reply.text).toMatch(/^552 5\.3\.4 /);
    const small = await dialog.send({ from: 'bob@sender.test', to: ['alice@example.test'], message: message(['Subject: Small'], 'ok') });
    expect(small.stage).toBe('sent');
    await dialog.quit();
    expect(server.handler.delivered).toHaveLength(before + 1);
    expect(server.handler.last().subject).toBe('Small');
  });

  it('stores malformed MIME (broken boundaries, garbage headers, bad base64, NUL bytes) and goes on answering', async () => {
    const broken = [
      message(
        ['From: bob@sender.test', 'Subject: Broken parts', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="abc"', 'This is not a header', '::::'],
        '--abc\nContent-Type: text/plain\n\nFirst part\n--abd\nContent-Type: application/pdf; name="a.pdf"\nContent-Transfer-Encoding: base64\n\n!!!not*base64%%%\n--ab',
      ),
      message(['Subject: no boundary', 'Content-Type: multipart/alternative'], 'just text'),
      Buffer.concat([Buffer.from('Subject: \x00\xff\xfe\r\nContent-Type: text/plain; charset=x-unknown-charset\r\n\r\n', 'latin1'), randomBytes(2000), Buffer.from('\r\n')]),
      'no headers at all, just a line\r\n',
    ];
    const before = server.handler.delivered.length;
    const { dialog } = await SmtpDialog.open(server.port);
    await dialog.ehlo();
    for (const raw of broken) {
      const outcome = await dialog.send({ from: 'bob@sender.test', to: ['alice@example.test'], message: raw });
      expect(outcome.reply.code, outcome.reply.text).toBe(250);
    }
    await dialog.quit();
    expect(server.handler.delivered).toHaveLength(before + broken.length);
    const [parts] = server.handler.delivered.slice(before);
    expect(parts!.subject).toBe('Broken parts');
    expect(parts!.text).toContain('First part');
    const after = await server.send({ subject: 'Still here', text: 'and well' });
    expect(after.subject).toBe('Still here');
  });

  it('decodes a raw UTF-8 subject and sender (SMTPUTF8), an RFC 2047 subject, and an 8-bit Latin-1 body', async () => {
    const { dialog } = await SmtpDialog.open(server.port);
    await dialog.ehlo();
    const utf8 = await dialog.send({
      from: 'jörg@sender.test',
      to: ['alice@example.test'],
      mailParams: 'SMTPUTF8 BODY=8BITMIME',
      message: message(['From: Jörg Müller <jörg@sender.test>', 'To: alice@example.test', 'Subject: Grüße 🎉', 'Content-Type: text/plain; charset=utf-8'], 'Schöne Grüße'),
    });
    expect(utf8.stage).toBe('sent');
    expect(server.handler.last()).toMatchObject({
      subject: 'Grüße 🎉',
      from: { address: 'jörg@sender.test', name: 'Jörg Müller' },
      text: 'Schöne Grüße',
      envelope: { mailFrom: 'jörg@sender.test' },
    });
    const latin1 = await dialog.send({
      from: 'bob@sender.test',
      to: ['alice@example.test'],
      mailParams: 'BODY=8BITMIME',
      message: Buffer.from('Subject: Latin-1\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nSch\xf6ne Gr\xfc\xdfe\r\n', 'latin1'),
    });
    expect(latin1.stage).toBe('sent');
    expect(server.handler.last().text).toBe('Schöne Grüße');
    await dialog.quit();

    const encoded = await server.send({ from: '"Jörg Müller" <joerg@sender.test>', subject: 'Grüße 🎉', text: 'Schöne Grüße' });
    expect(encoded.raw.toString('latin1')).toMatch(/^Subject: =\?UTF-8\?/m);
    expect(encoded).toMatchObject({ subject: 'Grüße 🎉', from: { name: 'Jörg Müller' }, text: 'Schöne Grüße' });
  });

  it('answers 452 4.5.3 to the recipient over the limit and delivers to the ones before it', async () => {
    const { dialog } = await SmtpDialog.open(server.port);
    await dialog.ehlo();
    const to = ['alice+1', 'alice+2', 'alice+3', 'alice+4', 'alice+5', 'alice+6'].map((l) => `${l}@example.test`);
    const outcome = await dialog.send({ from: 'bob@sender.test', to: [...to, 'alice+1@EXAMPLE.TEST'], message: message(['Subject: Many'], 'hi') });
    expect(outcome.rcptReplies.map((r) => r.code)).toEqual([250, 250, 250, 250, 250, 452, 250]);
    expect(outcome.rcptReplies[5]!.text).toBe('452 4.5.3 Too many recipients (at most 5 a mail)');
    expect(outcome.stage).toBe('sent');
    await dialog.quit();
    expect(server.handler.last().envelope.rcptTo).toEqual(to.slice(0, 5));
  });

  it('sanitizes hostile HTML: no script, form, handler, javascript: link, CSS url() or expression() is left', async () => {
    const mail = await server.send({
      subject: 'Hostile',
      html: [
        '<html><head><style>body { background: url(https://tracker.test/s.gif) }</style><script>alert(1)</script></head><body>',
        '<p style="color: red; background-image: url(https://tracker.test/b.gif); width: expression(alert(2))">Hello</p>',
        '<img src="https://tracker.test/pixel.gif" onerror="alert(3)"><img src="x" onload="alert(4)">',
        '<a href="javascript:alert(5)">click</a> <a href="https://example.test/ok">ok</a>',
        '<form action="https://phish.test"><input name="password"><button>Log in</button></form>',
        '<iframe src="https://evil.test"></iframe><object data="x.swf"></object><embed src="x.swf">',
        '<meta http-equiv="refresh" content="0;url=https://evil.test"><base href="https://evil.test/"><link rel="stylesheet" href="https://evil.test/s.css">',
        '</body></html>',
      ].join(''),
    });
    const html = mail.html ?? '';
    for (const gone of ['<script', 'alert(', 'onerror', 'onload', 'javascript:', '<form', '<input', 'url(', 'expression(', '<iframe', '<object', '<embed', '<meta', '<base', '<link', '<style']) {
      expect(html).not.toContain(gone);
    }
    expect(html).toContain('<p style="color:red">Hello</p>');
    // Kept, for the frame's CSP to block until "Show images".
    expect(html).toContain('<img src="https://tracker.test/pixel.gif" />');
    expect(html).toContain('<a href="https://example.test/ok" rel="noopener noreferrer" target="_blank">ok</a>');
    expect(mail.text).toContain('Hello');
  });

  it('turns the HTML of a mail without a text part into its text', async () => {
    const mail = await server.send({
      subject: 'Only HTML',
      html: '<p>Hello <b>Alice</b></p><blockquote>Earlier words</blockquote>',
      attachments: [{ filename: 'a.txt', content: 'attached', contentType: 'text/plain', contentDisposition: 'attachment' }],
    });
    expect(mail.text).toBe('Hello Alice\n\n> Earlier words');
    expect(mail.newText).toBe('Hello Alice');
  });

  it('makes up a Message-ID in its own domain for a mail that has none', async () => {
    const { dialog } = await SmtpDialog.open(server.port);
    await dialog.ehlo();
    await dialog.send({ from: 'bob@sender.test', to: ['alice@example.test'], message: message(['Subject: No id'], 'hi') });
    await dialog.quit();
    expect(server.handler.last().messageId).toMatch(/^[0-9a-f-]{36}@example\.test$/);
  });

  it('marks auto-replies and bounces as automatic, and reads a bounce: original Message-ID, recipient, status, diagnostic', async () => {
    const autoReply = await server.send({ subject: 'Out of office', text: 'Away', headers: { 'Auto-Submitted': 'auto-replied' } });
    expect(autoReply.automatic).toBe(true);
    const human = await server.send({ subject: 'Hi', text: 'hi', headers: { 'Auto-Submitted': 'no' } });
    expect(human.automatic).toBe(false);

    const boundary = 'dsn-1';
    const dsn = message(
      ['From: Mail Delivery System <MAILER-DAEMON@mx.sender.test>', 'To: alice@example.test', 'Subject: Undelivered Mail Returned to Sender', 'MIME-Version: 1.0', `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`],
      [
        `--${boundary}`, 'Content-Type: text/plain', '', 'Your message could not be delivered.', '',
        `--${boundary}`, 'Content-Type: message/delivery-status', '',
        'Reporting-MTA: dns; mx.sender.test', 'Arrival-Date: Mon, 7 Dec 2026 10:00:00 +0000', '',
        'Final-Recipient: rfc822; bob@sender.test', 'Original-Recipient: rfc822;bob@sender.test', 'Action: failed', 'Status: 5.1.1',
        'Remote-MTA: dns; mx2.sender.test', 'Diagnostic-Code: smtp; 550 5.1.1 <bob@sender.test>:', '    Recipient address rejected: User unknown', '',
        `--${boundary}`, 'Content-Type: text/rfc822-headers', '',
        'From: Alice <alice@example.test>', 'To: bob@sender.test', 'Subject: Lunch', 'Message-ID: <knock.c1.9@example.test>', '',
        `--${boundary}--`,
      ].join('\n'),
    );
    const { dialog } = await SmtpDialog.open(server.port);
    await dialog.ehlo();
    expect((await dialog.send({ from: '', to: ['alice@example.test'], message: dsn })).stage).toBe('sent');
    await dialog.quit();
    const bounce = server.handler.last();
    expect(bounce.automatic).toBe(true);
    expect(bounce.envelope.mailFrom).toBe('');
    expect(bounce.bounce).toEqual({
      originalMessageId: 'knock.c1.9@example.test',
      recipient: 'bob@sender.test',
      status: '5.1.1',
      diagnostic: '550 5.1.1 <bob@sender.test>: Recipient address rejected: User unknown',
    });
    expect(bounce.newText).toBe('Your message could not be delivered.');
  });
});

describe('what the engine refuses', () => {
  let server: TestInbound;
  beforeAll(async () => {
    server = await startInbound();
  });

  it.each([
    ['not_found', '550 5.1.1 There is nobody at /alice.', new KnockError('not_found', 'There is nobody at /alice.')],
    ['rate_limited', '451 4.3.0 Try again later', new KnockError('rate_limited', 'Mail: too many, too fast.')],
    ['unavailable', '451 4.3.0 Try again later', new KnockError('unavailable', 'Moving.')],
    ['bad_request', '554 5.6.0 This mail has no text.', new KnockError('bad_request', 'This mail has\nno text.')],
    ['a bug', '451 4.3.0 Local error; try again later', new TypeError("Cannot read properties of undefined (reading 'id')")],
  ])('answers %s with %s, and takes the next mail', async (_name, reply, error) => {
    const { dialog } = await SmtpDialog.open(server.port);
    await dialog.ehlo();
    server.handler.refusal = error;
    const refused = await dialog.send({ from: 'bob@sender.test', to: ['alice@example.test'], message: message(['Subject: Refused'], 'x') });
    expect(refused.reply.text).toBe(reply);
    server.handler.refusal = null;
    const taken = await dialog.send({ from: 'bob@sender.test', to: ['alice@example.test'], message: message(['Subject: Taken'], 'x') });
    expect(taken.stage).toBe('sent');
    await dialog.quit();
  });
});

describe('limits per client address', () => {
  it('takes a bomb of 200 mails from one address up to its rate, answers 451 4.7.1 to the rest, and stays well', async () => {
    const server = await startInbound({ mailsPerIp: { perWindow: 20, windowMs: 60_000 }, maxConnectionsPerIp: 4 });
    const heapBefore = process.memoryUsage().heapUsed;
    const dialogs = await Promise.all([1, 2, 3, 4].map(() => SmtpDialog.open(server.port).then(({ dialog }) => dialog)));
    const outcomes = (
      await Promise.all(
        dialogs.map(async (dialog, d) => {
          await dialog.ehlo();
          const results = [];
          for (let i = 0; i < 50; i++) {
            const raw = message(['From: bomb@sender.test', `Subject: Bomb ${d}.${i}`], `Payload ${'z'.repeat(2000)}`);
            results.push(await dialog.send({ from: 'bomb@sender.test', to: ['alice@example.test'], message: raw }));
          }
          await dialog.quit();
          return results;
        }),
      )
    ).flat();
    expect(outcomes).toHaveLength(200);
    expect(outcomes.filter((o) => o.stage === 'sent')).toHaveLength(20);
    const refused = outcomes.filter((o) => o.stage !== 'sent');
    expect(refused.every((o) => o.stage === 'mail' && o.reply.text === '451 4.7.1 Too many mails from your address; try again later')).toBe(true);
    expect(server.handler.delivered).toHaveLength(20);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);

    // Still answering: refused while the window lasts, taken once it has passed.
    const { dialog, greeting } = await SmtpDialog.open(server.port);
    expect(greeting.code).toBe(220);
    await dialog.ehlo();
    const during = await dialog.send({ from: 'bomb@sender.test', to: ['alice@example.test'], message: message(['Subject: During'], 'x') });
    expect(during.reply.code).toBe(451);
    server.clock.advance(60_000);
    const after = await dialog.send({ from: 'bob@sender.test', to: ['alice@example.test'], message: message(['Subject: After'], 'x') });
    expect(after.stage).toBe('sent');
    await dialog.quit();
  });

  it('refuses a connection over the open ones allowed with 421, and admits one again when another has closed', async () => {
    const server = await startInbound({ maxConnectionsPerIp: 2 });
    const first = await SmtpDialog.open(server.port);
    const second = await SmtpDialog.open(server.port);
    expect([first.greeting.code, second.greeting.code]).toEqual([220, 220]);
    const third = await SmtpDialog.open(server.port);
    expect(third.greeting.text).toMatch(/^421 4\.7\.0 Too many connections from your address/);
    await third.dialog.closed;
    await first.dialog.quit();
    // The server counts the first as closed once its own side has seen the close: ask until it has.
    await vi.waitFor(async () => {
      const again = await SmtpDialog.open(server.port);
      await again.dialog.destroy();
      expect(again.greeting.code).toBe(220);
    });
    await second.dialog.quit();
  });

  it('refuses connections over the rate with 421 until the window lets one more in', async () => {
    const server = await startInbound({ connectionsPerIp: { perWindow: 3, windowMs: 60_000 } });
    for (let i = 0; i < 3; i++) {
      const { dialog, greeting } = await SmtpDialog.open(server.port);
      expect(greeting.code).toBe(220);
      await dialog.quit();
    }
    const over = await SmtpDialog.open(server.port);
    expect(over.greeting.text).toBe('421 4.7.0 Too many connections from your address; try again later');
    server.clock.advance(20_000);
    const later = await SmtpDialog.open(server.port);
    expect(later.greeting.code).toBe(220);
    await later.dialog.quit();
  });
});

describe('STARTTLS with a certificate', () => {
  it('offers STARTTLS and takes a mail over TLS, saying so in Received', async () => {
    const pair = await selfSignedPair(tmp);
    const server = await startInbound({ tls: { certFile: pair.certFile, keyFile: pair.keyFile } });
    const { dialog } = await SmtpDialog.open(server.port);
    const extensions = await dialog.ehlo();
    expect(extensions).toContain('STARTTLS');
    expect(extensions.some((e) => e.startsWith('AUTH'))).toBe(false);
    await dialog.quit();

    const mail = await server.send({ subject: 'Secret', text: 'over TLS' }, { ignoreTLS: false, requireTLS: true, tls: { ca: pair.cert, servername: 'localhost' } });
    expect(mail.text).toBe('over TLS');
    expect(mail.raw.toString('utf8')).toMatch(/^Received: from .*\r\n\tby mx\.example\.test \(Knock\) with ESMTPS id \S+\r\n\t\(version=TLSv1\.[23] cipher=\S+\)/);
  });
});

describe('SPF, DKIM and DMARC', () => {
  const keys = dkimKeys();
  let server: TestInbound;
  beforeAll(async () => {
    server = await startInbound({
      resolver: txtResolver({
        'sender.test': ['v=spf1 ip4:127.0.0.1 -all'],
        's1._domainkey.sender.test': [`v=DKIM1; k=rsa; p=${keys.publicKeyBase64}`],
        '_dmarc.sender.test': ['v=DMARC1; p=reject'],
      }),
    });
  });

  it('passes a mail signed by sender.test and sent from an address its SPF allows', async () => {
    const mail = await server.send({
      from: 'CEO <ceo@sender.test>',
      subject: 'Signed',
      text: 'Really me.',
      dkim: { domainName: 'sender.test', keySelector: 's1', privateKey: keys.privateKeyPem },
    });
    expect(mail.auth).toEqual({ spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none', suspicious: false });
    const results = mail.raw.toString('utf8').match(/^Authentication-Results: mx\.example\.test;[\s\S]*?\r\n(?!\s)/m)?.[0] ?? '';
    expect(results).toMatch(/dkim=pass/);
    expect(results).toMatch(/spf=pass/);
    expect(results).toMatch(/dmarc=pass/);
  });

  it('marks as suspicious an unsigned mail claiming to be from sender.test, sent from an address its SPF does not allow', async () => {
    const mail = await server.send({ from: 'CEO <ceo@sender.test>', subject: 'Urgent wire transfer', text: 'Pay now.' }, { localAddress: '127.0.0.2' });
    expect(mail.envelope.remoteAddress).toBe('127.0.0.2');
    expect(mail.auth).toEqual({ spf: 'fail', dkim: 'none', dmarc: 'fail', arc: 'none', suspicious: true });
  });
});

describe('memory', () => {
  it('answers 451 4.3.1 to a mail that would pass the shared buffer while another is being stored, and takes mail again after', async () => {
    // The budget is one mail of the largest size: while one big mail waits for the store, a second cannot be held too.
    const server = await startInbound({ bufferBytes: MAX_BYTES });
    let release!: () => void;
    const inStore = new Promise<void>((resolve) => (server.handler.entered = resolve));
    server.handler.gate = new Promise<void>((resolve) => (release = resolve));
    const big = { filename: 'big.bin', content: Buffer.alloc(120 * 1024, 1) };
    const first = server.send({ subject: 'first', text: 'x', attachments: [big] });
    await inStore;
    const second = await server.send({ subject: 'second', text: 'x', attachments: [big] }).catch((err: unknown) => err);
    expect(second).toMatchObject({ responseCode: 451 });
    expect(String((second as Error).message)).toContain('4.3.1');
    release();
    await first;
    server.handler.gate = null;
    await server.send({ subject: 'third', text: 'x', attachments: [big] });
    expect(server.handler.delivered.map((m) => m.subject)).toEqual(['first', 'third']);
  });
});
