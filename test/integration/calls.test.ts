/**
 * Calls on a real server with real colyseus.js sockets (DESIGN "calls"): ringing on every owner device and in the
 * console, the first device to accept takes the call, signalling relayed only to the addressed device, bad signals
 * refused without disturbing anyone's call, a flood of call.start rate-limited, a reload rejoining the call, and the
 * records calls leave in the conversation.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type Person } from '../support/clients.ts';
import { Cast, NO_PINGS, testRateLimits } from '../support/cast.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { lastState, stateIs as callStateIs, type CallState as State } from '../support/callRoom.ts';
import { RawRoom, type RawRoomSnapshot } from '../support/rawRoom.ts';
import type { ConversationServerMessages, ErrorPayload, MessageRecord, UserServerMessages } from '../../engine/protocol.ts';

type Ticket = ConversationServerMessages['call.ticket'];
type Signal = ConversationServerMessages['call.signal'];

const RING_TIMEOUT_MS = 1500;
/**
 * Long enough that a reload on a busy CI machine (a new socket, a join, a `call.join`) lands inside it: at 1.5 s a
 * loaded run saw the grace end first, and the rejoin became a fresh join at the end of the list.
 */
const REJOIN_GRACE_MS = 4000;
const CALL_STARTS = 3;
const TURN_SECRET = 'integration-turn-secret';

let knock: TestKnock;
let cast: Cast;
let theOwner: { handle: string; person: Person };
const rooms: RawRoom[] = [];

beforeAll(async () => {
  knock = await startKnock({
    pingIntervalMs: NO_PINGS,
    rateLimits: testRateLimits({ callStarts: { perWindow: CALL_STARTS, windowMs: 60_000 } }),
    callRingTimeoutMs: RING_TIMEOUT_MS,
    callRejoinGraceMs: REJOIN_GRACE_MS,
    iceServers: [{ urls: 'stun:127.0.0.1:3478' }, { urls: ['turn:127.0.0.1:3478?transport=udp'] }],
    turnSecret: TURN_SECRET,
  });
  cast = new Cast(knock);
  theOwner = await cast.owner('Alice');
});
afterEach(async () => {
  await Promise.all(rooms.splice(0).map((r) => r.leave()));
  await cast.closeAll();
});
afterAll(() => knock.close());

async function open(name: 'conversation' | 'user', options: Record<string, unknown>, headers?: Record<string, string>): Promise<RawRoom> {
  const room = await RawRoom.join(knock.url, name, options, headers);
  rooms.push(room);
  await waitFor(room, (s) => s.of('welcome').length === 1, `${name} welcome`);
  return room;
}

/** A new conversation of the owner's: the visitor and two owner tabs on it, and the owner's console. */
async function conversation(visitorName = 'Vic') {
  const { handle, person: alice } = theOwner;
  const { conversationId, token } = await cast.visitor().api.knock(handle, visitorName);
  const visitor = await open('conversation', { conversationId, token });
  const tab1 = await open('conversation', { conversationId }, alice.headers);
  const tab2 = await open('conversation', { conversationId }, alice.headers);
  return { conversationId, token, visitor, tab1, tab2, alice };
}

const errorsOf = (s: RawRoomSnapshot) => s.of<ErrorPayload>('error');
const deviceOf = (room: RawRoom) => room.room.sessionId;

/** A call state, waited for past the rejoin grace (a device that dropped is a member until it ends). */
function stateIs(room: RawRoom, what: string, predicate: (s: State) => boolean): Promise<State> {
  return callStateIs(room, what, predicate, REJOIN_GRACE_MS + 5000);
}

function errorCount(room: RawRoom, n: number, what: string): Promise<ErrorPayload[]> {
  return waitFor(room, (s) => errorsOf(s).length >= n, what).then(errorsOf);
}

async function callRinging(visitor: RawRoom, kind: 'audio' | 'video' = 'audio'): Promise<string> {
  visitor.send('call.start', { kind });
  return (await stateIs(visitor, 'ringing', (s) => s.status === 'ringing')).callId;
}

async function activeCall(visitor: RawRoom, tab: RawRoom): Promise<string> {
  const callId = await callRinging(visitor);
  tab.send('call.accept', { callId });
  await stateIs(visitor, 'answered', (s) => s.status === 'active' && s.members.length === 2);
  return callId;
}

const stored = async (conversationId: string) => (await knock.storage.messagesAfter(conversationId, 0, 100)).map((m) => m.body);

