/**
 * Email in Knock (issue 17): what mail means for conversations. The SMTP server and the relay are adapters
 * (adapters/channels/email, behind engine/ports/mail.ts); this module decides where a mail goes (which account,
 * which conversation: threading by Message-ID, In-Reply-To, References, or a reply address `alice+c-<token>@domain`),
 * enters it through the ConversationLog, and queues what goes out (replies, notifications, verification links)
 * in the outbox (engine/outbox.ts), which retries them until the relay takes them.
 *
 *   inbound:  SMTP (adapter) -> recipient() at RCPT TO -> deliver() -> ConversationLog.append(email event)
 *   outbound: ConversationLog (an owner's message) -> onAppended -> outbox job `mail.reply` -> relay
 *             ConversationLog (a visitor's message, owner offline) -> job `mail.notify` (one per 10 minutes)
 *             Settings (an address) -> job `mail.verify`
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { newSecret, secretHash } from './auth.ts';
import type { ConversationLog } from './conversationLog.ts';
import { cut } from './text.ts';
import { deliveryOf } from './deliveries.ts';
import type { VisitorBlocks } from './visitorBlocks.ts';
import { KnockError } from './errors.ts';
import type { Files } from './files.ts';
import type { Hub } from './hub.ts';
import type { Logger } from './logger.ts';
import type { Blobs } from './ports/blobs.ts';
import type { Clock } from './ports/clock.ts';
import { MailSendError, type ComposeMail, type InboundHandler, type InboundMail, type MailRelay, type OutboundMail } from './ports/mail.ts';
import type { Account, AppendedFacts, Conversation, NewOutboxJob, OutboxJob, Participant, Storage } from './ports/storage.ts';
import type { InboundText } from './ports/channel.ts';
import { fileMessageBody, handleSchema, limits, type EmailAddress, type FileRef, type MessageRecord } from './protocol.ts';

/** What the HTTP layer (engine/http/mailApi.ts) asks of email. */
export interface MailActions {
  /** `alice@<mail domain>`. */
  addressOf(handle: string): string;
  /**
   * Sets the owner's address (unverified; a link to verify it is mailed through the outbox), or removes it (null).
   * Setting the address already set and verified changes nothing.
   */
  setOwnerEmail(account: Account, address: string | null): Promise<void>;
  /** "New email": an email conversation with `to` as its correspondent; the owner's messages in it are mailed. */
  newEmail(account: Account, input: { to: string; subject: string }): Promise<Conversation>;
  /** A message of the conversation as an RFC 5322 message (inbound mail as received; the rest composed), for a mail client. */
  messageAsMail(conversation: Conversation, message: MessageRecord): Promise<Buffer>;
}

/**
 * What becomes of a mail to an owner's reply address (`alice+r-<token>-<mac>@domain`, given in forwards by email):
 * forwarding (engine/forwarding/forwarding.ts) posts it as the owner's message when it is from the owner's verified
 * email channel. Resolves with whether it was posted.
 */
export type OwnerReplyHandler = (text: InboundText) => Promise<{ kind: string }>;

/** The outbox's job kinds of email. */
export const MailJob = { reply: 'mail.reply', notify: 'mail.notify', verify: 'mail.verify' } as const;

/** What the outbox offers the mail service (engine/outbox.ts). */
export interface MailOutbox {
  enqueue(job: NewOutboxJob): Promise<unknown>;
  handle(kind: string, handler: (job: OutboxJob) => Promise<{ ref?: string | null }>): void;
  /** A sent job's bounce: marked failed, and its listeners (the delivery line) told. */
  failSentJob(id: string, error: string): Promise<OutboxJob | null>;
}

export interface MailDeps {
  storage: Storage;
  blobs: Blobs;
  files: Pick<Files, 'upload'>;
  log: Pick<ConversationLog, 'append' | 'onAppended'>;
  outbox: MailOutbox;
  hub: Pick<Hub, 'isOnline' | 'publishDelivery'>;
  clock: Clock;
  logger: Logger;
  /** Every URL's mail domain (config `mailDomain`, lowercase). */
  domain: string;
  /** Where links in mail point: KNOCK_PUBLIC_URL, else the address the server listens at. */
  publicUrl: () => string;
  /** The relay, or null when none is configured (mail waits in the outbox, retried, until one is). */
  relay: MailRelay | null;
  compose: ComposeMail;
  /** At most one "you have a message" mail per conversation in this time. */
  notifyIntervalMs: number;
  /** How long an owner's reply in a chat waits before it is mailed to the visitor (not mailed if read in the chat by then). */
  visitorMailDelayMs: number;
  /** The handle an owner's active own domain (issue 21) belongs to: mail to any address there is theirs. */
  domainHome?: (domain: string) => string | null;
  /** Issue 22: a blocked visitor's mail into their conversation is refused (550, with the text they read). */
  blocks?: Pick<VisitorBlocks, 'checkVisitor'>;
}

