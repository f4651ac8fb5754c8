/**
 * Chatting on a real server through the browser's SDK: knocking, both directions, several visitors, several owner
 * devices, the owner's list (unread, order, names), exact text, history paging, and who may join what.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bodies, waitFor } from '../support/clients.ts';
import { Cast, NO_PINGS, testRateLimits } from '../support/cast.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import type { ConversationSnapshot, OwnerSnapshot } from '../../client/src/sdk/types.ts';

let knock: TestKnock;
let cast: Cast;

beforeAll(async () => {
  // 250 messages are sent over one socket below: the per-socket message limit has its own test (badInput).
  knock = await startKnock({ pingIntervalMs: NO_PINGS, rateLimits: testRateLimits({ socketMessages: { perWindow: 1000, windowMs: 1000 } }) });
  cast = new Cast(knock);
});
afterEach(() => cast.closeAll());
afterAll(() => knock.close());

const live = (s: ConversationSnapshot) => s.connection === 'live';
const settled = (s: ConversationSnapshot) => s.messages.every((m) => m.seq !== null);
const listed = (s: OwnerSnapshot, id: string) => s.conversations.find((c) => c.id === id);

describe('knocking', () => {
  it("puts the new conversation, with the visitor's name, on every device of the owner", async () => {
    const { handle, person: laptop } = await cast.owner('Alice');
    const phone = await cast.device(handle);
    const onLaptop = laptop.ownerSession(handle);
    const onPhone = phone.ownerSession(handle);
    await waitFor(onLaptop, (s) => s.online, 'laptop online');
    await waitFor(onPhone, (s) => s.online, 'phone online');

    const { conversationId } = await cast.visitor().api.knock(handle, 'Bob');

    for (const device of [onLaptop, onPhone]) {
      const s = await waitFor(device, (s) => listed(s, conversationId) !== undefined, 'the new conversation in the list');
      expect(listed(s, conversationId)).toMatchObject({ visitorName: 'Bob', unread: 0, lastMessage: null });
    }
  });
});

describe('chat', () => {
  it('carries messages both ways between a visitor and the owner', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const { session: bob, conversationId } = await cast.visitor().knock(handle, 'Bob');
    const aliceChat = alice.conversation(conversationId);
    await waitFor(aliceChat, live, 'owner live');

    bob.send('hello alice');
    await waitFor(aliceChat, (s) => bodies(s).includes('hello alice'), 'owner receives');
    aliceChat.send('hi bob');
    const seenByBob = await waitFor(bob, (s) => bodies(s).includes('hi bob') && settled(s), 'visitor receives');

    expect(seenByBob.messages.map((m) => [m.body, m.senderRole, m.mine])).toEqual([
      ['hello alice', 'visitor', true],
      ['hi bob', 'owner', false],
    ]);
    expect(seenByBob.messages[1]?.senderName).toBe('Alice');
    const seenByAlice = await waitFor(aliceChat, (s) => bodies(s).length === 2 && settled(s), 'owner holds both');
    expect(seenByAlice.messages.map((m) => [m.body, m.senderName, m.mine])).toEqual([
      ['hello alice', 'Bob', false],
      ['hi bob', 'Alice', true],
    ]);
  });

  it('keeps each visitor in their own conversation, unable to see the others', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const visitors = await Promise.all(['Bob', 'Carol', 'Dave'].map((name) => cast.visitor().knock(handle, name)));
    expect(new Set(visitors.map((v) => v.conversationId)).size).toBe(3);

    for (const [i, v] of visitors.entries()) v.session.send(`secret of visitor ${i}`);
    for (const [i, v] of visitors.entries()) {
      const chat = alice.conversation(v.conversationId);
      await waitFor(chat, (s) => bodies(s).includes(`secret of visitor ${i}`), `owner reads visitor ${i}`);
      chat.send(`answer to visitor ${i}`);
    }
    for (const [i, v] of visitors.entries()) {
      const s = await waitFor(v.session, (s) => bodies(s).includes(`answer to visitor ${i}`) && settled(s), `visitor ${i} gets the answer`);
      expect(bodies(s)).toEqual([`secret of visitor ${i}`, `answer to visitor ${i}`]);
    }
  });

  it('shows every message on both owner devices, including what the other device sent', async () => {
    const { handle, person: laptop } = await cast.owner('Alice');
    const phone = await cast.device(handle);
    const { session: bob, conversationId } = await cast.visitor().knock(handle, 'Bob');
    const onLaptop = laptop.conversation(conversationId);
    const onPhone = phone.conversation(conversationId);
    await waitFor(onLaptop, live, 'laptop live');
    await waitFor(onPhone, live, 'phone live');

    bob.send('from bob');
    await waitFor(onLaptop, (s) => bodies(s).includes('from bob'), 'laptop gets the visitor message');
    onLaptop.send('typed on the laptop');
    await waitFor(onPhone, (s) => bodies(s).includes('typed on the laptop'), 'phone gets what the laptop sent');
    onPhone.send('typed on the phone');

    const expected = ['from bob', 'typed on the laptop', 'typed on the phone'];
    for (const [name, device] of [['laptop', onLaptop], ['phone', onPhone], ['visitor', bob]] as const) {
      const s = await waitFor(device, (s) => bodies(s).length === 3 && settled(s), `${name} holds all three`);
      expect(bodies(s)).toEqual(expected);
      expect(s.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    }
    // Both devices are the owner: what either wrote is "mine" on both.
    const phoneView = onPhone.snapshot();
    expect(phoneView.messages.map((m) => m.mine)).toEqual([false, true, true]);
  });
});

describe("the owner's list", () => {
  it('counts unread visitor messages and clears the count when the owner reads them', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const list = alice.ownerSession(handle);
    const { session: bob, conversationId } = await cast.visitor().knock(handle, 'Bob');
    bob.send('one');
    bob.send('two');
    bob.send('three');
    const s = await waitFor(list, (s) => listed(s, conversationId)?.unread === 3, 'three unread');
    expect(listed(s, conversationId)?.lastMessage).toMatchObject({ body: 'three', senderRole: 'visitor' });

    const chat = alice.conversation(conversationId);
    await waitFor(chat, (s) => live(s) && bodies(s).length === 3, 'owner holds the three');
    // The owner's own replies are never unread.
    chat.send('my reply');
    await waitFor(list, (s) => listed(s, conversationId)?.lastMessage?.body === 'my reply', 'reply in the list');
    expect(listed(list.snapshot(), conversationId)?.unread).toBe(3);

    chat.markRead();
    await waitFor(list, (s) => listed(s, conversationId)?.unread === 0, 'unread back to 0');
    bob.send('four');
    await waitFor(list, (s) => listed(s, conversationId)?.unread === 1, 'a new message is unread again');
  });

  it('orders conversations by newest activity first', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const list = alice.ownerSession(handle);
    await waitFor(list, (s) => s.online, 'owner online');
    const chats = [];
    for (const name of ['First', 'Second', 'Third']) {
      const knocked = await cast.visitor().knock(handle, name);
      knocked.session.send(`hello from ${name}`);
      await waitFor(list, (s) => listed(s, knocked.conversationId)?.lastMessage?.body === `hello from ${name}`, `${name} listed`);
      chats.push(knocked);
    }
    expect(list.snapshot().conversations.map((c) => c.visitorName)).toEqual(['Third', 'Second', 'First']);

    chats[0]!.session.send('First again');
    await waitFor(list, (s) => s.conversations[0]?.visitorName === 'First', 'the oldest conversation moves to the top');
    expect(list.snapshot().conversations.map((c) => c.visitorName)).toEqual(['First', 'Third', 'Second']);

    // A device that opens the list now gets the same order from storage.
    const fresh = (await cast.device(handle)).ownerSession(handle);
    const s = await waitFor(fresh, (s) => s.online, 'second device online');
    expect(s.conversations.map((c) => c.visitorName)).toEqual(['First', 'Third', 'Second']);
  });

  it("shows the visitor's new name after a rename", async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const list = alice.ownerSession(handle);
    const { session: visitor, conversationId } = await cast.visitor().knock(handle);
    await waitFor(list, (s) => listed(s, conversationId)?.visitorName === '', 'a nameless visitor listed');
    await waitFor(visitor, live, 'visitor live');

    visitor.rename('Robert');
    await waitFor(list, (s) => listed(s, conversationId)?.visitorName === 'Robert', 'the new name in the list');
    const chat = alice.conversation(conversationId);
    visitor.send('it is Robert');
    const s = await waitFor(chat, (s) => bodies(s).includes('it is Robert'), 'owner reads');
    expect(s.messages.find((m) => m.body === 'it is Robert')?.senderName).toBe('Robert');
  });
});

describe('text', () => {
  it('stores and shows text byte for byte: emoji, markup, newlines and spaces', async () => {
    const texts = [
      '👋🏽 family: 👨‍👩‍👧‍👦, flag: 🇫🇷, 𝕏',
      '<img src=x onerror=alert(1)>',
      '<script>alert("x")</script> &amp; &lt;',
      'line one\nline two\r\n\ttabbed\n\n',
      '  leading and trailing spaces  ',
      'مرحبا \u202Eevil\u202C zero\u200Bwidth e\u0301',
    ];
    const { handle, person: alice } = await cast.owner('Alice');
    const { session: bob, conversationId } = await cast.visitor().knock(handle, 'Bob');
    for (const text of texts) bob.send(text);

    const chat = alice.conversation(conversationId);
    const s = await waitFor(chat, (s) => s.messages.length === texts.length, 'owner receives all');
    expect(bodies(s)).toEqual(texts);
    const sent = await waitFor(bob, (s) => settled(s) && s.messages.length === texts.length, 'visitor sees all acked');
    expect(bodies(sent)).toEqual(texts);
    const stored = await knock.storage.messagesAfter(conversationId, 0, 100);
    expect(stored.map((m) => m.body)).toEqual(texts);
    expect(stored.map((m) => Buffer.from(m.body, 'utf8').toString('hex'))).toEqual(texts.map((t) => Buffer.from(t, 'utf8').toString('hex')));
  });
});

describe('history', () => {
  it('gives a new device the newest 100 messages and the rest, in order, as it scrolls up', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const { session: bob, conversationId } = await cast.visitor().knock(handle, 'Bob');
    const expected = Array.from({ length: 250 }, (_, i) => `message ${i + 1}`);
    for (const text of expected) bob.send(text);
    await waitFor(bob, (s) => s.messages.length === 250 && settled(s), 'all 250 stored', 15_000);

    const device = alice.conversation(conversationId);
    let s = await waitFor(device, (s) => live(s) && s.messages.length > 0, 'first page');
    expect(s.messages.map((m) => m.seq)).toEqual(Array.from({ length: 100 }, (_, i) => 151 + i));
    expect(s.hasOlder).toBe(true);

    await device.loadOlder();
    s = await waitFor(device, (s) => s.messages.length === 200, 'second page');
    expect(s.hasOlder).toBe(true);
    await device.loadOlder();
    s = await waitFor(device, (s) => s.messages.length === 250, 'third page');
    expect(s.hasOlder).toBe(false);
    expect(bodies(s)).toEqual(expected);
    expect(s.messages.map((m) => m.seq)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
  });
});

describe('who may join a conversation', () => {
  it("refuses a visitor whose token belongs to another conversation", async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const bob = await cast.visitor().knock(handle, 'Bob');
    bob.session.send('private to alice');
    await waitFor(bob.session, (s) => settled(s) && s.messages.length === 1, 'stored');
    const mallory = cast.visitor();
    const own = await mallory.api.knock(handle, 'Mallory');

    const intrusion = mallory.conversation(bob.conversationId, own.token);
    const s = await waitFor(intrusion, (s) => s.connection === 'closed', 'join refused');
    expect(s.lastError).toMatchObject({ code: 'forbidden', message: 'This link is not valid.' });
    expect(s.messages).toEqual([]);
    // The conversation itself is untouched for its members.
    const chat = alice.conversation(bob.conversationId);
    await waitFor(chat, (s) => bodies(s).includes('private to alice'), 'owner still reads it');
  });

  it('refuses an owner who is not the owner of the conversation', async () => {
    const { handle } = await cast.owner('Alice');
    const { person: carol } = await cast.owner('Carol');
    const { conversationId } = await cast.visitor().api.knock(handle, 'Bob');

    const s = await waitFor(carol.conversation(conversationId), (s) => s.connection === 'closed', 'join refused');
    expect(s.lastError).toMatchObject({ code: 'forbidden', message: 'You are not a member of this conversation.' });
    expect(s.messages).toEqual([]);
  });

  it('refuses someone who is not logged in and has no token', async () => {
    const { handle } = await cast.owner('Alice');
    const { conversationId } = await cast.visitor().api.knock(handle, 'Bob');

    const s = await waitFor(cast.visitor().conversation(conversationId), (s) => s.connection === 'closed', 'join refused');
    expect(s.lastError).toMatchObject({ code: 'unauthorized', message: 'Please log in.' });
    expect(s.me).toBeNull();
  });
});
