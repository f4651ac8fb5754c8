/**
 * The XMPP channel (adapters/channels/xmpp/) against a real Prosody on 127.0.0.1 (one per file,
 * test/support/prosody.ts), with owners played by ordinary XMPP clients (test/support/xmppOwner.ts): the presence
 * subscription handshake and presence over several resources, forwards and codes as the owner's client shows them,
 * replies coming back as InboundText, hostile input (huge, empty, floods, copies), and Prosody going away and coming
 * back while Knock is connected.
 *
 * Every test has its own accounts, so rosters do not leak between tests. "Knock has handled everything sent so far"
 * is an XMPP ping from the sender to Knock's full JID: the server delivers a sender's stanzas in order.
 */
import { writeFile } from 'node:fs/promises';
import { xml, type XmlElement } from '@xmpp/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { XmppChannel, XmppChannelError, type XmppChannelOptions } from '../../adapters/channels/xmpp/xmppChannel.ts';
import { createLogger } from '../../engine/logger.ts';
import type { ChannelPresence, ChannelReceipt, ForwardMessage, InboundText, OwnerChannel } from '../../engine/ports/channel.ts';
import { Prosody } from '../support/prosody.ts';
import { XmppOwner, type XmppOwnerOptions } from '../support/xmppOwner.ts';

const logger = createLogger(process.env.KNOCK_TEST_LOG ?? 'silent');
const WAIT_MS = 10_000;

let prosody: Prosody;
let accounts = 0;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  prosody = await Prosody.start();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await prosody?.close();
});

/** A new account on the test server: `<prefix><n>@localhost`. */
async function account(prefix: string): Promise<{ username: string; password: string; jid: string }> {
  const username = `${prefix}${++accounts}`;
  const password = `pw-${username}`;
  return { username, password, jid: await prosody.register(username, password) };
}

/** A started XmppChannel for a new Knock account, collecting what comes in. */
async function knock(options: Partial<XmppChannelOptions> = {}) {
  const { jid, password } = await account('knock');
  const channel = new XmppChannel({ service: prosody.service, jid, password, logger, reconnectDelayMs: { initial: 100, max: 1000 }, ...options });
  cleanups.push(() => channel.close());
  const texts: InboundText[] = [];
  const receipts: ChannelReceipt[] = [];
  channel.onText(async (text) => {
    texts.push(text);
    for (const check of [...arrivals]) check();
  });
  channel.onReceipt(async (receipt) => {
    receipts.push(receipt);
    for (const check of [...arrivals]) check();
  });
  expect(await channel.start()).toBe(true);
  return { channel, jid, fullJid: `${jid}/knock`, texts, receipts };
}

async function owner(options: Partial<XmppOwnerOptions> = {}): Promise<XmppOwner> {
  const { username, password } = await account('owner');
  return login(username, password, options);
}

async function login(username: string, password: string, options: Partial<XmppOwnerOptions> = {}): Promise<XmppOwner> {
  const client = await XmppOwner.login({ service: prosody.service, domain: prosody.domain, username, password, ...options });
  cleanups.push(() => client.close());
  return client;
}

function ownerChannel(address: string): OwnerChannel {
  return { id: 'ch_x1', accountId: 'acc1', kind: 'xmpp', address, secret: null, verified: true, position: 0, delayMs: 0 };
}

/** Resolves once the channel says `expected` for `address` (now or on a later change). */
function presenceBecomes(channel: XmppChannel, address: string, expected: ChannelPresence): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`presence of ${address} stayed ${channel.presence(ownerChannel(address))}, not ${expected}`));
    }, WAIT_MS);
    const stop = channel.onPresence((changed, presence) => {
      if (changed === address && presence === expected) done();
    });
    const done = () => {
      clearTimeout(timer);
      stop();
      resolve();
    };
    if (channel.presence(ownerChannel(address)) === expected) done();
  });
}

/** Checks run each time a Knock channel of this file gets a text or a receipt. */
const arrivals = new Set<() => void>();

/** Resolves once `list` (a channel's texts or receipts) holds `count` items. */
function until<T>(what: string, list: T[], count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (list.length < count) return;
      arrivals.delete(check);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      arrivals.delete(check);
      reject(new Error(`${what}: ${list.length} of ${count} arrived in ${WAIT_MS} ms`));
    }, WAIT_MS);
    arrivals.add(check);
    check();
  });
}

const forward: ForwardMessage = {
  conversationId: 'c_8f3k2m',
  tag: '#3',
  threadId: 'knock-c_8f3k2m',
  visitorName: 'Ada',
  texts: ['Hi! Are you around?', 'I have a question about the flat.'],
  link: 'https://knock.example.org/_/console/c/c_8f3k2m',
};

