/**
 * Knock as the MX of its domain (issue 17): an SMTP server (`smtp-server`) that takes mail for local addresses and
 * hands each mail, read and made safe (inboundMail.ts), to the engine (InboundHandler in engine/ports/mail.ts).
 * README.md beside this file lists every refusal and its reply code.
 *
 * It is an MX, not a submission server: no AUTH, and nothing for other domains is ever accepted (no open relay).
 * Each stage refuses as early as it can, so a refused mail costs little: a client over its connection limits at the
 * greeting (421), a client over its rate of mails at MAIL FROM (451, before the body is sent), a recipient at RCPT
 * TO (550/452), a mail over the size limit at MAIL FROM when the client declares SIZE (552) and while it streams
 * (552, the rest is read and dropped, never held).
 *
 * @example
 *   const inbound = new SmtpInbound({ handler, logger, clock, mailDomain: 'example.com', host: '0.0.0.0', port: 25,
 *     maxMailBytes, maxRecipients, maxConnectionsPerIp, connectionsPerIp, mailsPerIp });
 *   const { port } = await inbound.listen();
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { RateLimitConfig } from '../../../engine/config.ts';
import { KnockError } from '../../../engine/errors.ts';
import { addressKey } from '../../../engine/http/clientAddress.ts';
import type { Logger } from '../../../engine/logger.ts';
import type { Clock } from '../../../engine/ports/clock.ts';
import type { InboundHandler, MailInbound } from '../../../engine/ports/mail.ts';
import { KeyedRateLimiter } from '../../../engine/rateLimit.ts';
import { readInboundMail, UnreadableMail, type ReceivedEnvelope } from './inboundMail.ts';
import { systemResolver, type DNSResolver } from './mailAuthentication.ts';

export interface SmtpInboundOptions {
  handler: InboundHandler;
  logger: Logger;
  clock: Clock;
  /** Our mail domain (config mailDomainOf): a mail without a Message-ID gets one ending in it. */
  mailDomain: string;
  /** The name the server gives itself in its greeting, Received and Authentication-Results; default mailDomain. */
  hostname?: string | undefined;
  /** config.smtpHost, config.smtpPort (0: a free port). */
  host: string;
  port: number;
  /** PEM files (config.smtpTlsCertFile, smtpTlsKeyFile): STARTTLS is offered only with them. */
  tls?: { certFile: string; keyFile: string } | undefined;
  /** config.maxMailBytes: announced as SIZE, refused above it. */
  maxMailBytes: number;
  /** config.maxMailRecipients. */
  maxRecipients: number;
  /** config.maxMailConnectionsPerIp: open at once from one address (an IPv6 client counts by its /64). */
  maxConnectionsPerIp: number;
  /** config.rateLimits.mailConnectionsPerIp. */
  connectionsPerIp: RateLimitConfig;
  /** config.rateLimits.mailsPerIp. */
  mailsPerIp: RateLimitConfig;
  /** Connections open at once from everyone: each may hold up to maxMailBytes while a mail comes in. Default 100. */
  maxConnections?: number | undefined;
  /**
   * config.mailBufferBytes: the most the mails being received and read may hold in memory together (a mail is read
   * whole, to authenticate and parse it). A mail that would pass it gets 451 4.3.1 and its sender tries again later,
   * so a crowd of senders with big mails cannot exhaust memory. Default 128 MiB; at least maxMailBytes.
   */
  bufferBytes?: number | undefined;
  /** DNS for SPF, DKIM, DMARC and ARC (mailauth's resolver shape); default: the system's, with short timeouts. */
  resolver?: DNSResolver | undefined;
  /** An idle client is disconnected after this long. Default 60 s. */
  socketTimeoutMs?: number | undefined;
  /** close() waits this long for mails under way before it cuts their connections. Default 10 s. */
  closeTimeoutMs?: number | undefined;
}

/** An SMTP reply: smtp-server answers an error with its `responseCode` and `message`. */
class SmtpReply extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'SmtpReply';
  }
}

