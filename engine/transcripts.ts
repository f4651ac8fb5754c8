/**
 * The transcript of a conversation by email (issue 19; tawk.to's and LiveChat's "Email transcript"): its visitor (or
 * its owner) asks, and the conversation so far is mailed to the address given, as plain text, one line per message
 * ("[2024-05-01 14:03 UTC] Ann: Hello"), from the owner's address at the mail domain like every other mail of theirs.
 * It goes through the outbox (job `mail.transcript`), which retries it until the relay takes it. Who may ask, and how
 * often, is the HTTP layer's (engine/http/transcriptApi.ts).
 *
 * @example
 *   const transcripts = new Transcripts({ storage, outbox, relay, clock, domain: 'knock.example' });
 *   await transcripts.request(conversation, 'vera@example.com');
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { KnockError } from './errors.ts';
import type { MailOutbox } from './mail.ts';
import type { Clock } from './ports/clock.ts';
import { MailSendError, type MailRelay } from './ports/mail.ts';
import type { Conversation, OutboxJob, Storage } from './ports/storage.ts';
import { fileMessageBody, limits, type MessageRecord } from './protocol.ts';

export const TRANSCRIPT_JOB = 'mail.transcript';

/**
 * A transcript holds at most this many messages, the newest (a note says how many earlier ones were left out): a
 * chat of a few hours is a few hundred; years of an email conversation need no single mail.
 */
export const TRANSCRIPT_MAX_MESSAGES = 2000;

export interface TranscriptsDeps {
  storage: Storage;
  outbox: Pick<MailOutbox, 'enqueue' | 'handle'>;
  /** The relay, or null when none is configured: then transcripts are refused rather than left waiting. */
  relay: MailRelay | null;
  clock: Clock;
  /** Every URL's mail domain (config `mailDomain`): the owner's address is `<handle>@<domain>`. */
  domain: string;
}

/** The messages up to `upToSeq`: those there when it was asked for, not what was written while it waited. */
const transcriptPayload = z.object({ conversationId: z.string(), email: z.string(), upToSeq: z.number().int().nonnegative() });

export class Transcripts {
  constructor(private readonly deps: TranscriptsDeps) {
    deps.outbox.handle(TRANSCRIPT_JOB, (job) => this.send(job));
  }

  /**
   * Queues the conversation's transcript to `email` (checked by the caller). Refused (`unavailable`) on a server
   * without a mail relay, and (`bad_request`) for a conversation with nothing in it yet.
   */
  async request(conversation: Conversation, email: string): Promise<void> {
    if (this.deps.relay === null) {
      throw new KnockError('unavailable', 'This server does not send email, so the transcript cannot be mailed. Copy the conversation instead.');
    }
    if (conversation.lastSeq === 0) throw new KnockError('bad_request', 'There is nothing to send yet: the conversation has no messages.');
    const now = this.deps.clock.now();
    await this.deps.outbox.enqueue({
      kind: TRANSCRIPT_JOB,
      // Each request is a mail of its own (the HTTP layer limits how many).
      key: `${TRANSCRIPT_JOB}:${conversation.id}:${randomUUID()}`,
      payload: { conversationId: conversation.id, email, upToSeq: conversation.lastSeq },
      conversationId: conversation.id,
      recipient: email,
      runAt: now,
      at: now,
    });
  }

  private async send(job: OutboxJob): Promise<{ ref: string }> {
    const { conversationId, email, upToSeq } = transcriptPayload.parse(job.payload);
    const conversation = await this.deps.storage.getConversation(conversationId);
    if (!conversation) throw new MailSendError('The conversation was deleted.', true, null);
    // Temporary: the mail waits in the outbox until a relay is configured and the process restarted.
    if (this.deps.relay === null) throw new MailSendError('No mail relay is configured (KNOCK_SMTP_RELAY_URL).', false, null);
    const from = Math.max(0, upToSeq - TRANSCRIPT_MAX_MESSAGES);
    const messages = await this.messagesBetween(conversationId, from, upToSeq);
    const ref = `knock.transcript.${job.id}@${this.deps.domain}`;
    await this.deps.relay.send({
      from: { name: conversation.ownerName, address: `${conversation.ownerHandle}@${this.deps.domain}` },
      to: [{ name: '', address: email }],
      subject: `Your conversation with ${conversation.ownerName}`,
      text: transcriptText(conversation, messages, from),
      messageId: ref,
    });
    return { ref };
  }

  /** Messages with `after` < seq <= `upTo`, in pages. */
  private async messagesBetween(conversationId: string, after: number, upTo: number): Promise<MessageRecord[]> {
    const out: MessageRecord[] = [];
    let last = after;
    while (last < upTo) {
      const page = await this.deps.storage.messagesAfter(conversationId, last, limits.pageSize);
      for (const m of page) if (m.seq <= upTo) out.push(m);
      const end = page.at(-1)?.seq;
      if (end === undefined) break;
      last = end;
    }
    return out;
  }
}

/**
 * The mail's text: a heading, then each message as `[time] Name: text` (times in UTC: the server does not know the
 * reader's zone), a message's files by name, continued lines indented under it.
 *
 * @example
 *   transcriptText(conversation, messages, 0);
 *   // "Your conversation with Acme Ltd\n\n[2024-05-01 14:03 UTC] Vera: Hello\n..."
 */
export function transcriptText(conversation: Conversation, messages: readonly MessageRecord[], leftOut: number): string {
  const lines = [`Your conversation with ${conversation.ownerName}`, ''];
  if (leftOut > 0) lines.push(`(${leftOut} earlier messages are not included.)`, '');
  for (const m of messages) lines.push(`[${utcMinute(m.at)}] ${m.senderName}: ${lineOf(m).replace(/\n/g, '\n    ')}`);
  return `${lines.join('\n')}\n`;
}

function lineOf(m: MessageRecord): string {
  if (m.event.kind !== 'file' && m.event.kind !== 'email') return m.body;
  const files = m.event.files;
  const text = m.event.kind === 'file' && m.body === fileMessageBody(files) ? '' : m.body;
  const names = files.length > 0 ? `(files: ${files.map((f) => f.name).join(', ')})` : '';
  return [text, names].filter((s) => s !== '').join(' ');
}

function utcMinute(at: number): string {
  return `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
