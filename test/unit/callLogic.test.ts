/**
 * The call state machine (rooms/conversation/callLogic.ts) driven through ConversationLogic, without Colyseus:
 * ringing on every device of the other side, the first to accept takes the call, decline, ring timeout, hang up,
 * rejoin after a reload within the grace period, the mesh limit, the switch to a conference server from the third
 * member, signalling between devices, and the record each call leaves in the conversation. Time is a manual clock.
 */
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConversationClientMessages, ConversationServerMessages } from '../../engine/protocol.ts';
import { conversationFixture, testIce, type CallOptions, type ConvPeer, type ConversationFixture } from '../support/conversationFixture.ts';
import { FakeMediaRouter } from '../support/fakeMediaRouter.ts';

type State = ConversationServerMessages['call.state'];
type Ticket = ConversationServerMessages['call.ticket'];

let f: ConversationFixture;
afterEach(async () => {
  await f.logic.dispose();
  await f.close();
});

/** Alice with two tabs open on the conversation, and her visitor Vic; transports cleared. */
async function setUp(calls: CallOptions = {}): Promise<{ vic: ConvPeer; tab1: ConvPeer; tab2: ConvPeer }> {
  f = await conversationFixture({ calls });
  const vic = await f.join(f.visitorPeer('vic-phone'));
  const tab1 = await f.join(f.ownerPeer('alice-tab-1'));
  const tab2 = await f.join(f.ownerPeer('alice-tab-2'));
  for (const p of [vic, tab1, tab2]) p.transport.clear();
  return { vic, tab1, tab2 };
}

function send<T extends keyof ConversationClientMessages>(peer: ConvPeer, type: T, message: ConversationClientMessages[T]): Promise<void> {
  return f.logic.dispatch(peer, type, message);
}

const state = (peer: ConvPeer): State | undefined => peer.transport.of('call.state').at(-1);
const ticket = (peer: ConvPeer): Ticket | undefined => peer.transport.of('call.ticket').at(-1);
const errors = (peer: ConvPeer) => peer.transport.of('error');
const memberIds = (s: State | undefined) => s?.members.map((m) => m.deviceId);
const bodies = async () => (await f.stored()).map((m) => [m.senderId, m.clientMsgId, m.body]);

/** Vic calls; returns the call id. */
async function vicCalls(vic: ConvPeer, kind: 'audio' | 'video' = 'video'): Promise<string> {
  await send(vic, 'call.start', { kind });
  const s = state(vic);
  if (!s) throw new Error(`no call state; errors: ${JSON.stringify(errors(vic))}`);
  return s.callId;
}

/** Vic calls and Alice answers on her first tab. */
async function inCall(vic: ConvPeer, tab1: ConvPeer): Promise<string> {
  const callId = await vicCalls(vic);
  await send(tab1, 'call.accept', { callId });
  return callId;
}

/** Runs the timers due in `ms` and the changes they queue. */
async function wait(ms: number): Promise<void> {
  f.clock.advance(ms);
  await f.logic.calls.idle();
}

