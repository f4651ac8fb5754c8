/** Storage contract: co-edited documents, their Yjs updates and snapshots (engine/ports/documentStorage.ts). */
import { describe, expect, it } from 'vitest';
import { T0, URL_SAFE_ID, seedAccount, seedConversation, type StorageContext } from './fixtures.ts';

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

export function documentRules(ctx: StorageContext): void {
  describe('documents', () => {
    it('creates a document in a conversation and finds it by id', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const doc = await s.createDocument({ conversationId: conv.conversation.id, createdBy: conv.visitor.id, title: 'Plan 😀', at: T0 + 1 });
      expect(doc).toEqual({ id: doc.id, conversationId: conv.conversation.id, createdBy: conv.visitor.id, title: 'Plan 😀', createdAt: T0 + 1 });
      expect(doc.id).toMatch(URL_SAFE_ID);
      expect(await s.getDocument(doc.id)).toEqual(doc);
      expect(await s.getDocument('no-such-document')).toBeNull();
    });

    it('refuses a creator who is not a participant of the conversation, and an unknown conversation', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const one = await seedConversation(s, ann);
      const other = await seedConversation(s, ann);
      await expect(s.createDocument({ conversationId: one.conversation.id, createdBy: other.visitor.id, title: 'x', at: T0 }))
        .rejects.toMatchObject({ code: 'forbidden' });
      await expect(s.createDocument({ conversationId: 'no-such-conversation', createdBy: one.visitor.id, title: 'x', at: T0 }))
        .rejects.toMatchObject({ code: 'not_found' });
      await expect(s.createDocument({ conversationId: one.conversation.id, createdBy: one.owner.id, title: 'bad \uD800', at: T0 }))
        .rejects.toMatchObject({ code: 'bad_request' });
    });

    it('returns appended updates byte-exact, in order, with increasing ids', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const doc = await s.createDocument({ conversationId: conv.conversation.id, createdBy: conv.owner.id, title: 'Notes', at: T0 });
      const empty = await s.loadDocumentState(doc.id);
      expect(empty).toEqual({ snapshot: null, updates: [], lastUpdateId: 0, bytes: 0 });
      const updates = [bytes(1, 2, 3), bytes(0, 255, 0), bytes(7)];
      const ids: number[] = [];
      for (const u of updates) ids.push(await s.appendDocumentUpdate(doc.id, u, T0));
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      expect(new Set(ids).size).toBe(3);
      const state = await s.loadDocumentState(doc.id);
      expect(state.snapshot).toBeNull();
      expect(state.updates.map((u) => [...u])).toEqual(updates.map((u) => [...u]));
      expect(state.lastUpdateId).toBe(ids[2]);
      expect(state.bytes).toBe(7);
    });

    it('compacts: the snapshot replaces the updates it includes, later updates stay', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const doc = await s.createDocument({ conversationId: conv.conversation.id, createdBy: conv.owner.id, title: 'Notes', at: T0 });
      await s.appendDocumentUpdate(doc.id, bytes(1), T0);
      const second = await s.appendDocumentUpdate(doc.id, bytes(2), T0);
      const third = await s.appendDocumentUpdate(doc.id, bytes(3, 3), T0);
      await s.compactDocument(doc.id, bytes(9, 9, 9, 9), second, T0 + 1);
      const state = await s.loadDocumentState(doc.id);
      expect([...(state.snapshot ?? [])]).toEqual([9, 9, 9, 9]);
      expect(state.updates.map((u) => [...u])).toEqual([[3, 3]]);
      expect(state.lastUpdateId).toBe(third);
      expect(state.bytes).toBe(6);
      // Ids keep growing after a compaction removed the newest ones.
      await s.compactDocument(doc.id, bytes(8), third, T0 + 2);
      const fourth = await s.appendDocumentUpdate(doc.id, bytes(4), T0);
      expect(fourth).toBeGreaterThan(third);
      const after = await s.loadDocumentState(doc.id);
      expect([...(after.snapshot ?? [])]).toEqual([8]);
      expect(after.updates.map((u) => [...u])).toEqual([[4]]);
    });

    it('keeps documents apart and answers not_found for a document that does not exist', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const a = await s.createDocument({ conversationId: conv.conversation.id, createdBy: conv.owner.id, title: 'A', at: T0 });
      const b = await s.createDocument({ conversationId: conv.conversation.id, createdBy: conv.owner.id, title: 'B', at: T0 });
      await s.appendDocumentUpdate(a.id, bytes(1), T0);
      expect((await s.loadDocumentState(b.id)).updates).toEqual([]);
      await expect(s.appendDocumentUpdate('no-such-document', bytes(1), T0)).rejects.toMatchObject({ code: 'not_found' });
      await expect(s.loadDocumentState('no-such-document')).rejects.toMatchObject({ code: 'not_found' });
      await expect(s.compactDocument('no-such-document', bytes(1), 1, T0)).rejects.toMatchObject({ code: 'not_found' });
    });

    it('removes an account\u2019s documents with the account', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s, 'ann'));
      const doc = await s.createDocument({ conversationId: conv.conversation.id, createdBy: conv.owner.id, title: 'A', at: T0 });
      await s.appendDocumentUpdate(doc.id, bytes(1), T0);
      expect(await s.removeAccount('ann')).toBe(true);
      expect(await s.getDocument(doc.id)).toBeNull();
    });
  });
}
