/**
 * Storage contract: the owner's inbox of issue 16. What every summary says (archived, marked unread, files, the
 * visitor's email), the filters (all, unread, files, archived), archiving, "mark as unread", and deleting a
 * conversation with everything in it. Search has its own file (search.contract.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Account, Storage } from '../../../engine/ports/storage.ts';
import type { InboxFilter } from '../../../engine/protocol.ts';
import {
  T0, appendSequence, blobId, clientMsgId, seedAccount, seedConversation, seedFile, sendFiles, type StorageContext,
} from './fixtures.ts';

/** The visitors' names of the owner's list through `filter`, newest activity first: what the owner sees. */
export async function listed(s: Storage, owner: Account, opts: { filter?: InboxFilter; query?: string } = {}): Promise<string[]> {
  return (await s.listConversations(owner.id, { limit: 50, ...opts })).map((c) => c.visitorName);
}

export function inboxRules(ctx: StorageContext): void {
  describe('inbox summaries', () => {
    it("tells in every summary whether it is archived or marked unread, how many files it holds, and the visitor's email", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const vic = await seedConversation(s, ann, { visitorName: 'Vic', visitorEmail: 'vic@example.com', at: T0 + 1 });
      await seedConversation(s, ann, { visitorName: 'Nora', at: T0 + 2 });
      await seedConversation(s, ann, { visitorName: 'Olga', visitorEmail: null, at: T0 + 3 });
      expect(await s.getConversationSummary(vic.conversation.id)).toEqual({
        id: vic.conversation.id, visitorName: 'Vic', lastSeq: 0, lastMessage: null, unread: 0, updatedAt: T0 + 1,
        archived: false, markedUnread: false, files: 0, visitorEmail: 'vic@example.com', kind: 'chat', subject: null, suspicious: false,
        startedOn: null, sms: null,
      });
      const list = await s.listConversations(ann.id, { limit: 10 });
      expect(list.map((c) => [c.visitorName, c.visitorEmail, c.archived, c.markedUnread, c.files])).toEqual([
        ['Olga', null, false, false, 0],
        ['Nora', null, false, false, 0],
        ['Vic', 'vic@example.com', false, false, 0],
      ]);
    });

    it('counts the files of messages, not uploads that were never sent', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const files = [
        await seedFile(s, conv, conv.visitor, { name: 'one.pdf' }),
        await seedFile(s, conv, conv.visitor, { name: 'two.pdf' }),
        await seedFile(s, conv, conv.owner, { name: 'three.pdf' }),
      ];
      await seedFile(s, conv, conv.owner, { name: 'never sent.pdf' });
      await sendFiles(s, conv, conv.visitor, files.slice(0, 2));
      await sendFiles(s, conv, conv.owner, files.slice(2));
      expect((await s.getConversationSummary(conv.conversation.id))?.files).toBe(3);
    });
  });

  describe('archiving', () => {
    it('hides an archived conversation from every list but the archived one, and a new message brings it back', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const vic = await seedConversation(s, ann, { visitorName: 'Vic', at: T0 + 1 });
      await seedConversation(s, ann, { visitorName: 'Nora', at: T0 + 2 });
      await appendSequence(s, vic, vic.visitor, 1); // unread, so the unread list would show it
      expect(await s.setArchived(vic.conversation.id, true)).toBe(true);
      expect(await s.getConversationSummary(vic.conversation.id)).toMatchObject({ archived: true });
      expect(await listed(s, ann)).toEqual(['Nora']);
      expect(await listed(s, ann, { filter: 'unread' })).toEqual([]);
      expect(await listed(s, ann, { filter: 'archived' })).toEqual(['Vic']);

      await s.appendMessage({
        conversationId: vic.conversation.id, senderId: vic.visitor.id, clientMsgId: clientMsgId('back'), body: 'Are you there?',
        event: { kind: 'text' }, at: T0 + 100,
      });
      expect(await s.getConversationSummary(vic.conversation.id)).toMatchObject({ archived: false });
      expect(await listed(s, ann)).toEqual(['Vic', 'Nora']);
      expect(await listed(s, ann, { filter: 'archived' })).toEqual([]);
    });

    it("brings a conversation back on request, also with the owner's own message, and not with a retry", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const conv = await seedConversation(s, ann);
      const [first] = await appendSequence(s, conv, conv.owner, 1);
      await s.setArchived(conv.conversation.id, true);
      // A retry stores nothing new: the conversation stays archived.
      await s.appendMessage({
        conversationId: conv.conversation.id, senderId: conv.owner.id, clientMsgId: first!.clientMsgId, body: first!.body,
        event: { kind: 'text' }, at: T0 + 50,
      });
      expect(await listed(s, ann, { filter: 'archived' })).toEqual(['Vic']);
      expect(await s.setArchived(conv.conversation.id, false)).toBe(true);
      expect(await listed(s, ann)).toEqual(['Vic']);
      await s.setArchived(conv.conversation.id, true);
      await appendSequence(s, conv, conv.owner, 1, 'owner-again');
      expect(await listed(s, ann)).toEqual(['Vic']);
      expect(await s.setArchived('no-such-conversation', true)).toBe(false);
    });
  });

  describe('unread', () => {
    it("lists as unread the conversations with messages the owner has not read, or marked unread", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const waiting = await seedConversation(s, ann, { visitorName: 'Waiting', at: T0 + 1 });
      const answered = await seedConversation(s, ann, { visitorName: 'Answered', at: T0 + 2 });
      const read = await seedConversation(s, ann, { visitorName: 'Read', at: T0 + 3 });
      await seedConversation(s, ann, { visitorName: 'Empty', at: T0 + 4 });
      const marked = await seedConversation(s, ann, { visitorName: 'Marked', at: T0 + 5 });
      await appendSequence(s, waiting, waiting.visitor, 2);
      await appendSequence(s, answered, answered.owner, 1);
      await appendSequence(s, read, read.visitor, 3);
      await s.raiseReceipt(read.owner.id, 'read', 3);
      expect(await s.markUnread(marked.conversation.id)).toBe(true);
      // Waiting's messages came last (appendSequence writes at T0 + 1000 and after).
      expect(await listed(s, ann, { filter: 'unread' })).toEqual(['Waiting', 'Marked']);
      expect(await s.markUnread('no-such-conversation')).toBe(false);
    });

    it('shows a conversation marked unread with at least 1 unread until the owner reads it again', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const conv = await seedConversation(s, ann);
      const id = conv.conversation.id;
      await appendSequence(s, conv, conv.visitor, 3);
      await s.raiseReceipt(conv.owner.id, 'read', 3);
      await s.markUnread(id);
      expect(await s.getConversationSummary(id)).toMatchObject({ markedUnread: true, unread: 1 });
      // The visitor reading, the owner's devices receiving, or a late receipt below the owner's mark change nothing.
      await s.raiseReceipt(conv.visitor.id, 'read', 3);
      await s.raiseReceipt(conv.owner.id, 'delivered', 3);
      await s.raiseReceipt(conv.owner.id, 'read', 2);
      expect(await s.getConversationSummary(id)).toMatchObject({ markedUnread: true, unread: 1 });
      expect(await listed(s, ann, { filter: 'unread' })).toEqual(['Vic']);
      // Opening it again reads up to the end.
      await s.raiseReceipt(conv.owner.id, 'read', 3);
      expect(await s.getConversationSummary(id)).toMatchObject({ markedUnread: false, unread: 0 });
      expect(await listed(s, ann, { filter: 'unread' })).toEqual([]);
    });

    it('keeps the real count of a conversation marked unread that has unread messages', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      await appendSequence(s, conv, conv.visitor, 4);
      await s.raiseReceipt(conv.owner.id, 'read', 1);
      await s.markUnread(conv.conversation.id);
      expect(await s.getConversationSummary(conv.conversation.id)).toMatchObject({ markedUnread: true, unread: 3 });
      await s.raiseReceipt(conv.owner.id, 'read', 2);
      expect(await s.getConversationSummary(conv.conversation.id)).toMatchObject({ markedUnread: false, unread: 2 });
    });
  });

  describe('the files filter', () => {
    it('lists the conversations whose messages carry files, not those with uploads never sent', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const sent = await seedConversation(s, ann, { visitorName: 'Sent', at: T0 + 1 });
      const draft = await seedConversation(s, ann, { visitorName: 'Draft', at: T0 + 2 });
      await seedConversation(s, ann, { visitorName: 'Text', at: T0 + 3 });
      const archived = await seedConversation(s, ann, { visitorName: 'Archived', at: T0 + 4 });
      await sendFiles(s, sent, sent.owner, [await seedFile(s, sent, sent.owner)], { at: T0 + 10 });
      await seedFile(s, draft, draft.visitor);
      await sendFiles(s, archived, archived.visitor, [await seedFile(s, archived, archived.visitor)], { at: T0 + 11 });
      await s.setArchived(archived.conversation.id, true);
      expect(await listed(s, ann, { filter: 'files' })).toEqual(['Sent']);
      expect(await listed(s, ann, { filter: 'archived' })).toEqual(['Archived']);
    });
  });

  describe('deleting a conversation', () => {
    it('deletes it with everything in it, frees its quota, and returns only the blobs no other file uses', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const doomed = await seedConversation(s, ann, { visitorName: 'Doomed' });
      const kept = await seedConversation(s, ann, { visitorName: 'Kept' });
      const shared = await seedFile(s, doomed, doomed.visitor, { blob: 'shared', size: 100 });
      const photo = await seedFile(s, doomed, doomed.visitor, { blob: 'photo', thumb: 'photo-thumb', image: { width: 9, height: 9 }, size: 200 });
      const draft = await seedFile(s, doomed, doomed.owner, { blob: 'draft', thumb: 'used-as-thumb-elsewhere', image: { width: 1, height: 1 }, size: 300 });
      await sendFiles(s, doomed, doomed.visitor, [shared, photo]);
      await appendSequence(s, doomed, doomed.owner, 2);
      const doc = await s.createDocument({ conversationId: doomed.conversation.id, createdBy: doomed.owner.id, title: 'Notes', at: T0 });
      const game = await s.createGame({
        conversationId: doomed.conversation.id, kind: 'connect4', players: [doomed.visitor.id, doomed.owner.id], seed: 1, at: T0,
      });
      // Another conversation uses the same bytes, as a file and as a thumbnail.
      const keptFile = await seedFile(s, kept, kept.visitor, { blob: 'shared', size: 100 });
      await seedFile(s, kept, kept.visitor, { blob: 'other', thumb: 'used-as-thumb-elsewhere', image: { width: 1, height: 1 }, size: 50 });
      expect(await s.ownerFileBytes(ann.id)).toBe(750);

      const freed = await s.deleteConversation(doomed.conversation.id);
      expect(freed?.sort()).toEqual([blobId('draft'), blobId('photo'), blobId('photo-thumb')].sort());
      const id = doomed.conversation.id;
      expect(await s.getConversation(id)).toBeNull();
      expect(await s.getConversationByTokenHash(doomed.tokenHash)).toBeNull();
      expect(await s.getConversationSummary(id)).toBeNull();
      expect(await s.getParticipants(id)).toEqual([]);
      expect(await s.messagesAfter(id, 0, 10)).toEqual([]);
      for (const file of [shared, photo, draft]) expect(await s.getFile(file.id)).toBeNull();
      expect(await s.getDocument(doc.id)).toBeNull();
      expect(await s.getGame(game.id)).toBeNull();
      expect(await s.ownerFileBytes(ann.id)).toBe(150);
      expect(await listed(s, ann)).toEqual(['Kept']);
      expect(await s.getFile(keptFile.id)).toEqual(keptFile);
      expect(await s.deleteConversation(id)).toBeNull();
    });

    it('returns no blobs for a conversation without files, and null for one that does not exist', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      await appendSequence(s, conv, conv.visitor, 3);
      expect(await s.deleteConversation(conv.conversation.id)).toEqual([]);
      expect(await s.deleteConversation('no-such-conversation')).toBeNull();
    });

    it('leaves nothing of a conversation deleted while messages are being appended: each is refused or goes with it', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const append = (n: number) => s.appendMessage({
        conversationId: conv.conversation.id, senderId: conv.visitor.id, clientMsgId: clientMsgId(n), body: `m${n}`, event: { kind: 'text' }, at: T0 + n,
      });
      const before = append(1);
      const removed = s.deleteConversation(conv.conversation.id);
      const after = append(2);
      await expect(removed).resolves.toEqual([]);
      for (const outcome of await Promise.allSettled([before, after])) {
        if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ code: 'not_found' });
      }
      expect(await s.getConversation(conv.conversation.id)).toBeNull();
      expect(await s.messagesAfter(conv.conversation.id, 0, 10)).toEqual([]);
    });
  });
}
