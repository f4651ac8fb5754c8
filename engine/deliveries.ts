/**
 * How an outbox job that carries a message reads to its owner (protocol `deliveryRecord`): the line under the
 * message, "Sending…", "Sent", "Retrying: …", "Not delivered: …". The outbox's states are richer than the owner
 * needs: a job waiting for its first try, or being tried now, is "sending" either way.
 */
import type { OutboxJob } from './ports/storage.ts';
import type { DeliveryRecord } from './protocol.ts';

/** The delivery line of a job, or null for a job that carries no message of a conversation (a notification, a link). */
export function deliveryOf(job: OutboxJob): DeliveryRecord | null {
  // A cancelled job carries no message (forwards are no reply to a visitor; a pass-on to a number released is moot).
  if (job.messageSeq === null || job.conversationId === null || job.recipient === null || job.state === 'cancelled') return null;
  return {
    seq: job.messageSeq,
    channel: job.kind.startsWith('sms.') ? 'sms' : 'email',
    to: job.recipient,
    // Issue 20: a text to the owner's number passed on to their phone is shown under that text (engine/sms/).
    ...(job.kind === 'sms.passOn' ? { purpose: 'passOn' as const } : {}),
    state: job.state === 'pending' ? 'sending' : job.state,
    reason: job.state === 'retrying' || job.state === 'failed' ? job.lastError : null,
    attempts: job.attempts,
    at: job.updatedAt,
  };
}