describe('ringing', () => {
  it('rings every device of the callee, with the caller alone in the call', async () => {
    const { vic, tab1, tab2 } = await setUp();
    const callId = await vicCalls(vic, 'video');

    for (const tab of [tab1, tab2]) {
      expect(tab.transport.of('call.ring')).toEqual([
        { callId, kind: 'video', from: { participantId: f.visitor.id, name: 'Vic', role: 'visitor' }, ringUntil: f.clock.now() + 45_000 },
      ]);
    }
    expect(vic.transport.of('call.ring')).toEqual([]);
    for (const p of [vic, tab1, tab2]) {
      expect(state(p)).toMatchObject({ callId, status: 'ringing', mode: 'p2p', callerId: f.visitor.id, answeredAt: null, capacity: 4 });
      expect(memberIds(state(p))).toEqual(['vic-phone']);
    }
    expect(f.notices).toEqual([{ conversationId: f.conversation.id, callId, kind: 'video', status: 'ringing', from: { name: 'Vic', role: 'visitor' }, ringUntil: f.clock.now() + 45_000 }]);
    expect(f.busy.now).toBe(true);
  });

  it('gives the caller a ticket with STUN only while the call rings: no TURN credentials before anyone answers', async () => {
    const { vic } = await setUp();
    const callId = await vicCalls(vic);

    expect(ticket(vic)).toEqual({
      callId,
      deviceId: 'vic-phone',
      rejoinKey: expect.stringMatching(/^[A-Za-z0-9_-]{24}$/),
      mode: 'p2p',
      expiresAt: f.clock.now() + testIce.turnTtlMs,
      sfu: null,
      iceTransportPolicy: 'all',
      iceServers: [{ urls: ['stun:stun.knock.test:3478'] }],
    });
    // Asking again (call.join, as a page does to renew its ticket) gets no more while it rings.
    await send(vic, 'call.join', { callId });
    expect(vic.transport.of('call.ticket')).toHaveLength(2);
    expect(JSON.stringify(vic.transport.of('call.ticket'))).not.toMatch(/turn:|credential/);
  });

  it('gives both sides TURN credentials of their own once the call is answered, the caller before it hears whom to call', async () => {
    const { vic, tab1 } = await setUp();
    const callId = await vicCalls(vic);
    vic.transport.clear();

    await send(tab1, 'call.accept', { callId });

    const expiry = Math.floor((f.clock.now() + testIce.turnTtlMs) / 1000);
    const turnOf = (device: string) => {
      const username = `${expiry}:${callId}.${device}`;
      return { urls: ['turn:turn.knock.test:3478?transport=udp'], username, credential: createHmac('sha1', testIce.turnSecret).update(username).digest('base64') };
    };
    expect(ticket(vic)?.iceServers).toEqual([{ urls: ['stun:stun.knock.test:3478'] }, turnOf('vic-phone')]);
    expect(ticket(tab1)?.iceServers).toEqual([{ urls: ['stun:stun.knock.test:3478'] }, turnOf('alice-tab-1')]);
    // The caller's new ticket came before the state naming the device that answered.
    const order = vic.transport.sent.map((m) => m.type).filter((t) => t === 'call.ticket' || t === 'call.state');
    expect(order[0]).toBe('call.ticket');
    expect(memberIds(state(vic))).toEqual(['vic-phone', 'alice-tab-1']);
  });

  it('rings a device of the callee that opens the conversation while the call rings', async () => {
    const { vic } = await setUp();
    const callId = await vicCalls(vic);

    const late = await f.join(f.ownerPeer('alice-phone'));
    expect(late.transport.of('call.ring').map((r) => r.callId)).toEqual([callId]);
    expect(state(late)).toMatchObject({ callId, status: 'ringing' });
  });

  it('refuses a second call while one is going on, naming the call to join', async () => {
    const { vic, tab1 } = await setUp();
    const callId = await inCall(vic, tab1);

    await send(vic, 'call.start', { kind: 'audio' });
    expect(errors(vic).at(-1)).toMatchObject({ code: 'conflict', ref: 'call.start', data: { callId } });
  });

  it('treats a call from the callee while it rings as the answer (both called at once)', async () => {
    const { vic, tab1 } = await setUp();
    const callId = await vicCalls(vic);

    await send(tab1, 'call.start', { kind: 'video' });
    expect(state(vic)).toMatchObject({ callId, status: 'active' });
    expect(memberIds(state(vic))).toEqual(['vic-phone', 'alice-tab-1']);
  });

  it('rings the visitor, not the owner\u2019s console, when the owner calls', async () => {
    const { vic, tab1, tab2 } = await setUp();
    await send(tab1, 'call.start', { kind: 'audio' });

    expect(vic.transport.of('call.ring')).toHaveLength(1);
    expect(tab2.transport.of('call.ring')).toEqual([]);
    expect(f.notices).toEqual([]);
  });
});

