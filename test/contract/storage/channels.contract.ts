/**
 * Storage contract: forwarding to the owner's other channels (issue 18), what engine/forwarding relies on. An owner's
 * channels keep an order with no gaps, a kind and address once per account, and become forwarding targets only once
 * verified by a code that can be tried a few times before it expires; settings have defaults; a conversation has at
 * most one open forward, whose tag is the smallest free among the account's open ones, and whose steps are each sent
 * once and matched by their receipts; a server value is made once; everything goes with its account, conversation or
 * channel.
 */
import { describe, expect, it } from 'vitest';
import type { ChannelKind, ForwardingSettings, OwnerChannel } from '../../../engine/ports/channel.ts';
import type { Account, NewChannel, Storage, StoredForward } from '../../../engine/ports/storage.ts';
import { T0, range, seedAccount, seedConversation, type SeededConversation, type StorageContext } from './fixtures.ts';

/** A channel of `account`: unverified, no secret, no delay, unless told otherwise. */
function channel(account: Account, kind: ChannelKind, address: string, opts: Partial<NewChannel> = {}): NewChannel {
  return { accountId: account.id, kind, address, secret: null, delayMs: 0, verified: false, at: T0, ...opts };
}

/** Adds a verified channel (as a push subscription is made, or as one whose code was typed back). */
function addVerified(s: Storage, account: Account, kind: ChannelKind, address: string, opts: Partial<NewChannel> = {}): Promise<OwnerChannel> {
  return s.addChannel(channel(account, kind, address, { verified: true, ...opts }));
}

const idsOf = (channels: readonly OwnerChannel[]): string[] => channels.map((c) => c.id);
const tagsOf = (forwards: readonly StoredForward[]): string[] => forwards.map((f) => f.tag);

/** Opens the conversation's forward with one step per channel, `delayMs` after the knock at T0 + 100. */
function open(s: Storage, conv: SeededConversation, channels: readonly OwnerChannel[], opts: { afterSeq?: number; at?: number } = {}) {
  return s.openForward({
    conversationId: conv.conversation.id,
    accountId: conv.conversation.ownerAccountId,
    knockAt: T0 + 100,
    afterSeq: opts.afterSeq ?? 0,
    steps: channels.map((c) => ({ channelId: c.id, kind: c.kind, at: T0 + 100 + c.delayMs })),
    at: opts.at ?? T0 + 100,
  });
}

const MAX_TRIES = 3;

/** Ann with three channels (XMPP, email, SMS, in that order) and Bob with one (SMS). */
async function seedTwoAccounts(s: Storage) {
  const ann = await seedAccount(s);
  const bob = await seedAccount(s, 'bob');
  const anns = [
    await s.addChannel(channel(ann, 'xmpp', 'ann@jabber.example')),
    await s.addChannel(channel(ann, 'email', 'ann@example.com')),
    await s.addChannel(channel(ann, 'sms', '+15551234567')),
  ] as const;
  return { ann, bob, anns, bobs: await s.addChannel(channel(bob, 'sms', '+15557654321')) };
}

