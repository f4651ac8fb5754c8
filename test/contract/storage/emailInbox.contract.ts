/**
 * Storage contract: email conversations (issue 17) in the owner's inbox. What a new conversation stores (kind,
 * subject, suspicious, the correspondent's address) and every summary says; suspicious conversations (their mail
 * failed DMARC) kept out of every list but `suspicious`, yet found by a search; the subject and an email's
 * attachments searched; an email's attachments attached by its append as a file message's are; and the blobs of
 * its mails (raw and HTML forms) returned when nothing uses them any more.
 */
import { describe, expect, it } from 'vitest';
import type { Storage, StoredFile } from '../../../engine/ports/storage.ts';
import type { ConversationEvent } from '../../../engine/protocol.ts';
import { listed } from './inbox.contract.ts';
import {
  T0, blobId, fileRef, seedAccount, seedConversation, seedFile, type SeededConversation, type StorageContext,
} from './fixtures.ts';

/** The correspondent's mail as it arrives in `conv`, with `files` as its attachments. */
function receiveEmail(s: Storage, conv: SeededConversation, body: string, files: readonly StoredFile[] = [], at = T0 + 100) {
  const event: ConversationEvent = {
    kind: 'email', subject: conv.conversation.subject ?? '', from: { address: 'zoe@example.com', name: 'Zoë' },
    to: [{ address: 'ann@knock.example', name: 'Ann' }], messageId: `in-${at}@mail.example.com`,
    auth: { spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none', suspicious: false }, html: false, files: files.map(fileRef),
  };
  return s.appendMessage({ conversationId: conv.conversation.id, senderId: conv.visitor.id, clientMsgId: `mail:in-${at}`, body, event, at });
}

export function emailInboxRules(ctx: StorageContext): void {
  describe('email conversations in the inbox', () => {
    it('stores the kind, subject, suspicion and address of a new conversation, and every summary says them', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const { conversation } = await seedConversation(s, ann, {
        visitorName: 'Zoë Durand', visitorEmail: 'zoe@example.com', kind: 'email', subject: 'Quote for "the kitchen" 🍳', suspicious: true, at: T0 + 1,
      });
      expect(conversation).toMatchObject({ kind: 'email', subject: 'Quote for "the kitchen" 🍳', visitorEmail: 'zoe@example.com', visitorEmailOff: false });
      expect(await s.getConversation(conversation.id)).toEqual(conversation);
      expect(await s.getConversationSummary(conversation.id)).toMatchObject({
        kind: 'email', subject: 'Quote for "the kitchen" 🍳', suspicious: true, visitorEmail: 'zoe@example.com', visitorName: 'Zoë Durand',
      });
      const chat = await seedConversation(s, ann, { at: T0 + 2 });
      expect(await s.getConversationSummary(chat.conversation.id)).toMatchObject({ kind: 'chat', subject: null, suspicious: false });
      await expect(seedConversation(s, ann, { subject: 'broken \uD800' })).rejects.toMatchObject({ code: 'bad_request' });
    });

    it('keeps suspicious conversations out of every list but `suspicious`, which shows them archived or not', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const chat = await seedConversation(s, ann, { visitorName: 'Chat', at: T0 + 1 });
      const trusted = await seedConversation(s, ann, { visitorName: 'Trusted', kind: 'email', subject: 'Hello', at: T0 + 2 });
      const spoofed = await seedConversation(s, ann, { visitorName: 'Spoofed', kind: 'email', subject: 'Your invoice', suspicious: true, at: T0 + 3 });
      const oldSpoof = await seedConversation(s, ann, { visitorName: 'Old spoof', kind: 'email', subject: 'Prize', suspicious: true, at: T0 + 4 });
      const archived = await seedConversation(s, ann, { visitorName: 'Archived', at: T0 + 5 });
      for (const [i, conv] of [chat, trusted, spoofed, oldSpoof, archived].entries()) {
        await receiveEmail(s, conv, 'Please pay the invoice', [], T0 + 10 + i);
      }
      await s.setArchived(oldSpoof.conversation.id, true);
      await s.setArchived(archived.conversation.id, true);

      expect(await listed(s, ann)).toEqual(['Trusted', 'Chat']);
      expect(await listed(s, ann, { filter: 'unread' })).toEqual(['Trusted', 'Chat']);
      expect(await listed(s, ann, { filter: 'archived' })).toEqual(['Archived']);
      expect(await listed(s, ann, { filter: 'suspicious' })).toEqual(['Old spoof', 'Spoofed']);
      // A search looks through all of them, unless its filter says otherwise.
      expect(await listed(s, ann, { query: 'invoice' })).toEqual(['Archived', 'Old spoof', 'Spoofed', 'Trusted', 'Chat']);
      expect(await listed(s, ann, { query: 'invoice', filter: 'suspicious' })).toEqual(['Old spoof', 'Spoofed']);
      expect(await listed(s, ann, { query: 'invoice', filter: 'archived' })).toEqual(['Archived']);
    });

    it('lists suspicious conversations with files only under `suspicious`', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const spoofed = await seedConversation(s, ann, { visitorName: 'Spoofed', kind: 'email', subject: 'Invoice', suspicious: true });
      await receiveEmail(s, spoofed, 'See attached', [await seedFile(s, spoofed, spoofed.visitor, { name: 'invoice.pdf.exe' })]);
      expect(await listed(s, ann, { filter: 'files' })).toEqual([]);
      expect(await s.getConversationSummary(spoofed.conversation.id)).toMatchObject({ files: 1, suspicious: true });
    });

    it('finds an email conversation by its subject, as it is now, and by the names of its attachments', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const quote = await seedConversation(s, ann, { visitorName: 'Zoë', kind: 'email', subject: 'Devis pour la cuisine', at: T0 + 1 });
      const chat = await seedConversation(s, ann, { visitorName: 'Vic', at: T0 + 2 });
      await receiveEmail(s, quote, 'Bonjour', [await seedFile(s, quote, quote.visitor, { name: 'plan-étage.pdf' })]);
      expect(await listed(s, ann, { query: 'devis cuisine' })).toEqual(['Zoë']);
      expect(await listed(s, ann, { query: 'DEV' })).toEqual(['Zoë']);
      expect(await listed(s, ann, { query: 'etage' })).toEqual(['Zoë']);
      // A chat gets a subject with its first mail; a subject changed is found by its new words only.
      await s.setSubject(chat.conversation.id, 'Delivery to Lyon');
      await s.setSubject(quote.conversation.id, 'Kitchen quote');
      expect(await listed(s, ann, { query: 'lyon' })).toEqual(['Vic']);
      expect(await listed(s, ann, { query: 'kitchen' })).toEqual(['Zoë']);
      expect(await listed(s, ann, { query: 'cuisine' })).toEqual([]);
      // A subject word and a message word of the same conversation together.
      expect(await listed(s, ann, { query: 'kitchen bonjour' })).toEqual(['Zoë']);
      await s.deleteConversation(quote.conversation.id);
      expect(await listed(s, ann, { query: 'kitchen' })).toEqual([]);
    });

    it("attaches an email's attachments as a file message's: the sender's own unattached files, all or nothing", async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s), { kind: 'email', subject: 'Photos' });
      const photo = await seedFile(s, conv, conv.visitor, { name: 'photo.jpg', image: { width: 8, height: 6 }, thumb: 'photo-thumb' });
      const ownersFile = await seedFile(s, conv, conv.owner, { name: 'owner.pdf' });
      await expect(receiveEmail(s, conv, 'Two files', [photo, ownersFile], T0 + 10)).rejects.toMatchObject({ code: 'bad_request' });
      expect(await s.getFile(photo.id)).toMatchObject({ messageSeq: null });
      const { message } = await receiveEmail(s, conv, 'One file', [photo], T0 + 11);
      expect(message.seq).toBe(1);
      expect(await s.getFile(photo.id)).toMatchObject({ messageSeq: 1 });
      expect(await s.getConversationSummary(conv.conversation.id)).toMatchObject({ files: 1, lastSeq: 1 });
      await expect(receiveEmail(s, conv, 'Again', [photo], T0 + 12)).rejects.toMatchObject({ code: 'bad_request' });
    });
  });

  describe('the blobs of mails', () => {
    it("returns, on deleting a conversation, its mails' raw and HTML blobs that no other mail or file uses", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const doomed = await seedConversation(s, ann, { kind: 'email', subject: 'Doomed' });
      const kept = await seedConversation(s, ann, { kind: 'email', subject: 'Kept' });
      const mail = (conv: SeededConversation, messageId: string, seq: number, raw: string, html: string | null) => s.recordMail({
        messageId, accountId: ann.id, conversationId: conv.conversation.id, seq, rawBlobId: blobId(raw), htmlBlobId: html === null ? null : blobId(html), at: T0,
      });
      await mail(doomed, 'd1@x', 1, 'raw-1', 'html-1');
      await mail(doomed, 'd2@x', 2, 'raw-2', null);
      await mail(doomed, 'd3@x', 3, 'raw-shared-with-mail', 'html-shared-with-file');
      await mail(kept, 'k1@x', 1, 'raw-k', 'raw-shared-with-mail'); // the same bytes, as another mail's HTML form
      await seedFile(s, kept, kept.visitor, { blob: 'html-shared-with-file' });

      const freed = await s.deleteConversation(doomed.conversation.id);
      expect(freed?.sort()).toEqual([blobId('html-1'), blobId('raw-1'), blobId('raw-2')].sort());
      expect(await s.getMail(doomed.conversation.id, 1)).toBeNull();
      expect(await s.findMail(ann.id, ['d1@x', 'd2@x', 'd3@x'])).toBeNull();
      expect(await s.findMail(ann.id, ['k1@x'])).toMatchObject({ rawBlobId: blobId('raw-k') });
    });

    it('keeps, when purging unattached uploads, the blobs a mail still uses', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const conv = await seedConversation(s, ann, { kind: 'email', subject: 'Upload' });
      await s.recordMail({ messageId: 'm@x', accountId: ann.id, conversationId: conv.conversation.id, seq: 1, rawBlobId: blobId('raw'), htmlBlobId: blobId('html'), at: T0 });
      await seedFile(s, conv, conv.owner, { blob: 'raw', at: T0 });
      await seedFile(s, conv, conv.owner, { blob: 'html', thumb: 'thumb', image: { width: 1, height: 1 }, at: T0 });
      await seedFile(s, conv, conv.owner, { blob: 'draft', at: T0 });
      expect((await s.purgeUnattachedFiles(T0 + 1)).sort()).toEqual([blobId('draft'), blobId('thumb')].sort());
    });
  });
}
