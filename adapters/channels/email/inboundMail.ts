/**
 * From the bytes of a received mail to an InboundMail (engine/ports/mail.ts): authenticated (mailAuthentication.ts),
 * parsed (mailparser, which takes broken MIME, 8-bit and UTF-8 headers as they come), its HTML sanitized
 * (sanitizeHtml.ts), its new text found (quotes.ts), a bounce read (dsn.ts), and Knock's `Received:` and
 * `Authentication-Results:` put on top of the stored bytes.
 */
import { randomUUID } from 'node:crypto';
import { simpleParser, type AddressObject, type Attachment, type HeaderValue, type ParsedMail } from 'mailparser';
import { detectExtension } from 'nodemailer/lib/mime-funcs/mime-types';
import type { Logger } from '../../../engine/logger.ts';
import type { InboundAttachment, InboundMail } from '../../../engine/ports/mail.ts';
import type { EmailAddress } from '../../../engine/protocol.ts';
import { deliveryReportOf } from './dsn.ts';
import { authenticateMail, type DNSResolver } from './mailAuthentication.ts';
import { newTextOf } from './quotes.ts';
import { sanitizeMailHtml } from './sanitizeHtml.ts';

/** What the SMTP session knew about a mail. */
export interface ReceivedEnvelope {
  mailFrom: string;
  rcptTo: string[];
  remoteAddress: string;
  /** What the client said in HELO/EHLO. */
  helo: string;
  /** ESMTP, ESMTPS, ... (for Received). */
  protocol: string;
  /** The TLS version and cipher, when the session was encrypted. */
  tls: { version: string; cipher: string } | null;
  /** The session's id in this server's log. */
  sessionId: string;
  receivedAt: Date;
}

export interface MailReaderOptions {
  /** This server's name (Received, Authentication-Results). */
  hostname: string;
  /** Our domain: a mail without a Message-ID gets `<random>@<mailDomain>`. */
  mailDomain: string;
  resolver: DNSResolver;
  logger: Pick<Logger, 'warn'>;
}

/** HTML longer than this is not turned into text: html-to-text would hold the event loop for seconds. */
const MAX_HTML_TO_TEXT = 4 * 1024 * 1024;

/** mailparser's options: attachments and reports kept as parts, `cid:` links left for the view to resolve. */
const parserOptions = {
  keepCidLinks: true,
  keepDeliveryStatus: true,
  ignoreEmbedded: true,
  skipTextToHtml: true,
  checksumAlgo: false,
  maxHtmlLengthToParse: MAX_HTML_TO_TEXT,
} as const;

/** A mail mailparser could not read at all (too many parts, a header over 1 MB): refused, not retried. */
export class UnreadableMail extends Error {
  override name = 'UnreadableMail';
}

export async function readInboundMail(raw: Buffer, envelope: ReceivedEnvelope, options: MailReaderOptions): Promise<InboundMail> {
  const { auth, headers: authHeaders } = await authenticateMail(
    { raw, ip: envelope.remoteAddress, helo: envelope.helo, mailFrom: envelope.mailFrom, hostname: options.hostname, resolver: options.resolver },
    options.logger,
  );
  let parsed: ParsedMail;
  try {
    parsed = await simpleParser(raw, parserOptions);
  } catch (err) {
    throw new UnreadableMail(err instanceof Error ? err.message : String(err));
  }
  const html = typeof parsed.html === 'string' ? sanitizeMailHtml(parsed.html) || null : null;
  const text = normalizeNewlines(parsed.text ?? (html !== null ? await htmlAsText(html) : ''));
  const bounce = deliveryReportOf(parsed.headers.get('content-type'), parsed.attachments);
  return {
    envelope: { mailFrom: envelope.mailFrom, rcptTo: envelope.rcptTo, remoteAddress: envelope.remoteAddress },
    raw: Buffer.concat([Buffer.from(receivedHeader(envelope, options.hostname) + authHeaders, 'utf8'), raw]),
    messageId: messageIdsIn(parsed.messageId)[0] ?? `${randomUUID()}@${options.mailDomain}`,
    replyTo: replyChainOf(parsed),
    subject: parsed.subject ?? '',
    from: addressesOf(parsed.from)[0] ?? { address: envelope.mailFrom, name: '' },
    to: addressesOf(parsed.to).slice(0, 100),
    text,
    newText: newTextOf(text),
    html,
    attachments: parsed.attachments.map(attachmentOf),
    auth,
    automatic: isAutomatic(parsed.headers.get('auto-submitted'), envelope.mailFrom) || bounce !== null,
    bounce,
  };
}

