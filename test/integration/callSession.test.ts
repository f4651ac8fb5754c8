/**
 * The browser SDK's call signalling (client/src/sdk/callSession.ts) against a real server, driven from Node the way
 * the page will drive it: ringing and answering as phases, signals between devices, and the call taken back by
 * itself after a dropped network or a page reload.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CallSession, type CallSignal, type CallSnapshot } from '../../client/src/sdk/callSession.ts';
import { memoryStore } from '../../client/src/sdk/browserStore.ts';
import { waitFor, type Person } from '../support/clients.ts';
import { Cast, NO_PINGS, testRateLimits } from '../support/cast.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { startProxy, type NetProxy } from '../support/netProxy.ts';

let knock: TestKnock;
let cast: Cast;
const calls: CallSession[] = [];
const proxies: NetProxy[] = [];

beforeAll(async () => {
  knock = await startKnock({ pingIntervalMs: NO_PINGS, rateLimits: testRateLimits(), callRejoinGraceMs: 10_000 });
  cast = new Cast(knock);
});
afterEach(async () => {
  for (const call of calls.splice(0)) call.close();
  await cast.closeAll();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});
afterAll(() => knock.close());

function follow(person: Person, conversationId: string, token?: string, store = memoryStore()): { call: CallSession; close(): Promise<void> } {
  const conversation = person.conversation(conversationId, token);
  const call = CallSession.attach(conversation, { store });
  calls.push(call);
  return { call, close: () => conversation.close() };
}

/** The next signal `call` hears (signals are events, not snapshot changes). */
function nextSignal(call: CallSession, timeoutMs = 5000): Promise<CallSignal> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no signal within ${timeoutMs} ms`)), timeoutMs);
    const stop = call.onSignal((signal) => {
      clearTimeout(timer);
      stop();
      resolve(signal);
    });
  });
}

const phaseIs = (call: CallSession, phase: CallSnapshot['phase']) => waitFor(call, (s) => s.phase === phase, `phase ${phase}`);
const live = (call: CallSession) => waitFor(call, (s) => s.deviceId !== null, 'connected');

/** Vic calls Alice, she accepts, then Vic's page unloads: Alice's tab sees Vic reconnecting; the tab's store is kept. */
async function visitorUnloadedInCall() {
  const { handle, person: alice } = await cast.owner('Alice');
  const vicPerson = cast.visitor();
  const { conversationId, token } = await vicPerson.api.knock(handle, 'Vic');
  const tabStore = memoryStore(); // sessionStorage of the visitor's tab
  const first = follow(vicPerson, conversationId, token, tabStore);
  const tab = follow(alice, conversationId).call;
  await Promise.all([first.call, tab].map(live));
  first.call.start('video');
  await phaseIs(tab, 'incoming');
  tab.accept();
  await phaseIs(first.call, 'active');
  first.call.close();
  await first.close(); // the page unloads
  await waitFor(tab, (s) => s.call?.members[0]?.connection === 'reconnecting', 'Vic reconnecting');
  return { vicPerson, conversationId, token, tabStore, tab };
}

describe('CallSession', () => {
  it('rings both owner tabs; the one that accepts is in the call, the other sees it going on elsewhere', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const vicPerson = cast.visitor();
    const { conversationId, token } = await vicPerson.api.knock(handle, 'Vic');
    const vic = follow(vicPerson, conversationId, token).call;
    const tab1 = follow(alice, conversationId).call;
    const tab2 = follow(alice, conversationId).call;
    await Promise.all([vic, tab1, tab2].map(live));

    vic.start('video');
    await phaseIs(vic, 'outgoing');
    for (const tab of [tab1, tab2]) expect((await phaseIs(tab, 'incoming')).ring).toMatchObject({ kind: 'video', from: { name: 'Vic' } });

    tab1.accept();
    await phaseIs(tab1, 'active');
    await phaseIs(tab2, 'elsewhere');
    const v = await phaseIs(vic, 'active');
    expect(v.ticket).toMatchObject({ mode: 'p2p', deviceId: v.deviceId });

    const unexpected: CallSignal[] = [];
    tab2.onSignal((s) => unexpected.push(s));
    const offer = nextSignal(vic);
    tab1.signal(v.deviceId!, { description: { type: 'offer', sdp: 'v=0\r\ns=-\r\n' } });
    expect(await offer).toEqual({ callId: v.call!.callId, from: tab1.snapshot().deviceId, participantId: expect.any(String), description: { type: 'offer', sdp: 'v=0\r\ns=-\r\n' } });
    // A marker sent after the offer: once tab1 has it, tab2 would have had the offer had it been sent there.
    const marker = nextSignal(tab1);
    vic.signal(tab1.snapshot().deviceId!, { candidate: { candidate: '' } });
    await marker;
    expect(unexpected).toEqual([]);

    tab1.leave();
    const ended = await phaseIs(vic, 'ended');
    expect(ended.call).toMatchObject({ status: 'ended', endReason: 'completed' });
  });

  it('takes its place back by itself after the network drops', async () => {
    const proxy = await startProxy(knock.url);
    proxies.push(proxy);
    const { handle, person: alice } = await cast.owner('Alice');
    const vicPerson = cast.visitor(proxy.url);
    const { conversationId, token } = await vicPerson.api.knock(handle, 'Vic');
    const vic = follow(vicPerson, conversationId, token).call;
    const tab = follow(alice, conversationId).call;
    await Promise.all([vic, tab].map(live));
    vic.start('audio');
    await phaseIs(tab, 'incoming');
    tab.accept();
    const before = await phaseIs(vic, 'active');

    proxy.drop();
    await waitFor(tab, (s) => s.call?.members[0]?.connection === 'reconnecting', 'the owner sees Vic reconnecting');
    const after = await waitFor(vic, (s) => s.phase === 'active' && s.deviceId !== before.deviceId, 'Vic back in the call', 10_000);
    expect(after.ticket?.deviceId).toBe(after.deviceId);
    await waitFor(tab, (s) => s.call?.members.every((m) => m.connection === 'connected') === true, 'the owner sees Vic back');
    expect(tab.snapshot().call?.members.map((m) => m.deviceId)).toEqual([after.deviceId, tab.snapshot().deviceId]);
  });

  it('rejoins the call after a reload, from what the tab kept', async () => {
    const { vicPerson, conversationId, token, tabStore } = await visitorUnloadedInCall();
    const reloaded = follow(vicPerson, conversationId, token, tabStore).call;
    const back = await phaseIs(reloaded, 'active');
    expect(back.call?.members.map((m) => m.connection)).toEqual(['connected', 'connected']);
  });

  it('rejoins after a reload when the call panel attaches only once the page is connected and was told of the call', async () => {
    const { vicPerson, conversationId, token, tabStore, tab } = await visitorUnloadedInCall();

    // The reloaded page: its conversation connects and hears the call's state before any call panel listens.
    const conversation = vicPerson.conversation(conversationId, token);
    let stop = () => undefined as unknown;
    await new Promise<void>((resolve) => {
      stop = conversation.onCall((e) => e.type === 'call.state' && resolve());
    });
    stop();
    const late = CallSession.attach(conversation, { store: tabStore });
    calls.push(late);
    const back = await phaseIs(late, 'active');
    expect(back.call?.members.map((m) => m.connection)).toEqual(['connected', 'connected']);
    expect(tab.snapshot().call?.status).toBe('active');
  });

  it('says plainly when the call is full', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const vicPerson = cast.visitor();
    const { conversationId, token } = await vicPerson.api.knock(handle, 'Vic');
    const vic = follow(vicPerson, conversationId, token).call;
    const tabs = [1, 2, 3, 4].map(() => follow(alice, conversationId).call);
    await Promise.all([vic, ...tabs].map(live));
    vic.start('audio');
    await phaseIs(tabs[0]!, 'incoming');
    tabs[0]!.accept();
    await phaseIs(tabs[0]!, 'active');
    for (const tab of tabs.slice(1, 3)) {
      await phaseIs(tab, 'elsewhere');
      tab.join();
      await phaseIs(tab, 'active');
    }

    tabs[3]!.join();
    const refused = await waitFor(tabs[3]!, (s) => s.error !== null, 'refused');
    expect(refused.error).toMatchObject({ code: 'call_full', message: 'This call is full: it takes at most 4 people.' });
    expect(refused.phase).toBe('elsewhere');
  });
});
