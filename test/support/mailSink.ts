/**
 * An SMTP server on 127.0.0.1 that plays the relay Knock sends through (KNOCK_SMTP_RELAY_URL): it records every
 * mail it accepts (raw and parsed) and answers as a test tells it, e.g. "451 twice, then accept", or "550 always".
 * `close()` stops it; call it in afterAll.
 *
 * @example
 *   const sink = await MailSink.start();
 *   sink.answer(['451 4.3.0 Try again later', '451 4.3.0 Try again later']); // then accepts
 *   const mail = await sink.next((m) => m.subject === 'Hello');
 *   await sink.close();
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface SunkMail {
  raw: Buffer;
  parsed: ParsedMail;
  subject: string;
  messageId: string;
  envelope: { from: string; to: string[] };
}

const WAIT_MS = 15_000;

export class MailSink {
  readonly received: SunkMail[] = [];
  /** SMTP answers to give to the next DATA commands, in order ("451 4.3.0 ..." or "550 5.1.1 ..."); then accept. */
  private answers: string[] = [];
  /** An answer given to every DATA after `answers` ran out (instead of accepting). */
  private always: string | null = null;
  private readonly events = new EventEmitter();
  /** How many DATA commands came, accepted or not. */
  attempts = 0;
  /** The Message-ID of every mail offered, accepted or refused, in order. */
  readonly offered: string[] = [];

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  static async start(): Promise<MailSink> {
    let sink: MailSink | null = null;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      disableReverseLookup: true,
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => void sink!.take(Buffer.concat(chunks), session.envelope, callback));
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    sink = new MailSink(server, ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port);
    return sink;
  }

  /** The relay URL to give Knock. */
  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  answer(answers: string[], always: string | null = null): void {
    this.answers = [...answers];
    this.always = always;
  }

  /** Resolves with the first mail (already received or coming) that `match` accepts. */
  next(match: (mail: SunkMail) => boolean, timeoutMs = WAIT_MS): Promise<SunkMail> {
    const found = this.received.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.events.off('mail', onMail);
        reject(new Error(`no matching mail within ${timeoutMs} ms; received: ${this.received.map((m) => JSON.stringify(m.subject)).join(', ') || 'none'}`));
      }, timeoutMs);
      const onMail = (mail: SunkMail) => {
        if (!match(mail)) return;
        clearTimeout(timer);
        this.events.off('mail', onMail);
        resolve(mail);
      };
      this.events.on('mail', onMail);
    });
  }

  /** Resolves once `count` DATA commands have come (accepted or refused). */
  attemptsReach(count: number, timeoutMs = WAIT_MS): Promise<void> {
    if (this.attempts >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.events.off('attempt', onAttempt);
        reject(new Error(`only ${this.attempts} of ${count} attempts within ${timeoutMs} ms`));
      }, timeoutMs);
      const onAttempt = () => {
        if (this.attempts < count) return;
        clearTimeout(timer);
        this.events.off('attempt', onAttempt);
        resolve();
      };
      this.events.on('attempt', onAttempt);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async take(
    raw: Buffer,
    envelope: { mailFrom: false | { address: string }; rcptTo: Array<{ address: string }> },
    callback: (err?: Error | null) => void,
  ): Promise<void> {
    this.attempts += 1;
    const parsed = await simpleParser(raw);
    this.offered.push((parsed.messageId ?? '').replace(/^<|>$/g, ''));
    const refusal = this.answers.shift() ?? this.always;
    if (refusal !== null) {
      const code = Number(refusal.slice(0, 3));
      const err = Object.assign(new Error(refusal.slice(4)), { responseCode: code });
      callback(err);
      this.events.emit('attempt');
      return;
    }
    const mail: SunkMail = {
      raw,
      parsed,
      subject: parsed.subject ?? '',
      messageId: (parsed.messageId ?? '').replace(/^<|>$/g, ''),
      envelope: { from: envelope.mailFrom ? envelope.mailFrom.address : '', to: envelope.rcptTo.map((r) => r.address) },
    };
    this.received.push(mail);
    callback();
    this.events.emit('attempt');
    this.events.emit('mail', mail);
  }
}
