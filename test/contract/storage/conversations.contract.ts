/** Storage contract: conversations, the owner's inbox (summaries, unread counts) and participants' receipts. */
import { describe, expect, it } from 'vitest';
import { KnockError } from '../../../engine/errors.ts';
import { limits } from '../../../engine/protocol.ts';
import {
  T0, URL_SAFE_ID, appendSequence, clientMsgId, seedAccount, seedConversation, type StorageContext,
} from './fixtures.ts';

export function conversationRules(ctx: StorageContext): void {
  describe('conversations', () => {
    it('creates a conversation with an owner named after the account and a visitor named as given', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann', 'Ann Example');
      const { conversation, owner, visitor } = await seedConversation(s, ann, { visitorName: 'Vic', at: T0 + 5 });
      expect(conversation).toEqual({
        id: conversation.id, ownerAccountId: ann.id, ownerHandle: 'ann', ownerName: 'Ann Example',
        lastSeq: 0, createdAt: T0 + 5, updatedAt: T0 + 5, kind: 'chat', subject: null, visitorEmail: null, visitorEmailOff: false,
        startedOn: null,
      });
      expect(owner).toEqual({
        id: owner.id, conversationId: conversation.id, role: 'owner', accountId: ann.id, name: 'Ann Example',
        deliveredSeq: 0, readSeq: 0,
      });
      expect(visitor).toEqual({
        id: visitor.id, conversationId: conversation.id, role: 'visitor', accountId: null, name: 'Vic',
        deliveredSeq: 0, readSeq: 0,
      });
      expect(await s.getConversation(conversation.id)).toEqual(conversation);
      const stored = await s.getParticipants(conversation.id);
      expect(stored).toHaveLength(2);
      expect(stored).toEqual(expect.arrayContaining([owner, visitor]));
    });

    it('stores an empty visitor name as given (the reader shows "Visitor")', async () => {
      const s = ctx.storage();
      const { conversation, visitor } = await seedConversation(s, await seedAccount(s), { visitorName: '' });
      expect(visitor.name).toBe('');
      expect((await s.getParticipants(conversation.id)).find((p) => p.role === 'visitor')?.name).toBe('');
      expect((await s.getConversationSummary(conversation.id))?.visitorName).toBe('');
    });

    it('gives conversations and participants distinct ids made only of [A-Za-z0-9_-]', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const { conversation, owner, visitor } = await seedConversation(s, ann);
        ids.push(conversation.id, owner.id, visitor.id);
      }
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of ids) {
        expect(id).toMatch(URL_SAFE_ID);
        expect(id.length).toBeLessThanOrEqual(64);
      }
    });

    it('finds a conversation by its token hash and by nothing else', async () => {
      const s = ctx.storage();
      const { conversation, tokenHash } = await seedConversation(s, await seedAccount(s));
      expect(await s.getConversationByTokenHash(tokenHash)).toEqual(conversation);
      expect(await s.getConversationByTokenHash(conversation.id)).toBeNull();
      expect(await s.getConversationByTokenHash(`${tokenHash}x`)).toBeNull();
      expect(await s.getConversation(tokenHash)).toBeNull();
      expect(await s.getConversation('no-such-conversation')).toBeNull();
    });

    it('refuses a token hash already in use by another conversation', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const first = await seedConversation(s, ann);
      const again = s.createConversation({ ownerAccountId: ann.id, tokenHash: first.tokenHash, visitorName: 'X', at: T0 });
      await expect(again).rejects.toMatchObject({ code: 'conflict' });
      expect(await s.getConversationByTokenHash(first.tokenHash)).toEqual(first.conversation);
      expect(await s.listConversations(ann.id, { limit: 10 })).toHaveLength(1);
    });

    it('refuses a conversation for an account that does not exist', async () => {
      const s = ctx.storage();
      const orphan = s.createConversation({ ownerAccountId: 'no-such-account', tokenHash: 't', visitorName: 'V', at: T0 });
      await expect(orphan).rejects.toBeInstanceOf(KnockError);
      await expect(orphan).rejects.toMatchObject({ code: 'not_found' });
      expect(await s.getConversationByTokenHash('t')).toBeNull();
    });

    it('returns no participants for an unknown conversation', async () => {
      expect(await ctx.storage().getParticipants('no-such-conversation')).toEqual([]);
    });
  });

  describe('inbox', () => {
    it('lists conversations by newest activity first', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const a = await seedConversation(s, ann, { at: T0 + 1 });
      const b = await seedConversation(s, ann, { at: T0 + 2 });
      const c = await seedConversation(s, ann, { at: T0 + 3 });
      expect((await s.listConversations(ann.id, { limit: 10 })).map((x) => x.id))
        .toEqual([c, b, a].map((x) => x.conversation.id));

      // A message moves its conversation to the top.
      await s.appendMessage({ conversationId: a.conversation.id, senderId: a.visitor.id, clientMsgId: clientMsgId(1), body: 'hi', event: { kind: 'text' }, at: T0 + 10 });
      const listed = await s.listConversations(ann.id, { limit: 10 });
      expect(listed.map((x) => x.id)).toEqual([a, c, b].map((x) => x.conversation.id));
      expect(listed.map((x) => x.updatedAt)).toEqual([T0 + 10, T0 + 3, T0 + 2]);
    });

    it('returns the newest `limit` of many conversations, in order', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const count = 300;
      const byTime = new Map<number, string>();
      for (let i = 0; i < count; i++) {
        // 7919 is prime to 300: every time from T0 to T0+299 is used once, in scrambled creation order.
        const at = T0 + ((i * 7919) % count);
        byTime.set(at, (await seedConversation(s, ann, { at })).conversation.id);
      }
      const listed = await s.listConversations(ann.id, { limit: 50 });
      const expected = Array.from({ length: 50 }, (_, i) => byTime.get(T0 + count - 1 - i));
      expect(listed.map((x) => x.id)).toEqual(expected);
    });

    it("lists only the owner's own conversations", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      const annConv = await seedConversation(s, ann);
      await seedConversation(s, bob);
      expect((await s.listConversations(ann.id, { limit: 10 })).map((x) => x.id)).toEqual([annConv.conversation.id]);
      expect(await s.listConversations('no-such-account', { limit: 10 })).toEqual([]);
    });

    it('summarises a conversation: visitor name, last seq, last message and its sender role', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const conv = await seedConversation(s, ann, { visitorName: 'Vic', at: T0 });
      const id = conv.conversation.id;
      expect(await s.getConversationSummary(id)).toEqual({
        id, visitorName: 'Vic', lastSeq: 0, lastMessage: null, unread: 0, updatedAt: T0,
        archived: false, markedUnread: false, files: 0, visitorEmail: null, kind: 'chat', subject: null, suspicious: false,
        startedOn: null, sms: null,
      });
      await appendSequence(s, conv, conv.visitor, 1);
      await s.appendMessage({ conversationId: id, senderId: conv.owner.id, clientMsgId: clientMsgId('reply'), body: 'Hello Vic', event: { kind: 'text' }, at: T0 + 50 });
      const summary = await s.getConversationSummary(id);
      expect(summary).toEqual({
        id, visitorName: 'Vic', lastSeq: 2, lastMessage: { body: 'Hello Vic', at: T0 + 50, senderRole: 'owner' },
        unread: 1, updatedAt: T0 + 50, archived: false, markedUnread: false, files: 0, visitorEmail: null,
        kind: 'chat', subject: null, suspicious: false, startedOn: null, sms: null,
      });
      expect(await s.listConversations(ann.id, { limit: 10 })).toEqual([summary]);
      expect(await s.getConversationSummary('no-such-conversation')).toBeNull();
    });

    it("counts as unread the visitor's messages after the owner's read seq, never the owner's own", async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const id = conv.conversation.id;
      await appendSequence(s, conv, conv.visitor, 3, 'v1'); // seqs 1-3
      await appendSequence(s, conv, conv.owner, 1, 'o1'); // seq 4
      await appendSequence(s, conv, conv.visitor, 2, 'v2'); // seqs 5-6
      expect((await s.getConversationSummary(id))?.unread).toBe(5);
      await s.raiseReceipt(conv.owner.id, 'read', 4);
      expect((await s.getConversationSummary(id))?.unread).toBe(2);
      // The visitor reading does not change what the owner has not read.
      await s.raiseReceipt(conv.visitor.id, 'read', 6);
      expect((await s.getConversationSummary(id))?.unread).toBe(2);
      await s.raiseReceipt(conv.owner.id, 'read', 6);
      expect((await s.getConversationSummary(id))?.unread).toBe(0);
      await appendSequence(s, conv, conv.owner, 2, 'o2');
      expect((await s.getConversationSummary(id))?.unread).toBe(0);
    });

    it(`counts unread messages exactly below ${limits.unreadCap} and stops at ${limits.unreadCap} ("99+")`, async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const id = conv.conversation.id;
      await appendSequence(s, conv, conv.visitor, limits.unreadCap - 1, 'below');
      expect((await s.getConversationSummary(id))?.unread).toBe(limits.unreadCap - 1);
      await appendSequence(s, conv, conv.visitor, 30, 'over');
      expect((await s.getConversationSummary(id))?.unread).toBe(limits.unreadCap);
      // Reading most of them brings the exact count back.
      await s.raiseReceipt(conv.owner.id, 'read', limits.unreadCap + 19);
      expect((await s.getConversationSummary(id))?.unread).toBe(10);
      expect((await s.listConversations(conv.conversation.ownerAccountId, { limit: 10 }))[0]?.unread).toBe(10);
    });
  });

  describe('receipts', () => {
    it('raises delivered and read watermarks and never lowers them', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      await appendSequence(s, conv, conv.visitor, 5);
      expect(await s.raiseReceipt(conv.owner.id, 'read', 3)).toMatchObject({ readSeq: 3 });
      expect(await s.raiseReceipt(conv.owner.id, 'read', 2)).toMatchObject({ readSeq: 3 });
      expect(await s.raiseReceipt(conv.owner.id, 'read', 0)).toMatchObject({ readSeq: 3 });
      expect(await s.raiseReceipt(conv.owner.id, 'delivered', 5)).toMatchObject({ deliveredSeq: 5, readSeq: 3 });
      expect(await s.raiseReceipt(conv.owner.id, 'delivered', 1)).toMatchObject({ deliveredSeq: 5, readSeq: 3 });
      const stored = (await s.getParticipants(conv.conversation.id)).find((p) => p.id === conv.owner.id);
      expect(stored).toMatchObject({ deliveredSeq: 5, readSeq: 3 });
    });

    it('treats read as delivered too', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      await appendSequence(s, conv, conv.owner, 4);
      expect(await s.raiseReceipt(conv.visitor.id, 'read', 4)).toMatchObject({ deliveredSeq: 4, readSeq: 4 });
      // ... and a later, lower read does not pull delivered down.
      expect(await s.raiseReceipt(conv.visitor.id, 'read', 2)).toMatchObject({ deliveredSeq: 4, readSeq: 4 });
    });

    it('does not treat delivered as read', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      await appendSequence(s, conv, conv.owner, 4);
      expect(await s.raiseReceipt(conv.visitor.id, 'delivered', 4)).toMatchObject({ deliveredSeq: 4, readSeq: 0 });
    });

    it("caps receipts at the conversation's last seq, so messages not yet sent are never marked read", async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      await appendSequence(s, conv, conv.visitor, 2, 'before');
      expect(await s.raiseReceipt(conv.owner.id, 'read', 1_000)).toMatchObject({ deliveredSeq: 2, readSeq: 2 });
      await appendSequence(s, conv, conv.visitor, 3, 'after');
      expect((await s.getConversationSummary(conv.conversation.id))?.unread).toBe(3);
    });

    it('returns the stored participant, or null for an unknown one', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      await appendSequence(s, conv, conv.owner, 1);
      expect(await s.raiseReceipt(conv.visitor.id, 'delivered', 1)).toEqual({ ...conv.visitor, deliveredSeq: 1 });
      expect(await s.raiseReceipt('no-such-participant', 'read', 1)).toBeNull();
    });
  });

  describe('participant names', () => {
    it('renames a participant and shows the new name on its earlier messages', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s), { visitorName: '' });
      await appendSequence(s, conv, conv.visitor, 2);
      expect(await s.renameParticipant(conv.visitor.id, 'Vicky 🌻')).toEqual({ ...conv.visitor, name: 'Vicky 🌻' });
      const messages = await s.messagesAfter(conv.conversation.id, 0, 10);
      expect(messages.map((m) => m.senderName)).toEqual(['Vicky 🌻', 'Vicky 🌻']);
      expect((await s.getConversationSummary(conv.conversation.id))?.visitorName).toBe('Vicky 🌻');
    });

    it('returns null when renaming an unknown participant', async () => {
      expect(await ctx.storage().renameParticipant('no-such-participant', 'X')).toBeNull();
    });
  });
}
