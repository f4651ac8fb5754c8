/**
 * What Knock sends by SMS in SMS conversations (issue 20), through the outbox (engine/outbox.ts), so a link that is
 * down delays a text but never loses it, and each message shows how its sending stands (engine/deliveries.ts):
 *
 *   the owner's message in an SMS conversation -> job `sms.reply` -> the phone, from the number it wrote to (Knock's
 *     service number, the text then signed "Alice: ..."; or the owner's own number). Not sent to a phone that texted
 *     STOP ("Not delivered: this phone texted STOP"), nor past `repliesPerPhone` (a loop with an auto-responder).
 *   a text to the owner's own number -> job `sms.passOn` -> the owner's phone, from the service number, with who sent
 *     it. Its delivery receipt says failed (phone off, unreachable, expired): the job is marked failed ("Not delivered
 *     to your phone, shown here" under the text) and the owner is told on their other channels (forwarding.notify).
 *
 * Receipts name what they are about by the SMS's id, which is the job's `ref` once the outbox recorded it as sent; a
 * receipt faster than that record waits for it (`early`, bounded), so no failure is lost to the race.
 *
 * @example
 *   const outbound = new SmsOutbound({ storage, log, outbox, sender: sms, forwarding, clock, logger, repliesPerPhone });
 *   sms.onReceipt((receipt) => outbound.receipt(receipt));
 */
import { z } from 'zod';
import type { RateLimitConfig } from '../config.ts';
import type { ConversationLog } from '../conversationLog.ts';
import type { Logger } from '../logger.ts';
import { JobCancelled, type Outbox } from '../outbox.ts';
import type { ChannelKind, ChannelReceipt, TextSender } from '../ports/channel.ts';
import type { Clock } from '../ports/clock.ts';
import type { OutboxJob, Storage } from '../ports/storage.ts';
import type { MessageRecord } from '../protocol.ts';
import { KeyedRateLimiter } from '../rateLimit.ts';
import { maskedName } from './smsText.ts';

/** The outbox's job kinds of SMS conversations. */
export const SmsJob = { reply: 'sms.reply', passOn: 'sms.passOn' } as const;

/** Receipts waiting for their job's record (at most this many, each at most EARLY_RECEIPT_MS). */
const EARLY_RECEIPTS = 1000;
const EARLY_RECEIPT_MS = 60_000;

const jobPayload = z.object({ conversationId: z.string(), seq: z.number().int().positive() });

/** A failure the outbox must not retry. */
class PermanentSmsError extends Error {
  readonly permanent = true;
}

export interface SmsOutboundDeps {
  storage: Storage;
  log: Pick<ConversationLog, 'onAppended'>;
  outbox: Pick<Outbox, 'enqueue' | 'handle' | 'failSentJob' | 'onChange'>;
  sender: Pick<TextSender, 'sendText' | 'serviceNumber'>;
  /** Tells the owner on their other channels (engine/forwarding/forwarding.ts notify). */
  forwarding: {
    notify(input: { accountId: string; conversationId: string; key: string; visitorName: string; texts: string[]; except: ChannelKind[] }): Promise<number>;
  };
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  repliesPerPhone: RateLimitConfig;
}

export class SmsOutbound {
  private readonly repliesPerPhone: KeyedRateLimiter;
  private readonly early = new Map<string, { receipt: ChannelReceipt; at: number }>();

  constructor(private readonly deps: SmsOutboundDeps) {
    this.repliesPerPhone = new KeyedRateLimiter(deps.repliesPerPhone, deps.clock);
    deps.outbox.handle(SmsJob.reply, (job) => this.sendReply(job));
    deps.outbox.handle(SmsJob.passOn, (job) => this.sendPassOn(job));
    deps.log.onAppended((conversationId, message, facts) => {
      if (message.senderRole !== 'owner' || facts.smsPhone === null) return;
      this.queueReply(conversationId, message, facts.smsPhone).catch((err: unknown) => deps.logger.error({ err, conversationId, seq: message.seq }, 'could not queue an SMS reply'));
    });
    deps.outbox.onChange((job) => {
      const early = job.state === 'sent' && job.ref !== null ? this.early.get(job.ref) : undefined;
      if (!early) return;
      this.early.delete(job.ref!);
      this.settle(job, early.receipt).catch((err: unknown) => deps.logger.error({ err, jobId: job.id }, 'could not record an SMS receipt'));
    });
  }

  /** Passes a text to the owner's number on to their phone (the gateway calls it once the text is stored). */
  async passOn(conversationId: string, seq: number): Promise<void> {
    const thread = await this.deps.storage.smsThreadOf(conversationId);
    const number = thread && (await this.deps.storage.phoneNumberOf(thread.accountId));
    if (!number) return;
    await this.enqueue(SmsJob.passOn, conversationId, seq, number.number);
  }

