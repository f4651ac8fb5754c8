/**
 * Conference calls through mediasoup inside Knock (issue 23): at the third device the call moves to a router of
 * this process, each member's ticket names Knock's own signalling socket with a pass of its own, the socket checks
 * the page's Origin like every socket of Knock, and the room's sockets still work beside it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MediasoupRouter } from '../../adapters/media/mediasoup/MediasoupRouter.ts';
import { openMediaRouter } from '../../engine/app.ts';
import { parseConfig } from '../../engine/config.ts';
import { createLogger } from '../../engine/logger.ts';
import { systemClock, systemTimers } from '../../engine/ports/clock.ts';
import { SFU_PATH } from '../../engine/sfuProtocol.ts';
import { Cast, NO_PINGS, testRateLimits } from '../support/cast.ts';
import { waitFor } from '../support/clients.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { lastState, sfuTicket } from '../support/callRoom.ts';
import { RawRoom } from '../support/rawRoom.ts';
import { SfuSignallingClient, trySfuJoin } from '../support/sfuSignallingClient.ts';


let knock: TestKnock;
let cast: Cast;
const rooms: RawRoom[] = [];

beforeAll(async () => {
  knock = await startKnock({ pingIntervalMs: NO_PINGS, rateLimits: testRateLimits(), sfu: 'mediasoup', mediasoupWorkers: 1, rtcListenIp: '127.0.0.1' });
  cast = new Cast(knock);
});
afterEach(async () => {
  await Promise.all(rooms.splice(0).map((r) => r.leave()));
  await cast.closeAll();
});
afterAll(() => knock?.close());

async function open(options: Record<string, unknown>, headers?: Record<string, string>): Promise<RawRoom> {
  const room = await RawRoom.joinWelcomed(knock.url, 'conversation', options, headers);
  rooms.push(room);
  return room;
}


describe('conference calls through mediasoup in Knock', () => {
  it('moves the call to mediasoup at the third device; each pass opens Knock’s signalling socket, and only from Knock’s pages', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const { conversationId, token } = await cast.visitor().api.knock(handle, 'Vic');
    const visitor = await open({ conversationId, token });
    const tab1 = await open({ conversationId }, alice.headers);
    const tab2 = await open({ conversationId }, alice.headers);

    visitor.send('call.start', { kind: 'video' });
    const { callId } = lastState(await waitFor(visitor, (s) => lastState(s)?.status === 'ringing', 'ringing'))!;
    tab1.send('call.accept', { callId });
    await waitFor(visitor, (s) => lastState(s)?.status === 'active', 'answered');
    tab2.send('call.join', { callId });

    const tickets = await Promise.all([visitor, tab1, tab2].map(sfuTicket));
    for (const ticket of tickets) {
      expect(ticket.sfu).toMatchObject({ provider: 'mediasoup', url: SFU_PATH, room: tickets[0]!.sfu!.room });
      expect(await trySfuJoin(knock.url, ticket.sfu!)).toBe(true);
    }
    expect(new Set(tickets.map((t) => t.sfu!.token)).size).toBe(3);

    // A page of another site cannot open the socket, pass or not; a page of Knock's can.
    await expect(SfuSignallingClient.open(knock.url, tickets[0]!.sfu!, { Origin: 'https://evil.example' })).rejects.toThrow(/403/);
    const own = await SfuSignallingClient.open(knock.url, tickets[0]!.sfu!, { Origin: knock.url });
    await own.request('join', { room: tickets[0]!.sfu!.room, token: tickets[0]!.sfu!.token });
    own.close();

    // The member who hangs up loses its pass; when the call ends, the others' passes open nothing either.
    tab2.send('call.leave', { callId });
    await waitFor(visitor, (s) => lastState(s)?.members.length === 2, 'two members left');
    expect(await trySfuJoin(knock.url, tickets[2]!.sfu!)).toBe(false);
    tab1.send('call.leave', { callId });
    await waitFor(visitor, (s) => lastState(s)?.status === 'ended', 'ended');
    expect(await trySfuJoin(knock.url, tickets[0]!.sfu!)).toBe(false);
  });
});

describe('the conference server a Knock without KNOCK_SFU uses', () => {
  const deps = { clock: systemClock, timers: systemTimers, logger: createLogger('silent') };

  it('is mediasoup once its worker is built (npm install builds it), and Janus when KNOCK_JANUS_URL is set', async () => {
    expect(MediasoupRouter.available()).toBe(true);
    const mediasoup = await openMediaRouter(parseConfig({ port: 0, mediasoupWorkers: 1, rtcListenIp: '127.0.0.1' }), deps);
    await mediasoup?.close();
    expect(mediasoup?.provider).toBe('mediasoup');

    const janusUrls = { janusUrl: 'http://127.0.0.1:8088/janus', janusPublicUrl: 'ws://127.0.0.1:8188/' };
    const janus = await openMediaRouter(parseConfig({ port: 0, ...janusUrls }), deps);
    await janus?.close();
    expect(janus?.provider).toBe('janus');
  });
});
