/**
 * ConversationLogic without Colyseus: joining (welcome, catch-up, the joining buffer) and sending (seq, ack,
 * broadcast, idempotency), against a real in-memory SQLite store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { limits } from '../../engine/protocol.ts';
import { cmid, conversationFixture, type ConversationFixture } from '../support/conversationFixture.ts';
import { settle } from '../support/roomHarness.ts';

let f: ConversationFixture;
afterEach(async () => {
  await f.logic.dispose();
  await f.close();
});

describe('ConversationLogic join', () => {
  it('sends the welcome first, then the newest messages when the client holds none', async () => {
    f = await conversationFixture({ seedMessages: 3, ownerOnline: true });
    const peer = await f.join(f.visitorPeer());

    expect(peer.transport.types()).toEqual(['welcome', 'messages']);
    const [welcome] = peer.transport.of('welcome');
    expect(welcome).toMatchObject({
      conversation: { id: f.conversation.id, ownerHandle: 'alice', ownerName: 'Alice' },
      me: { participantId: f.visitor.id, role: 'visitor' },
      ownerOnline: true,
      lastSeq: 3,
    });
    expect(welcome!.participants.map((p) => p.name).sort()).toEqual(['Alice', 'Vic']);
    const [page] = peer.transport.of('messages');
    expect(page).toMatchObject({ afterSeq: 0, more: false });
    expect(page!.items.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(peer.state.kind).toBe('active');
  });

  it('sends only the newest page of a long conversation, starting after the seq before it', async () => {
    f = await conversationFixture({ seedMessages: limits.pageSize + 5 });
    const peer = await f.join(f.visitorPeer());

    const [page] = peer.transport.of('messages');
    expect(page!.afterSeq).toBe(5);
    expect(page!.items.map((m) => m.seq)).toEqual(Array.from({ length: limits.pageSize }, (_, i) => i + 6));
  });

  it('sends exactly the messages after `since`', async () => {
    f = await conversationFixture({ seedMessages: 5 });
    const peer = await f.join(f.ownerPeer(), 3);

    const [page] = peer.transport.of('messages');
    expect(page).toMatchObject({ afterSeq: 3, more: false });
    expect(page!.items.map((m) => m.body)).toEqual(['seed 4', 'seed 5']);
  });

  it('sends an empty catch-up to a client that already holds everything', async () => {
    f = await conversationFixture({ seedMessages: 2 });
    const peer = await f.join(f.ownerPeer(), 2);

    expect(peer.transport.of('messages')).toEqual([{ afterSeq: 2, items: [], more: false }]);
  });

  it('says there is more when the messages after `since` exceed a page', async () => {
    f = await conversationFixture({ seedMessages: limits.pageSize + 1 });
    const peer = await f.join(f.ownerPeer(), 0);

    const [page] = peer.transport.of('messages');
    expect(page!.items).toHaveLength(limits.pageSize);
    expect(page!.more).toBe(true);
  });

  it('sends the newest page to a client that claims a seq beyond the last one (a restored server)', async () => {
    f = await conversationFixture({ seedMessages: 2 });
    const peer = await f.join(f.ownerPeer(), 50);

    const [page] = peer.transport.of('messages');
    expect(page!.afterSeq).toBe(0);
    expect(page!.items.map((m) => m.seq)).toEqual([1, 2]);
  });

  it('refuses a join from someone who is not a participant and keeps no peer for it', async () => {
    f = await conversationFixture();
    const stranger = f.visitorPeer('stranger');
    const intruder = { ...stranger, identity: { ...stranger.identity, participantId: 'not-a-participant' } };

    await expect(f.logic.join(intruder, undefined)).rejects.toMatchObject({ code: 'forbidden' });
    expect(f.logic.peerCount).toBe(0);
  });

  it('keeps no peer behind when the catch-up read fails', async () => {
    f = await conversationFixture({
      storage: (real) =>
        new Proxy(real, {
          get(target, prop, receiver) {
            if (prop === 'messagesBefore') return () => Promise.reject(new Error('database unavailable'));
            const value: unknown = Reflect.get(target, prop, receiver);
            return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
          },
        }),
    });
    const peer = f.visitorPeer();

    await expect(f.logic.join(peer, undefined)).rejects.toThrow('database unavailable');
    // A peer left in `joining` would buffer every later event for as long as the room lives.
    expect(f.logic.peerCount).toBe(0);
  });
});

describe('ConversationLogic send', () => {
  it('stores messages with contiguous seqs and acknowledges them to the sender only', async () => {
    f = await conversationFixture();
    const visitor = await f.join(f.visitorPeer());
    visitor.transport.clear();

    for (const n of [1, 2, 3]) await f.send(visitor, n);

    expect(visitor.transport.of('ack')).toEqual([1, 2, 3].map((seq) => ({ clientMsgId: cmid(seq), seq, at: f.clock.t })));
    expect(visitor.transport.of('message')).toEqual([]);
    expect((await f.stored()).map((m) => [m.seq, m.body])).toEqual([[1, 'message 1'], [2, 'message 2'], [3, 'message 3']]);
  });

  it('broadcasts a stored message to the other side and to the sender\u2019s other devices', async () => {
    f = await conversationFixture();
    const phone = await f.join(f.ownerPeer('owner-phone'));
    const laptop = await f.join(f.ownerPeer('owner-laptop'));
    const visitor = await f.join(f.visitorPeer());
    for (const p of [phone, laptop, visitor]) p.transport.clear();

    await f.send(phone, 1, 'hello from the phone');

    expect(phone.transport.types()).toEqual(['ack']);
    for (const other of [laptop, visitor]) {
      expect(other.transport.types()).toEqual(['message']);
      expect(other.transport.of('message')[0]).toMatchObject({
        seq: 1, senderId: f.owner.id, senderRole: 'owner', senderName: 'Alice', body: 'hello from the phone', clientMsgId: cmid(1),
      });
    }
  });

  it('answers a repeated clientMsgId with the first seq and broadcasts it only once', async () => {
    f = await conversationFixture();
    const visitor = await f.join(f.visitorPeer());
    const owner = await f.join(f.ownerPeer());
    visitor.transport.clear();

    await f.send(visitor, 7, 'once');
    await f.send(visitor, 8, 'twice');
    f.clock.advance(5_000);
    await f.send(visitor, 7, 'once');

    expect(visitor.transport.of('ack')).toEqual([
      { clientMsgId: cmid(7), seq: 1, at: f.clock.t - 5_000 },
      { clientMsgId: cmid(8), seq: 2, at: f.clock.t - 5_000 },
      { clientMsgId: cmid(7), seq: 1, at: f.clock.t - 5_000 },
    ]);
    expect(owner.transport.of('message').map((m) => m.seq)).toEqual([1, 2]);
    expect(await f.stored()).toHaveLength(2);
  });

  it('stores, acknowledges and broadcasts concurrent sends in seq order', async () => {
    f = await conversationFixture();
    const visitor = await f.join(f.visitorPeer());
    const owner = await f.join(f.ownerPeer());

    await Promise.all([1, 2, 3, 4, 5].map((n) => f.send(visitor, n)));

    expect(visitor.transport.of('ack').map((a) => [a.clientMsgId, a.seq])).toEqual([1, 2, 3, 4, 5].map((n) => [cmid(n), n]));
    expect(owner.transport.of('message').map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('writes the messages that arrive while an earlier write is in flight and acks none before it; the others hear all of them in seq order', async () => {
    f = await conversationFixture();
    const visitor = await f.join(f.visitorPeer());
    const owner = await f.join(f.ownerPeer());
    const first = f.gated.hold('appendMessage', 'after');
    const sends = [f.send(visitor, 1)];
    await first.entered;
    sends.push(f.send(visitor, 2), f.send(visitor, 3));
    await settle();

    // 2 and 3 are stored already (they did not wait for 1's answer). Their sender has no ack yet (acks leave in seq
    // order, and 1's answer is late); the owner's device, told of 2 first, read 1 from storage and got all three in order.
    expect((await f.stored()).map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(visitor.transport.of('ack')).toEqual([]);
    expect(owner.transport.of('message').map((m) => m.seq)).toEqual([1, 2, 3]);

    first.release();
    await Promise.all(sends);
    expect(visitor.transport.of('ack').map((a) => a.seq)).toEqual([1, 2, 3]);
    expect(owner.transport.of('message').map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('reports a message the store refuses to its sender, referenced by clientMsgId, and stores nothing', async () => {
    f = await conversationFixture();
    const visitor = await f.join(f.visitorPeer());
    const owner = await f.join(f.ownerPeer());
    owner.transport.clear();

    await f.send(visitor, 1, 'broken \uD800 text');

    expect(visitor.transport.of('error')).toEqual([expect.objectContaining({ code: 'bad_request', ref: cmid(1) })]);
    expect(owner.transport.sent).toEqual([]);
    expect(await f.stored()).toEqual([]);
  });
});

describe('ConversationLogic join while a write is in flight', () => {
  it('delivers a message written after the catch-up read once, after the catch-up', async () => {
    f = await conversationFixture({ seedMessages: 1 });
    const visitor = await f.join(f.visitorPeer());
    const write = f.gated.hold('appendMessage', 'before');
    const sending = f.send(visitor, 1, 'in flight');
    await write.entered;

    const owner = await f.join(f.ownerPeer());
    write.release();
    await sending;

    expect(owner.transport.types()).toEqual(['welcome', 'messages', 'message']);
    expect(owner.transport.of('messages')[0]!.items.map((m) => m.seq)).toEqual([1]);
    expect(owner.transport.of('message').map((m) => m.seq)).toEqual([2]);
  });

  it('delivers a message broadcast while the joiner is still catching up once, after the catch-up', async () => {
    f = await conversationFixture({ seedMessages: 1 });
    const visitor = await f.join(f.visitorPeer());
    const read = f.gated.hold('messagesBefore', 'before');
    const joining = f.join(f.ownerPeer());
    await read.entered;

    await f.send(visitor, 1, 'during catch-up');
    read.release();
    const owner = await joining;

    const delivered = [...owner.transport.of('messages')[0]!.items, ...owner.transport.of('message')].map((m) => m.seq);
    expect(delivered).toEqual([1, 2]);
  });

  it('does not deliver twice a message the catch-up already carried while its broadcast was waiting', async () => {
    f = await conversationFixture({ seedMessages: 1 });
    const visitor = await f.join(f.visitorPeer());
    const read = f.gated.hold('messagesBefore', 'after');
    const joining = f.join(f.ownerPeer());
    await read.entered; // the catch-up has been read (seq 1 only), its answer is on the way

    await f.send(visitor, 1, 'during catch-up');
    read.release();
    const owner = await joining;

    const delivered = [...owner.transport.of('messages')[0]!.items, ...owner.transport.of('message')].map((m) => m.seq);
    expect(delivered).toEqual([1, 2]);
  });

  it('delivers exactly once a message already stored when the joiner read its catch-up, whose write answers later', async () => {
    // A networked store (DESIGN: PostgreSQL) can commit a message, answer a later read that includes it, and only
    // then deliver the write's own answer: the joiner gets seq 2 in its catch-up and must not get it again live.
    f = await conversationFixture({ seedMessages: 1 });
    const visitor = await f.join(f.visitorPeer());
    const write = f.gated.hold('appendMessage', 'after');
    const sending = f.send(visitor, 1, 'committed, answer pending');
    await write.entered;
    await settle(); // the row is in the database

    const owner = await f.join(f.ownerPeer());
    write.release();
    await sending;

    const delivered = [...owner.transport.of('messages')[0]!.items, ...owner.transport.of('message')].map((m) => m.seq);
    expect(delivered).toEqual([1, 2]);
  });

  it('never sends a live event to a peer that left while it was joining', async () => {
    f = await conversationFixture();
    const visitor = await f.join(f.visitorPeer());
    const read = f.gated.hold('messagesBefore', 'before');
    const ownerPeer = f.ownerPeer();
    const joining = f.join(ownerPeer);
    await read.entered;

    f.logic.leave(ownerPeer.id);
    await f.send(visitor, 1);
    read.release();
    await joining;

    expect(ownerPeer.transport.of('message')).toEqual([]);
    expect(ownerPeer.state.kind).toBe('draining');
    expect(f.logic.peerCount).toBe(1);
  });
});