describe('ringing and answering', () => {
  it('rings every owner tab and the console; the first tab to accept takes the call, the others stop', async () => {
    const { visitor, tab1, tab2, conversationId } = await conversation();
    const console_ = await open('user', { handle: theOwner.handle }, theOwner.person.headers);

    const callId = await callRinging(visitor, 'video');
    for (const tab of [tab1, tab2]) {
      const rung = await waitFor(tab, (s) => s.of('call.ring').length === 1, 'tab rings');
      expect(rung.of('call.ring')[0]).toMatchObject({ callId, kind: 'video', from: { name: 'Vic', role: 'visitor' } });
    }
    const heard = await waitFor(console_, (s) => s.of<UserServerMessages['call']>('call').some((c) => c.callId === callId), 'console rings');
    expect(heard.of<UserServerMessages['call']>('call').find((c) => c.callId === callId)).toMatchObject({ conversationId, status: 'ringing', from: { name: 'Vic' } });

    tab1.send('call.accept', { callId });
    const answered = await stateIs(tab2, 'tab 2 sees the call answered', (s) => s.status === 'active');
    expect(answered.members.map((m) => m.deviceId)).toEqual([deviceOf(visitor), deviceOf(tab1)]);
    await waitFor(console_, (s) => s.of<UserServerMessages['call']>('call').some((c) => c.callId === callId && c.status === 'active'), 'console stops ringing');
    const ticket = (await waitFor(tab1, (s) => s.of('call.ticket').length === 1, 'ticket')).of<Ticket>('call.ticket')[0]!;
    expect(ticket).toMatchObject({ callId, deviceId: deviceOf(tab1), mode: 'p2p', sfu: null });
    expect(ticket.iceServers[1]).toMatchObject({ urls: ['turn:127.0.0.1:3478?transport=udp'], username: expect.stringMatching(/^\d+:/) });
    expect(JSON.stringify(ticket)).not.toContain(TURN_SECRET);

    tab2.send('call.accept', { callId });
    const [late] = await errorCount(tab2, 1, 'second accept refused');
    expect(late).toMatchObject({ code: 'conflict', message: 'This call was answered on another device.', ref: 'call.accept' });
  });

  it('gives an anonymous caller no TURN credentials while the call rings, and TURN credentials of its own once answered', async () => {
    const { visitor, tab1 } = await conversation();
    const callId = await callRinging(visitor);
    const ringing = (await waitFor(visitor, (s) => s.of('call.ticket').length === 1, 'caller ticket')).of<Ticket>('call.ticket')[0]!;
    expect(ringing.iceServers).toEqual([{ urls: ['stun:127.0.0.1:3478'] }]);

    tab1.send('call.accept', { callId });
    const answered = (await waitFor(visitor, (s) => s.of('call.ticket').length === 2, 'caller ticket once answered')).of<Ticket>('call.ticket')[1]!;
    expect(answered.iceServers[1]).toMatchObject({ urls: ['turn:127.0.0.1:3478?transport=udp'], username: expect.stringMatching(new RegExp(`^\\d+:${callId}\\.${deviceOf(visitor)}$`)) });
  });

  it('rings an owner tab that is opened (or reloaded) while the call rings', async () => {
    const { visitor, conversationId } = await conversation();
    const callId = await callRinging(visitor);

    const late = await open('conversation', { conversationId }, theOwner.person.headers);
    await waitFor(late, (s) => s.of('call.ring').length === 1, 'late tab rings');
    const console_ = await open('user', { handle: theOwner.handle }, theOwner.person.headers);
    // (Calls of earlier tests, ending now, may be heard too: the owner is the same.)
    const heard = await waitFor(console_, (s) => s.of<UserServerMessages['call']>('call').some((c) => c.callId === callId), 'reloaded console rings');
    expect(heard.of<UserServerMessages['call']>('call').find((c) => c.callId === callId)).toMatchObject({ status: 'ringing' });
  });
});