/**
 * A mail is kept byte for byte (for mail clients: `npx knock mail sync`) up to this size; a bigger one is kept as its
 * message and files, which count against the owner's quota, and composed again when a client asks. Without this a
 * stranger's big mails would fill the disk beside the quota, the attachments' bytes kept twice.
 */
const RAW_KEPT_BYTES = 256 * 1024;
/** The sanitized HTML part is kept up to this size; a bigger one is shown as its text only. */
const HTML_KEPT_BYTES = 1024 * 1024;
/** Inline images of an HTML mail are shown from data: URLs up to this size each (larger ones are plain attachments). */
const INLINE_IMAGE_BYTES = 1024 * 1024;
/** How many earlier Message-IDs a reply's References carries. */
const REFERENCES_KEPT = 20;
/** How many of the visitor's messages a notification quotes. */
const NOTIFY_QUOTES = 10;
/** Knock's own Message-IDs: `knock.<conversationId>.<seq>@<domain>`, so a reply finds its conversation even unrecorded. */
const OWN_MESSAGE_ID = /^knock\.([A-Za-z0-9_-]{1,64})\.(\d{1,15})@(.+)$/;
/** The server value (Storage.serverValue) that keys the owner's reply addresses. */
const OWNER_REPLY_KEY = 'mail.ownerReplyKey';
/** The owner's reply address's tag: `r-<conversation mail token>-<mac>`, all lower case (local parts get folded). */
const OWNER_REPLY_TAG = /^r-([a-z2-7]{1,64})-([a-z2-7]{16})$/;

const replyPayload = z.object({ conversationId: z.string(), seq: z.number().int().positive() });
const notifyPayload = z.object({ conversationId: z.string(), afterSeq: z.number().int().nonnegative(), markAt: z.number() });
const verifyPayload = z.object({ accountId: z.string(), address: z.string(), token: z.string() });

/** A failure the outbox must not retry. */
function permanent(message: string): MailSendError {
  return new MailSendError(message, true, null);
}

export class Mail implements MailActions, InboundHandler {
  constructor(private readonly deps: MailDeps) {
    deps.outbox.handle(MailJob.reply, (job) => this.sendReply(job));
    deps.outbox.handle(MailJob.notify, (job) => this.sendNotification(job));
    deps.outbox.handle(MailJob.verify, (job) => this.sendVerification(job));
    deps.log.onAppended((conversationId, message, facts) => {
      const done = message.senderRole === 'owner' ? this.queueReply(conversationId, message, facts.conversation) : this.queueNotification(conversationId, message, facts);
      done.catch((err: unknown) => deps.logger.error({ err, conversationId, seq: message.seq }, 'could not queue mail for a message'));
    });
  }

  addressOf(handle: string): string {
    return `${handle}@${this.deps.domain}`;
  }

  /**
   * Whom the owner's mail is From: `<handle>@<their own domain>` signed with that domain's key when they have an
   * active one (issue 21; the first by name), else their address at the server's domain (signed by the server's key).
   */
  private async senderOf(accountId: string, handle: string): Promise<{ address: string; dkim?: NonNullable<OutboundMail['dkim']> }> {
    const own = (await this.deps.storage.domainsOf(accountId)).find((d) => d.state === 'active');
    const key = own ? await this.deps.storage.dkimKeyOf(own.name) : null;
    if (!own || !key) return { address: this.addressOf(handle) };
    return { address: `${handle}@${own.name}`, dkim: { domain: own.name, selector: key.selector, privateKey: key.privateKey } };
  }

  /** Knock's Message-ID of a message: the same for every try, so a retry after a crash is one mail, not two. */
  messageIdOf(conversationId: string, seq: number): string {
    return `knock.${conversationId}.${seq}@${this.deps.domain}`;
  }

  // -- inbound ---------------------------------------------------------------------------------------------------

  async recipient(address: string): Promise<'local' | 'unknown' | 'foreign'> {
    const target = this.parseRecipient(address);
    if (target === 'foreign') return 'foreign';
    if (target === null) return 'unknown';
    return (await this.deps.storage.getAccountByHandle(target.handle)) ? 'local' : 'unknown';
  }