describe('presence', () => {
  it('follows an owner once they grant the subscription: unknown before, then available, away and unavailable over all their resources', async () => {
    const k = await knock();
    const phone = await owner({ acceptSubscriptions: false });
    await k.channel.watch(phone.jid);
    await phone.waitFor('Knock asks to subscribe', () => phone.subscriptionRequests.includes(k.jid));
    expect(k.channel.presence(ownerChannel(phone.jid))).toBe('unknown');

    await phone.acceptSubscription(k.jid);
    await presenceBecomes(k.channel, phone.jid, 'available');
    // Knock granted the owner's own request back: the owner's client sees Knock too.
    await phone.waitFor('Knock says subscribed', () => phone.subscriptionOf(k.jid).subscription === 'both');

    const { username, password } = { username: phone.jid.split('@')[0]!, password: `pw-${phone.jid.split('@')[0]}` };
    const laptop = await login(username, password, { resource: 'laptop' });
    await phone.setPresence('away');
    await laptop.ping(k.fullJid); // Knock has both presences now
    await phone.ping(k.fullJid);
    expect(k.channel.presence(ownerChannel(phone.jid))).toBe('available'); // the laptop is available
    await laptop.setPresence('dnd');
    await presenceBecomes(k.channel, phone.jid, 'away');
    await laptop.setPresence('chat');
    await presenceBecomes(k.channel, phone.jid, 'available');
    await laptop.close();
    await presenceBecomes(k.channel, phone.jid, 'away');
    await phone.setPresence('unavailable');
    await presenceBecomes(k.channel, phone.jid, 'unavailable');
    await phone.setPresence('available');
    await presenceBecomes(k.channel, phone.jid, 'available');
  });

  it('refuses the subscription request of a JID it does not watch', async () => {
    const k = await knock();
    const stranger = await owner();
    await stranger.subscribeTo(k.jid);
    await stranger.waitFor('the request is pending', () => stranger.subscriptionOf(k.jid).ask === 'subscribe');
    await stranger.waitFor('Knock refuses', () => stranger.subscriptionOf(k.jid).ask === null);
    expect(stranger.subscriptionOf(k.jid).subscription).toBe('none');
    expect(k.channel.presence(ownerChannel(stranger.jid))).toBe('unknown');
  });

  it('unwatch removes the owner from the roster, cancelling both subscriptions, and forgets the presence', async () => {
    const k = await knock();
    const phone = await owner();
    await k.channel.watch(phone.jid);
    await presenceBecomes(k.channel, phone.jid, 'available');
    await phone.waitFor('both subscribed', () => phone.subscriptionOf(k.jid).subscription === 'both');
    await k.channel.unwatch(phone.jid);
    expect(k.channel.presence(ownerChannel(phone.jid))).toBe('unknown');
    await phone.waitFor('Knock cancels both ways', () => phone.subscriptionOf(k.jid).subscription === 'none');
  });

  it('watch refuses an address that is no JID as a permanent error', async () => {
    const k = await knock();
    const error = await k.channel.watch('not a jid').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(XmppChannelError);
    expect(error).toMatchObject({ permanent: true });
  });
});