describe('answering', () => {
  it('lets the first device to accept take the call; the other tabs stop ringing', async () => {
    const { vic, tab1, tab2 } = await setUp();
    const callId = await vicCalls(vic);
    f.clock.advance(3_000);

    await send(tab1, 'call.accept', { callId });
    for (const p of [vic, tab1, tab2]) {
      expect(state(p)).toMatchObject({ callId, status: 'active', mode: 'p2p', answeredAt: f.clock.now(), ringUntil: null });
      expect(memberIds(state(p))).toEqual(['vic-phone', 'alice-tab-1']);
    }
    expect(ticket(tab1)).toMatchObject({ callId, deviceId: 'alice-tab-1', mode: 'p2p', sfu: null });
    expect(ticket(tab2)).toBeUndefined();
    expect(f.notices.map((n) => n.status)).toEqual(['ringing', 'active']);

    await send(tab2, 'call.accept', { callId });
    expect(errors(tab2).at(-1)).toMatchObject({ code: 'conflict', message: 'This call was answered on another device.' });
    expect(memberIds(state(vic))).toEqual(['vic-phone', 'alice-tab-1']);
  });

  it('does not let the caller answer or decline their own call', async () => {
    const { vic } = await setUp();
    const callId = await vicCalls(vic);
    const other = await f.join(f.visitorPeer('vic-laptop'));

    await send(other, 'call.accept', { callId });
    await send(other, 'call.decline', { callId });
    expect(errors(other).map((e) => e.code)).toEqual(['forbidden', 'forbidden']);
    expect(state(vic)?.status).toBe('ringing');
  });

  it('answers an unknown or finished call with not_found', async () => {
    const { tab1 } = await setUp();
    await send(tab1, 'call.accept', { callId: 'no-such-call-id' });
    expect(errors(tab1).at(-1)).toMatchObject({ code: 'not_found', message: 'This call is over.', ref: 'call.accept' });
  });
});

describe('ending', () => {
  it('ends a declined call and records "Declined call" from the caller', async () => {
    const { vic, tab1, tab2 } = await setUp();
    const callId = await vicCalls(vic, 'audio');

    await send(tab2, 'call.decline', { callId });
    for (const p of [vic, tab1, tab2]) expect(state(p)).toMatchObject({ callId, status: 'ended', endReason: 'declined' });
    expect(await bodies()).toEqual([[f.visitor.id, `call:${callId}`, 'Declined call']]);
    for (const p of [vic, tab1, tab2]) expect(p.transport.of('message').map((m) => m.body)).toEqual(['Declined call']);
    expect(f.notices.map((n) => n.status)).toEqual(['ringing', 'ended']);
    expect(f.busy.changes).toEqual([true, false]);
  });

  it('stops ringing after the ring timeout and records "Missed video call"', async () => {
    const { vic, tab1 } = await setUp();
    const callId = await vicCalls(vic, 'video');

    await wait(44_999);
    expect(state(tab1)?.status).toBe('ringing');
    await wait(1);
    expect(state(tab1)).toMatchObject({ callId, status: 'ended', endReason: 'missed' });
    expect(await bodies()).toEqual([[f.visitor.id, `call:${callId}`, 'Missed video call']]);
    expect(f.busy.now).toBe(false);
  });

  it('records a missed call when the caller hangs up before anyone answers', async () => {
    const { vic, tab1 } = await setUp();
    const callId = await vicCalls(vic, 'audio');

    await send(vic, 'call.leave', { callId });
    expect(state(tab1)).toMatchObject({ status: 'ended', endReason: 'cancelled' });
    expect(await bodies()).toEqual([[f.visitor.id, `call:${callId}`, 'Missed call']]);
    await wait(60_000); // the ring timer was cancelled: nothing more happens
    expect((await f.stored()).length).toBe(1);
  });

  it('ends the call when one of two hangs up, and records its length from the answer', async () => {
    const { vic, tab1 } = await setUp();
    const callId = await vicCalls(vic, 'audio');
    f.clock.advance(10_000);
    await send(tab1, 'call.accept', { callId });
    f.clock.advance(12 * 60_000 + 10_000);

    await send(tab1, 'call.leave', { callId });
    expect(state(vic)).toMatchObject({ status: 'ended', endReason: 'completed', endedAt: f.clock.now() });
    expect(await bodies()).toEqual([[f.visitor.id, `call:${callId}`, 'Call, 12 min']]);
    expect(f.busy.now).toBe(false);
  });

  it('lets a new call start once the last one ended', async () => {
    const { vic, tab1 } = await setUp();
    const first = await inCall(vic, tab1);
    await send(vic, 'call.leave', { callId: first });

    const second = await vicCalls(vic);
    expect(second).not.toBe(first);
    expect(state(tab1)).toMatchObject({ callId: second, status: 'ringing' });
  });

  it('ends and records the call going on when the conversation closes', async () => {
    const { vic, tab1 } = await setUp();
    const callId = await inCall(vic, tab1);
    f.clock.advance(45_000);

    await f.logic.dispose();
    expect(await bodies()).toEqual([[f.visitor.id, `call:${callId}`, 'Video call, 45 s']]);
  });
});