  async deliver(mail: InboundMail): Promise<void> {
    if (mail.bounce) {
      await this.bounced(mail);
      return;
    }
    // One delivery per account, whichever of its addresses were named (alice and alice+c-... count once).
    const targets = new Map<string, { account: Account; token: string | null }>();
    for (const rcpt of mail.envelope.rcptTo) {
      const target = this.parseRecipient(rcpt);
      if (target === null || target === 'foreign') continue;
      const account = await this.deps.storage.getAccountByHandle(target.handle);
      if (!account) continue;
      if (target.owner) {
        await this.ownerReply(account, target.owner, mail);
        continue;
      }
      const known = targets.get(account.id);
      if (!known || (known.token === null && target.token !== null)) targets.set(account.id, { account, token: target.token });
    }
    if (targets.size === 0) {
      if (mail.envelope.rcptTo.some((r) => (this.parseRecipient(r) as { owner?: unknown } | null)?.owner)) return;
      throw new KnockError('not_found', 'No such mailbox here.');
    }
    for (const { account, token } of targets.values()) await this.deliverTo(account, token, mail);
  }

  /**
   * `alice`, `alice+c-<token>` (a conversation's reply address), `alice+r-<token>-<mac>` (the owner's reply address
   * of a forward by email) or `alice+anything` at our domain; any address at an owner's active own domain.
   */
  private parseRecipient(address: string): { handle: string; token: string | null; owner?: { token: string; mac: string } } | 'foreign' | null {
    const at = address.lastIndexOf('@');
    if (at <= 0) return null;
    const domain = address.slice(at + 1).toLowerCase();
    if (domain !== this.deps.domain) {
      // An owner's own domain: every address there is theirs (hello@, sales@, anything@).
      const home = this.deps.domainHome?.(domain) ?? null;
      return home === null ? 'foreign' : { handle: home, token: null };
    }
    const local = address.slice(0, at);
    const plus = local.indexOf('+');
    const handle = (plus === -1 ? local : local.slice(0, plus)).toLowerCase();
    const tag = plus === -1 ? '' : local.slice(plus + 1);
    if (!handleSchema.safeParse(handle).success) return null;
    const owner = OWNER_REPLY_TAG.exec(tag.toLowerCase());
    if (owner) return { handle, token: null, owner: { token: owner[1]!, mac: owner[2]! } };
    return { handle, token: /^c-./i.test(tag) ? tag.slice(2) : null };
  }

