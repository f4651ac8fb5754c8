/**
 * The owner's presence and typing as a visitor sees them, with real sockets: devices coming and going, closing
 * cleanly, dying without a close handshake, going silent (half-open), and logging out.
 */
import { matchMaker } from '@colyseus/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bodies, waitFor, type Person } from '../support/clients.ts';
import { Cast, testRateLimits } from '../support/cast.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { startProxy, type NetProxy } from '../support/netProxy.ts';
import { recordChanges } from '../support/observe.ts';
import type { ConversationSnapshot, VisitorPresenceSnapshot } from '../../client/src/sdk/types.ts';

/**
 * Short enough that a silent socket is noticed within a test (one missed pong closes it: at most two intervals),
 * long enough that a healthy client, whose pong may wait behind a busy event loop (client and server share this
 * process on a loaded 2-core machine), is not cut by mistake.
 */
const PING_INTERVAL_MS = 1000;
/** Visitors' sockets are pinged this often (KNOCK_IDLE_PING_INTERVAL_MS; 10 s by default, shorter to keep the test short). */
const IDLE_PING_INTERVAL_MS = 4000;

let knock: TestKnock;
let cast: Cast;
const proxies: NetProxy[] = [];

beforeAll(async () => {
  knock = await startKnock({ pingIntervalMs: PING_INTERVAL_MS, idlePingIntervalMs: IDLE_PING_INTERVAL_MS, rateLimits: testRateLimits() });
  cast = new Cast(knock);
});
afterEach(async () => {
  // Proxies first: a session behind a frozen link would wait forever for its leave to be answered.
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await cast.closeAll();
});
afterAll(() => knock.close());

/** What the visitor's page shows about the owner: null until connected, then online or not. */
const shownPresence = (s: VisitorPresenceSnapshot) => (s.connection === 'live' ? s.online : null);
const shownInConversation = (s: ConversationSnapshot) => (s.connection === 'live' ? s.ownerOnline : null);

/** A visitor waiting on the owner's page (before knocking) and one in a conversation, both watching presence. */
async function watchers(handle: string) {
  const page = cast.visitor().visitorPresence(handle);
  await waitFor(page, (s) => s.connection === 'live', 'visitor page live');
  const { session: chat, conversationId } = await cast.visitor().knock(handle, 'Bob');
  await waitFor(chat, (s) => s.connection === 'live', 'visitor conversation live');
  return { page, chat, conversationId };
}

async function throughProxy(): Promise<NetProxy> {
  const proxy = await startProxy(knock.url);
  proxies.push(proxy);
  return proxy;
}