const DEFAULT_MAX_CONNECTIONS = 100;
/** Refusals (limits) are logged at most this often each, so a flood does not flood the log too. */
const LOG_REFUSALS_EVERY_MS = 60_000;

export class SmtpInbound implements MailInbound {
  private readonly server: SMTPServer;
  private readonly hostname: string;
  private readonly resolver: DNSResolver;
  private readonly connectionsPerIp: KeyedRateLimiter;
  private readonly mailsPerIp: KeyedRateLimiter;
  /** Open connections by address key, and the sessions counted in it (a refused one is not). */
  private readonly openByKey = new Map<string, number>();
  private readonly counted = new Map<string, string>();
  private readonly receiving = new Set<Promise<void>>();
  /** Bytes the mails being received and read hold now, against `bufferBytes`. */
  private buffered = 0;
  private readonly bufferBytes: number;
  private readonly lastRefusalLog = new Map<string, number>();
  private closing: Promise<void> | null = null;

  constructor(private readonly options: SmtpInboundOptions) {
    this.hostname = options.hostname ?? options.mailDomain;
    this.resolver = options.resolver ?? systemResolver();
    // One mail of the largest size always fits, whatever the budget says.
    this.bufferBytes = Math.max(options.bufferBytes ?? 128 * 1024 * 1024, options.maxMailBytes);
    this.connectionsPerIp = new KeyedRateLimiter(options.connectionsPerIp, options.clock);
    this.mailsPerIp = new KeyedRateLimiter(options.mailsPerIp, options.clock);
    const logger = options.logger;
    this.server = new SMTPServer({
      name: this.hostname,
      banner: 'Knock',
      // Announced in EHLO; smtp-server itself refuses a MAIL FROM declaring more (552), before onMailFrom. A mail that
      // declares nothing is measured as it streams (readBounded, and the stream's sizeExceeded).
      size: options.maxMailBytes,
      ...(options.tls ? readTls(options.tls) : {}),
      // Nobody logs in: an MX takes mail for its own addresses from anyone, and nothing else from anybody.
      authOptional: true,
      disabledCommands: options.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
      disableReverseLookup: true,
      maxClients: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      socketTimeout: options.socketTimeoutMs ?? 60_000,
      closeTimeout: options.closeTimeoutMs ?? 10_000,
      // smtp-server logs every connection and command, and every client's socket error: too much for a server anyone
      // may connect to, so only when Knock's log level is debug. What matters is logged here (refusals, failures).
      logger: logger.isLevelEnabled('debug') ? logger.child({ module: 'smtp-server' }) : false,
      onConnect: (session, callback) => callback(this.admit(session)),
      onClose: (session) => this.release(session),
      onMailFrom: (_address, session, callback) => callback(this.checkMailRate(session)),
      onRcptTo: (address, session, callback) => {
        this.checkRecipient(address, session).then(
          () => callback(),
          (err: unknown) => callback(this.replyFor(err, session, 'recipient')),
        );
      },
      onData: (stream, session, callback) => {
        const work = this.receive(stream, session).then(
          (reply) => callback(null, reply),
          (err: unknown) => callback(this.replyFor(err, session, 'mail')),
        );
        this.receiving.add(work);
        void work.finally(() => this.receiving.delete(work));
      },
    });
    // A client's connection failing in the middle of a mail (reset, TLS error): its sender retries; nothing to fix here.
    this.server.on('error', (err) => logger.info({ err }, 'SMTP connection failed'));
  }

