/**
 * DESIGN "Security": bad input gets a clear error, and the connection and the data stay intact. Each case goes
 * through a bare colyseus.js room (or raw frames under it) and checks four things: the `error` a person can read
 * with its code, the same socket still working, the other party unaffected, and storage unchanged.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { matchMaker } from '@colyseus/core';
import { waitFor, type Person } from '../support/clients.ts';
import { Cast, NO_PINGS, testRateLimits } from '../support/cast.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { RawRoom } from '../support/rawRoom.ts';
import type { ErrorPayload, MessageRecord } from '../../engine/protocol.ts';

const MESSAGES_PER_SOCKET = 5;
const MAX_MESSAGE_BYTES = 64 * 1024;
const MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** Protocol.ROOM_DATA of Colyseus 0.16: the first byte of every room message. */
const ROOM_DATA = 13;

let knock: TestKnock;
let cast: Cast;
/** One owner for the file: every test has its own conversation (and its own sockets, so its own rate budget). */
let theOwner: { handle: string; person: Person };
const rooms: RawRoom[] = [];

beforeAll(async () => {
  knock = await startKnock({
    pingIntervalMs: NO_PINGS,
    maxMessageBytes: MAX_MESSAGE_BYTES,
    maxFrameBytes: MAX_FRAME_BYTES,
    rateLimits: testRateLimits({ socketMessages: { perWindow: MESSAGES_PER_SOCKET, windowMs: 60_000 } }),
  });
  cast = new Cast(knock);
  theOwner = await cast.owner('Alice');
});
afterEach(async () => {
  await Promise.all(rooms.splice(0).map((r) => r.leave()));
  await cast.closeAll();
});
afterAll(() => knock.close());

interface Chat {
  conversationId: string;
  visitor: RawRoom;
  owner: RawRoom;
  /** Messages in storage now. */
  storedCount(): Promise<number>;
}

async function join(options: Record<string, unknown>, headers?: Record<string, string>): Promise<RawRoom> {
  const room = await RawRoom.join(knock.url, 'conversation', options, headers);
  rooms.push(room);
  await waitFor(room, (s) => s.of('messages').length === 1, 'joined and caught up');
  return room;
}

/** A visitor and the owner, both joined with bare rooms, and one message already stored. */
async function chat(): Promise<Chat> {
  const { handle, person: alice } = theOwner;
  const { conversationId, token } = await cast.visitor().api.knock(handle, 'Bob');
  const visitor = await join({ conversationId, token });
  const owner = await join({ conversationId }, alice.headers);
  visitor.send('send', { clientMsgId: 'first-good-message', body: 'a good message' });
  await waitFor(owner, (s) => s.of('message').length === 1, 'owner received the first message');
  const storedCount = async () => (await knock.storage.messagesAfter(conversationId, 0, 1000)).length;
  return { conversationId, visitor, owner, storedCount };
}

async function nextError(room: RawRoom, already = room.snapshot().of('error').length): Promise<ErrorPayload> {
  const s = await waitFor(room, (s) => s.of('error').length > already, 'an error message');
  return s.of<ErrorPayload>('error')[already]!;
}

let probes = 0;
/** The socket still works (a valid message is acked), the owner gets it and nothing else, storage grew by one. */
async function expectStillWorking(c: Chat, storedBefore: number): Promise<void> {
  expect(await c.storedCount()).toBe(storedBefore);
  const clientMsgId = `probe-message-${++probes}`;
  c.visitor.send('send', { clientMsgId, body: 'still here' });
  await waitFor(c.visitor, (s) => s.of<{ clientMsgId: string }>('ack').some((a) => a.clientMsgId === clientMsgId), 'ack of a valid message');
  const owner = await waitFor(c.owner, (s) => s.of('message').length === 2, 'owner receives the valid message');
  expect(owner.of<MessageRecord>('message').map((m) => m.body)).toEqual(['a good message', 'still here']);
  expect(owner.of('error')).toEqual([]);
  expect(owner.closedWith).toBeNull();
  expect(await c.storedCount()).toBe(storedBefore + 1);
}

