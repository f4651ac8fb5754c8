/**
 * The line under the owner's own messages (client/src/statusLine.ts): how far a message got in Knock, or, when the
 * outbox mails it (an email conversation), how the mailing stands, from the server's latest delivery record.
 */
import { describe, expect, it } from 'vitest';
import type { DeliveryRecord } from '../../engine/protocol.ts';
import type { MessageView } from '../../client/src/sdk/types.ts';
import { mailingLine, statusLine } from '../../client/src/statusLine.ts';

const record = (more: Partial<DeliveryRecord>): DeliveryRecord => ({
  seq: 4,
  channel: 'email',
  to: 'bob@example.net',
  state: 'sending',
  reason: null,
  attempts: 0,
  at: 1_000,
  ...more,
});
const text = { kind: 'text' } as const;
type Shown = Pick<MessageView, 'status' | 'error' | 'event' | 'delivery'>;

describe('statusLine', () => {
  it('says how a mailing stands: Sending…, Sent, Retrying with the reason, Not delivered with the reason', () => {
    const line = (delivery: DeliveryRecord) => statusLine({ status: 'sent', event: text, delivery }, true).text;
    expect(line(record({ state: 'sending' }))).toBe('Sending…');
    expect(line(record({ state: 'sent', attempts: 1 }))).toBe('Sent');
    expect(line(record({ state: 'retrying', reason: '451 4.7.1 Greylisted, try again later', attempts: 2 }))).toBe('Retrying: 451 4.7.1 Greylisted, try again later');
    expect(line(record({ state: 'failed', reason: '550 5.1.1 No such user', attempts: 1 }))).toBe('Not delivered: 550 5.1.1 No such user');
  });

  it('gives the tone and the details of a mailing (where it goes, how many attempts), and does without a reason', () => {
    expect(mailingLine(record({ state: 'retrying', reason: null, attempts: 3 }))).toEqual({ text: 'Retrying', tone: 'retrying', title: 'To bob@example.net, 3 attempts' });
    expect(mailingLine(record({ state: 'failed', reason: '  ', attempts: 1 }))).toEqual({ text: 'Not delivered', tone: 'failed', title: 'To bob@example.net, 1 attempt' });
    expect(mailingLine(record({ state: 'sending' })).title).toBe('To bob@example.net');
  });

  it('shows a mailed message as sending until the server reports on it; a call record or card is not mailed', () => {
    expect(statusLine({ status: 'sent', event: text }, true)).toEqual({ text: 'Sending…', tone: 'pending' });
    expect(statusLine({ status: 'read', event: { kind: 'file', files: [] } }, true).text).toBe('Sending…');
    expect(statusLine({ status: 'sent', event: { kind: 'doc', docId: 'doc12345' } }, true).text).toBe('Sent');
  });

  it('keeps the ordinary line in a conversation that is not mailed, and for messages not stored yet', () => {
    const cases: [Shown, string][] = [
      [{ status: 'pending', event: text }, 'Sending…'],
      [{ status: 'sent', event: text }, 'Sent'],
      [{ status: 'delivered', event: text }, 'Delivered'],
      [{ status: 'read', event: text }, 'Read'],
      [{ status: 'failed', event: text, error: 'The message is empty.' }, 'Not sent: The message is empty.'],
      [{ status: 'failed', event: text }, 'Not sent: the server refused this message.'],
    ];
    for (const [message, shown] of cases) expect(statusLine(message, false).text).toBe(shown);
    // Pending and refused messages never reached the outbox: the same words in an email conversation.
    expect(statusLine({ status: 'pending', event: text }, true).text).toBe('Sending…');
    expect(statusLine({ status: 'failed', event: text, error: 'Too long.' }, true).text).toBe('Not sent: Too long.');
  });

  it('lets a delivery record speak even where the conversation is not an email thread (a visitor answered by mail)', () => {
    expect(statusLine({ status: 'read', event: text, delivery: record({ state: 'sent', attempts: 1 }) }, false).text).toBe('Sent');
  });
});
