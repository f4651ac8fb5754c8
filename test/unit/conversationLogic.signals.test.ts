/**
 * ConversationLogic without Colyseus: receipts, typing, names, rate limits, errors, the owner's presence, logout
 * and the owner's conversation list, against a real in-memory SQLite store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../engine/errors.ts';
import type { ConversationClientMessages } from '../../engine/protocol.ts';
import { cmid, conversationFixture, type ConvPeer, type ConversationFixture } from '../support/conversationFixture.ts';

let f: ConversationFixture;
afterEach(async () => {
  await f.logic.dispose();
  await f.close();
});

/** Alice's device and her visitor, joined, with two messages from the visitor; transports cleared. */
async function talking(opts: { messages?: number } = {}): Promise<{ owner: ConvPeer; visitor: ConvPeer }> {
  f = await conversationFixture({ seedMessages: opts.messages ?? 2 });
  const owner = await f.join(f.ownerPeer());
  const visitor = await f.join(f.visitorPeer());
  owner.transport.clear();
  visitor.transport.clear();
  return { owner, visitor };
}

function receipt(kind: 'delivered' | 'read', seq: number): ConversationClientMessages['receipt'] {
  return { kind, seq };
}

describe('ConversationLogic receipts', () => {
  it('broadcasts a receipt to every peer, the reader\u2019s own devices included', async () => {
    const { owner, visitor } = await talking();
    await f.logic.dispatch(owner, 'receipt', receipt('delivered', 2));

    const expected = { participantId: f.owner.id, kind: 'delivered', seq: 2 };
    expect(owner.transport.of('receipt')).toEqual([expected]);
    expect(visitor.transport.of('receipt')).toEqual([expected]);
    expect((await f.participant(f.owner.id)).deliveredSeq).toBe(2);
  });

  it('treats a read receipt as delivered too', async () => {
    const { owner, visitor } = await talking();
    await f.logic.dispatch(owner, 'receipt', receipt('read', 2));

    expect(visitor.transport.of('receipt')).toEqual([
      { participantId: f.owner.id, kind: 'delivered', seq: 2 },
      { participantId: f.owner.id, kind: 'read', seq: 2 },
    ]);
    expect(await f.participant(f.owner.id)).toMatchObject({ deliveredSeq: 2, readSeq: 2 });
  });

  it('never moves a watermark backwards and stays silent about a receipt that changes nothing', async () => {
    const { owner, visitor } = await talking({ messages: 3 });
    await f.logic.dispatch(owner, 'receipt', receipt('read', 3));
    visitor.transport.clear();

    await f.logic.dispatch(owner, 'receipt', receipt('read', 1));
    await f.logic.dispatch(owner, 'receipt', receipt('delivered', 2));

    expect(visitor.transport.sent).toEqual([]);
    expect(await f.participant(f.owner.id)).toMatchObject({ deliveredSeq: 3, readSeq: 3 });
  });

  it('clamps a receipt for a message that does not exist yet to the last seq', async () => {
    const { owner, visitor } = await talking({ messages: 2 });
    await f.logic.dispatch(visitor, 'receipt', receipt('delivered', 99));

    expect(owner.transport.of('receipt')).toEqual([{ participantId: f.visitor.id, kind: 'delivered', seq: 2 }]);
    expect((await f.participant(f.visitor.id)).deliveredSeq).toBe(2);

    await f.send(owner, 1);
    await f.logic.dispatch(visitor, 'receipt', receipt('delivered', 99));
    expect(owner.transport.of('receipt').map((r) => r.seq)).toEqual([2, 3]);
  });

  it('ignores a receipt in an empty conversation', async () => {
    const { owner, visitor } = await talking({ messages: 0 });
    await f.logic.dispatch(visitor, 'receipt', receipt('read', 5));

    expect(owner.transport.sent).toEqual([]);
    expect(visitor.transport.sent).toEqual([]);
  });
});

