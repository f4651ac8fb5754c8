/**
 * Storage contract: the routing of a company's chats to its operators (issue 19), what the SiteRoom's router relies
 * on. A chat is queued once; a queued or assigned chat goes to the operator named (a take, a transfer) until it ends;
 * an ended chat stays ended; a company's open chats come the longest queued first; and everything goes with the
 * conversation, the company, or (for the operator's part only) the operator's account.
 */
import { describe, expect, it } from 'vitest';
import type { Account, Storage } from '../../../engine/ports/storage.ts';
import { T0, seedAccount, seedConversation, type StorageContext } from './fixtures.ts';

async function seedCompany(s: Storage, handle = 'acme'): Promise<Account> {
  const company = await seedAccount(s, handle, `${handle} Ltd`);
  await s.makeCompany(company.id, T0);
  return company;
}

export function routingRules(ctx: StorageContext): void {
  describe('routing of chats', () => {
    it('queues a chat once, whatever state it is in later', async () => {
      const s = ctx.storage();
      const acme = await seedCompany(s);
      const { conversation } = await seedConversation(s, acme);
      expect(await s.getChatAssignment(conversation.id)).toBeNull();
      expect(await s.queueChat(conversation.id, acme.id, T0 + 1)).toBe(true);
      expect(await s.queueChat(conversation.id, acme.id, T0 + 2)).toBe(false);
      expect(await s.getChatAssignment(conversation.id)).toEqual({
        conversationId: conversation.id, companyId: acme.id, operatorId: null, state: 'queued', queuedAt: T0 + 1, assignedAt: null, endedAt: null,
      });
      await s.endChat(conversation.id, T0 + 3);
      expect(await s.queueChat(conversation.id, acme.id, T0 + 4)).toBe(false);
      expect((await s.getChatAssignment(conversation.id))?.state).toBe('ended');
    });

    it('assigns a queued chat, moves an assigned one to another operator, and never reopens an ended one', async () => {
      const s = ctx.storage();
      const acme = await seedCompany(s);
      const ann = await seedAccount(s, 'ann');
      const bob = await seedAccount(s, 'bob');
      const { conversation } = await seedConversation(s, acme);
      expect(await s.assignChat(conversation.id, ann.id, T0)).toBeNull(); // unknown
      await s.queueChat(conversation.id, acme.id, T0 + 1);
      expect(await s.assignChat(conversation.id, ann.id, T0 + 2)).toMatchObject({ operatorId: ann.id, state: 'assigned', assignedAt: T0 + 2, queuedAt: T0 + 1 });
      expect(await s.assignChat(conversation.id, bob.id, T0 + 3)).toMatchObject({ operatorId: bob.id, state: 'assigned', assignedAt: T0 + 3 });
      expect(await s.endChat(conversation.id, T0 + 4)).toBe(true);
      expect(await s.endChat(conversation.id, T0 + 5)).toBe(false);
      expect(await s.assignChat(conversation.id, ann.id, T0 + 6)).toBeNull();
      expect(await s.getChatAssignment(conversation.id)).toEqual({
        conversationId: conversation.id, companyId: acme.id, operatorId: bob.id, state: 'ended', queuedAt: T0 + 1, assignedAt: T0 + 3, endedAt: T0 + 4,
      });
      expect(await s.endChat('no-such-conversation', T0)).toBe(false);
    });

    it('queues an ended chat again (its visitor wrote), with no operator, and leaves an open one as it is', async () => {
      const s = ctx.storage();
      const acme = await seedCompany(s);
      const ann = await seedAccount(s, 'ann');
      const { conversation } = await seedConversation(s, acme);
      expect(await s.reopenChat(conversation.id, T0)).toBeNull(); // unknown
      await s.queueChat(conversation.id, acme.id, T0 + 1);
      expect(await s.reopenChat(conversation.id, T0 + 2)).toBeNull(); // queued: stays
      await s.assignChat(conversation.id, ann.id, T0 + 3);
      expect(await s.reopenChat(conversation.id, T0 + 4)).toBeNull(); // assigned: stays
      await s.endChat(conversation.id, T0 + 5);
      const reopened = { conversationId: conversation.id, companyId: acme.id, operatorId: null, state: 'queued', queuedAt: T0 + 6, assignedAt: null, endedAt: null };
      expect(await s.reopenChat(conversation.id, T0 + 6)).toEqual(reopened);
      expect(await s.getChatAssignment(conversation.id)).toEqual(reopened);
      expect((await s.openChats(acme.id)).map((c) => c.conversationId)).toEqual([conversation.id]);
    });

    it("lists a company's open chats only, the longest queued first", async () => {
      const s = ctx.storage();
      const acme = await seedCompany(s);
      const other = await seedCompany(s, 'other');
      const ann = await seedAccount(s, 'ann');
      const ids: string[] = [];
      for (const at of [T0 + 30, T0 + 10, T0 + 20, T0 + 40]) {
        const { conversation } = await seedConversation(s, acme);
        await s.queueChat(conversation.id, acme.id, at);
        ids.push(conversation.id);
      }
      const { conversation: theirs } = await seedConversation(s, other);
      await s.queueChat(theirs.id, other.id, T0);
      await s.assignChat(ids[2]!, ann.id, T0 + 50);
      await s.endChat(ids[3]!, T0 + 60);
      const open = await s.openChats(acme.id);
      expect(open.map((c) => [c.conversationId, c.state])).toEqual([[ids[1], 'queued'], [ids[2], 'assigned'], [ids[0], 'queued']]);
      expect(await s.openChats(ann.id)).toEqual([]);
    });

    it('refuses a chat of no conversation or no company', async () => {
      const s = ctx.storage();
      const acme = await seedCompany(s);
      const { conversation } = await seedConversation(s, acme);
      await expect(s.queueChat('no-such-conversation', acme.id, T0)).rejects.toMatchObject({ code: 'not_found' });
      await expect(s.queueChat(conversation.id, 'no-such-company', T0)).rejects.toMatchObject({ code: 'not_found' });
      await s.queueChat(conversation.id, acme.id, T0);
      await expect(s.assignChat(conversation.id, 'no-such-account', T0)).rejects.toMatchObject({ code: 'not_found' });
      expect((await s.getChatAssignment(conversation.id))?.state).toBe('queued');
    });

    it("goes with its conversation and its company; an operator's removed account leaves the chat assigned to nobody", async () => {
      const s = ctx.storage();
      const acme = await seedCompany(s);
      const ann = await seedAccount(s, 'ann');
      const first = (await seedConversation(s, acme)).conversation;
      const second = (await seedConversation(s, acme)).conversation;
      await s.queueChat(first.id, acme.id, T0);
      await s.queueChat(second.id, acme.id, T0 + 1);
      await s.assignChat(second.id, ann.id, T0 + 2);
      await s.deleteConversation(first.id);
      expect(await s.getChatAssignment(first.id)).toBeNull();
      expect(await s.removeAccount('ann')).toBe(true);
      expect(await s.getChatAssignment(second.id)).toMatchObject({ state: 'assigned', operatorId: null });
      expect(await s.removeAccount('acme')).toBe(true);
      expect(await s.getChatAssignment(second.id)).toBeNull();
    });
  });
}