export function channelRules(ctx: StorageContext): void {
  describe("forwarding: an owner's channels", () => {
    it('adds channels at the end of the order, unverified unless made verified, and lists them in that order', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const xmpp = await s.addChannel(channel(ann, 'xmpp', 'ann@jabber.example', { delayMs: 0 }));
      expect(xmpp).toEqual({
        id: xmpp.id, accountId: ann.id, kind: 'xmpp', address: 'ann@jabber.example', verified: false, secret: null, position: 0, delayMs: 0,
      });
      expect(xmpp.id).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
      const sms = await s.addChannel(channel(ann, 'sms', '+15551234567', { delayMs: 600_000 }));
      const keys = JSON.stringify({ p256dh: 'BNc…', auth: 'tBHI…' });
      const push = await addVerified(s, ann, 'push', 'https://push.example/send/abc', { secret: keys, delayMs: 60_000, at: T0 + 5 });
      expect(push).toMatchObject({ kind: 'push', verified: true, secret: keys, position: 2, delayMs: 60_000 });
      expect(sms.position).toBe(1);
      expect(await s.listChannels(ann.id)).toEqual([xmpp, sms, push]);
      expect(await s.getChannel(push.id)).toEqual(push);
      expect(await s.getChannel('no-such-channel')).toBeNull();
      expect(await s.listChannels((await seedAccount(s, 'bob')).id)).toEqual([]);
    });

    it('refuses a kind and address the account has (conflict), but not for another account or another kind', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const bob = await seedAccount(s, 'bob');
      const first = await s.addChannel(channel(ann, 'email', 'ann@example.com'));
      await expect(s.addChannel(channel(ann, 'email', 'ann@example.com', { verified: true, delayMs: 5 }))).rejects.toMatchObject({ code: 'conflict' });
      await s.addChannel(channel(bob, 'email', 'ann@example.com'));
      await s.addChannel(channel(ann, 'webhook', 'ann@example.com'));
      expect(await s.listChannels(ann.id)).toEqual([first, expect.objectContaining({ kind: 'webhook', position: 1 })]);
      await expect(s.addChannel(channel(ann, 'sms', '+15550000000', { accountId: 'no-such-account' }))).rejects.toMatchObject({ code: 'not_found' });
    });

    it('refuses a channel it could not store as given: no address, a negative or fractional delay, a lone surrogate', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      for (const bad of [
        channel(ann, 'sms', ''),
        channel(ann, 'sms', '+15551234567', { delayMs: -1 }),
        channel(ann, 'sms', '+15551234567', { delayMs: 1.5 }),
        channel(ann, 'sms', '+15551234567', { delayMs: Number.NaN }),
        channel(ann, 'xmpp', 'ann\uD800@jabber.example'),
        channel(ann, 'webhook', 'https://hooks.example/knock', { secret: '["\uDC00"]' }),
      ]) {
        await expect(s.addChannel(bad), JSON.stringify(bad)).rejects.toMatchObject({ code: 'bad_request' });
      }
      expect(await s.listChannels(ann.id)).toEqual([]);
    });

    it('removes a channel of its account only, and the order closes the gap it left', async () => {
      const s = ctx.storage();
      const { ann, bob, anns: [a, b, c], bobs } = await seedTwoAccounts(s);
      expect(await s.removeChannel(bob.id, b.id)).toBe(false);
      expect(await s.removeChannel(ann.id, 'no-such-channel')).toBe(false);
      expect(await s.removeChannel(ann.id, b.id)).toBe(true);
      expect(await s.removeChannel(ann.id, b.id)).toBe(false);
      expect(await s.getChannel(b.id)).toBeNull();
      expect(await s.listChannels(ann.id)).toEqual([{ ...a, position: 0 }, { ...c, position: 1 }]);
      // The next one comes last, right after the others.
      const d = await s.addChannel(channel(ann, 'email', 'ann@example.com'));
      expect(d.position).toBe(2);
      expect(await s.removeChannel(ann.id, a.id)).toBe(true);
      expect((await s.listChannels(ann.id)).map((ch) => [ch.id, ch.position])).toEqual([[c.id, 0], [d.id, 1]]);
      expect(await s.listChannels(bob.id)).toEqual([bobs]);
    });

    it("reorders the channels only when given exactly the account's ids, each once", async () => {
      const s = ctx.storage();
      const { ann, bob, anns: [a, b, c], bobs } = await seedTwoAccounts(s);
      const before = await s.listChannels(ann.id);
      for (const refused of [
        [c.id, a.id], // one missing (a list made before b was added)
        [c.id, a.id, b.id, 'no-such-channel'],
        [c.id, a.id, a.id],
        [c.id, a.id, bobs.id],
        [],
      ]) {
        expect(await s.reorderChannels(ann.id, refused), refused.join()).toBe(false);
        expect(await s.listChannels(ann.id)).toEqual(before);
      }
      expect(await s.reorderChannels(ann.id, [c.id, a.id, b.id])).toBe(true);
      expect(await s.listChannels(ann.id)).toEqual([{ ...c, position: 0 }, { ...a, position: 1 }, { ...b, position: 2 }]);
      expect(await s.listChannels(bob.id)).toEqual([bobs]);
      // After a removal the order is still one with no gaps, and the next reorder works from it.
      await s.removeChannel(ann.id, a.id);
      expect(await s.reorderChannels(ann.id, [b.id, c.id])).toBe(true);
      expect((await s.listChannels(ann.id)).map((ch) => [ch.id, ch.position])).toEqual([[b.id, 0], [c.id, 1]]);
      // No channels: the empty list is all of them.
      const carol = await seedAccount(s, 'carol');
      expect(await s.reorderChannels(carol.id, [])).toBe(true);
    });

    it("sets a channel's delay (its account's only) and its secret", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const bob = await seedAccount(s, 'bob');
      const hook = await s.addChannel(channel(ann, 'webhook', 'https://hooks.example/knock', { secret: '["s1"]' }));
      expect(await s.setChannelDelay(ann.id, hook.id, 120_000)).toBe(true);
      expect(await s.setChannelDelay(bob.id, hook.id, 5)).toBe(false);
      expect(await s.setChannelDelay(ann.id, 'no-such-channel', 5)).toBe(false);
      await expect(s.setChannelDelay(ann.id, hook.id, -5)).rejects.toMatchObject({ code: 'bad_request' });
      expect(await s.setChannelSecret(hook.id, '["s2","s1"]')).toBe(true);
      expect(await s.getChannel(hook.id)).toEqual({ ...hook, delayMs: 120_000, secret: '["s2","s1"]' });
      expect(await s.setChannelSecret(hook.id, null)).toBe(true);
      expect((await s.getChannel(hook.id))?.secret).toBeNull();
      expect(await s.setChannelSecret('no-such-channel', 'x')).toBe(false);
    });
  });

  describe('forwarding: verification codes', () => {
    it('verifies a channel with the code sent to it, once; a wrong code counts as a try and verifies nothing', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const sms = await s.addChannel(channel(ann, 'sms', '+15551234567'));
      await s.setChannelCode(sms.id, { codeHash: 'hash-of-123456', expiresAt: T0 + 600_000 });
      expect(await s.checkChannelCode(ann.id, sms.id, 'hash-of-000000', T0 + 1, MAX_TRIES)).toBe('wrong');
      expect((await s.getChannel(sms.id))?.verified).toBe(false);
      expect(await s.checkChannelCode(ann.id, sms.id, 'hash-of-123456', T0 + 2, MAX_TRIES)).toBe('verified');
      expect(await s.getChannel(sms.id)).toEqual({ ...sms, verified: true });
      // The code is spent.
      expect(await s.checkChannelCode(ann.id, sms.id, 'hash-of-123456', T0 + 3, MAX_TRIES)).toBe('noCode');
      expect((await s.getChannel(sms.id))?.verified).toBe(true);
    });

    it('says a code expired from its expiry on, and took the right one just before', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const late = await s.addChannel(channel(ann, 'sms', '+15551234567'));
      const inTime = await s.addChannel(channel(ann, 'email', 'ann@example.com'));
      await s.setChannelCode(late.id, { codeHash: 'h1', expiresAt: T0 + 1000 });
      await s.setChannelCode(inTime.id, { codeHash: 'h2', expiresAt: T0 + 1000 });
      expect(await s.checkChannelCode(ann.id, late.id, 'h1', T0 + 1000, MAX_TRIES)).toBe('expired');
      expect(await s.checkChannelCode(ann.id, inTime.id, 'h2', T0 + 999, MAX_TRIES)).toBe('verified');
      expect((await s.getChannel(late.id))?.verified).toBe(false);
    });

    it('spends a code after maxTries tries, the right one included, until a new code is sent (which resets the tries)', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const xmpp = await s.addChannel(channel(ann, 'xmpp', 'ann@jabber.example'));
      await s.setChannelCode(xmpp.id, { codeHash: 'right', expiresAt: T0 + 600_000 });
      for (const i of range(1, MAX_TRIES)) expect(await s.checkChannelCode(ann.id, xmpp.id, `guess-${i}`, T0 + i, MAX_TRIES)).toBe('wrong');
      expect(await s.checkChannelCode(ann.id, xmpp.id, 'right', T0 + 10, MAX_TRIES)).toBe('tooManyTries');
      expect(await s.checkChannelCode(ann.id, xmpp.id, 'right', T0 + 11, MAX_TRIES)).toBe('tooManyTries');
      expect((await s.getChannel(xmpp.id))?.verified).toBe(false);

      await s.setChannelCode(xmpp.id, { codeHash: 'right-2', expiresAt: T0 + 600_000 });
      // The last of maxTries tries may still be the right one.
      for (const i of range(1, MAX_TRIES - 1)) expect(await s.checkChannelCode(ann.id, xmpp.id, `guess-${i}`, T0 + 20, MAX_TRIES)).toBe('wrong');
      expect(await s.checkChannelCode(ann.id, xmpp.id, 'right', T0 + 21, MAX_TRIES)).toBe('wrong'); // the old code is no more
      await s.setChannelCode(xmpp.id, { codeHash: 'right-3', expiresAt: T0 + 600_000 });
      for (const i of range(1, MAX_TRIES - 1)) expect(await s.checkChannelCode(ann.id, xmpp.id, `guess-${i}`, T0 + 30, MAX_TRIES)).toBe('wrong');
      expect(await s.checkChannelCode(ann.id, xmpp.id, 'right-3', T0 + 31, MAX_TRIES)).toBe('verified');
      expect((await s.getChannel(xmpp.id))?.verified).toBe(true);
    });

    it("has no code to check without one sent, after it is withdrawn, for an unknown channel, or another account's", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const bob = await seedAccount(s, 'bob');
      const sms = await s.addChannel(channel(ann, 'sms', '+15551234567'));
      expect(await s.checkChannelCode(ann.id, sms.id, 'anything', T0, MAX_TRIES)).toBe('noCode');
      await s.setChannelCode(sms.id, { codeHash: 'right', expiresAt: T0 + 600_000 });
      // Bob cannot verify Ann's channel with her code, nor spend her tries.
      for (const i of range(1, MAX_TRIES + 1)) expect(await s.checkChannelCode(bob.id, sms.id, 'right', T0 + i, MAX_TRIES)).toBe('noCode');
      expect(await s.checkChannelCode(ann.id, 'no-such-channel', 'right', T0, MAX_TRIES)).toBe('noCode');
      expect((await s.getChannel(sms.id))?.verified).toBe(false);
      await s.setChannelCode(sms.id, null);
      expect(await s.checkChannelCode(ann.id, sms.id, 'right', T0 + 10, MAX_TRIES)).toBe('noCode');
      await s.setChannelCode(sms.id, { codeHash: 'right', expiresAt: T0 + 600_000 });
      expect(await s.checkChannelCode(ann.id, sms.id, 'right', T0 + 20, MAX_TRIES)).toBe('verified');
      await expect(s.setChannelCode('no-such-channel', { codeHash: 'x', expiresAt: T0 })).rejects.toMatchObject({ code: 'not_found' });
    });

    it('finds the verified channels at an address of every account, and every verified channel of a kind', async () => {
      const s = ctx.storage();
      const [ann, bob, carol] = [await seedAccount(s), await seedAccount(s, 'bob'), await seedAccount(s, 'carol')];
      const anns = await addVerified(s, ann, 'xmpp', 'shared@jabber.example', { at: T0 });
      const bobs = await addVerified(s, bob, 'xmpp', 'shared@jabber.example', { at: T0 + 1 });
      await s.addChannel(channel(carol, 'xmpp', 'shared@jabber.example', { at: T0 + 2 })); // not verified
      const carolsOther = await s.addChannel(channel(carol, 'xmpp', 'carol@jabber.example', { at: T0 + 3 }));
      const annsSms = await addVerified(s, ann, 'sms', '+15551234567', { at: T0 + 4 });
      expect(await s.channelsAt('xmpp', 'shared@jabber.example')).toEqual([anns, bobs]);
      expect(await s.channelsAt('sms', 'shared@jabber.example')).toEqual([]);
      expect(await s.channelsAt('xmpp', 'SHARED@jabber.example')).toEqual([]);
      expect(await s.channelsOfKind('xmpp')).toEqual([anns, bobs]);
      expect(await s.channelsOfKind('sms')).toEqual([annsSms]);
      expect(await s.channelsOfKind('push')).toEqual([]);
      // Verified by a code: found from then on.
      await s.setChannelCode(carolsOther.id, { codeHash: 'h', expiresAt: T0 + 600_000 });
      await s.checkChannelCode(carol.id, carolsOther.id, 'h', T0 + 5, MAX_TRIES);
      expect(await s.channelsAt('xmpp', 'carol@jabber.example')).toEqual([{ ...carolsOther, verified: true }]);
    });
  });

  describe('forwarding: settings', () => {
    it('has the defaults until set, then keeps what was set, each account its own', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const bob = await seedAccount(s, 'bob');
      const defaults: ForwardingSettings = { paused: false, timeZone: 'UTC', quietHours: null, xmppAwayCounts: false };
      expect(await s.getForwardingSettings(ann.id)).toEqual(defaults);
      const night: ForwardingSettings = { paused: true, timeZone: 'Europe/Berlin', quietHours: { start: 1320, end: 420 }, xmppAwayCounts: true };
      await s.setForwardingSettings(ann.id, night);
      expect(await s.getForwardingSettings(ann.id)).toEqual(night);
      expect(await s.getForwardingSettings(bob.id)).toEqual(defaults);
      const day: ForwardingSettings = { paused: false, timeZone: 'America/New_York', quietHours: null, xmppAwayCounts: false };
      await s.setForwardingSettings(ann.id, day);
      expect(await s.getForwardingSettings(ann.id)).toEqual(day);
      await s.setForwardingSettings(ann.id, { ...day, quietHours: { start: 0, end: 1439 } });
      expect((await s.getForwardingSettings(ann.id)).quietHours).toEqual({ start: 0, end: 1439 });
    });

    it('refuses an unknown time zone, quiet hours off the clock, and an unknown account, keeping what was set', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const kept: ForwardingSettings = { paused: false, timeZone: 'Asia/Tokyo', quietHours: { start: 60, end: 120 }, xmppAwayCounts: false };
      await s.setForwardingSettings(ann.id, kept);
      for (const bad of [
        { ...kept, timeZone: 'Mars/Olympus_Mons' },
        { ...kept, timeZone: '' },
        { ...kept, quietHours: { start: -1, end: 120 } },
        { ...kept, quietHours: { start: 60, end: 1440 } },
        { ...kept, quietHours: { start: 60.5, end: 120 } },
      ]) {
        await expect(s.setForwardingSettings(ann.id, bad), JSON.stringify(bad)).rejects.toMatchObject({ code: 'bad_request' });
      }
      expect(await s.getForwardingSettings(ann.id)).toEqual(kept);
      await expect(s.setForwardingSettings('no-such-account', kept)).rejects.toMatchObject({ code: 'not_found' });
    });
  });

  describe('forwarding: forwards', () => {
    it('opens a forward with its steps in the order planned and tag #1, and finds it every way', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const conv = await seedConversation(s, ann);
      const sms = await addVerified(s, ann, 'sms', '+15551234567', { delayMs: 600_000 });
      const xmpp = await addVerified(s, ann, 'xmpp', 'ann@jabber.example', { delayMs: 0 });
      const { forward, duplicate } = await open(s, conv, [xmpp, sms], { afterSeq: 4 });
      expect(duplicate).toBe(false);
      expect(forward).toEqual({
        id: forward.id, conversationId: conv.conversation.id, accountId: ann.id, tag: '#1', knockAt: T0 + 100, afterSeq: 4,
        steps: [
          { channelId: xmpp.id, kind: 'xmpp', at: T0 + 100, sentAt: null, upToSeq: null, externalId: null, delivery: null },
          { channelId: sms.id, kind: 'sms', at: T0 + 600_100, sentAt: null, upToSeq: null, externalId: null, delivery: null },
        ],
        closedAt: null, createdAt: T0 + 100,
      });
      expect(await s.getForward(forward.id)).toEqual(forward);
      expect(await s.getOpenForward(conv.conversation.id)).toEqual(forward);
      expect(await s.openForwards(ann.id)).toEqual([forward]);
      expect(await s.lastForward(conv.conversation.id)).toEqual(forward);
      expect(await s.getForward('no-such-forward')).toBeNull();
      const quiet = await seedConversation(s, ann);
      expect(await s.getOpenForward(quiet.conversation.id)).toBeNull();
      expect(await s.lastForward(quiet.conversation.id)).toBeNull();
    });

    it('returns the open forward unchanged when one is opened again, also when opened several times at once', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const conv = await seedConversation(s, ann);
      const xmpp = await addVerified(s, ann, 'xmpp', 'ann@jabber.example');
      const sms = await addVerified(s, ann, 'sms', '+15551234567');
      const { forward: first } = await open(s, conv, [xmpp]);
      const again = await s.openForward({
        conversationId: conv.conversation.id, accountId: ann.id, knockAt: T0 + 999, afterSeq: 7,
        steps: [{ channelId: sms.id, kind: 'sms', at: T0 + 999 }], at: T0 + 999,
      });
      expect(again).toEqual({ forward: first, duplicate: true });
      expect(await s.openForwards(ann.id)).toEqual([first]);

      const other = await seedConversation(s, ann);
      const racing = await Promise.all(range(1, 6).map((i) => open(s, other, [sms], { afterSeq: i, at: T0 + 200 })));
      expect(racing.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(new Set(racing.map((r) => r.forward.id)).size).toBe(1);
      expect(tagsOf(await s.openForwards(ann.id))).toEqual(['#1', '#2']);
    });

    it("gives each open forward of an account the smallest tag free among the account's open forwards", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const bob = await seedAccount(s, 'bob');
      const convs = [];
      for (const i of range(1, 4)) convs.push(await seedConversation(s, ann, { visitorName: `Visitor ${i}` }));
      const [c1, c2, c3, c4] = convs;
      const tags: string[] = [];
      for (const conv of [c1!, c2!, c3!]) tags.push((await open(s, conv, [])).forward.tag);
      expect(tags).toEqual(['#1', '#2', '#3']);
      await s.closeForward(c2!.conversation.id, T0 + 200);
      expect((await open(s, c4!, [], { at: T0 + 300 })).forward.tag).toBe('#2');
      // Another account counts its own.
      expect((await open(s, await seedConversation(s, bob), [])).forward.tag).toBe('#1');
      // A conversation whose forward was closed opens a new one, with the smallest free tag.
      await s.closeForward(c1!.conversation.id, T0 + 400);
      const reopened = await open(s, c2!, [], { at: T0 + 500 });
      expect(reopened).toMatchObject({ duplicate: false, forward: { tag: '#1', closedAt: null } });
      expect((await s.openForwards(ann.id)).map((f) => [f.conversationId, f.tag])).toEqual([
        [c3!.conversation.id, '#3'], [c4!.conversation.id, '#2'], [c2!.conversation.id, '#1'],
      ]);
    });

    it("refuses another account's conversation and a plan naming a channel twice; leaves out a step on a channel not the account's", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const bob = await seedAccount(s, 'bob');
      const conv = await seedConversation(s, ann);
      const anns = await addVerified(s, ann, 'sms', '+15551234567');
      const bobs = await addVerified(s, bob, 'sms', '+15557654321');
      await expect(s.openForward({
        conversationId: conv.conversation.id, accountId: bob.id, knockAt: T0, afterSeq: 0, steps: [], at: T0,
      })).rejects.toMatchObject({ code: 'not_found' });
      await expect(s.openForward({
        conversationId: 'no-such-conversation', accountId: ann.id, knockAt: T0, afterSeq: 0, steps: [], at: T0,
      })).rejects.toMatchObject({ code: 'not_found' });
      await expect(s.openForward({
        conversationId: conv.conversation.id, accountId: ann.id, knockAt: T0, afterSeq: 0, at: T0,
        steps: [{ channelId: anns.id, kind: 'sms', at: T0 }, { channelId: anns.id, kind: 'sms', at: T0 + 5 }],
      })).rejects.toMatchObject({ code: 'bad_request' });
      expect(await s.getOpenForward(conv.conversation.id)).toBeNull();
      const { forward } = await s.openForward({
        conversationId: conv.conversation.id, accountId: ann.id, knockAt: T0, afterSeq: 0, at: T0,
        steps: [
          { channelId: bobs.id, kind: 'sms', at: T0 },
          { channelId: 'no-such-channel', kind: 'xmpp', at: T0 },
          { channelId: anns.id, kind: 'sms', at: T0 + 5 },
        ],
      });
      expect(forward.steps.map((step) => step.channelId)).toEqual([anns.id]);
    });

    it('records a step sent once, and none of a closed forward', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const conv = await seedConversation(s, ann);
      const xmpp = await addVerified(s, ann, 'xmpp', 'ann@jabber.example');
      const sms = await addVerified(s, ann, 'sms', '+15551234567', { delayMs: 600_000 });
      const { forward } = await open(s, conv, [xmpp, sms]);
      const sent = { at: T0 + 101, upToSeq: 3, externalId: null };
      expect(await s.markStepSent(forward.id, xmpp.id, sent)).toBe(true);
      expect(await s.markStepSent(forward.id, xmpp.id, { at: T0 + 102, upToSeq: 5, externalId: 'again' })).toBe(false);
      expect(await s.markStepSent(forward.id, 'no-such-channel', sent)).toBe(false);
      expect(await s.markStepSent('no-such-forward', xmpp.id, sent)).toBe(false);
      const [xmppStep, smsStep] = (await s.getForward(forward.id))!.steps;
      expect(xmppStep).toEqual({ channelId: xmpp.id, kind: 'xmpp', at: T0 + 100, sentAt: T0 + 101, upToSeq: 3, externalId: null, delivery: null });
      expect(smsStep?.sentAt).toBeNull();
      // Several processes at once: one records it.
      const racing = await Promise.all(range(1, 4).map((i) => s.markStepSent(forward.id, sms.id, { at: T0 + 600_100 + i, upToSeq: i, externalId: `SM${i}` })));
      expect(racing.filter(Boolean)).toHaveLength(1);
      const closed = await s.closeForward(conv.conversation.id, T0 + 700_000);
      expect(closed?.steps.filter((step) => step.sentAt !== null)).toHaveLength(2);

      const later = await seedConversation(s, ann);
      const { forward: unsent } = await open(s, later, [sms]);
      await s.closeForward(later.conversation.id, T0 + 200);
      expect(await s.markStepSent(unsent.id, sms.id, sent)).toBe(false);
      expect((await s.getForward(unsent.id))?.steps[0]?.sentAt).toBeNull();
    });

    it("records a channel's delivery receipt on the step that sent it, by kind and external id", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const conv = await seedConversation(s, ann);
      const sms = await addVerified(s, ann, 'sms', '+15551234567');
      const xmpp = await addVerified(s, ann, 'xmpp', 'ann@jabber.example');
      const { forward } = await open(s, conv, [sms, xmpp]);
      await s.markStepSent(forward.id, sms.id, { at: T0 + 101, upToSeq: 1, externalId: 'SM-42' });
      await s.markStepSent(forward.id, xmpp.id, { at: T0 + 101, upToSeq: 1, externalId: 'xmpp-7' });
      expect(await s.markStepDelivery('xmpp', 'SM-42', 'delivered')).toBeNull();
      expect(await s.markStepDelivery('sms', 'SM-unknown', 'delivered')).toBeNull();
      const delivered = await s.markStepDelivery('sms', 'SM-42', 'delivered');
      expect(delivered?.id).toBe(forward.id);
      expect(delivered?.steps.map((step) => step.delivery)).toEqual(['delivered', null]);
      // A closed forward still takes its receipts; a later word replaces an earlier one.
      await s.closeForward(conv.conversation.id, T0 + 200);
      expect((await s.markStepDelivery('sms', 'SM-42', 'failed'))?.steps[0]).toMatchObject({ externalId: 'SM-42', delivery: 'failed' });
    });

    it("finds a channel's latest step, and its latest sent one, over open and closed forwards", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const sms = await addVerified(s, ann, 'sms', '+15551234567');
      const other = await addVerified(s, ann, 'xmpp', 'ann@jabber.example');
      expect(await s.lastStepOn(sms.id, false)).toBeNull();
      const first = await seedConversation(s, ann);
      const { forward: older } = await open(s, first, [sms, other]);
      await s.markStepSent(older.id, sms.id, { at: T0 + 150, upToSeq: 1, externalId: 'SM-1' });
      await s.closeForward(first.conversation.id, T0 + 200);
      const second = await seedConversation(s, ann);
      const { forward: newer } = await s.openForward({
        conversationId: second.conversation.id, accountId: ann.id, knockAt: T0 + 300, afterSeq: 0, steps: [{ channelId: sms.id, kind: 'sms', at: T0 + 300 }], at: T0 + 300,
      });
      // The latest step is the newer forward's, not sent yet; the latest sent one is still the closed forward's.
      expect(await s.lastStepOn(sms.id, false)).toMatchObject({ forwardId: newer.id, conversationId: second.conversation.id, step: { sentAt: null, at: T0 + 300 } });
      expect(await s.lastStepOn(sms.id, true)).toMatchObject({ forwardId: older.id, conversationId: first.conversation.id, step: { sentAt: T0 + 150, externalId: 'SM-1' } });
      await s.markStepSent(newer.id, sms.id, { at: T0 + 350, upToSeq: 1, externalId: 'SM-2' });
      expect((await s.lastStepOn(sms.id, true))?.forwardId).toBe(newer.id);
      expect(await s.lastStepOn(other.id, true)).toBeNull();
    });

    it("closes a conversation's open forward, and every open forward of an account, oldest first", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const bob = await seedAccount(s, 'bob');
      const [c1, c2, c3] = [await seedConversation(s, ann), await seedConversation(s, ann), await seedConversation(s, ann)];
      const bobsConv = await seedConversation(s, bob);
      const { forward: f1 } = await open(s, c1, [], { at: T0 + 1 });
      const { forward: f2 } = await open(s, c2, [], { at: T0 + 2 });
      const { forward: f3 } = await open(s, c3, [], { at: T0 + 3 });
      const { forward: bobs } = await open(s, bobsConv, []);

      const closed = await s.closeForward(c1.conversation.id, T0 + 10);
      expect(closed).toEqual({ ...f1, closedAt: T0 + 10 });
      expect(await s.closeForward(c1.conversation.id, T0 + 11)).toBeNull();
      expect(await s.getOpenForward(c1.conversation.id)).toBeNull();
      expect(await s.lastForward(c1.conversation.id)).toEqual(closed);
      expect(await s.closeForward('no-such-conversation', T0)).toBeNull();

      expect(await s.closeForwardsOf(ann.id, T0 + 20)).toEqual([{ ...f2, closedAt: T0 + 20 }, { ...f3, closedAt: T0 + 20 }]);
      expect(await s.closeForwardsOf(ann.id, T0 + 21)).toEqual([]);
      expect(await s.openForwards(ann.id)).toEqual([]);
      expect(await s.openForwards(bob.id)).toEqual([bobs]);

      // The latest forward of a conversation is its open one, then the newest closed one.
      const { forward: next } = await open(s, c1, [], { at: T0 + 30 });
      expect(await s.lastForward(c1.conversation.id)).toEqual(next);
      await s.closeForward(c1.conversation.id, T0 + 40);
      expect(await s.lastForward(c1.conversation.id)).toEqual({ ...next, closedAt: T0 + 40 });
    });
  });

  describe('forwarding: what goes with what', () => {
    it('removes a channel with its steps, keeping the forward and its other steps', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const conv = await seedConversation(s, ann);
      const xmpp = await addVerified(s, ann, 'xmpp', 'ann@jabber.example');
      const sms = await addVerified(s, ann, 'sms', '+15551234567');
      const { forward } = await open(s, conv, [xmpp, sms]);
      await s.markStepSent(forward.id, sms.id, { at: T0 + 101, upToSeq: 1, externalId: 'SM-1' });
      expect(await s.removeChannel(ann.id, sms.id)).toBe(true);
      expect((await s.getForward(forward.id))?.steps.map((step) => step.channelId)).toEqual([xmpp.id]);
      expect(await s.markStepDelivery('sms', 'SM-1', 'delivered')).toBeNull();
      expect(await s.channelsOfKind('sms')).toEqual([]);
    });

    it("deletes a conversation's forwards with it", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const doomed = await seedConversation(s, ann);
      const kept = await seedConversation(s, ann);
      const xmpp = await addVerified(s, ann, 'xmpp', 'ann@jabber.example');
      const { forward: closed } = await open(s, doomed, [xmpp]);
      await s.closeForward(doomed.conversation.id, T0 + 200);
      const { forward: gone } = await open(s, doomed, [xmpp], { at: T0 + 300 });
      const { forward: other } = await open(s, kept, [xmpp], { at: T0 + 300 });
      await s.deleteConversation(doomed.conversation.id);
      expect(await s.getForward(gone.id)).toBeNull();
      expect(await s.getForward(closed.id)).toBeNull();
      expect(await s.lastForward(doomed.conversation.id)).toBeNull();
      expect(await s.openForwards(ann.id)).toEqual([other]);
      expect(await s.listChannels(ann.id)).toEqual([xmpp]);
    });

    it('removes with an account its channels, settings and forwards, and nothing of another account', async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const bob = await seedAccount(s, 'bob');
      const anns = await addVerified(s, ann, 'xmpp', 'shared@jabber.example');
      const bobs = await addVerified(s, bob, 'xmpp', 'shared@jabber.example');
      const settings: ForwardingSettings = { paused: true, timeZone: 'Europe/Paris', quietHours: null, xmppAwayCounts: true };
      await s.setForwardingSettings(ann.id, settings);
      await s.setForwardingSettings(bob.id, settings);
      const { forward } = await open(s, await seedConversation(s, ann), [anns]);
      const { forward: bobsForward } = await open(s, await seedConversation(s, bob), [bobs]);
      await s.removeAccount('ann');
      expect(await s.getChannel(anns.id)).toBeNull();
      expect(await s.channelsAt('xmpp', 'shared@jabber.example')).toEqual([bobs]);
      expect(await s.getForward(forward.id)).toBeNull();
      expect(await s.openForwards(ann.id)).toEqual([]);
      expect(await s.getForwardingSettings(ann.id)).toEqual({ paused: false, timeZone: 'UTC', quietHours: null, xmppAwayCounts: false });
      expect(await s.getForwardingSettings(bob.id)).toEqual(settings);
      expect(await s.getForward(bobsForward.id)).toEqual(bobsForward);
    });
  });

  describe('forwarding: server values', () => {
    it('keeps the first value stored under a name: later calls, and calls racing it, get that one', async () => {
      const s = ctx.storage();
      expect(await s.serverValue('vapid', '{"publicKey":"first"}')).toBe('{"publicKey":"first"}');
      expect(await s.serverValue('vapid', '{"publicKey":"second"}')).toBe('{"publicKey":"first"}');
      const racing = await Promise.all(range(1, 6).map((i) => s.serverValue('raced', `value-${i}`)));
      expect(new Set(racing).size).toBe(1);
      expect(await s.serverValue('raced', 'late')).toBe(racing[0]);
      expect(await s.serverValue('other', 'its own')).toBe('its own');
    });
  });
}
