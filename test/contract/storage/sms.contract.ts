/**
 * Storage contract: SMS conversations (issue 20), what engine/sms/ relies on. One thread per (phone, owner), the first
 * one kept when two are made at once; the route it came by (replies leave from that number) can change; the owner's
 * summary carries the number, its route and its STOP; a phone's STOP and START change state once each; an automatic
 * answer is allowed once per interval, even to two callers at once; threads go with their account and conversation,
 * a phone's STOP stays.
 */
import { describe, expect, it } from 'vitest';
import type { SmsThread } from '../../../engine/ports/storage.ts';
import { T0, seedAccount, seedConversation, type StorageContext } from './fixtures.ts';

const PHONE = '+447700900123';
const HOUR = 3_600_000;

export function smsRules(ctx: StorageContext): void {
  describe('SMS conversations', () => {
    async function aliceWithThread(via: SmsThread['via'] = 'service') {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      const conv = await seedConversation(s, alice, { visitorName: 'SMS ••••0123' });
      const thread: SmsThread = { phone: PHONE, accountId: alice.id, conversationId: conv.conversation.id, via, shown: '+44 7700 900123', createdAt: T0 };
      return { s, alice, conv, thread };
    }

    it('keeps one thread per phone and owner, found by both and by its conversation; the first of two made at once wins', async () => {
      const { s, alice, conv, thread } = await aliceWithThread();
      expect(await s.smsThread(PHONE, alice.id)).toBeNull();
      expect(await s.createSmsThread(thread)).toEqual({ thread, created: true });
      expect(await s.smsThread(PHONE, alice.id)).toEqual(thread);
      expect(await s.smsThreadOf(conv.conversation.id)).toEqual(thread);
      const other = await seedConversation(s, alice, { visitorName: 'SMS ••••0123' });
      const second = await s.createSmsThread({ ...thread, conversationId: other.conversation.id, createdAt: T0 + 1 });
      expect(second).toEqual({ thread, created: false });
      expect(await s.smsThreadOf(other.conversation.id)).toBeNull();
      expect(await s.smsThreadsOfPhone(PHONE)).toEqual([thread]);
    });

    it('changes the route a thread replies by, and counts an owner\u2019s new threads since a time', async () => {
      const { s, alice, conv, thread } = await aliceWithThread();
      await s.createSmsThread(thread);
      expect(await s.setSmsThreadVia(conv.conversation.id, 'number')).toBe(true);
      expect(await s.smsThreadOf(conv.conversation.id)).toMatchObject({ via: 'number' });
      expect(await s.setSmsThreadVia('no-such-conversation', 'number')).toBe(false);
      for (let i = 1; i <= 3; i++) {
        const c = await seedConversation(s, alice, { visitorName: `SMS ••••000${i}` });
        await s.createSmsThread({ ...thread, phone: `+1555000000${i}`, conversationId: c.conversation.id, createdAt: T0 + i * HOUR });
      }
      expect(await s.countSmsThreadsSince(alice.id, T0)).toBe(4);
      expect(await s.countSmsThreadsSince(alice.id, T0 + 2 * HOUR)).toBe(2);
      expect(await s.countSmsThreadsSince('no-such-account', T0)).toBe(0);
    });

    it('shows the number, its route and its STOP in the owner\u2019s summary; other conversations have none', async () => {
      const { s, alice, conv, thread } = await aliceWithThread('number');
      const plain = await seedConversation(s, alice, { visitorName: 'Vic' });
      await s.createSmsThread(thread);
      expect(await s.getConversationSummary(conv.conversation.id)).toMatchObject({
        visitorName: 'SMS ••••0123', sms: { phone: PHONE, shown: '+44 7700 900123', via: 'number', stopped: false },
      });
      await s.setSmsStopped(PHONE, T0 + 5, T0 + 5);
      const listed = await s.listConversations(alice.id, { limit: 10 });
      expect(listed.find((c) => c.id === conv.conversation.id)?.sms).toEqual({ phone: PHONE, shown: '+44 7700 900123', via: 'number', stopped: true });
      expect(listed.find((c) => c.id === plain.conversation.id)?.sms).toBeNull();
    });

    it('records the owner a phone texts now, its STOP once and its START once', async () => {
      const { s, alice } = await aliceWithThread();
      expect(await s.smsPhone(PHONE)).toBeNull();
      await s.setSmsCurrent(PHONE, alice.id, T0);
      expect(await s.smsPhone(PHONE)).toEqual({ phone: PHONE, currentAccountId: alice.id, stoppedAt: null, toldAt: null });
      expect(await s.setSmsStopped(PHONE, null, T0)).toBe(false); // not stopped: nothing to resume
      expect(await s.setSmsStopped(PHONE, T0 + 1, T0 + 1)).toBe(true);
      expect(await s.setSmsStopped(PHONE, T0 + 2, T0 + 2)).toBe(false); // a second STOP keeps the first time
      expect(await s.smsPhone(PHONE)).toMatchObject({ stoppedAt: T0 + 1, currentAccountId: alice.id });
      expect(await s.setSmsStopped(PHONE, null, T0 + 3)).toBe(true);
      expect(await s.smsPhone(PHONE)).toMatchObject({ stoppedAt: null });
      // A phone never seen can be stopped (its first text is STOP).
      expect(await s.setSmsStopped('+15550009999', T0, T0)).toBe(true);
      expect(await s.smsPhone('+15550009999')).toEqual({ phone: '+15550009999', currentAccountId: null, stoppedAt: T0, toldAt: null });
    });

    it('allows one automatic answer per interval, to one of two callers at once', async () => {
      const s = ctx.storage();
      const both = await Promise.all([s.markSmsTold(PHONE, T0, T0 - HOUR), s.markSmsTold(PHONE, T0, T0 - HOUR)]);
      expect(both.filter(Boolean)).toHaveLength(1);
      expect(await s.markSmsTold(PHONE, T0 + 10, T0 + 10 - HOUR)).toBe(false); // told at T0, within the hour
      expect(await s.markSmsTold(PHONE, T0 + HOUR, T0)).toBe(true);
      expect(await s.smsPhone(PHONE)).toMatchObject({ toldAt: T0 + HOUR });
    });

    it('refuses numbers that are not E.164 and threads of no account or conversation, storing nothing', async () => {
      const { s, alice, thread } = await aliceWithThread();
      await expect(s.createSmsThread({ ...thread, phone: '07700900123' })).rejects.toMatchObject({ code: 'bad_request' });
      await expect(s.createSmsThread({ ...thread, shown: 'a\nb' })).rejects.toMatchObject({ code: 'bad_request' });
      await expect(s.setSmsStopped('alice', T0, T0)).rejects.toMatchObject({ code: 'bad_request' });
      await expect(s.createSmsThread({ ...thread, conversationId: 'no-such-conversation' })).rejects.toMatchObject({ code: 'not_found' });
      await expect(s.setSmsCurrent(PHONE, 'no-such-account', T0)).rejects.toMatchObject({ code: 'not_found' });
      expect(await s.smsThreadsOfPhone(PHONE)).toEqual([]);
      expect(await s.smsThread(PHONE, alice.id)).toBeNull();
    });

    it('lets threads go with their conversation and account; the phone\u2019s STOP stays, its owner is forgotten', async () => {
      const { s, alice, conv, thread } = await aliceWithThread();
      await s.createSmsThread(thread);
      await s.setSmsCurrent(PHONE, alice.id, T0);
      await s.setSmsStopped(PHONE, T0, T0);
      await s.deleteConversation(conv.conversation.id);
      expect(await s.smsThreadOf(conv.conversation.id)).toBeNull();
      const again = await seedConversation(s, alice, { visitorName: 'SMS ••••0123' });
      await s.createSmsThread({ ...thread, conversationId: again.conversation.id });
      expect(await s.removeAccount('alice')).toBe(true);
      expect(await s.smsThreadsOfPhone(PHONE)).toEqual([]);
      expect(await s.smsPhone(PHONE)).toEqual({ phone: PHONE, currentAccountId: null, stoppedAt: T0, toldAt: null });
    });
  });
}