function readable(e: ErrorPayload): void {
  expect(e.message.length).toBeGreaterThan(10);
  expect(e.message).not.toMatch(/\[object|Error:|at .*\.ts|"undefined"/);
}

describe('undecodable frames', () => {
  const typeSend = [0xa4, ...Buffer.from('send')];
  it.each([
    ['an invalid type marker and junk', [ROOM_DATA, 0xc1, 0xff]],
    ['nothing after the code', [ROOM_DATA]],
    ['a truncated payload', [ROOM_DATA, ...typeSend, 0x82, 0xa1]],
  ])('answers a frame with %s with bad_request and keeps the socket', async (_what, bytes) => {
    const c = await chat();
    const before = await c.storedCount();
    c.visitor.sendFrame(new Uint8Array(bytes));
    const error = await nextError(c.visitor);
    expect(error).toMatchObject({ code: 'bad_request', message: 'The message could not be decoded.' });
    await expectStillWorking(c, before);
  });

  it('refuses binary room messages with bad_request and keeps the socket', async () => {
    const c = await chat();
    const before = await c.storedCount();
    c.visitor.room.sendBytes('send', new Uint8Array([1, 2, 3]));
    expect(await nextError(c.visitor)).toMatchObject({ code: 'bad_request', message: 'Binary messages are not accepted by this room.' });
    await expectStillWorking(c, before);
  });
});

describe('messages the room does not take', () => {
  it('answers an unknown message type with unknown_type naming it', async () => {
    const c = await chat();
    const before = await c.storedCount();
    c.visitor.send('delete_everything', { all: true });
    const error = await nextError(c.visitor);
    expect(error).toMatchObject({ code: 'unknown_type', message: 'Unknown message type "delete_everything".', ref: 'delete_everything' });
    await expectStillWorking(c, before);
  });

  it.each([
    ['a missing clientMsgId', 'send', { body: 'hello' }, 'send', /^clientMsgId: /],
    ['a numeric clientMsgId', 'send', { clientMsgId: 12345678, body: 'hello' }, 'send', /^clientMsgId: /],
    ['a too short clientMsgId', 'send', { clientMsgId: 'abc', body: 'hello' }, 'send', /^clientMsgId: clientMsgId must be 8 to 64/],
    ['a numeric body', 'send', { clientMsgId: 'numeric-body-1', body: 42 }, 'numeric-body-1', /^body: /],
    ['no payload at all', 'send', undefined, 'send', /expected object/],
    ['a string instead of an object', 'send', 'hello', 'send', /expected object/],
    ['a negative receipt seq', 'receipt', { kind: 'read', seq: -1 }, 'receipt', /^seq: /],
    ['an unknown receipt kind', 'receipt', { kind: 'seen', seq: 1 }, 'receipt', /^kind: /],
    ['history before seq 0', 'history', { beforeSeq: 0 }, 'history', /^beforeSeq: /],
    ['a sync page over 100', 'sync', { afterSeq: 0, limit: 10_000 }, 'sync', /^limit: /],
    ['an empty name', 'rename', { name: '   ' }, 'rename', /^name: The name cannot be empty\.$/],
  ])('answers %s with bad_request saying what is wrong', async (_what, type, payload, ref, says) => {
    const c = await chat();
    const before = await c.storedCount();
    c.visitor.send(type, payload);
    const error = await nextError(c.visitor);
    expect(error.code).toBe('bad_request');
    expect(error.ref).toBe(ref);
    expect(error.message).toMatch(says);
    readable(error);
    await expectStillWorking(c, before);
  });

  it.each([
    ['an empty body', ''],
    ['a body of spaces and newlines', '  \n\t \n'],
  ])('refuses %s as empty', async (_what, body) => {
    const c = await chat();
    const before = await c.storedCount();
    c.visitor.send('send', { clientMsgId: 'empty-message-1', body });
    expect(await nextError(c.visitor)).toMatchObject({ code: 'bad_request', message: 'body: The message is empty.', ref: 'empty-message-1' });
    await expectStillWorking(c, before);
  });

  it('refuses a body over 16,000 characters as too long', async () => {
    const c = await chat();
    const before = await c.storedCount();
    c.visitor.send('send', { clientMsgId: 'long-message-1', body: 'x'.repeat(16_001) });
    expect(await nextError(c.visitor)).toMatchObject({
      code: 'bad_request',
      message: 'body: The message is too long (at most 16000 characters).',
      ref: 'long-message-1',
    });
    await expectStillWorking(c, before);
  });

  it('refuses a body with a lone surrogate instead of storing altered text', async () => {
    const c = await chat();
    const before = await c.storedCount();
    // Half of an emoji, as a careless truncation in a browser produces.
    c.visitor.send('send', { clientMsgId: 'lone-surrogate-1', body: 'broken \uD83D text' });
    const answer = await waitFor(c.visitor, (s) => s.of('error').length > 0 || s.of('ack').length > 1, 'an answer');
    const stored = await knock.storage.messagesAfter(c.conversationId, 0, 1000);
    expect(stored.map((m) => m.body), 'nothing but the text that was sent may be stored').not.toContain('broken \uFFFD\uFFFD\uFFFD text');
    expect(answer.of('error')[0]).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/broken characters/) });
    await expectStillWorking(c, before);
  });

  it('fails, in the SDK, a message with a lone surrogate rather than letting sender and owner see different text', async () => {
    const { handle, person: alice } = theOwner;
    const { session: bob, conversationId } = await cast.visitor().knock(handle, 'Bob');
    const ownerChat = alice.conversation(conversationId);
    await waitFor(bob, (s) => s.connection === 'live', 'visitor live');

    bob.send('broken \uD83D text');
    bob.send('a good one after it');
    await waitFor(ownerChat, (s) => s.messages.some((m) => m.body === 'a good one after it'), 'owner gets the good one');
    const mine = bob.snapshot().messages.find((m) => m.body.startsWith('broken'));
    const stored = await knock.storage.messagesAfter(conversationId, 0, 1000);
    expect(stored.map((m) => m.body), 'what the owner reads must be what the visitor sees as sent').toEqual(['a good one after it']);
    expect(mine).toMatchObject({ status: 'failed', error: expect.stringMatching(/broken characters/) });
  });
});