/**
 * The text of an HTML part, by mailparser's own converter (html-to-text, blockquotes as `>` lines, which quotes.ts
 * reads): a message of that part alone is what it converts by itself. Used when a mail has HTML and no text part
 * (mailparser converts only a mail that is nothing but HTML).
 */
async function htmlAsText(html: string): Promise<string> {
  if (html.length > MAX_HTML_TO_TEXT) return '';
  const single = Buffer.from(`Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${html}`, 'utf8');
  const parsed = await simpleParser(single, parserOptions);
  return parsed.text ?? '';
}

/** \n line ends, and no blank lines or spaces at the end (clients differ in what they leave there). */
function normalizeNewlines(text: string): string {
  return text.replace(/\r\n?/g, '\n').trimEnd();
}

/** The Message-IDs in a header value (`<a@b> <c@d>`), without brackets; a bare id when there are no brackets. */
function messageIdsIn(value: HeaderValue | undefined): string[] {
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  const ids: string[] = [];
  for (const v of values) {
    if (typeof v !== 'string') continue;
    const bracketed = [...v.matchAll(/<([^<>\s]+)>/g)].map((m) => m[1]!);
    ids.push(...(bracketed.length > 0 ? bracketed : v.split(/\s+/).filter((id) => id.includes('@'))));
  }
  return ids.filter((id) => id.length <= 998);
}

/** In-Reply-To, then References from the newest (last) to the oldest, each once. */
function replyChainOf(parsed: ParsedMail): string[] {
  const chain = [...messageIdsIn(parsed.inReplyTo), ...messageIdsIn(parsed.references).reverse()];
  return [...new Set(chain)];
}

/** The mailboxes of an address header (the members of groups included), cut to the protocol's lengths. */
function addressesOf(header: AddressObject | AddressObject[] | undefined): EmailAddress[] {
  const objects = Array.isArray(header) ? header : header === undefined ? [] : [header];
  const mailboxes = objects.flatMap((o) => o.value.flatMap((a) => (a.group ? a.group : [a])));
  return mailboxes
    .filter((a) => typeof a.address === 'string' && a.address !== '')
    .map((a) => ({ address: a.address!.slice(0, 254), name: (a.name ?? '').slice(0, 256) }));
}

function attachmentOf(attachment: Attachment, index: number): InboundAttachment {
  const extension = detectExtension(attachment.contentType);
  return {
    filename: attachment.filename || `part-${attachment.partId ?? index + 1}${extension && extension !== 'bin' ? `.${extension}` : ''}`,
    contentType: attachment.contentType,
    content: attachment.content,
    contentId: attachment.cid ?? null,
  };
}

/** Auto-Submitted other than `no` (RFC 3834), or an empty MAIL FROM (only bounces and reports use it). */
function isAutomatic(autoSubmitted: HeaderValue | undefined, mailFrom: string): boolean {
  const value = typeof autoSubmitted === 'string' ? autoSubmitted.split(';')[0]!.trim().toLowerCase() : '';
  return (value !== '' && value !== 'no') || mailFrom === '';
}

/** Knock's trace line (RFC 5321 4.4): who handed the mail over, to whom, how, when. */
function receivedHeader(envelope: ReceivedEnvelope, hostname: string): string {
  // HELO is the client's to choose: only what a host name or address literal is made of goes into the header.
  const helo = envelope.helo.replace(/[^A-Za-z0-9.:_[\]-]/g, '').slice(0, 255) || 'unknown';
  const tls = envelope.tls ? `\r\n\t(version=${envelope.tls.version} cipher=${envelope.tls.cipher})` : '';
  // One recipient is named; of several, none (each would learn the others).
  const rcpt = envelope.rcptTo.length === 1 ? `\r\n\tfor <${envelope.rcptTo[0]}>` : '';
  const date = envelope.receivedAt.toUTCString().replace(/GMT$/, '+0000');
  return `Received: from ${helo} ([${envelope.remoteAddress}])\r\n\tby ${hostname} (Knock) with ${envelope.protocol} id ${envelope.sessionId}${tls}${rcpt};\r\n\t${date}\r\n`;
}
