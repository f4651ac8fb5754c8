/**
 * The mediasoup adapter beyond the MediaRouter contract (test/contract/mediaRouter.mediasoup.test.ts): what the
 * signalling socket lets a member do, what it refuses, and what happens when a worker dies. Real workers, a real
 * socket; media parameters as a browser's mediasoup client would send them (no media flows here: the browser tests
 * in test/e2e/callsMediasoup.test.ts decode it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SfuJoin } from '../../../engine/protocol.ts';
import { startMediasoupServer, type MediasoupServer } from '../../../test/support/mediasoupServer.ts';
import { SfuRefusal, SfuSignallingClient } from '../../../test/support/sfuSignallingClient.ts';

const OPUS = { mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 }, rtcpFeedback: [] };
let ssrc = 1000;
const audioParameters = () => ({ mid: '0', codecs: [OPUS], headerExtensions: [], encodings: [{ ssrc: ++ssrc }], rtcp: { cname: `member-${ssrc}` } });

async function joined(server: MediasoupServer, join: SfuJoin): Promise<{ client: SfuSignallingClient; caps: Record<string, unknown> }> {
  const client = await SfuSignallingClient.open(server.baseUrl, join);
  const { routerRtpCapabilities } = await client.request('join', { room: join.room, token: join.token });
  return { client, caps: routerRtpCapabilities };
}

/** A member who joined, said what it receives, and sends its microphone. */
async function sending(server: MediasoupServer, join: SfuJoin) {
  const { client, caps } = await joined(server, join);
  await client.request('ready', { rtpCapabilities: caps });
  const transport = await client.request('createTransport', { direction: 'send' });
  const producer = await client.request('produce', { transportId: transport.id, kind: 'audio', source: 'microphone', rtpParameters: audioParameters(), paused: false });
  return { client, caps, transport, producer };
}

describe('MediasoupRouter signalling', () => {
  let server: MediasoupServer;
  beforeAll(async () => {
    server = await startMediasoupServer({ workers: 1 });
  });
  afterAll(() => server?.close());

  it('announces a member’s microphone to the others with whose it is, and lets them receive it paused, then resume it', async () => {
    const room = await server.router.createRoom('call-announce', { capacity: 4 });
    const alice = await server.router.issueJoin(room, { memberId: 'dev-a', name: 'Alice', participantId: 'person-a' });
    const bob = await server.router.issueJoin(room, { memberId: 'dev-b', name: 'Bob', participantId: 'person-b' });
    const a = await sending(server, alice);
    const b = await joined(server, bob);
    await b.client.request('ready', { rtpCapabilities: b.caps });
    const notice = await b.client.notice((m) => 'notice' in m && m.notice === 'producer');
    expect(notice).toMatchObject({ producer: { producerId: a.producer.id, memberId: 'dev-a', participantId: 'person-a', kind: 'audio', source: 'microphone', paused: false } });

    const recv = await b.client.request('createTransport', { direction: 'recv' });
    expect(recv.iceCandidates.length).toBeGreaterThan(0);
    expect(recv.iceCandidates.every((c) => c.ip === '127.0.0.1' || c.address === '127.0.0.1')).toBe(true);
    const consumer = await b.client.request('consume', { transportId: recv.id, producerId: a.producer.id });
    expect(consumer).toMatchObject({ producerId: a.producer.id, kind: 'audio' });
    await b.client.request('resumeConsumer', { consumerId: consumer.id });

    // Alice hangs up: Bob hears that her stream is gone.
    a.client.close();
    await b.client.notice((m) => 'notice' in m && m.notice === 'producerClosed' && m.producerId === a.producer.id);
    await b.client.notice((m) => 'notice' in m && m.notice === 'consumerClosed' && m.consumerId === consumer.id);
    b.client.close();
    await server.router.destroyRoom(room);
  });

  it('refuses what a member may not do: another’s stream as its own, a second send transport, receiving itself, sending on a receive transport', async () => {
    const room = await server.router.createRoom('call-refusals', { capacity: 4 });
    const alice = await server.router.issueJoin(room, { memberId: 'dev-a', name: 'Alice' });
    const bob = await server.router.issueJoin(room, { memberId: 'dev-b', name: 'Bob' });
    const a = await sending(server, alice);
    const b = await joined(server, bob);
    await b.client.request('ready', { rtpCapabilities: b.caps });
    const refusal = (p: Promise<unknown>) => p.then(() => 'accepted', (err: unknown) => (err instanceof SfuRefusal ? err.code : String(err)));

    expect(await refusal(b.client.request('pauseProducer', { producerId: a.producer.id, paused: true }))).toBe('not_found');
    expect(await refusal(b.client.request('closeProducer', { producerId: a.producer.id }))).toBe('not_found');
    expect(await refusal(a.client.request('createTransport', { direction: 'send' }))).toBe('conflict');
    const aRecv = await a.client.request('createTransport', { direction: 'recv' });
    expect(await refusal(a.client.request('consume', { transportId: aRecv.id, producerId: a.producer.id }))).toBe('not_found');
    expect(await refusal(a.client.request('produce', { transportId: aRecv.id, kind: 'audio', source: 'microphone', rtpParameters: audioParameters(), paused: false }))).toBe('not_found');
    expect(await refusal(a.client.request('produce', { transportId: a.transport.id, kind: 'audio', source: 'microphone', rtpParameters: { ...audioParameters(), codecs: [{ ...OPUS, mimeType: 'audio/nonsense' }] }, paused: false }))).toBe('bad_request');
    // The session is intact after every refusal: Alice still mutes her own microphone.
    expect(await refusal(a.client.request('pauseProducer', { producerId: a.producer.id, paused: true }))).toBe('accepted');
    await b.client.notice((m) => 'notice' in m && m.notice === 'producerPaused' && m.producerId === a.producer.id && m.paused);
    a.client.close();
    b.client.close();
    await server.router.destroyRoom(room);
  });

  it('answers nothing before a join with a valid pass, and closes a socket that sends garbage first', async () => {
    const room = await server.router.createRoom('call-garbage', { capacity: 4 });
    const pass = await server.router.issueJoin(room, { memberId: 'dev-a', name: 'Alice' });
    const early = await SfuSignallingClient.open(server.baseUrl, pass);
    await expect(early.request('createTransport', { direction: 'send' })).rejects.toMatchObject({ code: 'unauthorized' });
    expect(await early.closed).toBe(4003);

    const garbage = await SfuSignallingClient.open(server.baseUrl, pass);
    garbage.sendRaw('{"id": 1, "method": "join", "room": 42}');
    expect(await garbage.closed).toBe(4003);
    // The pass itself still works.
    const { client } = await joined(server, pass);
    client.close();
    await server.router.destroyRoom(room);
  });

  it('gives a pass one live session: a reloaded tab takes its place from the old socket', async () => {
    const room = await server.router.createRoom('call-reload', { capacity: 4 });
    const pass = await server.router.issueJoin(room, { memberId: 'dev-a', name: 'Alice' });
    const before = await joined(server, pass);
    const after = await joined(server, pass);
    expect(await before.client.closed).toBe(4003);
    after.client.close();
    await server.router.destroyRoom(room);
  });

  it('ends every session of a room when the call ends', async () => {
    const room = await server.router.createRoom('call-ends', { capacity: 4 });
    const { client } = await joined(server, await server.router.issueJoin(room, { memberId: 'dev-a', name: 'Alice' }));
    await server.router.destroyRoom(room);
    expect(await client.closed).toBe(4004);
  });
});