describe('ConversationLogic typing', () => {
  it('relays typing to the other peers only', async () => {
    const { owner, visitor } = await talking();
    const laptop = await f.join(f.ownerPeer('owner-laptop'));
    laptop.transport.clear();

    await f.logic.dispatch(visitor, 'typing', { active: true });

    const expected = [{ participantId: f.visitor.id, name: 'Vic', active: true }];
    expect(owner.transport.of('typing')).toEqual(expected);
    expect(laptop.transport.of('typing')).toEqual(expected);
    expect(visitor.transport.sent).toEqual([]);
  });

  it('clears the typing indicator of a peer that leaves', async () => {
    const { owner, visitor } = await talking();
    await f.logic.dispatch(visitor, 'typing', { active: true });

    f.logic.leave(visitor.id);

    expect(owner.transport.of('typing').at(-1)).toEqual({ participantId: f.visitor.id, name: 'Vic', active: false });
    expect(f.logic.peerCount).toBe(1);
  });

  it('sends nothing more to a peer that left', async () => {
    const { owner, visitor } = await talking();
    f.logic.leave(visitor.id);
    f.logic.leave(visitor.id); // a second leave is harmless

    await f.send(owner, 1);
    await f.logic.dispatch(owner, 'typing', { active: true });

    expect(visitor.transport.sent).toEqual([]);
  });
});

describe('ConversationLogic names', () => {
  it('lets the visitor rename themself and tells everyone', async () => {
    const { owner, visitor } = await talking();
    await f.logic.dispatch(visitor, 'rename', { name: 'Victoria' });

    const expected = { id: f.visitor.id, role: 'visitor', name: 'Victoria', deliveredSeq: 0, readSeq: 0 };
    expect(owner.transport.of('participant')).toEqual([expected]);
    expect(visitor.transport.of('participant')).toEqual([expected]);
    expect((await f.participant(f.visitor.id)).name).toBe('Victoria');

    await f.send(visitor, 1);
    expect(owner.transport.of('message')[0]?.senderName).toBe('Victoria');
  });

  it('refuses a rename from the owner with `forbidden` and changes nothing', async () => {
    const { owner, visitor } = await talking();
    await f.logic.dispatch(owner, 'rename', { name: 'Queen Alice' });

    expect(owner.transport.of('error')).toEqual([expect.objectContaining({ code: 'forbidden', ref: 'rename' })]);
    expect(visitor.transport.sent).toEqual([]);
    expect((await f.participant(f.owner.id)).name).toBe('Alice');
  });
});

describe('ConversationLogic rate limits', () => {
  it('refuses messages beyond the bucket and accepts them again once time has refilled it', async () => {
    f = await conversationFixture();
    const visitor = await f.join(f.visitorPeer('visitor-1', { rates: { messages: { perWindow: 2, windowMs: 1000 } } }));

    await f.send(visitor, 1);
    await f.send(visitor, 2);
    await f.send(visitor, 3);
    expect(visitor.transport.of('error')).toEqual([
      { code: 'rate_limited', message: expect.stringMatching(/too many, too fast/), data: { retryAfterMs: 500 }, ref: cmid(3) },
    ]);
    expect(await f.stored()).toHaveLength(2);

    f.clock.advance(499);
    await f.send(visitor, 3);
    expect(visitor.transport.of('error')).toHaveLength(2);

    f.clock.advance(1);
    await f.send(visitor, 3);
    expect(visitor.transport.of('ack').at(-1)).toMatchObject({ clientMsgId: cmid(3), seq: 3 });
  });

  it('limits typing and receipts with their own bucket, apart from messages', async () => {
    f = await conversationFixture({ seedMessages: 1 });
    const visitor = await f.join(f.visitorPeer('visitor-1', { rates: { signals: { perWindow: 1, windowMs: 10_000 } } }));

    await f.logic.dispatch(visitor, 'typing', { active: true });
    await f.logic.dispatch(visitor, 'receipt', receipt('read', 1));
    await f.send(visitor, 1);

    expect(visitor.transport.of('error')).toEqual([expect.objectContaining({ code: 'rate_limited', ref: 'receipt' })]);
    expect(visitor.transport.of('ack')).toHaveLength(1);
  });
});