  private async deliverTo(account: Account, token: string | null, mail: InboundMail): Promise<void> {
    const { storage, clock } = this.deps;
    let conversation = token === null ? await this.threadOf(account, mail) : await storage.getConversationByMailToken(token);
    if (token !== null && (!conversation || conversation.ownerAccountId !== account.id)) {
      throw new KnockError(
        'not_found',
        `This conversation no longer exists, so your reply was not delivered. To write to ${account.displayName} again, send to ${this.addressOf(account.handle)}.`,
      );
    }
    let visitor: Participant | undefined;
    if (!conversation) {
      const created = await storage.createConversation({
        ownerAccountId: account.id,
        tokenHash: secretHash(newSecret()),
        visitorName: nameOf(mail.from),
        visitorEmail: mail.from.address,
        kind: 'email',
        subject: cut(mail.subject.trim() || '(no subject)', limits.subjectChars),
        suspicious: mail.auth.suspicious,
        at: clock.now(),
      });
      conversation = created.conversation;
      visitor = created.visitor;
    } else {
      await this.deps.blocks?.checkVisitor(account, { conversationId: conversation.id });
      visitor = (await storage.getParticipants(conversation.id)).find((p) => p.role === 'visitor');
    }
    if (!visitor) throw new KnockError('not_found', 'This conversation has no correspondent.');

    const uploader = { conversationId: conversation.id, participantId: visitor.id, ownerAccountId: account.id };
    const files: FileRef[] = [];
    const notes: string[] = [];
    const inline = new Map<string, string>();
    for (const [i, attachment] of mail.attachments.entries()) {
      if (i >= limits.filesPerEmail) {
        notes.push(`(${mail.attachments.length - limits.filesPerEmail} more attachments were left out.)`);
        break;
      }
      if (attachment.contentId !== null && attachment.contentType.startsWith('image/') && attachment.content.length <= INLINE_IMAGE_BYTES) {
        inline.set(attachment.contentId, `data:${attachment.contentType.split(';')[0]};base64,${attachment.content.toString('base64')}`);
      }
      try {
        files.push(await this.deps.files.upload(uploader, bytes(attachment.content), attachment.filename || 'attachment'));
      } catch (err) {
        if (!(err instanceof KnockError && err.code === 'too_large')) throw err;
        // Over the file size limit, or the owner's quota is full: the mail is kept, the file is not.
        notes.push(`(The attachment "${attachment.filename}" was not kept: ${err.message})`);
      }
    }
    const raw = mail.raw.length <= RAW_KEPT_BYTES ? await this.deps.blobs.put(bytes(mail.raw), { maxBytes: RAW_KEPT_BYTES }) : null;
    const htmlBytes = mail.html === null ? null : Buffer.from(withInlineImages(mail.html, inline));
    if (htmlBytes !== null && htmlBytes.length > HTML_KEPT_BYTES) notes.push('(The formatted version of this mail was too large to keep; its text is above.)');
    const html = htmlBytes === null || htmlBytes.length > HTML_KEPT_BYTES ? null : await this.deps.blobs.put(bytes(htmlBytes), { maxBytes: HTML_KEPT_BYTES });

    // A reply into a conversation shows what is new; the first mail of a thread shows all of it.
    const fresh = conversation.lastSeq > 0 ? mail.newText : mail.text;
    const text = [fresh.trim(), ...notes].filter((t) => t.length > 0).join('\n\n') || (files.length > 0 ? fileMessageBody(files) : '(no text)');
    const result = await this.deps.log.append(conversation.id, {
      senderId: visitor.id,
      // Message-IDs may be long or odd: the key is their digest. Per sender, so the same mail to two owners is two.
      idempotencyKey: `email:${createHash('sha256').update(mail.messageId).digest('base64url').slice(0, 32)}`,
      body: cut(text, limits.bodyChars),
      event: {
        kind: 'email',
        subject: cut(mail.subject, limits.subjectChars),
        from: { address: cut(mail.from.address, 254), name: cut(mail.from.name, 256) },
        to: mail.to.slice(0, 100).map((a) => ({ address: cut(a.address, 254), name: cut(a.name, 256) })),
        messageId: cut(mail.messageId, 998),
        auth: mail.auth,
        html: html !== null,
        files,
        ...(mail.automatic ? { automatic: true } : {}),
      },
    });
    if (result.duplicate) return;
    await storage.recordMail({
      messageId: mail.messageId,
      accountId: account.id,
      conversationId: conversation.id,
      seq: result.message.seq,
      rawBlobId: raw?.id ?? null,
      htmlBlobId: html?.id ?? null,
      at: clock.now(),
    });
    if (conversation.subject === null && mail.subject.trim() !== '') await storage.setSubject(conversation.id, cut(mail.subject.trim(), limits.subjectChars));
  }

  /**
   * The conversation a mail continues: one of the Message-IDs it names, recorded or Knock's own; else none. Only for
   * mail from the conversation's own correspondent: anyone who once saw a Message-ID (a forwarded mail, a CC) could
   * otherwise write into someone else's conversation under their name; their mail starts a conversation of its own.
   * (A reply address `+c-<token>` is different: it was given to the correspondent, and the sender shows on the card.)
   */
  private async threadOf(account: Account, mail: InboundMail): Promise<Conversation | null> {
    const sameSender = (c: Conversation | null): c is Conversation =>
      c !== null && c.ownerAccountId === account.id && c.visitorEmail !== null && c.visitorEmail.toLowerCase() === mail.from.address.toLowerCase();
    const known = await this.deps.storage.findMail(account.id, [mail.messageId, ...mail.replyTo]);
    if (known) {
      const conversation = await this.deps.storage.getConversation(known.conversationId);
      if (sameSender(conversation)) return conversation;
    }
    for (const id of mail.replyTo) {
      const own = OWN_MESSAGE_ID.exec(id);
      if (!own || own[3]!.toLowerCase() !== this.deps.domain) continue;
      const conversation = await this.deps.storage.getConversation(own[1]!);
      if (sameSender(conversation)) return conversation;
    }
    return null;
  }