describe('reload and rejoin', () => {
  it('keeps the place of a device that dropped, and gives it to the same person\u2019s next device', async () => {
    const { vic, tab1 } = await setUp();
    const callId = await inCall(vic, tab1);
    const joinedAt = state(vic)!.members[1]!.joinedAt;
    f.clock.advance(5_000);

    f.logic.leave('alice-tab-1'); // the tab reloads
    await f.logic.calls.idle();
    expect(state(vic)?.members.map((m) => [m.deviceId, m.connection])).toEqual([
      ['vic-phone', 'connected'],
      ['alice-tab-1', 'reconnecting'],
    ]);

    f.clock.advance(2_000);
    const reloaded = await f.join(f.ownerPeer('alice-tab-1-reloaded'));
    expect(state(reloaded)).toMatchObject({ callId, status: 'active' });
    expect(reloaded.transport.of('call.ring')).toEqual([]);
    await send(reloaded, 'call.join', { callId });

    expect(state(vic)?.members.map((m) => [m.deviceId, m.connection, m.joinedAt])).toEqual([
      ['vic-phone', 'connected', expect.any(Number)],
      ['alice-tab-1-reloaded', 'connected', joinedAt],
    ]);
    expect(ticket(reloaded)).toMatchObject({ callId, deviceId: 'alice-tab-1-reloaded', mode: 'p2p' });
    await wait(60_000); // the grace timer of the old tab was cancelled
    expect(state(vic)?.status).toBe('active');
  });

  it('lists a device that took a place over where that place was, even when everyone joined in the same millisecond', async () => {
    const { vic, tab1 } = await setUp();
    const callId = await inCall(vic, tab1); // the clock does not move: both joined at the same time
    expect(state(tab1)?.members.map((m) => m.deviceId)).toEqual(['vic-phone', 'alice-tab-1']);

    f.logic.leave('vic-phone'); // the caller reloads
    await f.logic.calls.idle();
    const reloaded = await f.join(f.visitorPeer('vic-phone-reloaded'));
    await send(reloaded, 'call.join', { callId });

    expect(state(tab1)?.members.map((m) => [m.deviceId, m.connection])).toEqual([
      ['vic-phone-reloaded', 'connected'],
      ['alice-tab-1', 'connected'],
    ]);
  });

  it('gives a tab its own place back by its rejoin key, even before the old socket is known to be gone', async () => {
    const { vic, tab1, tab2 } = await setUp();
    const callId = await inCall(vic, tab1);
    f.clock.advance(1000);
    await send(tab2, 'call.join', { callId });
    const { rejoinKey } = ticket(tab1)!;

    // The tab's network changed: its new socket arrives while the server still holds the old one as connected.
    const moved = await f.join(f.ownerPeer('alice-tab-1-new-network'));
    await send(moved, 'call.join', { callId, rejoinKey });
    expect(memberIds(state(vic))).toEqual(['vic-phone', 'alice-tab-1-new-network', 'alice-tab-2']);
    expect(ticket(moved)?.rejoinKey).not.toBe(rejoinKey);

    f.logic.leave('alice-tab-1'); // the old socket is noticed at last: nothing changes
    await f.logic.calls.idle();
    expect(memberIds(state(vic))).toEqual(['vic-phone', 'alice-tab-1-new-network', 'alice-tab-2']);
  });

  it('does not let a key of someone else’s place take it', async () => {
    const { vic, tab1 } = await setUp();
    const callId = await inCall(vic, tab1);
    const other = await f.join(f.visitorPeer('vic-laptop'));

    await send(other, 'call.join', { callId, rejoinKey: ticket(tab1)!.rejoinKey });
    expect(memberIds(state(vic))).toEqual(['vic-phone', 'alice-tab-1', 'vic-laptop']);
  });

  it('ends the call when a dropped device does not come back within the grace period', async () => {
    const { vic, tab1 } = await setUp();
    const callId = await inCall(vic, tab1);
    f.clock.advance(60_000);

    f.logic.leave('vic-phone');
    await f.logic.calls.idle();
    await wait(29_999);
    expect(state(tab1)?.status).toBe('active');
    await wait(1);
    expect(state(tab1)).toMatchObject({ status: 'ended', endReason: 'completed' });
    expect(await bodies()).toEqual([[f.visitor.id, `call:${callId}`, 'Video call, 2 min']]);
  });

  it('keeps the call (and the room) while both sides reload at once', async () => {
    const { vic, tab1 } = await setUp();
    const callId = await inCall(vic, tab1);

    f.logic.leave('vic-phone');
    f.logic.leave('alice-tab-1');
    await wait(10_000);
    expect(f.busy.now).toBe(true);
    const vic2 = await f.join(f.visitorPeer('vic-phone-2'));
    const tab3 = await f.join(f.ownerPeer('alice-tab-3'));
    await send(vic2, 'call.join', { callId });
    await send(tab3, 'call.join', { callId });

    expect(state(vic2)?.members.map((m) => [m.deviceId, m.connection])).toEqual([
      ['vic-phone-2', 'connected'],
      ['alice-tab-3', 'connected'],
    ]);
    await wait(60_000);
    expect(state(vic2)?.status).toBe('active');
  });

  it('lets the caller reload while the call still rings', async () => {
    const { vic, tab1 } = await setUp();
    const callId = await vicCalls(vic);

    f.logic.leave('vic-phone');
    const vic2 = await f.join(f.visitorPeer('vic-phone-2'));
    await send(vic2, 'call.join', { callId });
    expect(memberIds(state(tab1))).toEqual(['vic-phone-2']);
    expect(state(tab1)?.status).toBe('ringing');

    await send(tab1, 'call.accept', { callId });
    expect(memberIds(state(vic2))).toEqual(['vic-phone-2', 'alice-tab-1']);
  });

  it('renews the ticket of a member who asks again', async () => {
    const { vic, tab1 } = await setUp();
    const callId = await inCall(vic, tab1);
    f.clock.advance(30 * 60_000);

    await send(tab1, 'call.join', { callId });
    const tickets = tab1.transport.of('call.ticket');
    expect(tickets).toHaveLength(2);
    expect(tickets[1]!.expiresAt).toBe(tickets[0]!.expiresAt + 30 * 60_000);
  });
});