  /** A delivery receipt: a failed one marks the job it is about failed, and for a pass-on tells the owner elsewhere. */
  async receipt(receipt: ChannelReceipt): Promise<void> {
    if (receipt.state !== 'failed') return;
    const job = await this.deps.storage.jobByRef(receipt.externalId);
    if (job) return this.settle(job, receipt);
    // Not recorded yet (the receipt beat the outbox's record of the send), or not ours (a forward's).
    const now = this.deps.clock.now();
    for (const [ref, waiting] of this.early) if (this.early.size >= EARLY_RECEIPTS || now - waiting.at > EARLY_RECEIPT_MS) this.early.delete(ref);
    this.early.set(receipt.externalId, { receipt, at: now });
  }

  /** An owner's message in a conversation with a phone (`phone`: its SMS thread's) goes to that phone by SMS. */
  private async queueReply(conversationId: string, message: MessageRecord, phone: string): Promise<void> {
    if (message.event.kind !== 'text' && message.event.kind !== 'file') return;
    await this.enqueue(SmsJob.reply, conversationId, message.seq, phone);
  }

  private async enqueue(kind: string, conversationId: string, seq: number, recipient: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.outbox.enqueue({ kind, key: `${kind}:${conversationId}:${seq}`, payload: { conversationId, seq }, conversationId, messageSeq: seq, recipient, runAt: now, at: now });
  }

  private async settle(job: OutboxJob, receipt: ChannelReceipt): Promise<void> {
    const error = receipt.error ?? 'UNDELIV';
    if (job.kind === SmsJob.reply) {
      await this.deps.outbox.failSentJob(job.id, `the phone did not get it (${error})`);
      return;
    }
    if (job.kind !== SmsJob.passOn || job.conversationId === null || job.messageSeq === null) return;
    await this.deps.outbox.failSentJob(job.id, `${error}: not delivered to your phone, shown here`);
    const { storage } = this.deps;
    const thread = await storage.smsThreadOf(job.conversationId);
    const [message] = await storage.messagesAfter(job.conversationId, job.messageSeq - 1, 1);
    if (!thread || !message) return;
    await this.deps.forwarding.notify({
      accountId: thread.accountId,
      conversationId: thread.conversationId,
      key: `sms.undelivered:${job.conversationId}:${job.messageSeq}`,
      visitorName: maskedName(thread.phone),
      texts: [`Not delivered to your phone (${error}), it is in Knock: ${message.body}`],
      except: ['sms'],
    });
  }

  private async sendReply(job: OutboxJob): Promise<{ ref: string | null }> {
    const { conversationId, seq } = jobPayload.parse(job.payload);
    const { storage } = this.deps;
    const thread = await storage.smsThreadOf(conversationId);
    if (!thread) throw new PermanentSmsError('The conversation is no SMS conversation any more.');
    if ((await storage.smsPhone(thread.phone))?.stoppedAt != null) throw new PermanentSmsError('this phone texted STOP');
    const message = await this.messageOf(conversationId, seq);
    const conversation = await storage.getConversation(conversationId);
    if (!conversation) throw new JobCancelled('The conversation was deleted.');
    // Counted per try that reaches the phone's limit: a loop with an auto-responder ends here.
    if (!this.repliesPerPhone.take(thread.phone).ok) {
      throw new PermanentSmsError(`more than ${this.deps.repliesPerPhone.perWindow} texts to this phone in ${Math.round(this.deps.repliesPerPhone.windowMs / 60_000)} minutes`);
    }
    const own = thread.via === 'number' ? await storage.phoneNumberOf(thread.accountId) : null;
    // From the service number, many owners write to one phone: each reply says whose it is.
    const text = own ? message.body : `${conversation.ownerName}: ${message.body}`;
    const { externalId } = await this.deps.sender.sendText(thread.phone, text, own ? { from: own.number } : {});
    return { ref: externalId };
  }

  private async sendPassOn(job: OutboxJob): Promise<{ ref: string | null }> {
    const { conversationId, seq } = jobPayload.parse(job.payload);
    const { storage } = this.deps;
    const thread = await storage.smsThreadOf(conversationId);
    if (!thread) throw new JobCancelled('The conversation was deleted.');
    const number = await storage.phoneNumberOf(thread.accountId);
    if (!number) throw new JobCancelled('The owner has no number any more.');
    const message = await this.messageOf(conversationId, seq);
    const { externalId } = await this.deps.sender.sendText(number.number, `${thread.shown}: ${message.body}`);
    return { ref: externalId };
  }

  private async messageOf(conversationId: string, seq: number): Promise<MessageRecord> {
    const [message] = await this.deps.storage.messagesAfter(conversationId, seq - 1, 1);
    if (!message || message.seq !== seq) throw new PermanentSmsError('The message is gone.');
    return message;
  }
}