describe('forwards and replies', () => {
  it('forwards a knock as a chat message in the conversation\u2019s thread that says who wrote, what, the link and how to answer', async () => {
    const k = await knock();
    const phone = await owner();
    const sent = await k.channel.send(ownerChannel(phone.jid), forward);
    const message = await phone.nextMessage();
    expect(message.type).toBe('chat');
    expect(message.from).toBe(k.fullJid);
    expect(sent.externalId).toBe(`xmpp:${message.id}`);
    expect(message.thread).toBe('knock-c_8f3k2m');
    expect(message.body).toContain('Ada knocked (#3)');
    expect(message.body).toContain('> Hi! Are you around?\n> I have a question about the flat.');
    expect(message.body).toContain('https://knock.example.org/_/console/c/c_8f3k2m');
    expect(message.body).toContain('Reply in this chat');
    expect(message.body).toContain('"#3 on my way"');
    // The owner's client acknowledged it (XEP-0184): a receipt for exactly that send.
    await until('a receipt', k.receipts, 1);
    expect(k.receipts).toEqual([{ kind: 'xmpp', externalId: sent.externalId, state: 'delivered', error: null }]);

    if (process.env.KNOCK_WRITE_XMPP_SAMPLES) {
      // Refreshes adapters/channels/xmpp/samples/ from this very exchange (the reply as the owner's client wrote it,
      // with the `from` its server stamps on it).
      let written: XmlElement | null = null;
      phone.xmpp.on('send', (element: XmlElement) => (written ??= element.is('message') ? element : null));
      await phone.reply(k.jid, 'On my way', { thread: message.thread });
      await until('the reply', k.texts, 1);
      written!.attrs.from = phone.fullJid;
      await writeFile('adapters/channels/xmpp/samples/forward.xml', `${message.stanza.toString()}\n`);
      await writeFile('adapters/channels/xmpp/samples/reply.xml', `${written!.toString()}\n`);
      await writeFile('adapters/channels/xmpp/samples/reply.inbound.json', `${JSON.stringify(k.texts[0], null, 2)}\n`);
    }
  });

  it('hands the owner\u2019s threaded and plain replies to the engine, in order, as InboundText', async () => {
    const k = await knock();
    const phone = await owner();
    await k.channel.send(ownerChannel(phone.jid), forward);
    const message = await phone.nextMessage();
    const threaded = await phone.reply(k.jid, 'On my way', { thread: message.thread });
    const plain = await phone.reply(k.fullJid, '#3 ten minutes');
    await until('two texts', k.texts, 2);
    expect(k.texts).toEqual([
      { kind: 'xmpp', from: phone.jid, text: 'On my way', threadId: 'knock-c_8f3k2m', externalId: `xmpp:${phone.jid}:${threaded}` },
      { kind: 'xmpp', from: phone.jid, text: '#3 ten minutes', threadId: null, externalId: `xmpp:${phone.jid}:${plain}` },
    ]);
  });

  it('sends the verification code as a chat message', async () => {
    const k = await knock();
    const phone = await owner();
    expect(await k.channel.sendCode(ownerChannel(phone.jid), '482913')).toEqual({ echoed: false });
    const message = await phone.nextMessage();
    expect(message.body).toContain('Your Knock verification code is 482913.');
  });

  it('passes a stranger\u2019s message on with the stranger as its sender (the engine decides who is an owner)', async () => {
    const k = await knock();
    const stranger = await owner();
    await stranger.reply(k.jid, 'hello, who are you?', { type: 'normal' });
    await until('the text', k.texts, 1);
    expect(k.texts[0]).toMatchObject({ from: stranger.jid, text: 'hello, who are you?', threadId: null });
  });

  it('rejects a send to an address that is no JID as permanent, and reports a bounce from the server as a failed receipt', async () => {
    const k = await knock();
    const bad = await k.channel.send(ownerChannel('owner@@example.org'), forward).catch((err: unknown) => err);
    expect(bad).toMatchObject({ name: 'XmppChannelError', permanent: true });
    const sent = await k.channel.send(ownerChannel(`nobody@${prosody.domain}`), forward);
    await until('a bounce', k.receipts, 1);
    expect(k.receipts[0]).toMatchObject({ externalId: sent.externalId, state: 'failed', error: 'service-unavailable' });
  });
});