describe('mesh and conference server', () => {
  it('takes up to four devices peer-to-peer, then says plainly that the call is full', async () => {
    const { vic, tab1, tab2 } = await setUp();
    const callId = await inCall(vic, tab1);
    const tab3 = await f.join(f.ownerPeer('alice-tab-3'));
    const tab4 = await f.join(f.ownerPeer('alice-tab-4'));

    await send(tab2, 'call.join', { callId });
    expect(state(vic)).toMatchObject({ mode: 'mesh', capacity: 4 });
    await send(tab3, 'call.join', { callId });
    expect(memberIds(state(vic))).toHaveLength(4);
    await send(tab4, 'call.join', { callId });
    expect(errors(tab4).at(-1)).toMatchObject({
      code: 'call_full',
      message: 'This call is full: it takes at most 4 people.',
      data: { callId, capacity: 4 },
      ref: 'call.join',
    });
    expect(memberIds(state(vic))).toHaveLength(4);
  });

  it('moves the call to the conference server when the third device joins, each with a pass of its own', async () => {
    const router = new FakeMediaRouter(() => f.clock.now());
    const { vic, tab1, tab2 } = await setUp({ mediaRouter: router });
    const callId = await inCall(vic, tab1);
    expect(state(vic)).toMatchObject({ mode: 'p2p', capacity: 12 });
    expect(router.created).toEqual([]);

    await send(tab2, 'call.join', { callId });
    expect(router.created).toEqual([callId]);
    expect(state(vic)?.mode).toBe('sfu');
    const passes = [vic, tab1, tab2].map((p) => ticket(p)!);
    for (const t of passes) {
      expect(t.mode).toBe('sfu');
      expect(t.sfu).not.toBeNull();
      expect(router.canJoin(t.sfu!)).toBe(true);
    }
    expect(new Set(passes.map((t) => t.sfu!.token)).size).toBe(3);

    await send(tab2, 'call.leave', { callId });
    expect(router.canJoin(passes[2]!.sfu!)).toBe(false);
    expect(state(vic)).toMatchObject({ status: 'active', mode: 'sfu' });

    await send(vic, 'call.leave', { callId });
    expect(state(tab1)?.status).toBe('ended');
    expect(router.destroyed).toEqual([callId]);
  });

  it('carries on peer-to-peer when the conference server is down and the call fits a mesh', async () => {
    const router = new FakeMediaRouter();
    const { vic, tab1, tab2 } = await setUp({ mediaRouter: router });
    const callId = await inCall(vic, tab1);
    router.down = true;

    await send(tab2, 'call.join', { callId });
    expect(errors(tab2)).toEqual([]);
    expect(state(vic)?.mode).toBe('mesh');
    expect(ticket(tab2)).toMatchObject({ mode: 'mesh', sfu: null });
  });

  it('refuses a member the mesh cannot take when the conference server is down', async () => {
    const router = new FakeMediaRouter();
    const { vic, tab1, tab2 } = await setUp({ mediaRouter: router, config: { meshMax: 2 } });
    const callId = await inCall(vic, tab1);
    router.down = true;

    await send(tab2, 'call.join', { callId });
    expect(errors(tab2).at(-1)).toMatchObject({ code: 'call_full', message: expect.stringMatching(/conference server is not available/) });
    expect(memberIds(state(vic))).toEqual(['vic-phone', 'alice-tab-1']);
  });
});

