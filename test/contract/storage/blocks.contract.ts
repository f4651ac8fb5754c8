/**
 * Storage contract of 018_blocks.sql (issue 22): blocked visitors, and what exporting and deleting an account reads
 * and does. A block covers its conversation's token for good and the visitor's last address until its time; blocking
 * again makes no second block; an account sees and removes only its own blocks; a block outlives its conversation.
 * An account's purge removes everything of it and hands back exactly the blobs nobody else uses.
 */
import { describe, expect, it } from 'vitest';
import { T0, blobId, seedAccount, seedConversation, seedFile, sendFiles, type StorageContext } from './fixtures.ts';

const DAY = 24 * 3600_000;

export function blockRules(ctx: StorageContext): void {
  describe('blocked visitors', () => {
    it('blocks a conversation\u2019s visitor by its token for good and by its last address until the block\u2019s time', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const conv = await seedConversation(s, ann, { visitorName: 'Mallory' });
      await s.recordVisitorAddress(conv.conversation.id, 'address-1', T0);
      await s.recordVisitorAddress(conv.conversation.id, 'address-2', T0 + 1); // seen last: this one is blocked
      const made = await s.blockVisitor({ accountId: ann.id, conversationId: conv.conversation.id, blockedBy: ann.id, addressUntil: T0 + 30 * DAY, at: T0 + 2 });
      expect(made).toMatchObject({ created: true, block: { accountId: ann.id, conversationId: conv.conversation.id, visitorName: 'Mallory', addressUntil: T0 + 30 * DAY, blockedBy: ann.id, createdAt: T0 + 2 } });
      const id = made!.block.id;
      expect(await s.findVisitorBlock(ann.id, { tokenHash: conv.tokenHash }, T0 + 365 * DAY)).toMatchObject({ id });
      expect(await s.findVisitorBlock(ann.id, { conversationId: conv.conversation.id }, T0 + 365 * DAY)).toMatchObject({ id });
      expect(await s.findVisitorBlock(ann.id, { addressHash: 'address-2' }, T0 + 29 * DAY)).toMatchObject({ id });
      expect(await s.findVisitorBlock(ann.id, { addressHash: 'address-2' }, T0 + 30 * DAY)).toBeNull(); // its time is up
      expect(await s.findVisitorBlock(ann.id, { addressHash: 'address-1' }, T0)).toBeNull();
      expect(await s.findVisitorBlock(ann.id, { tokenHash: 'another-token', addressHash: 'another-address' }, T0)).toBeNull();
    });

    it('blocks once: blocking again keeps the block and takes the address seen since', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const conv = await seedConversation(s, ann);
      const first = await s.blockVisitor({ accountId: ann.id, conversationId: conv.conversation.id, blockedBy: ann.id, addressUntil: T0 + DAY, at: T0 });
      expect(first?.block.addressUntil).toBeNull(); // no address was seen yet
      await s.recordVisitorAddress(conv.conversation.id, 'address-new', T0 + 5);
      const again = await s.blockVisitor({ accountId: ann.id, conversationId: conv.conversation.id, blockedBy: ann.id, addressUntil: T0 + 2 * DAY, at: T0 + 6 });
      expect(again).toMatchObject({ created: false, block: { id: first!.block.id, createdAt: T0, addressUntil: T0 + 2 * DAY } });
      expect(await s.listVisitorBlocks(ann.id)).toHaveLength(1);
      expect(await s.findVisitorBlock(ann.id, { addressHash: 'address-new' }, T0 + DAY)).toMatchObject({ id: first!.block.id });
    });

    it('blocks only in the account\u2019s own conversations, and finds, lists and removes only its own blocks', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      const annConv = await seedConversation(s, ann);
      const bobConv = await seedConversation(s, bob);
      await s.recordVisitorAddress(annConv.conversation.id, 'shared-address', T0);
      expect(await s.blockVisitor({ accountId: ann.id, conversationId: bobConv.conversation.id, blockedBy: ann.id, addressUntil: T0 + DAY, at: T0 })).toBeNull();
      expect(await s.listVisitorBlocks(bob.id)).toEqual([]);
      const block = (await s.blockVisitor({ accountId: ann.id, conversationId: annConv.conversation.id, blockedBy: ann.id, addressUntil: T0 + DAY, at: T0 }))!.block;
      // Ann's block says nothing of who may write to Bob.
      expect(await s.findVisitorBlock(bob.id, { tokenHash: annConv.tokenHash, addressHash: 'shared-address' }, T0)).toBeNull();
      expect(await s.removeVisitorBlock(bob.id, block.id)).toBeNull();
      expect(await s.listVisitorBlocks(ann.id)).toEqual([block]);
      expect(await s.removeVisitorBlock(ann.id, block.id)).toEqual(block);
      expect(await s.removeVisitorBlock(ann.id, block.id)).toBeNull();
      expect(await s.findVisitorBlock(ann.id, { tokenHash: annConv.tokenHash, addressHash: 'shared-address' }, T0)).toBeNull();
    });

    it('keeps a block when its conversation is deleted: the token stays refused; blocks go with their account', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const conv = await seedConversation(s, ann, { visitorName: 'Eve' });
      await s.recordVisitorAddress(conv.conversation.id, 'address', T0);
      const block = (await s.blockVisitor({ accountId: ann.id, conversationId: conv.conversation.id, blockedBy: ann.id, addressUntil: T0 + DAY, at: T0 }))!.block;
      await s.deleteConversation(conv.conversation.id);
      expect(await s.findVisitorBlock(ann.id, { tokenHash: conv.tokenHash }, T0)).toEqual({ ...block, conversationId: null });
      expect(await s.findVisitorBlock(ann.id, { addressHash: 'address' }, T0)).toMatchObject({ id: block.id, visitorName: 'Eve' });
      expect(await s.removeAccount('ann')).toBe(true);
      expect(await s.listVisitorBlocks(ann.id)).toEqual([]);
    });

    it('lists the newest block first, and ignores the address of a conversation that does not exist', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const older = await seedConversation(s, ann, { visitorName: 'Older' });
      const newer = await seedConversation(s, ann, { visitorName: 'Newer' });
      await s.recordVisitorAddress('no-such-conversation', 'address', T0);
      await s.blockVisitor({ accountId: ann.id, conversationId: older.conversation.id, blockedBy: null, addressUntil: T0 + DAY, at: T0 });
      await s.blockVisitor({ accountId: ann.id, conversationId: newer.conversation.id, blockedBy: null, addressUntil: T0 + DAY, at: T0 + 1 });
      expect((await s.listVisitorBlocks(ann.id)).map((b) => b.visitorName)).toEqual(['Newer', 'Older']);
    });
  });

  describe('account data', () => {
    it('lists the account\u2019s conversations oldest first, a conversation\u2019s files, and the account\u2019s sessions', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      const first = await seedConversation(s, ann, { at: T0 });
      const second = await seedConversation(s, ann, { kind: 'email', subject: 'Hi', at: T0 + 1 });
      await seedConversation(s, bob);
      await s.setArchived(first.conversation.id, true);
      expect(await s.conversationIdsOf(ann.id)).toEqual([first.conversation.id, second.conversation.id]);
      const sent = await seedFile(s, first, first.visitor, { name: 'a.pdf', at: T0 });
      const draft = await seedFile(s, first, first.owner, { name: 'b.pdf', at: T0 + 1 });
      await sendFiles(s, first, first.visitor, [sent]);
      expect((await s.filesOf(first.conversation.id)).map((f) => [f.name, f.messageSeq])).toEqual([['a.pdf', 1], ['b.pdf', null]]);
      expect((await s.filesOf(second.conversation.id))).toEqual([]);
      expect(draft.messageSeq).toBeNull();
      await s.createSession({ tokenHash: 'session-ann-1', accountId: ann.id, createdAt: T0, expiresAt: T0 + DAY });
      await s.createSession({ tokenHash: 'session-bob-1', accountId: bob.id, createdAt: T0, expiresAt: T0 + DAY });
      expect(await s.sessionHashesOf(ann.id)).toEqual(['session-ann-1']);
    });

    it('purges an account with everything of it, handing back the blobs no other account\u2019s file or mail uses', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      const annConv = await seedConversation(s, ann);
      const annMail = await seedConversation(s, ann, { kind: 'email', subject: 'Mail' });
      const bobConv = await seedConversation(s, bob);
      await seedFile(s, annConv, annConv.visitor, { name: 'own.pdf', blob: 'own' });
      await seedFile(s, annConv, annConv.visitor, { name: 'photo.png', blob: 'photo', thumb: 'photo-thumb', image: { width: 2, height: 2 } });
      await seedFile(s, annConv, annConv.owner, { name: 'shared.pdf', blob: 'shared' });
      await seedFile(s, bobConv, bobConv.visitor, { name: 'bobs-copy.pdf', blob: 'shared' }); // the same bytes in Bob's conversation
      await s.recordMail({ messageId: 'a@x', accountId: ann.id, conversationId: annMail.conversation.id, seq: 1, rawBlobId: blobId('raw'), htmlBlobId: blobId('html'), at: T0 });
      await s.createSession({ tokenHash: 'session-ann', accountId: ann.id, createdAt: T0, expiresAt: T0 + DAY });
      await s.recordVisitorAddress(annConv.conversation.id, 'address', T0);
      await s.blockVisitor({ accountId: ann.id, conversationId: annConv.conversation.id, blockedBy: ann.id, addressUntil: T0 + DAY, at: T0 });
      await s.appendAudit({ accountId: ann.id, at: T0, kind: 'login', ip: null, userAgent: null, detail: null });

      const freed = await s.purgeAccount(ann.id);
      expect(freed?.sort()).toEqual([blobId('html'), blobId('own'), blobId('photo'), blobId('photo-thumb'), blobId('raw')].sort());
      expect(await s.getAccountById(ann.id)).toBeNull();
      expect(await s.conversationIdsOf(ann.id)).toEqual([]);
      expect(await s.getConversation(annConv.conversation.id)).toBeNull();
      expect(await s.filesOf(annConv.conversation.id)).toEqual([]);
      expect(await s.sessionHashesOf(ann.id)).toEqual([]);
      expect(await s.listVisitorBlocks(ann.id)).toEqual([]);
      expect(await s.listAudit(ann.id, { limit: 10 })).toEqual([]);
      expect(await s.findMail(ann.id, ['a@x'])).toBeNull();
      // Bob's file, and its blob, stay.
      expect((await s.filesOf(bobConv.conversation.id)).map((f) => f.blobId)).toEqual([blobId('shared')]);
      expect(await s.purgeAccount(ann.id)).toBeNull();
    });
  });
}