describe('size limits', () => {
  it('refuses a 100 KB message with too_large and keeps the socket', async () => {
    const c = await chat();
    const before = await c.storedCount();
    c.visitor.send('send', { clientMsgId: 'big-message-100k', body: 'x'.repeat(100 * 1024) });
    const error = await nextError(c.visitor);
    expect(error.code).toBe('too_large');
    expect(error.message).toMatch(/too (large|long)/);
    expect(error.data).toEqual({ maxBytes: MAX_MESSAGE_BYTES });
    await expectStillWorking(c, before);
  });

  it('refuses a 1 MB frame, under the frame cap, with too_large and keeps the socket', async () => {
    const c = await chat();
    const before = await c.storedCount();
    c.visitor.send('send', { clientMsgId: 'big-message-1mb', body: 'x'.repeat(1024 * 1024) });
    expect(await nextError(c.visitor)).toMatchObject({ code: 'too_large', message: `The message is too large (at most ${MAX_MESSAGE_BYTES} bytes).` });
    expect(c.visitor.snapshot().closedWith).toBeNull();
    await expectStillWorking(c, before);
  });

  it('closes only the socket that sends a frame over the frame cap (1009); the room and the other party go on', async () => {
    const c = await chat();
    const before = await c.storedCount();
    c.visitor.send('send', { clientMsgId: 'huge-message-5mb', body: 'x'.repeat(MAX_FRAME_BYTES + 1024 * 1024) });
    const closed = await waitFor(c.visitor, (s) => s.closedWith !== null, 'the socket closed');
    expect(closed.closedWith).toBe(1009);
    expect(await c.storedCount()).toBe(before);

    // The owner's socket and the room are still there: the owner writes, and the visitor comes back and reads it.
    c.owner.send('send', { clientMsgId: 'owner-after-close', body: 'are you back?' });
    await waitFor(c.owner, (s) => s.of('ack').length === 1, 'owner message acked');
    expect(c.owner.snapshot().closedWith).toBeNull();
    const rooms = await matchMaker.query({ name: 'conversation', conversationId: c.conversationId });
    expect(rooms).toHaveLength(1);
  });

  it('lets the visitor whose socket was closed for a huge frame join again and read on', async () => {
    const { handle, person: alice } = theOwner;
    const { conversationId, token } = await cast.visitor().api.knock(handle, 'Bob');
    const visitor = await join({ conversationId, token });
    const owner = await join({ conversationId }, alice.headers);
    visitor.send('send', { clientMsgId: 'huge-message-5mb', body: 'x'.repeat(MAX_FRAME_BYTES + 1024) });
    await waitFor(visitor, (s) => s.closedWith === 1009, 'the socket closed');

    owner.send('send', { clientMsgId: 'owner-after-close', body: 'are you back?' });
    await waitFor(owner, (s) => s.of('ack').length === 1, 'owner message acked');
    const again = await join({ conversationId, token });
    const page = again.snapshot().of<{ items: MessageRecord[] }>('messages')[0]!;
    expect(page.items.map((m) => m.body)).toEqual(['are you back?']);
    again.send('send', { clientMsgId: 'visitor-is-back', body: 'back' });
    await waitFor(owner, (s) => s.of<MessageRecord>('message').some((m) => m.body === 'back'), 'owner hears the visitor again');
  });
});

