/**
 * The line under one of my own messages: how far it got. In a conversation that is all in Knock: "Sending…", "Sent",
 * "Delivered", "Read", or why the server refused it. A message the outbox mails (an email conversation) says how the
 * mailing stands instead, from the server's delivery record: "Sending…", "Sent", "Retrying: <reason>",
 * "Not delivered: <reason>"; in an email conversation a message stored but not yet reported on is still being sent.
 *
 * @example
 *   statusLine({ status: 'sent', event: { kind: 'text' }, delivery: { ...record, state: 'failed', reason: '550 No such user' } }, true);
 *   // { text: 'Not delivered: 550 No such user', tone: 'failed', title: 'To bob@example.net, 1 attempt' }
 */
import type { DeliveryRecord } from '../../engine/protocol.ts';
import type { MessageView } from './sdk/types.ts';

/** How the line looks: under way, done, read by the other side, trying again, or failed for good. */
export type StatusTone = 'pending' | 'done' | 'read' | 'retrying' | 'failed';

export interface StatusLine {
  text: string;
  tone: StatusTone;
  /** More for those who ask (a tooltip): where the mail goes and how many attempts it took. */
  title?: string;
}

/**
 * `mailed`: the conversation is an email thread, whose every message the owner writes is mailed by the outbox.
 */
export function statusLine(message: Pick<MessageView, 'status' | 'error' | 'event' | 'delivery'>, mailed: boolean): StatusLine {
  switch (message.status) {
    case 'pending':
      return { text: 'Sending…', tone: 'pending' };
    case 'failed':
      return { text: `Not sent: ${message.error ?? 'the server refused this message.'}`, tone: 'failed' };
    case 'sent':
    case 'delivered':
    case 'read':
      if (message.delivery !== undefined) return mailingLine(message.delivery);
      // Written text and files are mailed; a call record or a document's card stays in Knock.
      if (mailed && (message.event.kind === 'text' || message.event.kind === 'file')) return { text: 'Sending…', tone: 'pending' };
      return conversationLine(message.status);
  }
}

function conversationLine(status: 'sent' | 'delivered' | 'read'): StatusLine {
  switch (status) {
    case 'sent':
      return { text: 'Sent', tone: 'done' };
    case 'delivered':
      return { text: 'Delivered', tone: 'done' };
    case 'read':
      return { text: 'Read', tone: 'read' };
  }
}

/** How the mailing of a message stands, in words, with the relay's reason when it is retrying or gave up. */
export function mailingLine(record: DeliveryRecord): StatusLine {
  const attempts = record.attempts === 0 ? '' : record.attempts === 1 ? ', 1 attempt' : `, ${record.attempts} attempts`;
  const title = `To ${record.to}${attempts}`;
  const reason = record.reason?.trim() ?? '';
  switch (record.state) {
    case 'sending':
      return { text: 'Sending…', tone: 'pending', title };
    case 'sent':
      return { text: 'Sent', tone: 'done', title };
    case 'retrying':
      return { text: reason === '' ? 'Retrying' : `Retrying: ${reason}`, tone: 'retrying', title };
    case 'failed':
      return { text: reason === '' ? 'Not delivered' : `Not delivered: ${reason}`, tone: 'failed', title };
  }
}
