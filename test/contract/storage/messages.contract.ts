/** Storage contract: appending messages (seqs, idempotency, concurrency), history paging and exact text. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KnockError } from '../../../engine/errors.ts';
import type { AppendResult } from '../../../engine/ports/storage.ts';
import {
  T0, appendSequence, clientMsgId, range, seedAccount, seedConversation, seqsOf, type StorageContext,
} from './fixtures.ts';

export function messageRules(ctx: StorageContext): void {
  describe('appending messages', () => {
    it('assigns contiguous seqs starting at 1 per conversation', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const a = await seedConversation(s, ann);
      const b = await seedConversation(s, ann);
      const seqs: Record<string, number[]> = { a: [], b: [] };
      for (let i = 0; i < 6; i++) {
        // Interleaved: one conversation's messages must not consume the other's seqs.
        const [key, conv] = i % 3 === 0 ? (['b', b] as const) : (['a', a] as const);
        const sender = i % 2 === 0 ? conv.visitor : conv.owner;
        const { message } = await s.appendMessage({
          conversationId: conv.conversation.id, senderId: sender.id, clientMsgId: clientMsgId(i), body: `m${i}`, event: { kind: 'text' }, at: T0 + i,
        });
        seqs[key]?.push(message.seq);
      }
      expect(seqs).toEqual({ a: [1, 2, 3, 4], b: [1, 2] });
      expect((await s.getConversation(a.conversation.id))?.lastSeq).toBe(4);
      expect((await s.getConversation(b.conversation.id))?.lastSeq).toBe(2);
    });

    it("returns the stored message with the sender's role and name", async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s, 'ann', 'Ann'), { visitorName: 'Vic' });
      const result = await s.appendMessage({
        conversationId: conv.conversation.id, senderId: conv.visitor.id, clientMsgId: clientMsgId(1), body: 'Hello', event: { kind: 'text' }, at: T0 + 7,
      });
      const expected = {
        seq: 1, senderId: conv.visitor.id, senderRole: 'visitor', senderName: 'Vic', body: 'Hello', at: T0 + 7,
        clientMsgId: clientMsgId(1), event: { kind: 'text' },
      };
      expect(result).toEqual({ message: expected, duplicate: false });
      expect(await s.messagesAfter(conv.conversation.id, 0, 10)).toEqual([expected]);
      const reply = await s.appendMessage({
        conversationId: conv.conversation.id, senderId: conv.owner.id, clientMsgId: clientMsgId(2), body: 'Hi', event: { kind: 'text' }, at: T0 + 8,
      });
      expect(reply.message).toMatchObject({ seq: 2, senderRole: 'owner', senderName: 'Ann' });
    });

    it("moves the conversation's lastSeq and updatedAt to the new message", async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s), { at: T0 });
      await s.appendMessage({
        conversationId: conv.conversation.id, senderId: conv.visitor.id, clientMsgId: clientMsgId(1), body: 'x', event: { kind: 'text' }, at: T0 + 42,
      });
      expect(await s.getConversation(conv.conversation.id)).toMatchObject({ lastSeq: 1, updatedAt: T0 + 42, createdAt: T0 });
    });

    it('returns the original message for a repeated clientMsgId without writing a new one', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const input = { conversationId: conv.conversation.id, senderId: conv.visitor.id, clientMsgId: clientMsgId(1), event: { kind: 'text' } as const };
      const first = await s.appendMessage({ ...input, body: 'original', at: T0 + 1 });
      const again = await s.appendMessage({ ...input, body: 'a retry with other text', at: T0 + 99 });
      expect(again).toEqual({ message: first.message, duplicate: true });
      expect(await s.getConversation(conv.conversation.id)).toMatchObject({ lastSeq: 1, updatedAt: T0 + 1 });
      expect(await s.messagesAfter(conv.conversation.id, 0, 10)).toEqual([first.message]);
    });

    it('treats the same clientMsgId from two senders as two messages', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const base = { conversationId: conv.conversation.id, clientMsgId: clientMsgId(1), body: 'same', event: { kind: 'text' } as const, at: T0 };
      const fromVisitor = await s.appendMessage({ ...base, senderId: conv.visitor.id });
      const fromOwner = await s.appendMessage({ ...base, senderId: conv.owner.id });
      expect([fromVisitor.duplicate, fromOwner.duplicate]).toEqual([false, false]);
      expect([fromVisitor.message.seq, fromOwner.message.seq]).toEqual([1, 2]);
    });

    it('keeps seqs contiguous and in call order under 200 concurrent appends', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const results = await Promise.all(range(1, 200).map((i) => s.appendMessage({
        conversationId: conv.conversation.id,
        senderId: i % 2 === 0 ? conv.owner.id : conv.visitor.id,
        clientMsgId: clientMsgId(i),
        body: `message ${i}`,
        event: { kind: 'text' },
        at: T0 + i,
      })));
      expect(results.every((r) => !r.duplicate)).toBe(true);
      // Call order is seq order: the ConversationRoom starts each write as its message arrives.
      expect(results.map((r) => r.message.seq)).toEqual(range(1, 200));
      expect(results.map((r) => r.message.body)).toEqual(range(1, 200).map((i) => `message ${i}`));
      const stored = await s.messagesAfter(conv.conversation.id, 0, 1000);
      expect(seqsOf(stored)).toEqual(range(1, 200));
      expect(new Set(stored.map((m) => m.clientMsgId)).size).toBe(200);
      expect((await s.getConversation(conv.conversation.id))?.lastSeq).toBe(200);
    });

    it('stores one message when the same clientMsgId is appended 20 times at once', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const input = {
        conversationId: conv.conversation.id, senderId: conv.visitor.id, clientMsgId: clientMsgId(1), body: 'once', event: { kind: 'text' } as const, at: T0,
      };
      const results = await Promise.all(range(1, 20).map(() => s.appendMessage(input)));
      expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(new Set(results.map((r) => r.message.seq))).toEqual(new Set([1]));
      expect(await s.messagesAfter(conv.conversation.id, 0, 100)).toHaveLength(1);
    });

    it('refuses a sender of another conversation with forbidden, storing nothing, and the next append takes the next seq', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const mine = await seedConversation(s, ann);
      const other = await seedConversation(s, ann);
      await appendSequence(s, mine, mine.visitor, 2);
      const text = { kind: 'text' } as const;
      // The intruder sent this clientMsgId in their own conversation: refused here, not answered with that message.
      await s.appendMessage({
        conversationId: other.conversation.id, senderId: other.visitor.id, clientMsgId: clientMsgId(1), body: 'mine', event: text, at: T0,
      });
      const intruder = s.appendMessage({
        conversationId: mine.conversation.id, senderId: other.visitor.id, clientMsgId: clientMsgId(1), body: 'x', event: text, at: T0,
      });
      await expect(intruder).rejects.toBeInstanceOf(KnockError);
      await expect(intruder).rejects.toMatchObject({ code: 'forbidden', message: 'The sender is not a member of this conversation.' });
      const unknown = s.appendMessage({
        conversationId: mine.conversation.id, senderId: 'no-such-participant', clientMsgId: clientMsgId(2), body: 'x', event: text, at: T0,
      });
      await expect(unknown).rejects.toMatchObject({ code: 'forbidden' });
      expect((await s.getConversation(mine.conversation.id))?.lastSeq).toBe(2);
      expect((await s.getConversation(other.conversation.id))?.lastSeq).toBe(1);

      const next = await s.appendMessage({
        conversationId: mine.conversation.id, senderId: mine.owner.id, clientMsgId: clientMsgId(3), body: 'next', event: text, at: T0 + 1,
      });
      expect(next.message.seq).toBe(3);
      expect((await s.messagesAfter(mine.conversation.id, 0, 10)).map((m) => [m.seq, m.senderId])).toEqual([
        [1, mine.visitor.id], [2, mine.visitor.id], [3, mine.owner.id],
      ]);
    });

    it('refuses one append of a burst without undoing the others', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const mine = await seedConversation(s, ann);
      const other = await seedConversation(s, ann);
      const append = (senderId: string, n: number) => s.appendMessage({
        conversationId: mine.conversation.id, senderId, clientMsgId: clientMsgId(n), body: `burst ${n}`, event: { kind: 'text' }, at: T0,
      });
      const outcomes = await Promise.allSettled([append(mine.visitor.id, 1), append(other.visitor.id, 2), append(mine.visitor.id, 3)]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'forbidden' });
      expect((await s.messagesAfter(mine.conversation.id, 0, 10)).map((m) => [m.seq, m.body])).toEqual([[1, 'burst 1'], [2, 'burst 3']]);
    });

    it('refuses a message to a conversation that does not exist', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const lost = s.appendMessage({
        conversationId: 'no-such-conversation', senderId: conv.visitor.id, clientMsgId: clientMsgId(1), body: 'x', event: { kind: 'text' }, at: T0,
      });
      await expect(lost).rejects.toMatchObject({ code: 'not_found' });
    });

    it('for any sequence of appends with repeated clientMsgIds, seqs are 1..n and each (sender, clientMsgId) is stored once', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const op = fc.record({
        sender: fc.constantFrom('owner', 'visitor'),
        key: fc.integer({ min: 0, max: 7 }), // few keys, so repeats are common
        body: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
      });
      // fast-check prints the seed and the shrunk counterexample when this fails (CONVENTIONS 14).
      await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), fc.boolean(), async (ops, concurrent) => {
        const conv = await seedConversation(s, ann); // a fresh conversation per run: seqs start again at 1
        const append = (o: (typeof ops)[number]): Promise<AppendResult> => s.appendMessage({
          conversationId: conv.conversation.id,
          senderId: (o.sender === 'owner' ? conv.owner : conv.visitor).id,
          clientMsgId: clientMsgId(o.key),
          body: o.body,
          event: { kind: 'text' },
          at: T0,
        });
        const results: AppendResult[] = [];
        if (concurrent) results.push(...(await Promise.all(ops.map(append))));
        else for (const o of ops) results.push(await append(o));

        const firstOf = new Map<string, number>(); // "sender/key" -> index of its first op
        ops.forEach((o, i) => { if (!firstOf.has(`${o.sender}/${o.key}`)) firstOf.set(`${o.sender}/${o.key}`, i); });
        const n = firstOf.size;
        const stored = await s.messagesAfter(conv.conversation.id, 0, 1000);
        expect(seqsOf(stored)).toEqual(range(1, n));
        expect(new Set(stored.map((m) => `${m.senderRole}/${m.clientMsgId}`)).size).toBe(n);
        expect(results.filter((r) => !r.duplicate)).toHaveLength(n);
        ops.forEach((o, i) => {
          const original = stored.find((m) => m.senderRole === o.sender && m.clientMsgId === clientMsgId(o.key));
          expect(results[i]?.message).toEqual(original);
          // Appends apply in call order, awaited one by one or all started at once.
          expect(results[i]?.duplicate).toBe(firstOf.get(`${o.sender}/${o.key}`) !== i);
          expect(original?.body).toBe(ops[firstOf.get(`${o.sender}/${o.key}`) ?? -1]?.body);
        });
      }), { numRuns: 60 });
    });
  });

  describe('history', () => {
    it('pages forward with messagesAfter, ascending, at most `limit`', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      await appendSequence(s, conv, conv.visitor, 25);
      const id = conv.conversation.id;
      expect(seqsOf(await s.messagesAfter(id, 0, 10))).toEqual(range(1, 10));
      expect(seqsOf(await s.messagesAfter(id, 10, 10))).toEqual(range(11, 20));
      expect(seqsOf(await s.messagesAfter(id, 20, 10))).toEqual(range(21, 25));
      expect(await s.messagesAfter(id, 25, 10)).toEqual([]);
      expect(await s.messagesAfter(id, 0, 0)).toEqual([]);
    });

    it('pages back with messagesBefore: the newest `limit` below the seq, ascending', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const all = await appendSequence(s, conv, conv.visitor, 25);
      const id = conv.conversation.id;
      expect(seqsOf(await s.messagesBefore(id, 26, 10))).toEqual(range(16, 25));
      expect(seqsOf(await s.messagesBefore(id, 16, 10))).toEqual(range(6, 15));
      expect(seqsOf(await s.messagesBefore(id, 6, 10))).toEqual(range(1, 5));
      expect(await s.messagesBefore(id, 1, 10)).toEqual([]);
      // A beforeSeq past the end is "from the newest".
      expect(seqsOf(await s.messagesBefore(id, Number.MAX_SAFE_INTEGER, 3))).toEqual([23, 24, 25]);
      expect(await s.messagesBefore(id, 26, 0)).toEqual([]);

      const pages = [];
      for (let before = 26; before > 1;) {
        const page = await s.messagesBefore(id, before, 7);
        pages.unshift(...page);
        before = page[0]?.seq ?? 1;
      }
      expect(pages).toEqual(all);
    });

    it("never returns another conversation's messages", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const a = await seedConversation(s, ann);
      const b = await seedConversation(s, ann);
      await appendSequence(s, a, a.visitor, 3, 'in-a');
      await appendSequence(s, b, b.visitor, 3, 'in-b');
      for (const m of [...(await s.messagesAfter(a.conversation.id, 0, 10)), ...(await s.messagesBefore(a.conversation.id, 10, 10))]) {
        expect(m.body.startsWith('in-a')).toBe(true);
      }
      expect(await s.messagesAfter('no-such-conversation', 0, 10)).toEqual([]);
    });
  });

  describe('text', () => {
    const longBody = 'aé€😀'.repeat(3200); // 16,000 UTF-16 code units mixing 1-, 2-, 3- and 4-byte UTF-8
    const bodies = [
      'emoji 😀 👩‍👩‍👧‍👦 🏳️‍🌈 family and flags',
      '<img src=x onerror=alert(1)>',
      "Robert'); DROP TABLE messages;--",
      'NUL \u0000 in the middle and at the end\u0000',
      '  leading and trailing spaces, CRLF\r\n, tab\t, newline\n  ',
      'e\u0301 combining, \u202Eright-to-left override, مرحبا, 日本語, \uFEFFBOM, zero\u200Bwidth',
      '%s %d ${x} \\ \\\\ "quoted" \'single\' `back`',
      longBody,
    ];

    it('stores message bodies byte-exact: emoji, HTML, NUL, 16000 characters', async () => {
      expect(longBody.length).toBe(16_000);
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      for (const [i, body] of bodies.entries()) {
        const { message } = await s.appendMessage({
          conversationId: conv.conversation.id, senderId: conv.visitor.id, clientMsgId: clientMsgId(i), body, event: { kind: 'text' }, at: T0 + i,
        });
        expect(message.body).toBe(body);
        const summary = await s.getConversationSummary(conv.conversation.id);
        expect(summary?.lastMessage?.body).toBe(body);
      }
      const stored = await s.messagesAfter(conv.conversation.id, 0, 100);
      expect(stored.map((m) => m.body)).toEqual(bodies);
      for (const [i, m] of stored.entries()) {
        expect(Buffer.from(m.body, 'utf8').equals(Buffer.from(bodies[i] ?? '', 'utf8'))).toBe(true);
      }
    });

    it('stores names byte-exact', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann', '<b>Ann</b> 😀 \u0000');
      const conv = await seedConversation(s, ann, { visitorName: '<script>x</script> 👩‍👩‍👧' });
      expect((await s.getAccountById(ann.id))?.displayName).toBe('<b>Ann</b> 😀 \u0000');
      expect((await s.getConversation(conv.conversation.id))?.ownerName).toBe('<b>Ann</b> 😀 \u0000');
      expect((await s.getConversationSummary(conv.conversation.id))?.visitorName).toBe('<script>x</script> 👩‍👩‍👧');
    });

    it('refuses text with a lone UTF-16 surrogate rather than storing something else', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const broken = s.appendMessage({
        conversationId: conv.conversation.id, senderId: conv.visitor.id, clientMsgId: clientMsgId(1), body: 'half \uD83D emoji', event: { kind: 'text' }, at: T0,
      });
      await expect(broken).rejects.toMatchObject({ code: 'bad_request' });
      expect((await s.getConversation(conv.conversation.id))?.lastSeq).toBe(0);
      await expect(s.renameParticipant(conv.visitor.id, '\uDE00')).rejects.toMatchObject({ code: 'bad_request' });
    });
  });
}