describe('ConversationLogic dispatch', () => {
  it('answers an unknown message type with `unknown_type`, referenced by the type', async () => {
    const { visitor } = await talking();
    await f.logic.dispatch(visitor, 'shout' as never, {} as never);

    expect(visitor.transport.of('error')).toEqual([expect.objectContaining({ code: 'unknown_type', ref: 'shout' })]);
  });

  it('answers an unexpected failure with a generic `internal` error that leaks nothing', async () => {
    f = await conversationFixture({
      storage: (real) =>
        new Proxy(real, {
          get(target, prop, receiver) {
            if (prop === 'messagesAfter') return () => Promise.reject(new Error('SQLITE_CORRUPT at /var/lib/knock.db'));
            const value: unknown = Reflect.get(target, prop, receiver);
            return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
          },
        }),
    });
    const owner = await f.join(f.ownerPeer());
    await f.logic.dispatch(owner, 'sync', { afterSeq: 0 });

    const [error] = owner.transport.of('error');
    expect(error).toMatchObject({ code: 'internal', ref: 'sync' });
    expect(error!.message).not.toMatch(/SQLITE|knock\.db/);
  });

  it('answers sync with the messages after a seq and history with the ones before it', async () => {
    const { owner } = await talking({ messages: 5 });
    await f.logic.dispatch(owner, 'sync', { afterSeq: 2, limit: 2 });
    await f.logic.dispatch(owner, 'history', { beforeSeq: 3 });

    expect(owner.transport.of('messages')).toEqual([expect.objectContaining({ afterSeq: 2, more: true })]);
    expect(owner.transport.of('messages')[0]!.items.map((m) => m.seq)).toEqual([3, 4]);
    expect(owner.transport.of('history')).toEqual([expect.objectContaining({ beforeSeq: 3, more: false })]);
    expect(owner.transport.of('history')[0]!.items.map((m) => m.seq)).toEqual([1, 2]);
  });
});

describe('ConversationLogic owner presence and sessions', () => {
  it('broadcasts the owner\u2019s presence only when it changes', async () => {
    const { owner, visitor } = await talking();
    f.logic.setOwnerOnline(false);
    f.logic.setOwnerOnline(true);
    f.logic.setOwnerOnline(true);
    f.logic.setOwnerOnline(false);

    expect(visitor.transport.of('presence')).toEqual([{ online: true }, { online: false }]);
    expect(owner.transport.of('presence')).toEqual([{ online: true }, { online: false }]);
    const late = await f.join(f.visitorPeer('visitor-2'));
    expect(late.transport.of('welcome')[0]?.ownerOnline).toBe(false);
  });

  it('closes only the sockets of the session that logged out, with the logged-out close code', async () => {
    f = await conversationFixture();
    const phone = await f.join(f.ownerPeer('owner-phone', { sessionHash: 'session-phone' }));
    const laptop = await f.join(f.ownerPeer('owner-laptop', { sessionHash: 'session-laptop' }));
    const visitor = await f.join(f.visitorPeer());

    f.logic.endSession('session-phone');

    expect(phone.transport.closes).toEqual([{ code: CloseCode.loggedOut, reason: expect.any(String) }]);
    expect(laptop.transport.closes).toEqual([]);
    expect(visitor.transport.closes).toEqual([]);
  });
});

describe('ConversationLogic and the owner\u2019s conversation list', () => {
  it('reports a change after a stored message, but not after a duplicate', async () => {
    const { visitor } = await talking();
    await f.send(visitor, 1);
    await f.send(visitor, 1);

    expect(f.summaries).toEqual([f.conversation.id]);
  });

  it('reports a change after the owner reads, not after the visitor reads', async () => {
    const { owner, visitor } = await talking();
    await f.logic.dispatch(visitor, 'receipt', receipt('read', 2));
    expect(f.summaries).toEqual([]);

    await f.logic.dispatch(owner, 'receipt', receipt('read', 2));
    expect(f.summaries).toEqual([f.conversation.id]);
  });

  it('reports a change after the visitor renames themself', async () => {
    const { visitor } = await talking();
    await f.logic.dispatch(visitor, 'rename', { name: 'Victoria' });

    expect(f.summaries).toEqual([f.conversation.id]);
  });

  it('finishes the writes in progress before dispose resolves, and asks later senders to resend', async () => {
    const { visitor } = await talking({ messages: 0 });
    const write = f.gated.hold('appendMessage', 'after');
    const first = f.send(visitor, 1);
    await write.entered;
    // Sent while the first is still being written: accepted, stored after it.
    const queued = [2, 3].map((n) => f.send(visitor, n));

    let disposed = false;
    const disposing = f.logic.dispose().then(() => (disposed = true));
    const late = f.send(visitor, 4);
    await Promise.resolve();
    expect(disposed).toBe(false);
    write.release();
    await Promise.all([first, ...queued, late, disposing]);

    expect((await f.stored()).map((m) => m.clientMsgId)).toEqual([1, 2, 3].map(cmid));
    expect(visitor.transport.of('ack').map((a) => a.clientMsgId)).toEqual([1, 2, 3].map(cmid));
    expect(visitor.transport.of('error')).toEqual([expect.objectContaining({ ref: cmid(4), message: expect.stringMatching(/resent/) })]);
  });
});