  listen(): Promise<{ port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.server.off('error', onError);
        const port = (this.server.server.address() as AddressInfo).port;
        this.options.logger.info({ host: this.options.host, port, starttls: this.options.tls !== undefined }, 'SMTP server listening');
        resolve({ port });
      });
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // smtp-server stops accepting, lets sessions finish and cuts what is left after closeTimeout.
      await new Promise<void>((resolve) => (this.server.server.listening ? this.server.close(() => resolve()) : resolve()));
      // A cut session may leave its mail with the engine still: wait for those answers (a stop of the process as a
      // whole is bounded, engine/shutdown.ts).
      await Promise.allSettled([...this.receiving]);
    })();
    return this.closing;
  }

  /** onConnect: the client's open connections and rate of connecting. */
  private admit(session: SMTPServerSession): SmtpReply | undefined {
    const key = addressKey(session.remoteAddress);
    const open = this.openByKey.get(key) ?? 0;
    if (open >= this.options.maxConnectionsPerIp) {
      this.logRefusal('connections', key);
      return new SmtpReply(421, `4.7.0 Too many connections from your address (${this.options.maxConnectionsPerIp} at once); try again later`);
    }
    const verdict = this.connectionsPerIp.take(key);
    if (!verdict.ok) {
      this.logRefusal('connection rate', key);
      return new SmtpReply(421, '4.7.0 Too many connections from your address; try again later');
    }
    this.openByKey.set(key, open + 1);
    this.counted.set(session.id, key);
    return undefined;
  }

  /** onClose: a counted connection no longer counts. */
  private release(session: SMTPServerSession): void {
    const key = this.counted.get(session.id);
    if (key === undefined) return;
    this.counted.delete(session.id);
    const open = (this.openByKey.get(key) ?? 1) - 1;
    if (open > 0) this.openByKey.set(key, open);
    else this.openByKey.delete(key);
  }

  /** onMailFrom: mails from one address are counted where a mail begins, before its body is sent. */
  private checkMailRate(session: SMTPServerSession): SmtpReply | undefined {
    const key = addressKey(session.remoteAddress);
    if (this.mailsPerIp.take(key).ok) return undefined;
    this.logRefusal('mail rate', key);
    return new SmtpReply(451, '4.7.1 Too many mails from your address; try again later');
  }

  /** onRcptTo: ours and known, or refused; never more than maxRecipients. */
  private async checkRecipient(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    const recipient = normalizeAddress(address.address);
    // smtp-server keeps one entry per address whatever its case: a repeated one is no new recipient.
    const already = session.envelope.rcptTo.some((r) => r.address.toLowerCase() === recipient.toLowerCase());
    if (!already && session.envelope.rcptTo.length >= this.options.maxRecipients) {
      throw new SmtpReply(452, `4.5.3 Too many recipients (at most ${this.options.maxRecipients} a mail)`);
    }
    const kind = await this.options.handler.recipient(recipient);
    if (kind === 'unknown') throw new SmtpReply(550, '5.1.1 No such user here');
    if (kind === 'foreign') throw new SmtpReply(550, '5.7.1 Relaying denied');
  }

  /** onData: the mail read (bounded), authenticated, parsed and handed to the engine; resolves with the 250 text. */
  private async receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const held = { bytes: 0 };
    try {
      const raw = await readBounded(stream, this.options.maxMailBytes, (n) => this.hold(held, n));
      if (raw === 'busy') {
        this.logRefusal('mailBufferBytes', session.remoteAddress);
        throw new SmtpReply(451, '4.3.1 Insufficient system resources, try again later');
      }
      if (raw === null) throw new SmtpReply(552, `5.3.4 Message too big (at most ${this.options.maxMailBytes} bytes)`);
      const mail = await readInboundMail(raw, envelopeOf(session, this.options.clock), {
        hostname: this.hostname,
        mailDomain: this.options.mailDomain,
        resolver: this.resolver,
        logger: this.options.logger,
      });
      await this.options.handler.deliver(mail);
      this.options.logger.info({ session: session.id, messageId: mail.messageId, bytes: raw.length, recipients: mail.envelope.rcptTo.length }, 'mail received');
      return `2.0.0 OK ${mail.messageId.slice(0, 200)}`;
    } finally {
      // Held until the mail is parsed and stored: its copies live that long.
      this.buffered -= held.bytes;
    }
  }

  /** Takes `n` more bytes of the shared budget for one mail (false, taking nothing, when it would pass it). */
  private hold(held: { bytes: number }, n: number): boolean {
    if (this.buffered + n > this.bufferBytes) return false;
    this.buffered += n;
    held.bytes += n;
    return true;
  }

  /** What the client is told when a recipient check or a mail fails; what it is not told is logged. */
  private replyFor(err: unknown, session: SMTPServerSession, stage: 'recipient' | 'mail'): SmtpReply {
    if (err instanceof SmtpReply) return err;
    if (err instanceof UnreadableMail) {
      this.options.logger.info({ session: session.id, reason: err.message }, 'unreadable mail refused');
      return new SmtpReply(554, '5.6.0 Message could not be parsed');
    }
    if (err instanceof KnockError) {
      switch (err.code) {
        case 'not_found':
          // The engine's words are for the sender ("This conversation no longer exists... write to alice@...").
          return new SmtpReply(550, `5.1.1 ${oneLine(err.message)}`);
        case 'forbidden':
          // Also the engine's words: why this sender may not write here (an owner's reply address, from a stranger).
          return new SmtpReply(550, `5.7.1 ${oneLine(err.message)}`);
        case 'too_large':
          return new SmtpReply(552, `5.3.4 ${oneLine(err.message)}`);
        case 'bad_request':
          return new SmtpReply(554, `5.6.0 ${oneLine(err.message)}`);
        case 'rate_limited':
        case 'unavailable':
          return new SmtpReply(451, '4.3.0 Try again later');
        default:
          break;
      }
    }
    this.options.logger.error({ err, session: session.id, remoteAddress: session.remoteAddress, stage }, 'could not take a mail; the sender will retry');
    return new SmtpReply(451, '4.3.0 Local error; try again later');
  }

  private logRefusal(limit: string, key: string): void {
    const now = this.options.clock.now();
    if (now - (this.lastRefusalLog.get(limit) ?? -Infinity) < LOG_REFUSALS_EVERY_MS) return;
    this.lastRefusalLog.set(limit, now);
    this.options.logger.warn({ limit, client: key }, 'SMTP client over a limit refused (logged once a minute)');
  }
}

