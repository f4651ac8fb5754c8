/**
 * Storage contract: the typed event of every message (protocol conversationEvent) comes back exactly as it was
 * appended, from every path that returns a message: the append itself, a retry of it, messagesAfter, messagesBefore.
 */
import { describe, expect, it } from 'vitest';
import type { Storage } from '../../../engine/ports/storage.ts';
import { conversationEvent, type ConversationEvent, type ConversationEventKind } from '../../../engine/protocol.ts';
import { T0, fileRef, seedAccount, seedConversation, seedFile, type SeededConversation, type StorageContext } from './fixtures.ts';

/** An email's envelope with text JSON must escape (quotes, a backslash, a line break, NUL, an emoji) and a failed DMARC. */
const emailEnvelope = {
  subject: 'Re: "Invoice" \\ march\n\u0000 😀',
  from: { address: 'zoe@example.com', name: 'Zoë "Z" Durand' },
  to: [{ address: 'ann@knock.example', name: '' }, { address: 'ann+c-abcdefghijklmnopqrst@knock.example', name: 'Ann' }],
  messageId: 'CAF=3x+yz@mail.example.com',
  auth: { spf: 'pass', dkim: 'fail', dmarc: 'fail', arc: 'none', suspicious: true },
  html: true,
  files: [],
} satisfies Omit<Extract<ConversationEvent, { kind: 'email' }>, 'kind'>;

/**
 * Events of every kind, each with its edge values (nulls, the longest ids, text that JSON must escape). Typed by
 * kind, so a kind added to the protocol does not compile here until it has samples.
 */
const samples: { [K in ConversationEventKind]: Array<Extract<ConversationEvent, { kind: K }>> } = {
  text: [{ kind: 'text' }],
  call: [
    { kind: 'call', callId: 'call-0001', media: 'video', reason: 'completed', durationMs: 754_000 },
    { kind: 'call', callId: 'c'.repeat(64), media: 'audio', reason: 'missed', durationMs: null },
    { kind: 'call', callId: 'call_0003', media: 'audio', reason: 'cancelled', durationMs: 0 },
  ],
  doc: [{ kind: 'doc', docId: 'doc-0001' }],
  'game.invite': [{ kind: 'game.invite', gameId: 'game-0001', game: 'connect4' }],
  'game.answer': [
    { kind: 'game.answer', gameId: 'game-0001', game: 'connect4', answer: 'accepted' },
    { kind: 'game.answer', gameId: 'game-0002', game: 'chess', answer: 'declined' },
    { kind: 'game.answer', gameId: 'game-0003', game: 'pong', answer: 'withdrawn' },
  ],
  'game.result': [
    { kind: 'game.result', gameId: 'game-0001', game: 'connect4', winnerSeat: 1, reason: 'four in a row' },
    { kind: 'game.result', gameId: 'game-0004', game: 'chess', winnerSeat: null, reason: null },
    // Text a reason could hold that JSON escapes: quotes, a backslash, a line break, NUL, an emoji.
    { kind: 'game.result', gameId: 'game-0005', game: 'pong', winnerSeat: 0, reason: 'a "quoted" \\ reason\n\u0000 😀' },
  ],
  system: [{ kind: 'system' }],
  // A file event names files uploaded into its conversation by its sender: made per test (withFileEvents).
  file: [],
  // An email without attachments here; one with them is made per test, as a file event (withFileEvents).
  email: [{ kind: 'email', ...emailEnvelope }],
  sms: [{ kind: 'sms', via: 'service' }, { kind: 'sms', via: 'number' }],
};
const allSamples: ConversationEvent[] = Object.values(samples).flat();

/** Who appends the `i`th event (appendEach): the visitor and the owner in turn. */
const senderOf = (conv: SeededConversation, i: number) => (i % 2 === 0 ? conv.visitor : conv.owner);

/**
 * `events` followed by two file events and an email of the conversation, each naming files its sender uploaded: one
 * image, two files whose names JSON must escape, and the email's attachment.
 */
async function withFileEvents(s: Storage, conv: SeededConversation, events: readonly ConversationEvent[]): Promise<ConversationEvent[]> {
  const first = senderOf(conv, events.length);
  const second = senderOf(conv, events.length + 1);
  const photo = await seedFile(s, conv, first, { name: 'photo.jpg', image: { width: 800, height: 600 }, thumb: 'photo-thumb' });
  const quoted = await seedFile(s, conv, second, { name: 'a "quoted" \\ name\u0000 😀.pdf' });
  const plain = await seedFile(s, conv, second, { name: 'x.pdf', size: 0 });
  const attachment = await seedFile(s, conv, senderOf(conv, events.length + 2), { name: 'invoice-march.pdf' });
  return [
    ...events,
    { kind: 'file', files: [fileRef(photo)] },
    { kind: 'file', files: [fileRef(quoted), fileRef(plain)] },
    { kind: 'email', ...emailEnvelope, files: [fileRef(attachment)] },
  ];
}