describe('signalling', () => {
  const offer = { type: 'offer' as const, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };
  const candidate = { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host', sdpMid: '0', sdpMLineIndex: 0 };

  it('relays a description and a candidate to the addressed device only, saying which device sent them', async () => {
    const { vic, tab1, tab2 } = await setUp();
    const callId = await inCall(vic, tab1);
    await send(tab2, 'call.join', { callId });
    for (const p of [vic, tab1, tab2]) p.transport.clear();

    await send(tab1, 'call.signal', { callId, to: 'vic-phone', description: offer });
    await send(tab1, 'call.signal', { callId, to: 'vic-phone', candidate });
    expect(vic.transport.of('call.signal')).toEqual([
      { callId, from: 'alice-tab-1', participantId: f.owner.id, description: offer },
      { callId, from: 'alice-tab-1', participantId: f.owner.id, candidate },
    ]);
    expect(tab2.transport.sent).toEqual([]);
    expect(errors(tab1)).toEqual([]);
  });

  it('refuses signals from a device that is not in the call, and to one that is not', async () => {
    const { vic, tab1, tab2 } = await setUp();
    const callId = await inCall(vic, tab1);

    await send(tab2, 'call.signal', { callId, to: 'vic-phone', description: offer });
    expect(errors(tab2).at(-1)).toMatchObject({ code: 'forbidden', message: 'You are not in this call.', ref: 'call.signal' });
    await send(tab1, 'call.signal', { callId, to: 'alice-tab-2', candidate });
    expect(errors(tab1).at(-1)).toMatchObject({ code: 'not_found', ref: 'call.signal' });
    await send(tab1, 'call.signal', { callId, to: 'alice-tab-1', candidate });
    expect(errors(tab1).at(-1)).toMatchObject({ code: 'bad_request' });
    await send(tab1, 'call.signal', { callId: 'some-other-call', to: 'vic-phone', candidate });
    expect(errors(tab1).at(-1)).toMatchObject({ code: 'not_found' });
    expect(vic.transport.of('call.signal')).toEqual([]);
    expect(tab2.transport.of('call.signal')).toEqual([]);
  });

  it('does not relay to a device that dropped and waits to come back', async () => {
    const { vic, tab1 } = await setUp();
    const callId = await inCall(vic, tab1);
    f.logic.leave('vic-phone');
    await f.logic.calls.idle();

    await send(tab1, 'call.signal', { callId, to: 'vic-phone', candidate });
    expect(errors(tab1).at(-1)).toMatchObject({ code: 'not_found', message: 'That device is not connected to this call.' });
  });

  it('limits the signals of one device, and only of that one', async () => {
    const { vic, tab1 } = await setUp({ config: { callSignals: { perWindow: 3, windowMs: 10_000 } } });
    const callId = await inCall(vic, tab1);

    for (let i = 0; i < 4; i++) await send(tab1, 'call.signal', { callId, to: 'vic-phone', candidate });
    expect(vic.transport.of('call.signal')).toHaveLength(3);
    expect(errors(tab1).at(-1)).toMatchObject({ code: 'rate_limited', data: { retryAfterMs: expect.any(Number) } });
    await send(vic, 'call.signal', { callId, to: 'alice-tab-1', candidate });
    expect(tab1.transport.of('call.signal')).toHaveLength(1);
  });

  it('shows a member\u2019s microphone and camera going off to everyone', async () => {
    const { vic, tab1, tab2 } = await setUp();
    const callId = await inCall(vic, tab1);

    await send(vic, 'call.media', { callId, audio: false, video: true });
    expect(state(tab2)?.members[0]).toMatchObject({ deviceId: 'vic-phone', audio: false, video: true });
    await send(tab2, 'call.media', { callId, audio: true, video: true });
    expect(errors(tab2).at(-1)).toMatchObject({ code: 'forbidden' });
  });
});

describe('call.start flood', () => {
  it('limits the calls one person starts, across their devices', async () => {
    const { vic, tab1 } = await setUp({ config: { callStarts: { perWindow: 2, windowMs: 60_000 } } });
    for (let i = 0; i < 2; i++) {
      const callId = await vicCalls(vic);
      await send(vic, 'call.leave', { callId });
    }
    const laptop = await f.join(f.visitorPeer('vic-laptop'));
    await send(laptop, 'call.start', { kind: 'audio' });
    expect(errors(laptop).at(-1)).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/^Calls: too many/) });
    expect(tab1.transport.of('call.ring')).toHaveLength(2);

    await send(tab1, 'call.start', { kind: 'audio' }); // the other side is not limited by Vic's calls
    expect(state(vic)?.status).toBe('ringing');
  });
});