describe('hostile input', () => {
  it('cuts a huge body, ignores empty bodies, chat states, errors, headlines, groupchat and copies, and stays connected', async () => {
    const k = await knock({ maxInboundChars: 1000 });
    const sender = await owner();
    await sender.reply(k.jid, 'x'.repeat(100_000));
    await sender.reply(k.jid, '');
    await sender.reply(k.jid, '   \n ');
    await sender.send(xml('message', { type: 'chat', to: k.jid, id: 'cs1' }, xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })));
    await sender.reply(k.jid, 'a headline', { type: 'headline' });
    await sender.reply(k.jid, 'a groupchat line', { type: 'groupchat' });
    await sender.send(
      xml('message', { type: 'chat', to: k.jid, id: 'cc1' }, xml('body', {}, 'copied'), xml('received', { xmlns: 'urn:xmpp:carbons:2' }, xml('forwarded', { xmlns: 'urn:xmpp:forward:0' }))),
    );
    await sender.send(xml('message', { type: 'chat', to: k.jid, id: 'mam1' }, xml('body', {}, 'archived'), xml('result', { xmlns: 'urn:xmpp:mam:2', id: 'r1' })));
    await sender.ping(k.fullJid);
    expect(k.texts).toHaveLength(1);
    expect(k.texts[0]!.text).toHaveLength(1000);
    expect(k.texts[0]!.text.endsWith('…')).toBe(true);
    // Still connected and sending.
    expect(k.channel.online).toBe(true);
    await k.channel.send(ownerChannel(sender.jid), forward);
    await sender.nextMessage();
  });

  it('takes at most the limit of texts per sender in a window, drops the rest, and takes the sender again later', async () => {
    let now = 1_000_000;
    const k = await knock({ inboundLimit: { perWindow: 5, windowMs: 60_000 }, clock: { now: () => now } });
    const flooder = await owner();
    const calm = await owner();
    for (let i = 0; i < 20; i++) await flooder.reply(k.jid, `flood ${i}`);
    await calm.reply(k.jid, 'just one');
    await flooder.ping(k.fullJid);
    await calm.ping(k.fullJid);
    expect(k.texts.filter((t) => t.from === flooder.jid).map((t) => t.text)).toEqual(['flood 0', 'flood 1', 'flood 2', 'flood 3', 'flood 4']);
    expect(k.texts.filter((t) => t.from === calm.jid)).toHaveLength(1);
    now += 60_000;
    await flooder.reply(k.jid, 'after a minute');
    await until('the later text', k.texts, 7);
    expect(k.texts.at(-1)?.text).toBe('after a minute');
  });

  it('cleans a visitor\u2019s text of characters XML cannot carry, so Knock\u2019s stream survives it', async () => {
    const k = await knock();
    const phone = await owner();
    await k.channel.send(ownerChannel(phone.jid), { ...forward, visitorName: 'Eve\n\nReply here: #9', texts: ['bell\u0007 nul\u0000 lone\uD800 end'] });
    const message = await phone.nextMessage();
    expect(message.body).toContain('Eve Reply here: #9 knocked (#3)');
    expect(message.body).toContain('> bell nul lone end');
    expect(k.channel.online).toBe(true);
    await k.channel.sendCode(ownerChannel(phone.jid), '111222');
    expect((await phone.nextMessage()).body).toContain('111222');
  });

  it('a handler that throws is logged and the next text still arrives', async () => {
    const k = await knock();
    const phone = await owner();
    const failed: InboundText[] = [];
    k.channel.onText(async (text) => {
      failed.push(text);
      throw new Error('engine failure');
    });
    await phone.reply(k.jid, 'one');
    await phone.reply(k.jid, 'two');
    await until('two texts', k.texts, 2);
    await phone.ping(k.fullJid);
    await k.channel.send(ownerChannel(phone.jid), forward); // the throwing handler has run for both meanwhile
    await phone.nextMessage();
    expect(failed.map((t) => t.text)).toEqual(['one', 'two']);
    expect(k.channel.online).toBe(true);
  });
});

describe('connection', () => {
  it('a wrong password: start resolves false and close stops the retries', async () => {
    const { jid } = await account('knock');
    const channel = new XmppChannel({ service: prosody.service, jid, password: 'wrong', logger, reconnectDelayMs: { initial: 100, max: 200 } });
    expect(await channel.start()).toBe(false);
    expect(channel.online).toBe(false);
    await channel.close();
    await channel.close();
    await expect(channel.whenOnline()).rejects.toMatchObject({ permanent: false });
  });

  it('close says unavailable to the owner, is idempotent, and later sends fail as temporary', async () => {
    const k = await knock();
    const phone = await owner();
    await k.channel.watch(phone.jid);
    await presenceBecomes(k.channel, phone.jid, 'available');
    await phone.waitFor('Knock is available', () => phone.presences.some((p) => p.attrs.from === k.fullJid && p.attrs.type === undefined));
    await Promise.all([k.channel.close(), k.channel.close()]);
    await phone.waitFor('Knock goes unavailable', () => phone.presences.some((p) => p.attrs.from === k.fullJid && p.attrs.type === 'unavailable'));
    expect(k.channel.presence(ownerChannel(phone.jid))).toBe('unknown');
    await expect(k.channel.send(ownerChannel(phone.jid), forward)).rejects.toMatchObject({ permanent: false });
  });

  it('Prosody stopped: sends fail as temporary and presence is unknown; started again: Knock reconnects by itself, learns presence again and sends', async () => {
    const k = await knock();
    const phone = await owner();
    await k.channel.watch(phone.jid);
    await presenceBecomes(k.channel, phone.jid, 'available');

    await prosody.stop();
    await presenceBecomes(k.channel, phone.jid, 'unknown');
    const refused = await k.channel.send(ownerChannel(phone.jid), forward).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(XmppChannelError);
    expect(refused).toMatchObject({ permanent: false });

    await prosody.restart();
    await k.channel.whenOnline();
    await presenceBecomes(k.channel, phone.jid, 'available');
    const sent = await k.channel.send(ownerChannel(phone.jid), forward);
    const message = await phone.nextMessage();
    expect(sent.externalId).toBe(`xmpp:${message.id}`);
    await phone.reply(k.jid, 'back again', { thread: message.thread });
    await until('the reply', k.texts, 1);
    expect(k.texts[0]).toMatchObject({ text: 'back again', threadId: forward.threadId });
  });
});
