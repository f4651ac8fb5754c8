/**
 * Builds an RFC 5322 message from an OutboundMail (engine/ports/mail.ts) with nodemailer's MailComposer: the same
 * MIME the relay sends (SmtpRelay hands the same options to nodemailer), so a mail synced into a Maildir reads as
 * the one that went out. Never reads files or URLs named in the content (disableFileAccess, disableUrlAccess).
 *
 * @example
 *   const eml = await composeMail({ from, to: [bob], subject: 'Hi', text: 'Hello', messageId: 'knock.c1.4@example.com' });
 */
import MailComposer, { type MailComposerOptions } from 'nodemailer/lib/mail-composer';
import type { ComposeMail, OutboundMail } from '../../../engine/ports/mail.ts';

/** The nodemailer message options of a mail (shared with the relay's transport). */
export function mailOptions(mail: OutboundMail): MailComposerOptions {
  return {
    from: mail.from,
    to: mail.to,
    ...(mail.replyTo !== undefined ? { replyTo: mail.replyTo } : {}),
    subject: mail.subject,
    text: mail.text,
    ...(mail.html !== undefined ? { html: mail.html } : {}),
    messageId: `<${mail.messageId}>`,
    ...(mail.inReplyTo !== undefined ? { inReplyTo: `<${mail.inReplyTo}>` } : {}),
    ...(mail.references !== undefined && mail.references.length > 0 ? { references: mail.references.map((id) => `<${id}>`) } : {}),
    ...(mail.headers !== undefined ? { headers: mail.headers } : {}),
    date: mail.date ?? new Date(),
    attachments: (mail.attachments ?? []).map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      content: typeof a.content === 'function' ? a.content() : a.content,
    })),
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

export const composeMail: ComposeMail = (mail) => new MailComposer(mailOptions(mail)).compile().build();
