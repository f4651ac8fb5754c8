/**
 * How an outbox job that carries a message reads to its owner (protocol `deliveryRecord`): the line under the
 * message, "Sending…", "Sent", "Retrying: …", "Not delivered: …". The outbox's states are richer than the owner
 * needs: a job waiting for its first try, or being tried now, is "sending" either way.
 */
import type { OutboxJob } from './ports/storage.ts';
import type { DeliveryRecord } from './protocol.ts';

/** The delivery line of a job, or null for a job that carries no message of a conversation (a notification, a link). */
export function deliveryOf(job: OutboxJob): DeliveryRecord | null {
  // A cancelled job carries no message (only forwards are cancelled, and they are no reply to a visitor).
  if (job.messageSeq === null || job.conversationId === null || job.recipient === null || job.state === 'cancelled') return null;
  return {
    seq: job.messageSeq,
    channel: 'email',
    to: job.recipient,
    state: job.state === 'pending' ? 'sending' : job.state,
    reason: job.state === 'retrying' || job.state === 'failed' ? job.lastError : null,
    attempts: job.attempts,
    at: job.updatedAt,
  };
}
