/**
 * The email channel's ports (issue 17, DESIGN "Reaching people who are offline"): Knock is the MX of its domains
 * (MailInbound, an SMTP server) and sends through a relay (MailRelay). Adapter: adapters/channels/email
 * (`smtp-server`, `mailparser`, `mailauth` in; `nodemailer` out). The engine (engine/mail.ts) decides what a mail
 * means for a conversation; the adapters only speak SMTP and MIME.
 */
import type { Readable } from 'node:stream';
import type { EmailAddress, EmailAuth } from '../protocol.ts';

/** A mail as it came in, parsed, authenticated and made safe to show. */
export interface InboundMail {
  envelope: {
    /** MAIL FROM (empty for a bounce). */
    mailFrom: string;
    /** The RCPT TO addresses the server accepted (lowercased domain). */
    rcptTo: string[];
    remoteAddress: string;
  };
  /** The message as received, byte for byte (with Knock's Received and Authentication-Results lines on top). */
  raw: Buffer;
  /** Without angle brackets; one is made up when the mail has none. */
  messageId: string;
  /** Message-IDs it answers (In-Reply-To, then References newest first), without angle brackets. */
  replyTo: string[];
  subject: string;
  from: EmailAddress;
  to: EmailAddress[];
  /** The text part (or the HTML part turned into text when there is none), normalized to \n. */
  text: string;
  /** The text without the quoted history of a reply ("On ... wrote:" and the `>` lines after it). */
  newText: string;
  /** The HTML part sanitized on arrival (no script, form, event handler, remote content left loading by itself), or null. */
  html: string | null;
  attachments: InboundAttachment[];
  /** SPF, DKIM, DMARC and ARC as `mailauth` found them. */
  auth: EmailAuth;
  /** Auto-Submitted (not `no`), or a bounce: never answered automatically. */
  automatic: boolean;
  /** A delivery status notification (RFC 3464): which sent mail it is about, and why it failed. */
  bounce: { originalMessageId: string | null; recipient: string | null; status: string; diagnostic: string } | null;
}

export interface InboundAttachment {
  /** As the sender named it (the engine makes it safe). */
  filename: string;
  contentType: string;
  content: Buffer;
  /** Content-ID of an inline part (`cid:` in the HTML), without angle brackets. */
  contentId: string | null;
}

/** What the SMTP server asks the engine while a mail comes in. */
export interface InboundHandler {
  /**
   * At RCPT TO: `local` (one of ours; accept), `unknown` (our domain, no such mailbox: 550 5.1.1), `foreign` (not our
   * domain: 550 5.7.1, never an open relay).
   */
  recipient(address: string): Promise<'local' | 'unknown' | 'foreign'>;
  /**
   * After DATA, once per mail, with every accepted recipient in the envelope. Throw a KnockError to refuse it (`not_found`: 550, `rate_limited` or `unavailable`: 451, `bad_request`: 554); resolving
   * means stored, and the server answers 250.
   */
  deliver(mail: InboundMail): Promise<void>;
}

export interface MailInbound {
  /** Starts listening; resolves with the port (0 in the config picks a free one). */
  listen(): Promise<{ port: number }>;
  /** Stops accepting, lets mails being received finish (bounded), closes. */
  close(): Promise<void>;
}

export interface OutboundMail {
  from: EmailAddress;
  to: EmailAddress[];
  /** Where the answer goes (`alice+c-<token>@domain`). */
  replyTo?: string;
  subject: string;
  text: string;
  html?: string;
  /** Without angle brackets. Chosen by the caller, so a retry after a crash sends the same one. */
  messageId: string;
  inReplyTo?: string;
  references?: string[];
  /** E.g. List-Unsubscribe, List-Unsubscribe-Post, Auto-Submitted. */
  headers?: Record<string, string>;
  attachments?: { filename: string; contentType: string; content: Buffer | (() => Readable) }[];
  date?: Date;
  /** Signed with this key instead of the server's (issue 21: mail From an owner's own domain, with its own key). */
  dkim?: { domain: string; selector: string; privateKey: string };
}

/** A relay's answer that is not a success: `permanent` (5xx, a refused address) stops retries; the rest are retried. */
export class MailSendError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    /** The SMTP reply code when there was one. */
    readonly code: number | null,
  ) {
    super(message);
    this.name = 'MailSendError';
  }
}

export interface MailRelay {
  /**
   * Sends the mail, DKIM-signed when a key is configured. Resolves with the relay's answer; rejects with a
   * MailSendError (permanent or not).
   */
  send(mail: OutboundMail): Promise<{ response: string }>;
  close(): Promise<void>;
}

/** Builds an RFC 5322 message (for `npx knock mail sync`), with the same code the relay sends with. */
export type ComposeMail = (mail: OutboundMail) => Promise<Buffer>;