describe('rate limits', () => {
  it('answers messages beyond the per-socket limit with rate_limited and retryAfterMs, stores none of them, keeps the socket', async () => {
    const c = await chat(); // the socket's first message is stored already
    const before = await c.storedCount();
    const sentOnSocket = MESSAGES_PER_SOCKET + 2;
    for (let i = 2; i <= sentOnSocket; i++) c.visitor.send('send', { clientMsgId: `fast-message-${i}`, body: `fast ${i}` });
    const s = await waitFor(c.visitor, (s) => s.of('ack').length + s.of('error').length === sentOnSocket, 'an answer to each');

    expect(s.of('ack')).toHaveLength(MESSAGES_PER_SOCKET);
    const errors = s.of<ErrorPayload>('error');
    expect(errors).toHaveLength(2);
    for (const [i, error] of errors.entries()) {
      expect(error).toMatchObject({ code: 'rate_limited', ref: `fast-message-${MESSAGES_PER_SOCKET + 1 + i}` });
      expect(error.message).toMatch(/^Messages: too many, too fast\. Try again in \d+ s\.$/);
      expect(error.data?.retryAfterMs).toBeGreaterThan(0);
      expect(error.data?.retryAfterMs).toBeLessThanOrEqual(60_000 / MESSAGES_PER_SOCKET);
    }
    expect(await c.storedCount()).toBe(before + MESSAGES_PER_SOCKET - 1);
    const stored = await knock.storage.messagesAfter(c.conversationId, 0, 1000);
    expect(stored.map((m) => m.body)).not.toContain(`fast ${MESSAGES_PER_SOCKET + 1}`);

    // The socket stays: it still answers what is not rate-limited, and the owner's own budget is untouched.
    c.visitor.send('sync', { afterSeq: 0 });
    await waitFor(c.visitor, (s) => s.of('messages').length === 2, 'sync answered');
    expect(c.visitor.snapshot().closedWith).toBeNull();
    c.owner.send('send', { clientMsgId: 'owner-not-limited', body: 'my turn' });
    await waitFor(c.visitor, (s) => s.of<MessageRecord>('message').some((m) => m.body === 'my turn'), 'visitor receives the owner');
  });
});

describe('joining with bad options', () => {
  async function refusal(roomName: string, options: Record<string, unknown>): Promise<{ code: unknown; message: string }> {
    const err = (await RawRoom.join(knock.url, roomName, options).then(
      () => {
        throw new Error(`the join to ${roomName} with ${JSON.stringify(options)} was accepted`);
      },
      (e: unknown) => e,
    )) as { code: unknown; message: string };
    return { code: err.code, message: err.message };
  }

  it('refuses a conversation join without conversationId with a readable bad_request', async () => {
    const e = await refusal('conversation', { token: 'x'.repeat(32) });
    expect(e.code).toBe('bad_request');
    expect(e.message).toMatch(/^conversationId: /);
  });

  it('refuses a join to a conversation that does not exist with not_found, creating no room', async () => {
    expect(await refusal('conversation', { conversationId: 'no-such-conversation' })).toEqual({
      code: 'not_found',
      message: 'This conversation does not exist.',
    });
    expect(await matchMaker.query({ name: 'conversation', conversationId: 'no-such-conversation' })).toEqual([]);
  });

  it('refuses a handle that breaks the handle pattern with a readable bad_request, creating no room', async () => {
    const e = await refusal('user', { handle: 'Not A Handle!' });
    expect(e.code).toBe('bad_request');
    expect(e.message).toBe('handle: A handle is 2 to 32 characters: lowercase letters, digits, ".", "_" or "-", starting with a letter or a digit.');
    expect(await matchMaker.query({ name: 'user', handle: 'Not A Handle!' })).toEqual([]);
  });

  it('refuses a handle nobody has with not_found, creating no room', async () => {
    expect(await refusal('user', { handle: 'nobody-lives-here' })).toEqual({ code: 'not_found', message: 'There is nobody at /nobody-lives-here.' });
    expect(await matchMaker.query({ name: 'user', handle: 'nobody-lives-here' })).toEqual([]);
  });

  it('refuses a token of the wrong shape with a readable bad_request', async () => {
    const { handle } = theOwner;
    const { conversationId } = await cast.visitor().api.knock(handle, 'Bob');
    const e = await refusal('conversation', { conversationId, token: 'short' });
    expect(e.code).toBe('bad_request');
    expect(e.message).toMatch(/^token: /);
    readable({ code: String(e.code), message: e.message });
  });
});