  /** A delivery status notification: the mail it is about is marked not delivered, with the reason. */
  private async bounced(mail: InboundMail): Promise<void> {
    const bounce = mail.bounce!;
    const job = bounce.originalMessageId === null ? null : await this.deps.storage.jobByRef(bounce.originalMessageId);
    if (!job) {
      this.deps.logger.info({ messageId: bounce.originalMessageId }, 'a bounce for no mail of ours was dropped');
      return;
    }
    const reason = [bounce.status, bounce.diagnostic].filter((s) => s.length > 0).join(' ') || 'The recipient\u2019s server returned the mail.';
    // The outbox records it and tells its listeners, the owner's delivery line among them (app.ts: onChange).
    await this.deps.outbox.failSentJob(job.id, reason);
  }

  /** Where forwarding hands an owner's answer by email (set once, by engine/app.ts). */
  onOwnerReply(handler: OwnerReplyHandler): void {
    this.ownerReplies = handler;
  }

  private ownerReplies: OwnerReplyHandler | null = null;
  private ownerReplyKey: Promise<string> | null = null;

  /**
   * The address an owner answers a forward by email at: `alice+r-<token>-<mac>@domain`. The token is the
   * conversation's mail token (the visitor's reply address has it too); the MAC, keyed by a value of this server's,
   * is what only the owner was mailed, so the visitor cannot write as the owner by changing `c-` into `r-`.
   */
  async ownerReplyAddress(conversationId: string): Promise<string> {
    const conversation = await this.deps.storage.getConversation(conversationId);
    if (!conversation) throw new KnockError('not_found', 'There is no such conversation.');
    const token = (await this.deps.storage.conversationMailToken(conversationId)).toLowerCase();
    return `${conversation.ownerHandle}+r-${token}-${await this.ownerReplyMac(token)}@${this.deps.domain}`;
  }

  private async ownerReplyMac(token: string): Promise<string> {
    this.ownerReplyKey ??= this.deps.storage.serverValue(OWNER_REPLY_KEY, newSecret());
    const digest = createHmac('sha256', await this.ownerReplyKey).update(`owner-reply:${token}`).digest();
    return base32(digest).slice(0, 16);
  }

  /**
   * A mail to an owner's reply address: with a good MAC, it goes to forwarding as a text from the sender's address,
   * which posts it as the owner's message only when that address is one of the owner's verified email channels (and
   * the mail is not suspicious). Anything else is refused with a reason the sender reads in the bounce.
   */
  private async ownerReply(account: Account, target: { token: string; mac: string }, mail: InboundMail): Promise<void> {
    const expected = Buffer.from(await this.ownerReplyMac(target.token));
    const given = Buffer.from(target.mac);
    const conversation = expected.length === given.length && timingSafeEqual(expected, given) ? await this.deps.storage.getConversationByMailToken(target.token) : null;
    if (!conversation || conversation.ownerAccountId !== account.id) {
      throw new KnockError('not_found', `This conversation no longer exists, so your answer was not delivered.`);
    }
    if (mail.auth.suspicious || this.ownerReplies === null) {
      throw new KnockError('forbidden', 'Your answer could not be checked as coming from your address, so it was not posted.');
    }
    const outcome = await this.ownerReplies({
      kind: 'email',
      from: mail.from.address.toLowerCase(),
      text: mail.newText.trim() || mail.text.trim(),
      threadId: `knock-${conversation.id}`,
      externalId: `email:${createHash('sha256').update(mail.messageId).digest('base64url').slice(0, 32)}`,
    });
    if (outcome.kind === 'unknownSender') {
      throw new KnockError('forbidden', `Only ${account.displayName}'s verified email channels can answer here; add this address in Settings → Channels.`);
    }
  }

  // -- outbound --------------------------------------------------------------------------------------------------

  /** Tells the owner's devices how a job carrying their message stands. */
  publishDelivery(job: OutboxJob): void {
    const delivery = deliveryOf(job);
    if (delivery !== null) this.deps.hub.publishDelivery(job.conversationId!, delivery);
  }

  /** An owner's message in a conversation with an address: mailed (a chat's only if the visitor has not read it soon). */
  private async queueReply(conversationId: string, message: MessageRecord, conversation: Conversation): Promise<void> {
    if (message.event.kind !== 'text' && message.event.kind !== 'file') return;
    if (conversation.visitorEmail === null || conversation.visitorEmailOff) return;
    const now = this.deps.clock.now();
    await this.deps.outbox.enqueue({
      kind: MailJob.reply,
      key: `${MailJob.reply}:${conversationId}:${message.seq}`,
      payload: { conversationId, seq: message.seq },
      conversationId,
      messageSeq: message.seq,
      recipient: conversation.visitorEmail,
      ref: this.messageIdOf(conversationId, message.seq),
      runAt: conversation.kind === 'chat' ? now + this.deps.visitorMailDelayMs : now,
      at: now,
    });
  }

