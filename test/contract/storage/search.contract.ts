/**
 * Storage contract: searching the owner's inbox (issue 16), as the owner types into the search box. A conversation is
 * found when every word of the query is a word, or the start of one, of its messages, its visitor's name or the names
 * of the files its messages carry, ignoring case and accents. What the query language of the database would read as
 * syntax is only text.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Storage } from '../../../engine/ports/storage.ts';
import {
  T0, clientMsgId, seedAccount, seedConversation, seedFile, sendFiles, type SeededConversation, type StorageContext,
} from './fixtures.ts';
import { listed } from './inbox.contract.ts';

/** The visitor (or the owner) writes `body` in the conversation, at T0 + `at`. */
async function say(s: Storage, conv: SeededConversation, body: string, opts: { owner?: boolean; at?: number } = {}): Promise<void> {
  await s.appendMessage({
    conversationId: conv.conversation.id, senderId: (opts.owner ? conv.owner : conv.visitor).id, clientMsgId: clientMsgId(`say-${randomUUID().slice(0, 8)}`),
    body, event: { kind: 'text' }, at: T0 + (opts.at ?? 100),
  });
}

export function searchRules(ctx: StorageContext): void {
  describe('inbox search', () => {
    /** Three conversations of Ann's, each with what the owner will look for. */
    async function inbox(s: Storage) {
      const ann = await seedAccount(s);
      const vic = await seedConversation(s, ann, { visitorName: 'Vic', at: T0 + 1 });
      const zoe = await seedConversation(s, ann, { visitorName: 'Zoë Durand', at: T0 + 2 });
      const max = await seedConversation(s, ann, { visitorName: 'Max', at: T0 + 3 });
      await say(s, vic, 'Do you deliver to Lyon? Order 12345, the blue one.', { at: 10 });
      await say(s, vic, 'Yes, on Tuesdays.', { owner: true, at: 11 });
      await say(s, zoe, 'Je voudrais une crème brûlée pour Noël', { at: 12 });
      await say(s, max, 'Fish AND chips (with vinegar) - "extra" crispy*', { at: 13 });
      return { ann, vic, zoe, max };
    }

    it('finds a conversation by a word of a message, whatever its case, from either participant', async () => {
      const s = ctx.storage();
      const { ann } = await inbox(s);
      expect(await listed(s, ann, { query: 'lyon' })).toEqual(['Vic']);
      expect(await listed(s, ann, { query: 'TUESDAYS' })).toEqual(['Vic']);
      expect(await listed(s, ann, { query: '12345' })).toEqual(['Vic']);
      expect(await listed(s, ann, { query: 'vinegar' })).toEqual(['Max']);
    });

    it('ignores accents, in the text and in the query', async () => {
      const s = ctx.storage();
      const { ann } = await inbox(s);
      expect(await listed(s, ann, { query: 'creme brulee' })).toEqual(['Zoë Durand']);
      expect(await listed(s, ann, { query: 'CRÈME' })).toEqual(['Zoë Durand']);
      expect(await listed(s, ann, { query: 'noel' })).toEqual(['Zoë Durand']);
      expect(await listed(s, ann, { query: 'zoe' })).toEqual(['Zoë Durand']);
    });

    it("finds by the start of a word, not by its middle, its end or a word that is not there", async () => {
      const s = ctx.storage();
      const { ann } = await inbox(s);
      expect(await listed(s, ann, { query: 'deliv' })).toEqual(['Vic']);
      expect(await listed(s, ann, { query: '123' })).toEqual(['Vic']);
      expect(await listed(s, ann, { query: 'eliver' })).toEqual([]);
      expect(await listed(s, ann, { query: '345' })).toEqual([]);
      expect(await listed(s, ann, { query: 'paris' })).toEqual([]);
      expect(await listed(s, ann, { query: 'delivery' })).toEqual([]);
    });

    it('needs every word, each found anywhere in the conversation: its messages, its visitor, its files', async () => {
      const s = ctx.storage();
      const { ann, vic } = await inbox(s);
      await sendFiles(s, vic, vic.visitor, [await seedFile(s, vic, vic.visitor, { name: 'map.png' })]);
      expect(await listed(s, ann, { query: 'lyon tuesdays' })).toEqual(['Vic']);
      expect(await listed(s, ann, { query: 'vic lyon map' })).toEqual(['Vic']);
      expect(await listed(s, ann, { query: 'lyon vinegar' })).toEqual([]);
      expect(await listed(s, ann, { query: 'lyon lyon   LYON' })).toEqual(['Vic']);
    });

    it("finds by the visitor's name, by its new name after a rename and no longer by the old one", async () => {
      const s = ctx.storage();
      const { ann, max } = await inbox(s);
      expect(await listed(s, ann, { query: 'durand' })).toEqual(['Zoë Durand']);
      expect(await listed(s, ann, { query: 'max' })).toEqual(['Max']);
      await s.renameParticipant(max.visitor.id, 'Maxine Okafor');
      expect(await listed(s, ann, { query: 'okafor' })).toEqual(['Maxine Okafor']);
      expect(await listed(s, ann, { query: 'maxi' })).toEqual(['Maxine Okafor']);
      await s.renameParticipant(max.visitor.id, 'Bea');
      expect(await listed(s, ann, { query: 'okafor' })).toEqual([]);
      // The owner's name is not searched: it would find every conversation.
      expect(await listed(s, ann, { query: 'ann' })).toEqual([]);
    });

    it('finds by a word of the name of a file a message carries, not of an upload never sent', async () => {
      const s = ctx.storage();
      const { ann, vic, zoe } = await inbox(s);
      const invoice = await seedFile(s, vic, vic.owner, { name: 'Invoice-March_2024.pdf' });
      await sendFiles(s, vic, vic.owner, [invoice], { body: '' });
      await seedFile(s, zoe, zoe.visitor, { name: 'secret-draft.docx' });
      expect(await listed(s, ann, { query: 'invoice' })).toEqual(['Vic']);
      expect(await listed(s, ann, { query: 'march 2024' })).toEqual(['Vic']);
      expect(await listed(s, ann, { query: 'pdf' })).toEqual(['Vic']);
      expect(await listed(s, ann, { query: 'secret' })).toEqual([]);
      expect(await listed(s, ann, { query: 'draft' })).toEqual([]);
    });

    it('takes characters that are syntax to the database as text, never failing', async () => {
      const s = ctx.storage();
      const { ann } = await inbox(s);
      const everyone = ['Max', 'Zoë Durand', 'Vic'];
      // Nothing searchable is left: no search, the whole list.
      for (const query of ['"', '*', '-', '()', '""*', ':*', '&|!<->', '^', "'", '\\', '%_', '   ', '']) {
        expect(await listed(s, ann, { query }), `query ${JSON.stringify(query)}`).toEqual(everyone);
      }
      // Operators of FTS5 and tsquery are words like any other, and punctuation around a word is dropped.
      expect(await listed(s, ann, { query: 'AND(' })).toEqual(['Max']);
      expect(await listed(s, ann, { query: 'and' })).toEqual(['Max']);
      expect(await listed(s, ann, { query: '"extra"' })).toEqual(['Max']);
      expect(await listed(s, ann, { query: 'crisp*' })).toEqual(['Max']);
      expect(await listed(s, ann, { query: '-fish' })).toEqual(['Max']);
      expect(await listed(s, ann, { query: 'fish NOT chips' })).toEqual([]);
      expect(await listed(s, ann, { query: 'fish OR lyon' })).toEqual([]);
      expect(await listed(s, ann, { query: 'NEAR(fish chips)' })).toEqual([]);
      expect(await listed(s, ann, { query: 'text:fish' })).toEqual([]);
      expect(await listed(s, ann, { query: '(vinegar)' })).toEqual(['Max']);
      expect(await listed(s, ann, { query: 'lyon?' })).toEqual(['Vic']);
      expect(await listed(s, ann, { query: 'fish:* & !chips | x <-> y' })).toEqual([]);
      expect(await listed(s, ann, { query: '\u0000fish\u0000' })).toEqual(['Max']);
    });

    it("searches only the owner's conversations, newest activity first, up to the limit", async () => {
      const s = ctx.storage();
      const { ann, vic, zoe, max } = await inbox(s);
      const bob = await seedAccount(s, 'bob', 'Bob');
      const bobs = await seedConversation(s, bob, { visitorName: 'Hello Bob' });
      await say(s, bobs, 'hello there', { at: 50 });
      for (const [conv, at] of [[zoe, 20], [max, 30], [vic, 40]] as const) await say(s, conv, 'Hello again', { at });
      expect(await listed(s, ann, { query: 'hello' })).toEqual(['Vic', 'Max', 'Zoë Durand']);
      const two = await s.listConversations(ann.id, { limit: 2, query: 'hello' });
      expect(two.map((c) => c.visitorName)).toEqual(['Vic', 'Max']);
      expect(two[0]).toEqual(await s.getConversationSummary(vic.conversation.id));
      expect(await listed(s, bob, { query: 'hello' })).toEqual(['Hello Bob']);
    });

    it('looks through archived conversations too, and combines with the filters', async () => {
      const s = ctx.storage();
      const { ann, vic, zoe } = await inbox(s);
      await say(s, zoe, 'Lyon too?', { at: 20 });
      await s.setArchived(vic.conversation.id, true);
      expect(await listed(s, ann, { query: 'lyon' })).toEqual(['Zoë Durand', 'Vic']);
      expect(await listed(s, ann, { query: 'lyon', filter: 'archived' })).toEqual(['Vic']);
      await s.raiseReceipt(zoe.owner.id, 'read', 10);
      expect(await listed(s, ann, { query: 'lyon', filter: 'unread' })).toEqual(['Vic']);
      expect(await listed(s, ann, { query: 'lyon', filter: 'files' })).toEqual([]);
      await sendFiles(s, zoe, zoe.owner, [await seedFile(s, zoe, zoe.owner)], { at: T0 + 30 });
      expect(await listed(s, ann, { query: 'lyon', filter: 'files' })).toEqual(['Zoë Durand']);
    });

    it('finds words in any script, and keeps text with a NUL searchable', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const ru = await seedConversation(s, ann, { visitorName: 'Дмитрий' });
      const el = await seedConversation(s, ann, { visitorName: 'Ελένη' });
      await say(s, ru, 'Привет, у вас есть ДОСТАВКА?');
      await say(s, el, 'Καλημέρα\u0000σας');
      expect(await listed(s, ann, { query: 'доставка' })).toEqual(['Дмитрий']);
      expect(await listed(s, ann, { query: 'дмит' })).toEqual(['Дмитрий']);
      // Case, in every script; accents are folded in Latin script only (FTS5 keeps the Greek tonos).
      expect(await listed(s, ann, { query: 'ΚΑΛΗΜΈΡΑ' })).toEqual(['Ελένη']);
      expect(await listed(s, ann, { query: 'σας' })).toEqual(['Ελένη']);
    });

    it('forgets the words of a deleted conversation, searched before or not, also for the next conversation created', async () => {
      const s = ctx.storage();
      const { ann, max } = await inbox(s);
      expect(await listed(s, ann, { query: 'vinegar' })).toEqual(['Max']);
      await say(s, max, 'Malt vinegar, please', { at: 20 });
      await sendFiles(s, max, max.visitor, [await seedFile(s, max, max.visitor, { name: 'receipt.pdf' })]);
      await s.renameParticipant(max.visitor.id, 'Maximilian');
      await s.deleteConversation(max.conversation.id);
      const next = await seedConversation(s, ann, { visitorName: 'Newcomer', at: T0 + 500 });
      await say(s, next, 'hello', { at: 600 });
      for (const query of ['vinegar', 'malt', 'receipt', 'max', 'maximilian', 'crispy']) {
        expect(await listed(s, ann, { query }), query).toEqual([]);
      }
      expect(await listed(s, ann, { query: 'newcomer hello' })).toEqual(['Newcomer']);
      expect(await listed(s, ann, { query: 'lyon' })).toEqual(['Vic']);
    });

    it("forgets the words of a removed account's conversations, and keeps everyone else's", async () => {
      const s = ctx.storage();
      const { ann } = await inbox(s);
      const bob = await seedAccount(s, 'bob', 'Bob');
      const bobs = await seedConversation(s, bob, { visitorName: 'Lyon Visitor' });
      await say(s, bobs, 'lyon lyon', { at: 30 });
      expect(await listed(s, bob, { query: 'lyon' })).toEqual(['Lyon Visitor']);
      expect(await s.removeAccount('ann')).toBe(true);
      expect(await listed(s, ann, { query: 'lyon' })).toEqual([]);
      expect(await listed(s, bob, { query: 'lyon' })).toEqual(['Lyon Visitor']);
      expect(await listed(s, bob, { query: 'visitor lyon' })).toEqual(['Lyon Visitor']);
    });
  });
}