/** Appends one message per event, from the owner and the visitor in turn, keyed `e:<index>` like a server's event. */
function appendEach(s: Storage, conv: SeededConversation, events: readonly ConversationEvent[], concurrent: boolean) {
  const append = (event: ConversationEvent, i: number) => s.appendMessage({
    conversationId: conv.conversation.id,
    senderId: senderOf(conv, i).id,
    clientMsgId: `e:${i}`,
    body: `event ${i}`,
    event,
    at: T0 + i,
  });
  return concurrent ? Promise.all(events.map(append)) : events.reduce(
    async (done, event, i) => [...(await done), await append(event, i)],
    Promise.resolve([] as Awaited<ReturnType<typeof append>>[]),
  );
}

export function eventRules(ctx: StorageContext): void {
  describe('conversation events', () => {
    for (const concurrent of [false, true]) {
      it(`returns every kind of event as appended (${concurrent ? 'one burst' : 'one by one'}), through each read`, async () => {
        const s = ctx.storage();
        const conv = await seedConversation(s, await seedAccount(s));
        const id = conv.conversation.id;
        const events = await withFileEvents(s, conv, allSamples);
        const results = await appendEach(s, conv, events, concurrent);
        expect(results.map((r) => r.message.event)).toEqual(events);
        expect((await s.messagesAfter(id, 0, 100)).map((m) => m.event)).toEqual(events);
        expect((await s.messagesBefore(id, 1000, 100)).map((m) => m.event)).toEqual(events);
        // Paging does not shift an event onto a neighbour: the middle pages hold the same events at the same seqs.
        expect((await s.messagesAfter(id, 3, 4)).map((m) => [m.seq, m.event])).toEqual(events.slice(3, 7).map((e, i) => [i + 4, e]));
        for (const m of await s.messagesAfter(id, 0, 100)) expect(conversationEvent.parse(m.event)).toEqual(m.event);
      });
    }

    it('answers a retry with the event stored first, even when the retry carries another one', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const missed: ConversationEvent = { kind: 'call', callId: 'call-0001', media: 'audio', reason: 'missed', durationMs: null };
      const completed: ConversationEvent = { ...missed, reason: 'completed', durationMs: 1000 };
      const key = { conversationId: conv.conversation.id, senderId: conv.owner.id, clientMsgId: 'call:call-0001', body: 'Missed call' };
      const first = await s.appendMessage({ ...key, event: missed, at: T0 });
      const retry = await s.appendMessage({ ...key, event: completed, at: T0 + 1 });
      expect(retry).toEqual({ message: first.message, duplicate: true });
      expect(retry.message.event).toEqual(missed);
      // Retries racing in one burst, each with its own event: every one is answered with the first.
      const declined: ConversationEvent = { ...missed, callId: 'call-0002', reason: 'declined' };
      const burst = await Promise.all([declined, completed, { kind: 'text' } as const].map((event) => s.appendMessage({
        ...key, clientMsgId: 'call:call-0002', event, at: T0 + 2,
      })));
      expect(burst.map((r) => r.duplicate)).toEqual([false, true, true]);
      expect(burst.map((r) => r.message.event)).toEqual([declined, declined, declined]);
      expect((await s.messagesAfter(conv.conversation.id, 0, 10)).map((m) => m.event)).toEqual([missed, declined]);
    });

    it("keeps each message's event apart from the text of its body", async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      // A person may write what a record's body says; it stays text. A record's body may be anything; it stays its kind.
      const written = [
        { body: 'Missed video call', event: { kind: 'text' } as const, clientMsgId: 'cmid-0001' },
        { body: 'hello', event: { kind: 'doc', docId: 'doc-0001' } as const, clientMsgId: 'doc:doc-0001' },
      ];
      for (const [i, w] of written.entries()) {
        await s.appendMessage({ conversationId: conv.conversation.id, senderId: conv.visitor.id, ...w, at: T0 + i });
      }
      expect((await s.messagesAfter(conv.conversation.id, 0, 10)).map((m) => ({ body: m.body, event: m.event, clientMsgId: m.clientMsgId })))
        .toEqual(written);
    });
  });
}
