/**
 * Storage contract: email (issue 17) outside the inbox. The owner's address and its one-time verification, mail
 * clients' device tokens, the mails of conversations by Message-ID (threading: scoped to the owner's account),
 * a conversation's reply-address token, the visitor's "no more mail", the subject, and the notification mark that
 * two processes cannot both move. Email conversations in the inbox: emailInbox.contract.ts.
 */
import { describe, expect, it } from 'vitest';
import type { StoredMail } from '../../../engine/ports/storage.ts';
import { T0, range, seedAccount, seedConversation, type SeededConversation, type StorageContext } from './fixtures.ts';

/** A mail of `conv` (owned by `accountId`) at `seq`, with no stored forms unless told. */
function mail(conv: SeededConversation, messageId: string, seq: number, opts: Partial<StoredMail> = {}): StoredMail {
  return {
    messageId, accountId: conv.conversation.ownerAccountId, conversationId: conv.conversation.id, seq,
    rawBlobId: null, htmlBlobId: null, at: T0 + seq, ...opts,
  };
}

export function mailRules(ctx: StorageContext): void {
  describe("email: the owner's address", () => {
    it('stores a new address unverified, verifies it once with its token, and forgets it when removed', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      expect(await s.getAccountEmail(ann.id)).toBeNull();
      await s.setAccountEmail(ann.id, { address: 'ann@example.com', verifyTokenHash: 'vh-1', at: T0 });
      expect(await s.getAccountEmail(ann.id)).toEqual({ accountId: ann.id, address: 'ann@example.com', verifiedAt: null });
      expect(await s.verifyAccountEmail('vh-unknown', T0 + 1)).toBeNull();
      expect(await s.verifyAccountEmail('vh-1', T0 + 2)).toEqual({ accountId: ann.id, address: 'ann@example.com', verifiedAt: T0 + 2 });
      expect(await s.verifyAccountEmail('vh-1', T0 + 3)).toBeNull();
      expect(await s.getAccountEmail(ann.id)).toMatchObject({ verifiedAt: T0 + 2 });
      await s.setAccountEmail(ann.id, null);
      expect(await s.getAccountEmail(ann.id)).toBeNull();
      await s.setAccountEmail(ann.id, null); // removing none is no error
    });

    it('makes a changed address unverified again, and the link mailed for the old one verifies nothing', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      await s.setAccountEmail(ann.id, { address: 'ann@example.com', verifyTokenHash: 'vh-old', at: T0 });
      await s.verifyAccountEmail('vh-old', T0 + 1);
      await s.setAccountEmail(ann.id, { address: 'ann@new.example', verifyTokenHash: 'vh-new', at: T0 + 2 });
      expect(await s.getAccountEmail(ann.id)).toEqual({ accountId: ann.id, address: 'ann@new.example', verifiedAt: null });
      // Set again before the first link was opened: only the newest link works.
      await s.setAccountEmail(ann.id, { address: 'ann@newer.example', verifyTokenHash: 'vh-newer', at: T0 + 3 });
      expect(await s.verifyAccountEmail('vh-new', T0 + 4)).toBeNull();
      expect(await s.verifyAccountEmail('vh-old', T0 + 4)).toBeNull();
      expect(await s.verifyAccountEmail('vh-newer', T0 + 5)).toMatchObject({ address: 'ann@newer.example', verifiedAt: T0 + 5 });
    });

    it("keeps each account's address apart, refuses an unknown account, and goes with its account", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const bob = await seedAccount(s, 'bob');
      await s.setAccountEmail(ann.id, { address: 'ann@example.com', verifyTokenHash: 'vh-ann', at: T0 });
      await s.setAccountEmail(bob.id, { address: 'bob@example.com', verifyTokenHash: 'vh-bob', at: T0 });
      await s.verifyAccountEmail('vh-bob', T0 + 1);
      expect(await s.getAccountEmail(ann.id)).toMatchObject({ address: 'ann@example.com', verifiedAt: null });
      await expect(s.setAccountEmail('no-such-account', { address: 'x@example.com', verifyTokenHash: 'vh-x', at: T0 }))
        .rejects.toMatchObject({ code: 'not_found' });
      await s.removeAccount('ann');
      expect(await s.getAccountEmail(ann.id)).toBeNull();
      expect(await s.verifyAccountEmail('vh-ann', T0 + 2)).toBeNull();
    });
  });

  describe('email: device tokens', () => {
    it("creates, uses, lists and revokes a mail client's token; a revoked token finds nothing", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const bob = await seedAccount(s, 'bob');
      const laptop = await s.createDeviceToken({ accountId: ann.id, name: 'Laptop (Thunderbird) ✉', tokenHash: 'dh-1', at: T0 });
      expect(laptop).toEqual({ id: laptop.id, accountId: ann.id, name: 'Laptop (Thunderbird) ✉', createdAt: T0, lastUsedAt: null });
      const phone = await s.createDeviceToken({ accountId: ann.id, name: 'Phone', tokenHash: 'dh-2', at: T0 + 1 });
      const bobs = await s.createDeviceToken({ accountId: bob.id, name: 'Bob', tokenHash: 'dh-3', at: T0 });

      expect(await s.useDeviceToken('dh-1', T0 + 10)).toEqual({ ...laptop, lastUsedAt: T0 + 10 });
      expect(await s.useDeviceToken('dh-unknown', T0 + 10)).toBeNull();
      expect(await s.listDeviceTokens(ann.id)).toEqual([{ ...laptop, lastUsedAt: T0 + 10 }, phone]);

      expect(await s.revokeDeviceToken(bob.id, laptop.id)).toBe(false); // not Bob's
      expect(await s.revokeDeviceToken(ann.id, laptop.id)).toBe(true);
      expect(await s.revokeDeviceToken(ann.id, laptop.id)).toBe(false);
      expect(await s.useDeviceToken('dh-1', T0 + 20)).toBeNull();
      expect(await s.listDeviceTokens(ann.id)).toEqual([phone]);
      expect(await s.listDeviceTokens(bob.id)).toEqual([bobs]);
    });

    it('refuses a token hash in use and an unknown account, and removes the tokens with their account', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      await s.createDeviceToken({ accountId: ann.id, name: 'Laptop', tokenHash: 'dh-1', at: T0 });
      await expect(s.createDeviceToken({ accountId: ann.id, name: 'Again', tokenHash: 'dh-1', at: T0 })).rejects.toMatchObject({ code: 'conflict' });
      await expect(s.createDeviceToken({ accountId: 'no-such-account', name: 'X', tokenHash: 'dh-2', at: T0 }))
        .rejects.toMatchObject({ code: 'not_found' });
      await s.removeAccount('ann');
      expect(await s.useDeviceToken('dh-1', T0 + 1)).toBeNull();
    });
  });

  describe('email: mails of conversations', () => {
    it('records a Message-ID once per account, and finds the first known of a list with its conversation', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const first = await seedConversation(s, ann);
      const second = await seedConversation(s, ann);
      const inbound = mail(first, 'CAF=in-1@mail.example.com', 1, { rawBlobId: 'raw-1', htmlBlobId: 'html-1' });
      expect(await s.recordMail(inbound)).toBe(true);
      expect(await s.recordMail({ ...inbound, conversationId: second.conversation.id, seq: 9 })).toBe(false);
      expect(await s.recordMail(mail(second, 'out-2@knock.example', 1))).toBe(true);
      expect(await s.getMail(first.conversation.id, 1)).toEqual(inbound);
      expect(await s.getMail(first.conversation.id, 2)).toBeNull();

      // In-Reply-To first, then References newest first: the first one known decides the thread.
      expect(await s.findMail(ann.id, ['unknown@x', 'out-2@knock.example', 'CAF=in-1@mail.example.com'])).toEqual(mail(second, 'out-2@knock.example', 1));
      expect(await s.findMail(ann.id, ['CAF=in-1@mail.example.com', 'out-2@knock.example'])).toEqual(inbound);
      expect(await s.findMail(ann.id, ['unknown@x'])).toBeNull();
      expect(await s.findMail(ann.id, [])).toBeNull();
    });

    it("keeps each account's Message-IDs apart: one mail sent to two owners threads in each, never across", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const bob = await seedAccount(s, 'bob');
      const annConv = await seedConversation(s, ann);
      const bobConv = await seedConversation(s, bob);
      expect(await s.recordMail(mail(annConv, 'shared@mail.example.com', 1))).toBe(true);
      expect(await s.findMail(bob.id, ['shared@mail.example.com'])).toBeNull();
      expect(await s.recordMail(mail(bobConv, 'shared@mail.example.com', 1))).toBe(true);
      expect(await s.findMail(bob.id, ['shared@mail.example.com'])).toMatchObject({ conversationId: bobConv.conversation.id });
      expect(await s.findMail(ann.id, ['shared@mail.example.com'])).toMatchObject({ conversationId: annConv.conversation.id });
      await expect(s.recordMail(mail(annConv, 'gone@x', 1, { conversationId: 'no-such-conversation' }))).rejects.toMatchObject({ code: 'not_found' });
    });

    it("gives a conversation's Message-IDs oldest first, the newest `limit` of them (a reply's References)", async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      for (const seq of [3, 1, 5, 2, 4]) await s.recordMail(mail(conv, `m${seq}@x`, seq));
      expect(await s.mailThread(conv.conversation.id, 10)).toEqual(['m1@x', 'm2@x', 'm3@x', 'm4@x', 'm5@x']);
      expect(await s.mailThread(conv.conversation.id, 2)).toEqual(['m4@x', 'm5@x']);
      expect(await s.mailThread(conv.conversation.id, 0)).toEqual([]);
      expect(await s.mailThread('no-such-conversation', 10)).toEqual([]);
    });
  });

  describe("email: a conversation's reply address, subject and marks", () => {
    it('gives each conversation one reply-address token, the same on every call, and finds the conversation by it', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const one = await seedConversation(s, ann);
      const two = await seedConversation(s, ann);
      expect(await s.getConversationByMailToken('abcdefghijklmnopqrst')).toBeNull();
      // Asked for at once (two replies being mailed): one token.
      const tokens = await Promise.all(range(1, 4).map(() => s.conversationMailToken(one.conversation.id)));
      expect(new Set(tokens).size).toBe(1);
      const token = tokens[0]!;
      expect(token).toMatch(/^[a-z2-7]{16,32}$/);
      expect(await s.conversationMailToken(one.conversation.id)).toBe(token);
      const other = await s.conversationMailToken(two.conversation.id);
      expect(other).not.toBe(token);
      expect(await s.getConversationByMailToken(token)).toEqual(await s.getConversation(one.conversation.id));
      // Mail systems may change the case of an address on the way.
      expect((await s.getConversationByMailToken(token.toUpperCase()))?.id).toBe(one.conversation.id);
      expect((await s.getConversationByMailToken(other))?.id).toBe(two.conversation.id);
      await expect(s.conversationMailToken('no-such-conversation')).rejects.toMatchObject({ code: 'not_found' });
      await s.deleteConversation(one.conversation.id);
      expect(await s.getConversationByMailToken(token)).toBeNull();
    });

    it('turns mail to the visitor off and on again, and sets the subject', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s), { visitorEmail: 'vic@example.com' });
      const id = conv.conversation.id;
      expect(conv.conversation).toMatchObject({ visitorEmail: 'vic@example.com', visitorEmailOff: false, subject: null });
      expect(await s.setVisitorEmailOff(id, true)).toBe(true);
      expect(await s.getConversation(id)).toMatchObject({ visitorEmail: 'vic@example.com', visitorEmailOff: true });
      expect(await s.setVisitorEmailOff(id, false)).toBe(true);
      expect(await s.getConversation(id)).toMatchObject({ visitorEmailOff: false });
      expect(await s.setSubject(id, 'Your order, "n°42" 📦')).toBe(true);
      expect(await s.getConversation(id)).toMatchObject({ subject: 'Your order, "n°42" 📦' });
      expect(await s.getConversationByTokenHash(conv.tokenHash)).toMatchObject({ subject: 'Your order, "n°42" 📦', visitorEmailOff: false });
      expect(await s.setVisitorEmailOff('no-such-conversation', true)).toBe(false);
      expect(await s.setSubject('no-such-conversation', 'x')).toBe(false);
    });

    it('moves the notification mark only from the value it has, so of two processes only one notifies', async () => {
      const s = ctx.storage();
      const id = (await seedConversation(s, await seedAccount(s))).conversation.id;
      expect(await s.getNotifyMark(id)).toEqual({ seq: 0, at: 0 });
      const seen = await s.getNotifyMark(id);
      // Two processes read the same mark and both try to move it.
      const moves = await Promise.all([
        s.moveNotifyMark(id, seen, { seq: 3, at: T0 + 1 }),
        s.moveNotifyMark(id, seen, { seq: 4, at: T0 + 2 }),
      ]);
      expect(moves.filter(Boolean)).toHaveLength(1);
      const now = await s.getNotifyMark(id);
      expect([{ seq: 3, at: T0 + 1 }, { seq: 4, at: T0 + 2 }]).toContainEqual(now);
      // The second mover, with its stale `from`, fails; from the mark as it is, it moves.
      expect(await s.moveNotifyMark(id, seen, { seq: 9, at: T0 + 3 })).toBe(false);
      expect(await s.moveNotifyMark(id, { seq: now.seq, at: now.at + 1 }, { seq: 9, at: T0 + 3 })).toBe(false);
      expect(await s.moveNotifyMark(id, now, { seq: 9, at: T0 + 3 })).toBe(true);
      expect(await s.getNotifyMark(id)).toEqual({ seq: 9, at: T0 + 3 });
      await expect(s.getNotifyMark('no-such-conversation')).rejects.toMatchObject({ code: 'not_found' });
      expect(await s.moveNotifyMark('no-such-conversation', { seq: 0, at: 0 }, { seq: 1, at: 1 })).toBe(false);
    });
  });
}
