/**
 * The ConversationLog (engine/conversationLog.ts), the one door into a conversation's history, on an in-memory Hub
 * and a real in-memory SQLite store, with the ConversationLogic of the conversation subscribed to its topic as the
 * ConversationRoom is: events from the room's peers and from outside (a channel, a game) share one seq order, a
 * repeated key stores once, the owner's list hears of a burst once, and a refused append costs no seq.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { KnockError } from '../../engine/errors.ts';
import type { LogEntry } from '../../engine/conversationLog.ts';
import type { OwnerEvent } from '../../engine/hub.ts';
import type { ConversationEvent, MessageRecord } from '../../engine/protocol.ts';
import { cmid, conversationFixture, type ConvPeer, type ConversationFixture } from '../support/conversationFixture.ts';
import { settle } from '../support/roomHarness.ts';

let f: ConversationFixture;
afterEach(async () => {
  await f.logic.dispose();
  await f.close();
});

/** What a channel would write: a text from the visitor, keyed by the channel's own id. */
function fromChannel(f: ConversationFixture, n: number, body = `sms ${n}`): { senderId: string; idempotencyKey: string; body: string; event: ConversationEvent } {
  return { senderId: f.visitor.id, idempotencyKey: `sms:msg-${n}`, body, event: { kind: 'text' } };
}

const seqsOf = (peer: ConvPeer): number[] => peer.transport.of('message').map((m) => m.seq);
const ackedSeqs = (peer: ConvPeer): number[] => peer.transport.of('ack').map((a) => a.seq);

async function expectRefused(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `refused with ${code}`).toBeInstanceOf(KnockError);
  expect((err as KnockError).code).toBe(code);
}

