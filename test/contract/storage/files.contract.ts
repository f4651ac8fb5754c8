/**
 * Storage contract: files (issue 16). Uploads, attaching them to a message (only the uploader's own, unattached files
 * of the conversation, all or nothing), the owner's quota, purging unattached uploads, and which blobs are free once
 * their files are gone.
 */
import { describe, expect, it } from 'vitest';
import { KnockError } from '../../../engine/errors.ts';
import {
  T0, appendSequence, blobId, clientMsgId, fileRef, seedAccount, seedConversation, seedFile, sendFiles, type StorageContext,
} from './fixtures.ts';

export function fileRules(ctx: StorageContext): void {
  describe('files', () => {
    it('stores an upload and returns it, unattached, by its id', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const photo = await seedFile(s, conv, conv.visitor, {
        name: 'Plage à Nice 🌊.png', size: 123_456, blob: 'photo', thumb: 'photo-thumb', image: { width: 4032, height: 3024 }, at: T0 + 9,
      });
      expect(photo).toEqual({
        id: photo.id, conversationId: conv.conversation.id, uploaderId: conv.visitor.id, blobId: blobId('photo'),
        name: 'Plage à Nice 🌊.png', type: 'image/png', size: 123_456, image: { width: 4032, height: 3024 },
        thumbBlobId: blobId('photo-thumb'), messageSeq: null, createdAt: T0 + 9,
      });
      expect(photo.id).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
      expect(await s.getFile(photo.id)).toEqual(photo);
      const pdf = await seedFile(s, conv, conv.owner);
      expect(await s.getFile(pdf.id)).toMatchObject({ image: null, thumbBlobId: null, uploaderId: conv.owner.id });
      expect(await s.getFile('no-such-file')).toBeNull();
    });

    it('refuses an upload into a conversation the uploader is not part of, or that does not exist', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const mine = await seedConversation(s, ann);
      const other = await seedConversation(s, ann);
      const intruder = seedFile(s, mine, other.visitor);
      await expect(intruder).rejects.toBeInstanceOf(KnockError);
      await expect(intruder).rejects.toMatchObject({ code: 'forbidden' });
      const nowhere = s.createFile({
        conversationId: 'no-such-conversation', uploaderId: mine.visitor.id, blobId: blobId('x'), name: 'x.pdf', type: 'application/pdf',
        size: 1, image: null, thumbBlobId: null, at: T0,
      });
      await expect(nowhere).rejects.toMatchObject({ code: 'not_found' });
      expect(await s.ownerFileBytes(ann.id)).toBe(0);
    });

    it('attaches the files of a message in its own transaction, and returns the message with them', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const a = await seedFile(s, conv, conv.visitor, { name: 'a.pdf' });
      const b = await seedFile(s, conv, conv.visitor, { name: 'b.png', image: { width: 10, height: 20 }, thumb: 'b-thumb' });
      const sent = await sendFiles(s, conv, conv.visitor, [a, b], { body: 'Both of them', clientMsgId: clientMsgId(1) });
      expect(sent.duplicate).toBe(false);
      expect(sent.message).toMatchObject({ seq: 1, body: 'Both of them', event: { kind: 'file', files: [fileRef(a), fileRef(b)] } });
      expect((await s.messagesAfter(conv.conversation.id, 0, 10))[0]?.event).toEqual({ kind: 'file', files: [fileRef(a), fileRef(b)] });
      expect(await s.getFile(a.id)).toMatchObject({ messageSeq: 1 });
      expect(await s.getFile(b.id)).toMatchObject({ messageSeq: 1 });
      expect((await s.getConversationSummary(conv.conversation.id))?.files).toBe(2);
    });

    describe('refuses an attachment with bad_request, storing nothing and taking no seq', () => {
      let checks = 0;
      /** Calls `send`, expects it refused with a message matching `reason`, and checks that nothing changed. */
      async function expectRefused(
        s: ReturnType<StorageContext['storage']>,
        conv: Awaited<ReturnType<typeof seedConversation>>,
        send: () => Promise<unknown>,
        reason: RegExp,
      ): Promise<void> {
        const before = await s.getConversation(conv.conversation.id);
        const attempt = send();
        await expect(attempt).rejects.toBeInstanceOf(KnockError);
        await expect(attempt).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(reason) });
        expect(await s.getConversation(conv.conversation.id)).toEqual(before);
        // The next message takes the next seq: none was used up by the refusal.
        const [next] = await appendSequence(s, conv, conv.owner, 1, `after-${++checks}`);
        expect(next?.seq).toBe((before?.lastSeq ?? 0) + 1);
      }

      it("a file of another conversation (even the sender's own there)", async () => {
        const s = ctx.storage();
        const ann = await seedAccount(s);
        const mine = await seedConversation(s, ann);
        const other = await seedConversation(s, ann);
        const foreign = await seedFile(s, other, other.visitor, { name: 'elsewhere.pdf' });
        const own = await seedFile(s, mine, mine.visitor, { name: 'mine.pdf' });
        await expectRefused(s, mine, () => sendFiles(s, mine, mine.visitor, [own, foreign]), /"elsewhere\.pdf" is not a file of this conversation/);
        const unknown = { ...own, id: 'no-such-file-id', name: 'ghost.pdf' };
        await expectRefused(s, mine, () => sendFiles(s, mine, mine.visitor, [unknown]), /"ghost\.pdf" is not a file of this conversation/);
        expect(await s.getFile(own.id)).toMatchObject({ messageSeq: null });
        expect(await s.getFile(foreign.id)).toMatchObject({ messageSeq: null });
      });

      it("a file the other participant uploaded", async () => {
        const s = ctx.storage();
        const conv = await seedConversation(s, await seedAccount(s));
        const theirs = await seedFile(s, conv, conv.visitor, { name: 'visitor.pdf' });
        await expectRefused(s, conv, () => sendFiles(s, conv, conv.owner, [theirs]), /"visitor\.pdf" was uploaded by someone else/);
        expect(await s.getFile(theirs.id)).toMatchObject({ messageSeq: null });
      });

      it('a file already attached to a message, or named twice in one', async () => {
        const s = ctx.storage();
        const conv = await seedConversation(s, await seedAccount(s));
        const sent = await seedFile(s, conv, conv.visitor, { name: 'sent.pdf' });
        const fresh = await seedFile(s, conv, conv.visitor, { name: 'fresh.pdf' });
        await sendFiles(s, conv, conv.visitor, [sent]);
        await expectRefused(s, conv, () => sendFiles(s, conv, conv.visitor, [fresh, sent]), /"sent\.pdf" is already attached to a message/);
        await expectRefused(s, conv, () => sendFiles(s, conv, conv.visitor, [fresh, fresh]), /"fresh\.pdf" is attached twice/);
        expect(await s.getFile(fresh.id)).toMatchObject({ messageSeq: null });
        expect((await s.getConversationSummary(conv.conversation.id))?.files).toBe(1);
      });

      it('the second of two messages of a burst that attach the same file, the first being stored', async () => {
        const s = ctx.storage();
        const conv = await seedConversation(s, await seedAccount(s));
        const file = await seedFile(s, conv, conv.visitor);
        const [first, second] = await Promise.allSettled([
          sendFiles(s, conv, conv.visitor, [file], { clientMsgId: clientMsgId('first') }),
          sendFiles(s, conv, conv.visitor, [file], { clientMsgId: clientMsgId('second') }),
        ]);
        expect(first).toMatchObject({ status: 'fulfilled', value: { message: { seq: 1 } } });
        expect(second).toMatchObject({ status: 'rejected', reason: { code: 'bad_request' } });
        expect(await s.getFile(file.id)).toMatchObject({ messageSeq: 1 });
        expect((await s.getConversation(conv.conversation.id))?.lastSeq).toBe(1);
      });
    });

    it('answers a retry of a message with files as a duplicate, without looking at the files again', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const file = await seedFile(s, conv, conv.visitor);
      const first = await sendFiles(s, conv, conv.visitor, [file], { clientMsgId: clientMsgId(7), body: 'here' });
      // The file is attached now: checked again, the retry would be refused.
      const retry = await sendFiles(s, conv, conv.visitor, [file], { clientMsgId: clientMsgId(7), body: 'here' });
      expect(retry).toEqual({ message: first.message, duplicate: true });
      expect((await s.getConversation(conv.conversation.id))?.lastSeq).toBe(1);
      expect((await s.getConversationSummary(conv.conversation.id))?.files).toBe(1);
    });

    it("sums the sizes of every file of the owner's conversations, attached or not, as the owner's quota use", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      const one = await seedConversation(s, ann);
      const two = await seedConversation(s, ann);
      const bobs = await seedConversation(s, bob);
      const sent = await seedFile(s, one, one.visitor, { size: 1_000_000, thumb: 'thumb-not-counted', image: { width: 1, height: 1 } });
      await sendFiles(s, one, one.visitor, [sent]);
      await seedFile(s, one, one.owner, { size: 2_500 });
      await seedFile(s, two, two.visitor, { size: 40 });
      await seedFile(s, bobs, bobs.visitor, { size: 7 });
      expect(await s.ownerFileBytes(ann.id)).toBe(1_002_540);
      expect(await s.ownerFileBytes(bob.id)).toBe(7);
      expect(await s.ownerFileBytes('no-such-account')).toBe(0);
    });

    it('purges unattached files uploaded before a time, keeps attached and newer ones, and returns only blobs no file uses', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const conv = await seedConversation(s, ann);
      const attachedOld = await seedFile(s, conv, conv.visitor, { blob: 'kept-attached', at: T0 });
      await sendFiles(s, conv, conv.visitor, [attachedOld]);
      const abandoned = await seedFile(s, conv, conv.visitor, { blob: 'abandoned', thumb: 'abandoned-thumb', image: { width: 2, height: 2 }, at: T0 + 10 });
      // Same bytes as the attached file: its blob stays.
      const copy = await seedFile(s, conv, conv.owner, { blob: 'kept-attached', at: T0 + 20 });
      const recent = await seedFile(s, conv, conv.visitor, { blob: 'recent', at: T0 + 1000 });
      const freed = await s.purgeUnattachedFiles(T0 + 1000);
      expect(freed.sort()).toEqual([blobId('abandoned'), blobId('abandoned-thumb')].sort());
      expect(await s.getFile(abandoned.id)).toBeNull();
      expect(await s.getFile(copy.id)).toBeNull();
      expect(await s.getFile(attachedOld.id)).toMatchObject({ messageSeq: 1 });
      expect(await s.getFile(recent.id)).toMatchObject({ messageSeq: null });
      expect(await s.ownerFileBytes(ann.id)).toBe(2000);
      expect(await s.purgeUnattachedFiles(T0 + 1000)).toEqual([]);
    });

    it('removes the files of an account removed with its conversations', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s, 'ann');
      const conv = await seedConversation(s, ann);
      const file = await seedFile(s, conv, conv.visitor);
      await sendFiles(s, conv, conv.visitor, [file]);
      const unattached = await seedFile(s, conv, conv.owner, { name: 'draft.pdf' });
      expect(await s.removeAccount('ann')).toBe(true);
      expect(await s.getFile(file.id)).toBeNull();
      expect(await s.getFile(unattached.id)).toBeNull();
      expect(await s.ownerFileBytes(ann.id)).toBe(0);
      expect(await s.purgeUnattachedFiles(T0 + 10_000)).toEqual([]);
    });
  });
}
