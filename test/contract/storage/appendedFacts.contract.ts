/**
 * Storage contract: the facts the listeners of a stored message decide on (ConversationLog.onAppended: email,
 * forwarding, SMS), read in one go. Each must follow what the rest of the port says: the conversation as
 * getConversation has it, the owner's email verified or not, the kinds of the owner's verified channels only (no one
 * else's), the conversation's SMS thread, and whether a forward of it is open.
 */
import { describe, expect, it } from 'vitest';
import type { ChannelKind } from '../../../engine/ports/channel.ts';
import type { Account, Storage } from '../../../engine/ports/storage.ts';
import { T0, seedAccount, seedConversation, type StorageContext } from './fixtures.ts';

function addChannel(s: Storage, account: Account, kind: ChannelKind, address: string, verified: boolean) {
  return s.addChannel({ accountId: account.id, kind, address, secret: null, delayMs: 0, verified, at: T0 });
}

export function appendedFactsRules(ctx: StorageContext): void {
  describe('what the listeners of a stored message decide on (appendedFacts)', () => {
    it('starts with nobody else to tell, and is null for a conversation that does not exist', async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      const conv = await seedConversation(s, alice);
      expect(await s.appendedFacts(conv.conversation.id)).toEqual({
        conversation: await s.getConversation(conv.conversation.id),
        ownerEmailVerified: false,
        verifiedChannelKinds: [],
        smsPhone: null,
        forwardOpen: false,
      });
      expect(await s.appendedFacts('no-such-conversation')).toBeNull();
    });

    it("follows the owner's email, verified channels, the SMS thread and the open forward as they change", async () => {
      const s = ctx.storage();
      const alice = await seedAccount(s, 'alice');
      const bob = await seedAccount(s, 'bob');
      const conv = await seedConversation(s, alice);
      const id = conv.conversation.id;

      await s.setAccountEmail(alice.id, { address: 'alice@example.com', verifyTokenHash: 'hash-of-alice-token', at: T0 });
      expect((await s.appendedFacts(id))?.ownerEmailVerified).toBe(false);
      await s.verifyAccountEmail('hash-of-alice-token', T0 + 1);
      expect((await s.appendedFacts(id))?.ownerEmailVerified).toBe(true);

      // Unverified channels and other owners' channels do not count; each kind is listed once.
      await addChannel(s, alice, 'xmpp', 'alice@jabber.example', false);
      await addChannel(s, bob, 'email', 'bob@example.com', true);
      expect((await s.appendedFacts(id))?.verifiedChannelKinds).toEqual([]);
      const sms = await addChannel(s, alice, 'sms', '+15551234567', true);
      await addChannel(s, alice, 'sms', '+15557654321', true);
      await addChannel(s, alice, 'webhook', 'https://hooks.example/knock', true);
      expect((await s.appendedFacts(id))?.verifiedChannelKinds.toSorted()).toEqual(['sms', 'webhook']);

      await s.createSmsThread({ phone: '+447700900123', accountId: alice.id, conversationId: id, via: 'service', shown: '+44 7700 900123', createdAt: T0 });
      expect((await s.appendedFacts(id))?.smsPhone).toBe('+447700900123');

      await s.openForward({ conversationId: id, accountId: alice.id, knockAt: T0 + 100, afterSeq: 0, steps: [{ channelId: sms.id, kind: 'sms', at: T0 + 100 }], at: T0 + 100 });
      expect((await s.appendedFacts(id))?.forwardOpen).toBe(true);
      await s.closeForward(id, T0 + 200);
      const facts = await s.appendedFacts(id);
      expect(facts?.forwardOpen).toBe(false);
      // The conversation in the facts is the conversation as read on its own.
      expect(facts?.conversation).toEqual(await s.getConversation(id));

      // Another conversation of the same owner shares the owner's facts, not the conversation's.
      const other = await seedConversation(s, alice, { visitorName: 'Other' });
      expect(await s.appendedFacts(other.conversation.id)).toMatchObject({ ownerEmailVerified: true, smsPhone: null, forwardOpen: false });
    });
  });
}