  private async sendReply(job: OutboxJob): Promise<{ ref: string | null }> {
    const { conversationId, seq } = replyPayload.parse(job.payload);
    const { storage } = this.deps;
    const conversation = await storage.getConversation(conversationId);
    if (!conversation) throw permanent('The conversation was deleted.');
    if (conversation.visitorEmail === null) throw permanent('The conversation has no email address.');
    if (conversation.visitorEmailOff) throw permanent('The recipient unsubscribed from this conversation.');
    const [message] = await storage.messagesAfter(conversationId, seq - 1, 1);
    if (!message || message.seq !== seq) throw permanent('The message is gone.');
    const participants = await storage.getParticipants(conversationId);
    const visitor = participants.find((p) => p.role === 'visitor');
    // In a chat, a reply the visitor read there needs no mail.
    if (conversation.kind === 'chat' && visitor && visitor.readSeq >= seq) return { ref: null };
    const relay = this.relayOrWait();
    const token = await storage.conversationMailToken(conversationId);
    const messageId = this.messageIdOf(conversationId, seq);
    const thread = (await storage.mailThread(conversationId, REFERENCES_KEPT)).filter((id) => id !== messageId);
    const unsubscribe = `${this.deps.publicUrl()}/_/mail/unsubscribe/${token}`;
    const footer = `\n\n-- \nReply to this email to answer ${conversation.ownerName}.\nNo more mail from this conversation: ${unsubscribe}`;
    const text = message.event.kind === 'file' && message.body === fileMessageBody(message.event.files) ? '' : message.body;
    const sender = await this.senderOf(conversation.ownerAccountId, conversation.ownerHandle);
    const mail: OutboundMail = {
      from: { name: conversation.ownerName, address: sender.address },
      ...(sender.dkim ? { dkim: sender.dkim } : {}),
      to: [{ name: visitor?.name ?? '', address: conversation.visitorEmail }],
      replyTo: `${conversation.ownerHandle}+c-${token}@${this.deps.domain}`,
      subject: this.subjectOf(conversation, thread.length > 0),
      text: text + footer,
      html: `<div>${escapeHtml(text).replace(/\n/g, '<br>')}</div><p style="color:#555">Reply to this email to answer ${escapeHtml(conversation.ownerName)}. <a href="${escapeHtml(unsubscribe)}">No more mail from this conversation</a></p>`,
      messageId,
      ...(thread.length > 0 ? { inReplyTo: thread[thread.length - 1]!, references: thread } : {}),
      headers: { 'List-Unsubscribe': `<${unsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
      attachments: await this.attachmentsOf(message),
      date: new Date(message.at),
    };
    await relay.send(mail);
    await storage.recordMail({ messageId, accountId: conversation.ownerAccountId, conversationId, seq, rawBlobId: null, htmlBlobId: null, at: this.deps.clock.now() });
    return { ref: messageId };
  }

  private subjectOf(conversation: Conversation, isReply: boolean): string {
    const subject = conversation.subject ?? `Your conversation with ${conversation.ownerName}`;
    return isReply && !/^re:/i.test(subject) ? `Re: ${subject}` : subject;
  }

  private relayOrWait(): MailRelay {
    // Temporary: the mail waits in the outbox until a relay is configured and the process restarted.
    if (this.deps.relay === null) throw new MailSendError('No mail relay is configured (KNOCK_SMTP_RELAY_URL).', false, null);
    return this.deps.relay;
  }

  private async attachmentsOf(message: MessageRecord): Promise<NonNullable<OutboundMail['attachments']>> {
    const refs = message.event.kind === 'file' || message.event.kind === 'email' ? message.event.files : [];
    const attachments: NonNullable<OutboundMail['attachments']> = [];
    for (const ref of refs) {
      const file = await this.deps.storage.getFile(ref.id);
      const stream = file ? await this.deps.blobs.get(file.blobId) : null;
      if (!file || !stream) continue;
      attachments.push({ filename: file.name, contentType: file.type, content: await readAll(stream) });
    }
    return attachments;
  }

  /** A visitor's message for an owner who is offline and has a verified address: one mail per conversation per interval. */
  private async queueNotification(conversationId: string, message: MessageRecord, facts: AppendedFacts): Promise<void> {
    // Mail from a machine (an auto-reply, another server's notification) tells nobody: two Knocks whose owners are
    // notified at each other's addresses would otherwise mail each other for ever (RFC 3834).
    if (message.event.kind === 'email' && message.event.automatic === true) return;
    const { storage, clock } = this.deps;
    if (!facts.ownerEmailVerified) return;
    // An owner with channels (Settings → Channels) is reached as their list says (engine/forwarding/), email there too.
    if (facts.verifiedChannelKinds.length > 0) return;
    if (await this.deps.hub.isOnline(facts.conversation.ownerHandle)) return;
    const mark = await storage.getNotifyMark(conversationId);
    if (message.seq <= mark.seq) return;
    await this.enqueueNotification(conversationId, mark, clock.now());
  }

  /** One job per mark: every message until it is sent joins the same mail. */
  private async enqueueNotification(conversationId: string, mark: { seq: number; at: number }, now: number): Promise<void> {
    await this.deps.outbox.enqueue({
      kind: MailJob.notify,
      key: `${MailJob.notify}:${conversationId}:${mark.seq}`,
      payload: { conversationId, afterSeq: mark.seq, markAt: mark.at },
      conversationId,
      runAt: Math.max(now, mark.at + this.deps.notifyIntervalMs),
      at: now,
    });
  }

  private async sendNotification(job: OutboxJob): Promise<{ ref: string | null }> {
    const { conversationId, afterSeq, markAt } = notifyPayload.parse(job.payload);
    const { storage, clock } = this.deps;
    const conversation = await storage.getConversation(conversationId);
    if (!conversation) return { ref: null };
    const mark = await storage.getNotifyMark(conversationId);
    // Another process's job moved the mark past this one's messages: they were told.
    if (mark.seq !== afterSeq) return { ref: null };
    const messages = (await storage.messagesAfter(conversationId, afterSeq, limits.pageSize)).filter((m) => m.senderRole === 'visitor');
    const participants = await storage.getParticipants(conversationId);
    const owner = participants.find((p) => p.role === 'owner');
    const last = messages[messages.length - 1];
    const email = await storage.getAccountEmail(conversation.ownerAccountId);
    const unread = last !== undefined && (owner?.readSeq ?? 0) < last.seq;
    let ref: string | null = null;
    // Read meanwhile, or the address went: nothing to say; the mark still moves, so the next message starts anew.
    if (unread && email && email.verifiedAt !== null) {
      const relay = this.relayOrWait();
      const visitorName = participants.find((p) => p.role === 'visitor')?.name ?? 'Someone';
      const url = `${this.deps.publicUrl()}/${conversation.ownerHandle}`;
      const quoted = messages.slice(-NOTIFY_QUOTES).map((m) => `> ${m.body.replace(/\n/g, '\n> ')}`);
      const more = messages.length > NOTIFY_QUOTES ? [`(and ${messages.length - NOTIFY_QUOTES} earlier messages)`] : [];
      ref = `knock.notify.${conversationId}.${last.seq}@${this.deps.domain}`;
      await relay.send({
        from: { name: 'Knock', address: `knock@${this.deps.domain}` },
        to: [{ name: conversation.ownerName, address: email.address }],
        subject: `${visitorName} left you a message at ${url}`,
        text: [`${visitorName} wrote to you while you were away:`, '', ...more, ...quoted, '', `Answer at ${url}`].join('\n'),
        messageId: ref,
        headers: { 'Auto-Submitted': 'auto-generated' },
      });
    }
    const upTo = last?.seq ?? afterSeq;
    if (await storage.moveNotifyMark(conversationId, { seq: afterSeq, at: markAt }, { seq: upTo, at: clock.now() })) {
      // What came while this mail went out waits for the next one.
      if (conversation.lastSeq > upTo || (await storage.messagesAfter(conversationId, upTo, 1)).some((m) => m.senderRole === 'visitor')) {
        await this.enqueueNotification(conversationId, { seq: upTo, at: clock.now() }, clock.now());
      }
    }
    return { ref };
  }

  // -- the owner's address ---------------------------------------------------------------------------------------

  async setOwnerEmail(account: Account, address: string | null): Promise<void> {
    const { storage, clock } = this.deps;
    if (address === null) {
      await storage.setAccountEmail(account.id, null);
      return;
    }
    // Notifications mailed to a URL of this same Knock would come back in as mail: a loop, and nobody told.
    if (address.slice(address.lastIndexOf('@') + 1).toLowerCase() === this.deps.domain) {
      throw new KnockError('bad_request', `Give an address elsewhere: ${this.deps.domain} is this Knock's own mail domain.`);
    }
    const current = await storage.getAccountEmail(account.id);
    if (current && current.address.toLowerCase() === address.toLowerCase() && current.verifiedAt !== null) return;
    const token = newSecret();
    const tokenHash = secretHash(token);
    const now = clock.now();
    await storage.setAccountEmail(account.id, { address, verifyTokenHash: tokenHash, at: now });
    await this.deps.outbox.enqueue({
      kind: MailJob.verify,
      key: `${MailJob.verify}:${tokenHash}`,
      payload: { accountId: account.id, address, token },
      runAt: now,
      at: now,
    });
  }

  private async sendVerification(job: OutboxJob): Promise<{ ref: string | null }> {
    const { accountId, address, token } = verifyPayload.parse(job.payload);
    const current = await this.deps.storage.getAccountEmail(accountId);
    const account = await this.deps.storage.getAccountById(accountId);
    // Changed or removed since: this link would verify nothing.
    if (!current || !account || current.address !== address || current.verifiedAt !== null) return { ref: null };
    const relay = this.relayOrWait();
    const link = `${this.deps.publicUrl()}/_/mail/verify/${token}`;
    const ref = `knock.verify.${secretHash(token).slice(0, 16)}@${this.deps.domain}`;
    await relay.send({
      from: { name: 'Knock', address: `knock@${this.deps.domain}` },
      to: [{ name: account.displayName, address }],
      subject: 'Confirm your email address for Knock',
      text: `Open this link to receive notifications for ${this.deps.publicUrl()}/${account.handle} at this address:\n\n${link}\n\nIf you did not ask for this, ignore this mail.`,
      messageId: ref,
      headers: { 'Auto-Submitted': 'auto-generated' },
    });
    return { ref };
  }

  // -- the HTTP layer's other actions ----------------------------------------------------------------------------

  async newEmail(account: Account, input: { to: string; subject: string }): Promise<Conversation> {
    const { conversation } = await this.deps.storage.createConversation({
      ownerAccountId: account.id,
      tokenHash: secretHash(newSecret()),
      visitorName: cut(input.to, limits.nameChars),
      visitorEmail: input.to,
      kind: 'email',
      subject: input.subject,
      at: this.deps.clock.now(),
    });
    return conversation;
  }

  async messageAsMail(conversation: Conversation, message: MessageRecord): Promise<Buffer> {
    const stored = await this.deps.storage.getMail(conversation.id, message.seq);
    if (stored?.rawBlobId) {
      const raw = await this.deps.blobs.get(stored.rawBlobId);
      if (raw) return readAll(raw);
    }
    const participants = await this.deps.storage.getParticipants(conversation.id);
    const visitor = participants.find((p) => p.role === 'visitor');
    const owner: EmailAddress = { name: conversation.ownerName, address: this.addressOf(conversation.ownerHandle) };
    const other: EmailAddress = { name: visitor?.name ?? 'Visitor', address: conversation.visitorEmail ?? `visitor.${conversation.id}@invalid` };
    const fromOwner = message.senderRole === 'owner';
    const text = message.event.kind === 'file' && message.body === fileMessageBody(message.event.files) ? '' : message.body;
    return this.deps.compose({
      from: fromOwner ? owner : other,
      to: [fromOwner ? other : owner],
      subject: this.subjectOf(conversation, message.seq > 1),
      text,
      messageId: this.messageIdOf(conversation.id, message.seq),
      attachments: await this.attachmentsOf(message),
      date: new Date(message.at),
      headers: { 'X-Knock-Event': message.event.kind },
    });
  }
}

/** RFC 4648 base32 in lower case, without padding (mail local parts may be folded to lower case on the way). */
function base32(bytes: Buffer): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

function nameOf(address: EmailAddress): string {
  return cut(address.name.trim() || address.address, limits.nameChars);
}


function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `cid:` references of the sanitized HTML turned into the inline images' data (the frame loads nothing else by itself). */
function withInlineImages(html: string, inline: Map<string, string>): string {
  if (inline.size === 0) return html;
  return html.replace(/(["'])cid:([^"']+)\1/gi, (all, quote: string, cid: string) => {
    const data = inline.get(cid);
    return data === undefined ? all : `${quote}${data}${quote}`;
  });
}

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Bytes in memory as the async source Blobs and Files read. */
async function* bytes(buffer: Buffer): AsyncIterable<Uint8Array> {
  yield buffer;
}