describe('ConversationLog', () => {
  it('gives events from the room and from outside one contiguous seq order, and every device gets each once, in order', async () => {
    f = await conversationFixture();
    const visitor = await f.join(f.visitorPeer());
    const owner = await f.join(f.ownerPeer());
    visitor.transport.clear();
    owner.transport.clear();

    // Interleaved, all started before any is stored: 10 from the visitor's socket, 10 from a channel.
    const writes: Array<Promise<unknown>> = [];
    for (let n = 1; n <= 10; n++) {
      writes.push(f.send(visitor, n));
      writes.push(f.log.append(f.conversation.id, fromChannel(f, n)));
    }
    await Promise.all(writes);
    await settle();

    const stored = await f.stored();
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // The order they were written in is the order they are stored in.
    expect(stored.map((m) => m.body)).toEqual(Array.from({ length: 10 }, (_, i) => [`message ${i + 1}`, `sms ${i + 1}`]).flat());
    // The owner's device hears all 20, once, in seq order; the visitor's own messages come back as acks, not copies.
    expect(seqsOf(owner)).toEqual(stored.map((m) => m.seq));
    expect(seqsOf(visitor)).toEqual(stored.filter((m) => m.clientMsgId.startsWith('sms:')).map((m) => m.seq));
    expect(ackedSeqs(visitor)).toEqual(stored.filter((m) => !m.clientMsgId.startsWith('sms:')).map((m) => m.seq));
  });

  it('stores a repeated clientMsgId once, and answers the repeat with the original', async () => {
    f = await conversationFixture();
    const owner = await f.join(f.ownerPeer());
    owner.transport.clear();
    const entry: LogEntry = { senderId: f.visitor.id, clientMsgId: cmid(1), body: 'hello', event: { kind: 'text' } };

    const first = await f.log.append(f.conversation.id, entry);
    const again = await f.log.append(f.conversation.id, { ...entry, body: 'hello, edited by a replay' });

    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ message: first.message, duplicate: true });
    expect((await f.stored()).map((m) => m.body)).toEqual(['hello']);
    expect(owner.transport.of('message').map((m) => m.body), 'the device hears it once').toEqual(['hello']);
  });

  it('stores an event with a repeated idempotency key once (a channel or a game that writes twice)', async () => {
    f = await conversationFixture();
    const owner = await f.join(f.ownerPeer());
    owner.transport.clear();
    const result: LogEntry = {
      senderId: f.owner.id,
      idempotencyKey: 'game:game-0001:result',
      body: 'Connect Four: Alice won (four in a row). Score: Alice 1, Vic 0, 0 draws.',
      event: { kind: 'game.result', gameId: 'game-0001', game: 'connect4', winnerSeat: 0, reason: 'four in a row' },
    };

    const [a, b] = await Promise.all([f.log.append(f.conversation.id, result), f.log.append(f.conversation.id, result)]);
    await settle();

    expect([a.duplicate, b.duplicate].sort()).toEqual([false, true]);
    expect(b.message.seq).toBe(a.message.seq);
    const stored = await f.stored();
    expect(stored).toHaveLength(1);
    expect(stored[0]!.event).toEqual(result.event);
    expect(owner.transport.of('message').map((m) => m.event.kind)).toEqual(['game.result']);
  });

  it("tells the owner's devices once per burst, with the summary as stored after it", async () => {
    f = await conversationFixture();
    const heard: OwnerEvent[] = [];
    await f.hub.onOwner('alice', (event) => heard.push(event));

    for (let n = 1; n <= 5; n++) await f.log.append(f.conversation.id, fromChannel(f, n));
    await settle();
    expect(heard, 'nothing before the burst is over').toEqual([]);

    f.clock.advance(50);
    await settle();
    expect(heard).toHaveLength(1);
    const [event] = heard;
    expect(event).toMatchObject({ type: 'conversation', summary: { id: f.conversation.id, lastSeq: 5, unread: 5, lastMessage: { body: 'sms 5', senderRole: 'visitor' } } });

    // A repeat stores nothing and changes nothing: no summary.
    await f.log.append(f.conversation.id, fromChannel(f, 5));
    f.clock.advance(50);
    await settle();
    expect(heard).toHaveLength(1);
  });

  it("updates the owner's list of a conversation that stays busy once per interval, not after every burst", async () => {
    f = await conversationFixture({ summaryIntervalMs: 1000 });
    const heard: OwnerEvent[] = [];
    await f.hub.onOwner('alice', (event) => heard.push(event));
    const lastSeqs = () => heard.map((e) => (e.type === 'conversation' ? e.summary.lastSeq : null));

    await f.log.append(f.conversation.id, fromChannel(f, 1));
    f.clock.advance(50);
    await settle();
    expect(lastSeqs(), 'a first burst is told after the short delay').toEqual([1]);

    // Bursts every 100 ms: nothing more until a second has passed since the first summary, then one with all of them.
    for (let n = 2; n <= 10; n++) {
      f.clock.advance(100);
      await f.log.append(f.conversation.id, fromChannel(f, n));
      await settle();
    }
    expect(lastSeqs()).toEqual([1]);
    f.clock.advance(100); // 1,050 ms after the first
    await settle();
    expect(lastSeqs()).toEqual([1, 10]);

    // Quiet for longer than the interval: the next burst is told after the short delay again.
    f.clock.advance(2000);
    await f.log.append(f.conversation.id, fromChannel(f, 11));
    f.clock.advance(50);
    await settle();
    expect(lastSeqs()).toEqual([1, 10, 11]);
  });

  it('refuses a malformed or foreign append without using a seq: the next event follows on without a gap', async () => {
    f = await conversationFixture();
    const owner = await f.join(f.ownerPeer());
    owner.transport.clear();
    await f.log.append(f.conversation.id, fromChannel(f, 1));
    const other = await f.storage.createConversation({ ownerAccountId: f.account.id, tokenHash: 'token-hash-2', visitorName: 'Olga', at: f.clock.now() });

    await expectRefused(f.log.append(f.conversation.id, { ...fromChannel(f, 2), idempotencyKey: 'no key' }), 'bad_request');
    await expectRefused(f.log.append(f.conversation.id, { senderId: f.visitor.id, clientMsgId: 'has:colon', body: 'x', event: { kind: 'text' } }), 'bad_request');
    await expectRefused(
      f.log.append(f.conversation.id, { ...fromChannel(f, 3), event: { kind: 'call', callId: 'c', media: 'radio', reason: 'missed', durationMs: 0 } } as unknown as LogEntry),
      'bad_request',
    );
    await expectRefused(f.log.append(f.conversation.id, { ...fromChannel(f, 4), body: 'x'.repeat(16_001) }), 'too_large');
    // A participant of another conversation of the same owner cannot write into this one.
    await expectRefused(f.log.append(f.conversation.id, { ...fromChannel(f, 5), senderId: other.visitor.id }), 'forbidden');

    const next = await f.log.append(f.conversation.id, fromChannel(f, 6));
    await settle();
    expect(next.message.seq).toBe(2);
    expect((await f.stored()).map((m) => m.seq)).toEqual([1, 2]);
    expect(seqsOf(owner)).toEqual([1, 2]);
  });

  it("relays a message heard before a lower seq only after it, reading the gap from storage (another process's write whose event was lost)", async () => {
    f = await conversationFixture();
    const owner = await f.join(f.ownerPeer());
    owner.transport.clear();
    // Written by "another process": stored, but its events reach this room late (seq 3 first) or never (seq 2).
    const written: MessageRecord[] = [];
    for (let n = 1; n <= 3; n++) {
      written.push((await f.storage.appendMessage({ conversationId: f.conversation.id, senderId: f.visitor.id, clientMsgId: `sms:far-${n}`, body: `far ${n}`, event: { kind: 'text' }, at: f.clock.now() })).message);
    }
    f.logic.relay(written[0]!);
    f.logic.relay(written[2]!);
    f.logic.relay(written[0]!); // a repeat is ignored
    await settle();

    expect(owner.transport.of('message').map((m) => m.body)).toEqual(['far 1', 'far 2', 'far 3']);
    f.logic.relay(written[1]!); // the lost one turns up after all: already sent
    await settle();
    expect(seqsOf(owner)).toEqual([1, 2, 3]);
  });
});