describe('signalling', () => {
  it('relays descriptions and candidates to the addressed device only', async () => {
    const { visitor, tab1, tab2 } = await conversation();
    const callId = await activeCall(visitor, tab1);
    tab2.send('call.join', { callId });
    await stateIs(visitor, 'three in a mesh', (s) => s.members.length === 3 && s.mode === 'mesh');

    const description = { type: 'offer', sdp: 'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };
    const candidate = { candidate: 'candidate:842163049 1 udp 1677729535 192.0.2.10 49203 typ srflx raddr 0.0.0.0 rport 0', sdpMid: '0', sdpMLineIndex: 0 };
    tab2.send('call.signal', { callId, to: deviceOf(visitor), description });
    tab2.send('call.signal', { callId, to: deviceOf(visitor), candidate });
    const got = await waitFor(visitor, (s) => s.of('call.signal').length === 2, 'visitor gets both');
    expect(got.of<Signal>('call.signal')).toEqual([
      { callId, from: deviceOf(tab2), participantId: expect.any(String), description },
      { callId, from: deviceOf(tab2), participantId: expect.any(String), candidate },
    ]);

    // A marker after the two: tab1 is in the call but was not addressed.
    visitor.send('call.signal', { callId, to: deviceOf(tab1), candidate });
    await waitFor(tab1, (s) => s.of('call.signal').length === 1, 'tab1 gets the marker');
    expect(tab1.snapshot().of<Signal>('call.signal').map((s) => s.from)).toEqual([deviceOf(visitor)]);
    expect(errorsOf(tab2.snapshot())).toEqual([]);
  });

  it('refuses bad signals with a readable error, and the calls of others carry on', async () => {
    const mine = await conversation('Mallory');
    const theirs = await conversation('Trent');
    const myCall = await activeCall(mine.visitor, mine.tab1);
    const theirCall = await activeCall(theirs.visitor, theirs.tab1);
    const bad = mine.visitor;
    const to = deviceOf(mine.tab1);

    bad.send('call.signal', { callId: myCall, to, description: { type: 'offer', sdp: `v=0\r\n${'a=x\r\n'.repeat(8000)}` } });
    bad.send('call.signal', { callId: myCall, to, description: { type: 'offer', sdp: 12345 } });
    bad.send('call.signal', { callId: myCall, to, description: { type: 'rollback', sdp: 'v=0\r\n' } });
    bad.send('call.signal', { callId: myCall, to, candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 1 typ host\r\na=inject' } });
    bad.send('call.signal', { callId: myCall, to, candidate: { candidate: 'x'.repeat(2000) } });
    bad.send('call.signal', { callId: myCall, to });
    bad.send('call.signal', { callId: theirCall, to: deviceOf(theirs.visitor), candidate: { candidate: '' } });
    bad.send('call.signal', { callId: myCall, to: deviceOf(theirs.tab1), candidate: { candidate: '' } });
    mine.tab2.send('call.signal', { callId: myCall, to: deviceOf(bad), candidate: { candidate: '' } });

    const errors = await errorCount(bad, 8, 'eight refusals');
    expect(errors.map((e) => [e.code, e.ref])).toEqual([
      ['bad_request', 'call.signal'],
      ['bad_request', 'call.signal'],
      ['bad_request', 'call.signal'],
      ['bad_request', 'call.signal'],
      ['bad_request', 'call.signal'],
      ['bad_request', 'call.signal'],
      ['not_found', 'call.signal'],
      ['not_found', 'call.signal'],
    ]);
    expect(errors[0]!.message).toMatch(/The SDP is too large \(at most 32768 characters\)/);
    expect(errors[1]!.message).toMatch(/^description\.sdp: /);
    expect(errors[5]!.message).toBe('A signal carries either a description or a candidate.');
    const [notInCall] = await errorCount(mine.tab2, 1, 'a tab not in the call is refused');
    expect(notInCall).toMatchObject({ code: 'forbidden', message: 'You are not in this call.' });
    expect(mine.tab1.snapshot().of('call.signal')).toEqual([]);

    // Nobody's call was disturbed: both still relay, and the bad sender's socket still works.
    theirs.visitor.send('call.signal', { callId: theirCall, to: deviceOf(theirs.tab1), candidate: { candidate: '' } });
    await waitFor(theirs.tab1, (s) => s.of('call.signal').length === 1, 'their call relays');
    bad.send('call.signal', { callId: myCall, to, candidate: { candidate: '' } });
    await waitFor(mine.tab1, (s) => s.of('call.signal').length === 1, 'my call relays');
    expect(lastState(theirs.tab1.snapshot())).toMatchObject({ callId: theirCall, status: 'active' });
    expect(errorsOf(theirs.visitor.snapshot())).toEqual([]);
    expect(bad.snapshot().closedWith).toBeNull();
  });
});

describe('call.start flood', () => {
  it('rate-limits a flood of call requests: one call rings, the rest are refused, the socket stays', async () => {
    const { visitor, tab1 } = await conversation();
    for (let i = 0; i < 10; i++) visitor.send('call.start', { kind: 'video' });

    const errors = await errorCount(visitor, 9, 'nine refusals');
    expect(errors.filter((e) => e.code === 'conflict')).toHaveLength(CALL_STARTS - 1);
    expect(errors.filter((e) => e.code === 'rate_limited')).toHaveLength(10 - CALL_STARTS);
    expect(errors.find((e) => e.code === 'rate_limited')).toMatchObject({ ref: 'call.start', data: { retryAfterMs: expect.any(Number) } });
    await waitFor(tab1, (s) => s.of('call.ring').length === 1, 'one ring');
    expect(new Set(visitor.snapshot().of<State>('call.state').map((s) => s.callId)).size).toBe(1);
    expect(visitor.snapshot().closedWith).toBeNull();
  });
});

describe('records', () => {
  it('stores a missed call when nobody answers in time', async () => {
    const { visitor, tab1, conversationId } = await conversation();
    const callId = await callRinging(visitor, 'video');

    const ended = await stateIs(tab1, 'missed', (s) => s.status === 'ended');
    expect(ended).toMatchObject({ callId, endReason: 'missed' });
    const got = await waitFor(tab1, (s) => s.of('message').length === 1, 'the record arrives');
    expect(got.of<MessageRecord>('message')[0]).toMatchObject({ body: 'Missed video call', senderRole: 'visitor', clientMsgId: `call:${callId}` });
    expect(await stored(conversationId)).toEqual(['Missed video call']);
  });

  it('stores a declined call, shown in the owner\u2019s conversation list', async () => {
    const { visitor, tab2, conversationId } = await conversation();
    const console_ = await open('user', { handle: theOwner.handle }, theOwner.person.headers);
    const callId = await callRinging(visitor);

    tab2.send('call.decline', { callId });
    expect(await stateIs(visitor, 'declined', (s) => s.status === 'ended')).toMatchObject({ endReason: 'declined' });
    await waitFor(visitor, (s) => s.of('message').length === 1, 'the record arrives');
    expect(await stored(conversationId)).toEqual(['Declined call']);
    const listed = await waitFor(
      console_,
      (s) => s.of<UserServerMessages['conversation']>('conversation').some((c) => c.id === conversationId && c.lastMessage?.body === 'Declined call'),
      'the list shows it',
    );
    expect(listed.of<UserServerMessages['call']>('call').filter((c) => c.callId === callId).map((c) => c.status)).toEqual(['ringing', 'ended']);
  });

  it('stores the length of a call that was answered and hung up', async () => {
    const { visitor, tab1, conversationId } = await conversation();
    const callId = await activeCall(visitor, tab1);

    tab1.send('call.leave', { callId });
    await stateIs(visitor, 'hung up', (s) => s.status === 'ended' && s.endReason === 'completed');
    await waitFor(visitor, (s) => s.of('message').length === 1, 'the record arrives');
    expect(await stored(conversationId)).toEqual([expect.stringMatching(/^Call, \d+ s$/)]);
  });
});

describe('reload', () => {
  it('rejoins the call after a reload, taking back the same place', async () => {
    const { visitor, tab1, conversationId, token } = await conversation();
    const callId = await activeCall(visitor, tab1);

    await visitor.leave();
    const waiting = await stateIs(tab1, 'visitor reconnecting', (s) => s.members[0]?.connection === 'reconnecting');
    expect(waiting.status).toBe('active');

    const reloaded = await open('conversation', { conversationId, token });
    expect(lastState(reloaded.snapshot())).toMatchObject({ callId, status: 'active' });
    reloaded.send('call.join', { callId });
    const back = await stateIs(tab1, 'visitor back', (s) => s.members.every((m) => m.connection === 'connected'));
    expect(back.members.map((m) => m.deviceId)).toEqual([deviceOf(reloaded), deviceOf(tab1)]);
    await waitFor(reloaded, (s) => s.of('call.ticket').length === 1, 'a fresh ticket');
  });

  it('keeps the call while everyone is away for a moment, and ends it when nobody comes back', async () => {
    const { visitor, tab1, tab2, conversationId, token } = await conversation();
    const callId = await activeCall(visitor, tab1);
    await Promise.all([visitor.leave(), tab1.leave(), tab2.leave()]);
    rooms.splice(0);
    await new Promise((resolve) => setTimeout(resolve, 300)); // longer than the room's dispose delay when empty

    const back = await open('conversation', { conversationId, token });
    expect(lastState(back.snapshot())).toMatchObject({ callId, status: 'active' });
    const ended = await stateIs(back, 'ended after the grace period', (s) => s.status === 'ended');
    expect(ended.endReason).toBe('completed');
    await waitFor(back, (s) => s.of('message').length === 1, 'the record arrives');
    expect(await stored(conversationId)).toEqual([expect.stringMatching(/^Video call, |^Call, /)]);
  });
});