describe('owner presence', () => {
  it('shows the owner offline, online while a device is connected, and offline again when it closes', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const { page, chat } = await watchers(handle);
    const pageSaw = recordChanges(page, shownPresence);
    const chatSaw = recordChanges(chat, shownInConversation);
    expect(page.snapshot()).toMatchObject({ online: false, ownerName: 'Alice' });
    expect(chat.snapshot()).toMatchObject({ ownerOnline: false, ownerName: 'Alice' });

    const device = alice.ownerSession(handle);
    await waitFor(page, (s) => s.online, 'page: online');
    await waitFor(chat, (s) => s.ownerOnline, 'conversation: online');
    await device.close();
    await waitFor(page, (s) => !s.online, 'page: offline');
    await waitFor(chat, (s) => !s.ownerOnline, 'conversation: offline');

    expect(pageSaw.values).toEqual([false, true, false]);
    expect(chatSaw.values).toEqual([false, true, false]);
  });

  it('tells a visitor who knocks while the owner is online that the owner is online', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    await waitFor(alice.ownerSession(handle), (s) => s.online, 'owner online');
    const page = cast.visitor().visitorPresence(handle);
    expect((await waitFor(page, (s) => s.connection === 'live', 'page live')).online).toBe(true);
    const { session } = await cast.visitor().knock(handle, 'Bob');
    expect((await waitFor(session, (s) => s.connection === 'live', 'conversation live')).ownerOnline).toBe(true);
  });

  it('stays online while one of two owner devices is still connected', async () => {
    const { handle, person: laptop } = await cast.owner('Alice');
    const phone = await cast.device(handle);
    const { page, chat } = await watchers(handle);
    const onLaptop = laptop.ownerSession(handle);
    const onPhone = phone.ownerSession(handle);
    await waitFor(onLaptop, (s) => s.online, 'laptop online');
    await waitFor(onPhone, (s) => s.online, 'phone online');
    await waitFor(page, (s) => s.online, 'page: online');
    await waitFor(chat, (s) => s.ownerOnline, 'conversation: online');
    const pageSaw = recordChanges(page, shownPresence);
    const chatSaw = recordChanges(chat, shownInConversation);

    await onLaptop.close();
    // A visitor arriving after the laptop left is told what the server believes now.
    const late = cast.visitor().visitorPresence(handle);
    expect((await waitFor(late, (s) => s.connection === 'live', 'late visitor live')).online).toBe(true);
    expect((await cast.visitor().api.profile(handle)).online).toBe(true);
    expect(pageSaw.values).toEqual([true]);
    expect(chatSaw.values).toEqual([true]);

    await onPhone.close();
    await waitFor(page, (s) => !s.online, 'page: offline');
    await waitFor(chat, (s) => !s.ownerOnline, 'conversation: offline');
    await waitFor(late, (s) => !s.online, 'late visitor: offline');
    expect(pageSaw.values).toEqual([true, false]);
  });

  it("turns the owner offline when the device's connection dies without a close handshake, and online when it reconnects", async () => {
    const proxy = await throughProxy();
    const { handle } = await cast.owner('Alice');
    const alice = await cast.device(handle, proxy.url);
    const { page, chat } = await watchers(handle);
    const device = alice.ownerSession(handle);
    await waitFor(device, (s) => s.online, 'owner device online');
    await waitFor(chat, (s) => s.ownerOnline, 'conversation: online');
    const pageSaw = recordChanges(page, shownPresence);
    const chatSaw = recordChanges(chat, shownInConversation);

    proxy.drop();
    await waitFor(chat, () => chatSaw.values.includes(false), 'conversation: offline after the drop');
    await waitFor(page, () => pageSaw.values.includes(false), 'page: offline after the drop');
    // The owner's SDK reconnects by itself.
    await waitFor(device, (s) => s.online, 'owner device back');
    await waitFor(chat, (s) => s.ownerOnline, 'conversation: online again');
    await waitFor(page, (s) => s.online, 'page: online again');
    expect(chatSaw.values).toEqual([true, false, true]);
    expect(pageSaw.values).toEqual([true, false, true]);
  });

  it('turns the owner offline when the device goes silent and stops answering pings', async () => {
    const proxy = await throughProxy();
    const { handle } = await cast.owner('Alice');
    const alice = await cast.device(handle, proxy.url);
    const { page, chat } = await watchers(handle);
    const device = alice.ownerSession(handle);
    await waitFor(device, (s) => s.online, 'owner device online');
    await waitFor(chat, (s) => s.ownerOnline, 'conversation: online');

    const frozenAt = Date.now();
    proxy.freeze();
    await waitFor(chat, (s) => !s.ownerOnline, 'conversation: offline', 8000);
    await waitFor(page, (s) => !s.online, 'page: offline', 8000);
    // One missed pong: noticed after at most two ping intervals (plus scheduling slack on a busy machine).
    expect(Date.now() - frozenAt).toBeLessThan(PING_INTERVAL_MS * 2 + 1500);
    // The silent device has no idea: its socket never closed.
    expect(device.snapshot().online).toBe(true);
  });

  it('keeps an owner device that answered in time while the server was too busy to read the answer before its next round', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const device = alice.ownerSession(handle);
    await waitFor(device, (s) => s.online, 'owner device online');
    // The device's own socket (colyseus.js over `ws`, in this process, like the server).
    const socket = (device as unknown as { link: { room: { connection: { transport: { ws: import('ws').WebSocket } } } } }).link.room.connection.transport.ws;
    let closed = false;
    socket.once('close', () => (closed = true));
    // ws answers a ping with its pong first, then emits 'ping': stalling here holds this whole process (server
    // included) after the pong was sent, so the server's next round comes due before it has read that pong.
    let stalls = 0;
    socket.on('ping', () => {
      if (stalls >= 2) return;
      stalls++;
      const until = Date.now() + PING_INTERVAL_MS * 1.5;
      while (Date.now() < until); // a busy event loop, as under load
    });
    await new Promise((r) => setTimeout(r, PING_INTERVAL_MS * 5));
    expect(closed).toBe(false);
    expect(stalls).toBe(2);
    expect(device.snapshot().online).toBe(true);
  });

  it('closes the sockets of a session that logs out, and the visitor sees the owner offline', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const { page, chat, conversationId } = await watchers(handle);
    const device = alice.ownerSession(handle);
    const ownerChat = alice.conversation(conversationId);
    await waitFor(ownerChat, (s) => s.connection === 'live', 'owner conversation live');
    await waitFor(page, (s) => s.online, 'page: online');

    await alice.api.logout();

    const ended = await waitFor(device, (s) => s.connection === 'closed', 'owner session ended');
    expect(ended.online).toBe(false);
    expect(device.endReason).toMatchObject({ code: 4001 });
    await waitFor(ownerChat, (s) => s.connection === 'closed', 'owner conversation ended');
    await waitFor(page, (s) => !s.online, 'page: offline');
    await waitFor(chat, (s) => !s.ownerOnline, 'conversation: offline');
    expect(alice.sessionToken).toBeUndefined();
  });

  it("logging out one device leaves the owner's other devices connected", async () => {
    const { handle, person: laptop } = await cast.owner('Alice');
    const phone = await cast.device(handle);
    const { page } = await watchers(handle);
    const onLaptop = laptop.ownerSession(handle);
    const onPhone = phone.ownerSession(handle);
    await waitFor(onLaptop, (s) => s.online, 'laptop online');
    await waitFor(onPhone, (s) => s.online, 'phone online');

    await laptop.api.logout();
    await waitFor(onLaptop, (s) => s.connection === 'closed', 'laptop session ended');
    // The phone's session is another login: it stays, and so does "online".
    const late = cast.visitor().visitorPresence(handle);
    expect((await waitFor(late, (s) => s.connection === 'live', 'late visitor live')).online).toBe(true);
    expect(onPhone.snapshot()).toMatchObject({ connection: 'live', online: true });
    expect(page.snapshot().online).toBe(true);
  });
});