describe('MediasoupRouter rate of requests', () => {
  let server: MediasoupServer;
  beforeAll(async () => {
    server = await startMediasoupServer({ workers: 1, rate: { perWindow: 3, windowMs: 60_000 } });
  });
  afterAll(() => server?.close());

  it('refuses requests past the socket’s rate, and keeps the session', async () => {
    const room = await server.router.createRoom('call-rate', { capacity: 4 });
    const { client, caps } = await joined(server, await server.router.issueJoin(room, { memberId: 'dev-a', name: 'Alice' }));
    await client.request('ready', { rtpCapabilities: caps });
    await client.request('createTransport', { direction: 'send' });
    await expect(client.request('createTransport', { direction: 'recv' })).rejects.toMatchObject({ code: 'rate_limited' });
    client.close();
    await server.router.destroyRoom(room);
  });
});

describe('MediasoupRouter when a worker dies', () => {
  let server: MediasoupServer;
  beforeAll(async () => {
    server = await startMediasoupServer({ workers: 1 });
  });
  afterAll(() => server?.close());

  it('replaces a worker killed with SIGKILL, tells its calls’ members to join again, and lets them in with the passes they hold', async () => {
    const room = await server.router.createRoom('call-worker-dies', { capacity: 4 });
    const pass = await server.router.issueJoin(room, { memberId: 'dev-a', name: 'Alice' });
    const a = await sending(server, pass);
    const [pid] = server.router.workerPids;
    process.kill(pid!, 'SIGKILL');
    expect(await a.client.closed).toBe(4006);

    const again = await sending(server, pass);
    expect(server.router.workerPids).toHaveLength(1);
    expect(server.router.workerPids).not.toContain(pid);
    expect(again.producer.id).not.toBe(a.producer.id);
    again.client.close();
    await server.router.destroyRoom(room);
  });
});