function readTls(files: { certFile: string; keyFile: string }): { cert: Buffer; key: Buffer } {
  try {
    return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) };
  } catch (err) {
    throw new KnockError('bad_request', `The SMTP server's TLS certificate or key cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * The message as sent; null when it went over `limit`, `busy` when `hold` refused more memory (the server's shared
 * budget): either way the rest is read and dropped, so the connection stays in step and memory holds at most `limit`.
 */
function readBounded(stream: SMTPServerDataStream, limit: number, hold: (bytes: number) => boolean): Promise<Buffer | null | 'busy'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let over = false;
    let busy = false;
    stream.on('data', (chunk: Buffer) => {
      if (over || busy) return;
      bytes += chunk.length;
      if (bytes > limit) {
        over = true;
        chunks.length = 0;
      } else if (!hold(chunk.length)) {
        busy = true;
        chunks.length = 0;
      } else chunks.push(chunk);
    });
    // The client went away in the middle: nobody is left to answer, the mail was not taken.
    stream.once('error', () => reject(new SmtpReply(451, '4.4.2 Connection lost during DATA')));
    stream.once('end', () => resolve(over || stream.sizeExceeded ? null : busy ? 'busy' : Buffer.concat(chunks, bytes)));
  });
}

/** `Local@Example.COM` -> `Local@example.com`: the domain is case-blind, the local part is the domain's business. */
function normalizeAddress(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}`;
}

function envelopeOf(session: SMTPServerSession, clock: Clock): ReceivedEnvelope {
  const mailFrom = session.envelope.mailFrom;
  return {
    mailFrom: mailFrom ? mailFrom.address : '',
    rcptTo: [...new Set(session.envelope.rcptTo.map((r) => normalizeAddress(r.address)))],
    remoteAddress: session.remoteAddress,
    helo: typeof session.hostNameAppearsAs === 'string' ? session.hostNameAppearsAs : '',
    protocol: session.transmissionType,
    tls: session.tlsOptions ? { version: session.tlsOptions.version, cipher: session.tlsOptions.name } : null,
    sessionId: session.id,
    receivedAt: new Date(clock.now()),
  };
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}