describe('typing', () => {
  type Chat = ReturnType<Person['conversation']>;
  async function chatting(): Promise<{ ownerChat: Chat; bobChat: Chat }> {
    const { handle, person: alice } = await cast.owner('Alice');
    const { session: bobChat, conversationId } = await cast.visitor().knock(handle, 'Bob');
    const ownerChat = alice.conversation(conversationId);
    await waitFor(ownerChat, (s) => s.connection === 'live', 'owner live');
    await waitFor(bobChat, (s) => s.connection === 'live', 'visitor live');
    return { ownerChat, bobChat };
  }

  it("shows the owner's name while the owner types, and clears it when the message is sent", async () => {
    const { ownerChat, bobChat } = await chatting();
    ownerChat.setTyping(true);
    const typing = await waitFor(bobChat, (s) => s.typing.length > 0, 'visitor sees typing');
    expect(typing.typing).toEqual(['Alice']);
    expect(ownerChat.snapshot().typing).toEqual([]);

    ownerChat.send('done typing');
    const after = await waitFor(bobChat, (s) => bodies(s).includes('done typing'), 'message arrives');
    expect(after.typing).toEqual([]);
  });

  it("shows the visitor's name to the owner while the visitor types, and clears it when they stop", async () => {
    const { ownerChat, bobChat } = await chatting();
    bobChat.setTyping(true);
    expect((await waitFor(ownerChat, (s) => s.typing.length > 0, 'owner sees typing')).typing).toEqual(['Bob']);
    bobChat.setTyping(false);
    await waitFor(ownerChat, (s) => s.typing.length === 0, 'typing cleared');
  });

  it('clears the typing indicator when the person typing leaves', async () => {
    const { ownerChat, bobChat } = await chatting();
    bobChat.setTyping(true);
    await waitFor(ownerChat, (s) => s.typing.length > 0, 'owner sees typing');
    await bobChat.close();
    await waitFor(ownerChat, (s) => s.typing.length === 0, 'typing cleared when the visitor left');
  });
});

describe('dead visitor sockets', () => {
  /** Sockets the server holds in the conversation's room. */
  const socketsIn = async (conversationId: string) => (await matchMaker.query({ name: 'conversation', conversationId }))[0]?.clients ?? 0;

  it("closes a silent visitor's socket at the visitors' slower ping rate, not the owner's", async () => {
    const proxy = await throughProxy();
    const { handle } = await cast.owner('Alice');
    const { session, conversationId } = await cast.visitor(proxy.url).knock(handle, 'Bob');
    await waitFor(session, (s) => s.connection === 'live', 'visitor live');
    expect(await socketsIn(conversationId)).toBe(1);

    const frozenAt = Date.now();
    proxy.freeze();
    // Pinged at the owner's rate, it would be closed by now (one missed pong: at most two intervals).
    await new Promise((resolve) => setTimeout(resolve, PING_INTERVAL_MS * 2 + 500));
    expect(await socketsIn(conversationId)).toBe(1);
    // At the visitors' rate: closed within two of their intervals (plus slack on a busy machine).
    const deadline = frozenAt + IDLE_PING_INTERVAL_MS * 2 + 4000;
    while ((await socketsIn(conversationId)) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await socketsIn(conversationId)).toBe(0);
  }, 30_000);
});
