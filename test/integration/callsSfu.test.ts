/**
 * Conference calls through a real Janus (started here on 127.0.0.1): Knock with KNOCK_JANUS_URL moves a call to a
 * VideoRoom room when its third device joins, hands each member a pass of its own that Janus accepts, takes a
 * leaving member's pass back, and closes the room when the call ends.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/clients.ts';
import { Cast, NO_PINGS, testRateLimits } from '../support/cast.ts';
import { tryJanusJoin } from '../support/janusBrowser.ts';
import { startJanus, type JanusProcess } from '../support/janusProcess.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { lastTicket, sfuTicket, stateIs } from '../support/callRoom.ts';
import { RawRoom } from '../support/rawRoom.ts';


const ADMIN_KEY = 'sfu-test-admin-key';
const TOKEN_SECRET = 'sfu-test-token-secret';

let janus: JanusProcess;
let knock: TestKnock;
let cast: Cast;
const rooms: RawRoom[] = [];

beforeAll(async () => {
  janus = await startJanus({ adminKey: ADMIN_KEY, tokenSecret: TOKEN_SECRET });
  knock = await startKnock({
    pingIntervalMs: NO_PINGS,
    rateLimits: testRateLimits(),
    janusUrl: janus.httpUrl,
    janusPublicUrl: janus.wsUrl,
    janusAdminKey: ADMIN_KEY,
    janusTokenSecret: TOKEN_SECRET,
  });
  cast = new Cast(knock);
});
afterEach(async () => {
  await Promise.all(rooms.splice(0).map((r) => r.leave()));
  await cast.closeAll();
});
afterAll(async () => {
  await knock?.close();
  await janus?.stop();
});

async function open(options: Record<string, unknown>, headers?: Record<string, string>): Promise<RawRoom> {
  const room = await RawRoom.joinWelcomed(knock.url, 'conversation', options, headers);
  rooms.push(room);
  return room;
}


describe('conference calls through Janus', () => {
  it('moves the call to Janus at the third device, each member with a pass Janus takes', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const { conversationId, token } = await cast.visitor().api.knock(handle, 'Vic');
    const visitor = await open({ conversationId, token });
    const tab1 = await open({ conversationId }, alice.headers);
    const tab2 = await open({ conversationId }, alice.headers);

    visitor.send('call.start', { kind: 'video' });
    const { callId } = await stateIs(visitor, 'ringing', (s) => s.status === 'ringing');
    tab1.send('call.accept', { callId });
    expect(await stateIs(visitor, 'answered', (s) => s.status === 'active')).toMatchObject({ mode: 'p2p', capacity: 12 });
    // The answering tab's ticket comes on its own socket: the visitor hearing "active" first says nothing about it.
    expect(lastTicket(await waitFor(tab1, (s) => lastTicket(s) !== undefined, 'the answering tab\u2019s ticket'))).toMatchObject({ mode: 'p2p', sfu: null });

    tab2.send('call.join', { callId });
    await stateIs(visitor, 'in the conference room', (s) => s.mode === 'sfu' && s.members.length === 3);
    const tickets = await Promise.all([visitor, tab1, tab2].map(sfuTicket));
    for (const t of tickets) {
      expect(t.sfu).toMatchObject({ provider: 'janus', url: janus.wsUrl });
      expect(await tryJanusJoin(t.sfu!)).toEqual({ joined: true });
    }
    expect(new Set(tickets.map((t) => t.sfu!.room)).size).toBe(1);
    expect(new Set(tickets.map((t) => t.sfu!.token)).size).toBe(3);

    tab2.send('call.leave', { callId });
    await stateIs(visitor, 'two left', (s) => s.members.length === 2);
    expect(await tryJanusJoin(tickets[2]!.sfu!)).toMatchObject({ joined: false });
    expect(await tryJanusJoin(tickets[0]!.sfu!)).toEqual({ joined: true });

    tab1.send('call.leave', { callId });
    await stateIs(visitor, 'ended', (s) => s.status === 'ended');
    await waitFor(visitor, (s) => s.of('message').length === 1, 'the record');
    const afterEnd = await tryJanusJoin(tickets[0]!.sfu!);
    expect(afterEnd).toMatchObject({ joined: false, reason: expect.stringMatching(/No such room/i) });
  });
});
