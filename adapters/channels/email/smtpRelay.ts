/**
 * How Knock's mail goes out (issue 17): through one relay (a smart host, KNOCK_SMTP_RELAY_URL) with nodemailer,
 * DKIM-signed for the mail domain when a key is configured, composed by the same code as composeMail (compose.ts).
 *
 * The outbox (engine/outbox.ts) retries what failed for the moment and gives up on what was refused for good, so
 * every failure becomes a MailSendError saying which it is and with the relay's own words ("550 5.1.1 No such
 * user"): permanent is a 5xx answer to the mail (its sender, a recipient, its content); everything else is
 * temporary: 4xx answers, no connection, timeouts, DNS, TLS, and a refused login (the operator fixes the password
 * and the mails waiting go out then, instead of all being given up meanwhile).
 *
 * One connection a mail (no pool): a self-hosted server sends a few mails a minute, and a pooled connection the relay
 * closed while idle is one more way to fail.
 *
 * @example
 *   const relay = new SmtpRelay({ url: config.smtpRelayUrl, heloName: mailDomain, logger,
 *     dkim: { domain: mailDomain, selector: config.dkimSelector, keyFile: config.dkimKeyFile } });
 *   await relay.send({ from, to: [bob], subject: 'Hi', text: 'Hello', messageId: 'knock.c1.4@example.com' });
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createTransport, type NodemailerError, type Transporter } from 'nodemailer';
import { isPermanentResponseCode } from 'nodemailer/lib/errors';
import type { SMTPSentMessageInfo } from 'nodemailer/lib/smtp-transport';
import { KnockError } from '../../../engine/errors.ts';
import type { Logger } from '../../../engine/logger.ts';
import { MailSendError, type MailRelay, type OutboundMail } from '../../../engine/ports/mail.ts';
import { mailOptions } from './compose.ts';

export interface SmtpRelayOptions {
  /** config.smtpRelayUrl: smtp://user:pass@relay:587 (STARTTLS when offered) or smtps://user:pass@relay:465. */
  url: string;
  /** The name given in EHLO: the mail domain (or this host's name). */
  heloName: string;
  logger: Logger;
  /** Signing: the mail domain, config.dkimSelector and config.dkimKeyFile (PEM). Absent: mail goes out unsigned. */
  dkim?: { domain: string; selector: string; keyFile: string } | undefined;
  /** Connecting, the relay's greeting, and silence within a session. Defaults 10 s, 10 s, 60 s. */
  connectionTimeoutMs?: number | undefined;
  greetingTimeoutMs?: number | undefined;
  socketTimeoutMs?: number | undefined;
}

/** Longest relay answer kept in a MailSendError (it is shown beside the message that was not delivered). */
const MAX_REPLY_CHARS = 300;

export class SmtpRelay implements MailRelay {
  private readonly transport: Transporter<SMTPSentMessageInfo>;
  private closed = false;

  constructor(private readonly options: SmtpRelayOptions) {
    const { logger } = options;
    this.transport = createTransport({
      url: options.url,
      pool: false,
      name: options.heloName,
      connectionTimeout: options.connectionTimeoutMs ?? 10_000,
      greetingTimeout: options.greetingTimeoutMs ?? 10_000,
      socketTimeout: options.socketTimeoutMs ?? 60_000,
      ...(options.dkim
        ? { dkim: { domainName: options.dkim.domain, keySelector: options.dkim.selector, privateKey: readDkimKey(options.dkim.keyFile) } }
        : {}),
      // nodemailer logs each connection, and each failure that send() rejects with anyway (the outbox logs those):
      // only when Knock's log level is debug.
      logger: logger.isLevelEnabled('debug') ? logger.child({ module: 'nodemailer' }) : false,
    });
  }

  async send(mail: OutboundMail): Promise<{ response: string }> {
    if (this.closed) throw new MailSendError('The relay is closed (Knock is stopping).', false, null);
    let info: SMTPSentMessageInfo;
    try {
      info = await this.transport.sendMail({
        ...mailOptions(mail),
        // A mail From an owner's own domain is signed by that domain's key (the message's option replaces the transport's).
        ...(mail.dkim ? { dkim: { domainName: mail.dkim.domain, keySelector: mail.dkim.selector, privateKey: mail.dkim.privateKey } } : {}),
        envelope: { from: mail.from.address, to: mail.to.map((a) => a.address) },
      });
    } catch (err) {
      throw sendErrorOf(err);
    }
    // Accepted for some: a retry would send it again to those, so it counts as sent; the others are in the log.
    if (info.rejected.length > 0) {
      this.options.logger.warn({ messageId: mail.messageId, rejected: info.rejected, response: info.response }, 'the relay refused some recipients of a mail');
    }
    return { response: info.response };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.transport.close();
  }
}

function readDkimKey(file: string): KeyObject {
  try {
    return createPrivateKey(readFileSync(file));
  } catch (err) {
    throw new KnockError('bad_request', `The DKIM key (${file}) cannot be read as a PEM private key: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A nodemailer failure as the outbox needs it: permanent or not, and in the relay's words. */
function sendErrorOf(err: unknown): MailSendError {
  const failure = (err ?? {}) as NodemailerError;
  const code = typeof failure.responseCode === 'number' ? failure.responseCode : null;
  const text = (failure.response || failure.message || String(err)).replace(/\s+/g, ' ').trim().slice(0, MAX_REPLY_CHARS);
  // 503 (bad sequence) is the session's fault, not the mail's; a refused login is the operator's to fix.
  const permanent = code !== null && isPermanentResponseCode(code) && failure.code !== 'EAUTH';
  return new MailSendError(text, permanent, code);
}
