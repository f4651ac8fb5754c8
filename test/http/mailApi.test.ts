/**
 * The email API (issue 17, engine/http/mailApi.ts) against a real server with plain fetch and the browser's SDK:
 * mail devices (login, what a device token may and may not do, revoking), the owner's address in the settings, "New
 * email", messages and the read mark over HTTP, conversations and messages as RFC 5322 for mail clients. And the
 * attacks: another owner's conversation, a visitor's token, a revoked or made-up token, another site's page, bodies
 * over the limit, each rate limit.
 */
import { simpleParser } from 'mailparser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationSummary, FileRef, MessageRecord } from '../../engine/protocol.ts';
import { Cast, NO_PINGS } from '../support/cast.ts';
import { waitFor, type Person } from '../support/clients.ts';
import { startKnock, TEST_PASSWORD, type TestKnock } from '../support/knockServer.ts';
import { call, deviceLogin, errorOf, mailTestRateLimits, type Caller, type DeviceLogin } from '../support/mailApiClient.ts';
import { uploadFile } from '../support/uploads.ts';

interface Settings {
  email: { address: string; verified: boolean } | null;
  mailAddress: string;
  devices: { id: string; name: string; createdAt: number; lastUsedAt: number | null }[];
}
interface MailConversation {
  id: string;
  subject: string;
  lastSeq: number;
  ownerReadSeq: number;
}
interface MailMessages {
  items: { seq: number; from: 'owner' | 'visitor'; eml: string }[];
  more: boolean;
}

let seq = 0;
/** A fresh clientMsgId. */
const cmid = () => `mailapi-${process.pid}-${++seq}`;

describe('with limits out of the way', () => {
  let knock: TestKnock;
  let cast: Cast;
  let base: string;
  beforeAll(async () => {
    knock = await startKnock({ pingIntervalMs: NO_PINGS, rateLimits: mailTestRateLimits() });
    cast = new Cast(knock);
    base = knock.url;
  });
  afterEach(() => cast.closeAll());
  afterAll(() => knock.close());

  /** A new owner with a mail device and the console's cookies. */
  async function owner(name = 'Alice'): Promise<{ handle: string; console: Person; device: DeviceLogin }> {
    const { handle, person } = await cast.owner(name);
    return { handle, console: person, device: await deviceLogin(base, handle) };
  }

  /** A visitor who knocked on `handle` and wrote `texts`, each stored before the next. */
  async function visitorWrote(handle: string, name: string, ...texts: string[]) {
    const visitor = cast.visitor();
    const { session, conversationId, token } = await visitor.knock(handle, name || undefined);
    for (const [i, text] of texts.entries()) {
      session.send(text);
      await waitFor(session, (s) => s.messages.filter((m) => m.seq !== null).length === i + 1, `${name}'s message ${i + 1} stored`);
    }
    return { visitor, session, conversationId, token };
  }

  async function json<T>(res: Response, status = 200): Promise<T> {
    expect(res.status, await res.clone().text()).toBe(status);
    return (await res.json()) as T;
  }

  const settingsOf = (caller: Caller) => call(base, 'GET', '/_/api/settings', caller);
  const postMessage = (caller: Caller, conversationId: string, body: unknown) => call(base, 'POST', `/_/api/conversations/${conversationId}/messages`, caller, body);
  const mailConversations = async (caller: Caller) =>
    (await json<{ conversations: MailConversation[] }>(await call(base, 'GET', '/_/api/mail/conversations', caller))).conversations;
  const mailMessages = async (caller: Caller, conversationId: string, after: number) =>
    json<MailMessages>(await call(base, 'GET', `/_/api/mail/conversations/${conversationId}/messages?after=${after}`, caller));

  describe('mail devices', () => {
    it('logs a mail client in with the handle and password: a knd_ token, given once, that reads the settings', async () => {
      const { handle, person } = await cast.owner('Dora');
      const device = await deviceLogin(base, handle, 'work laptop');

      expect(device.token).toMatch(/^knd_[A-Za-z0-9_-]{43}$/);
      expect(device.handle).toBe(handle);
      expect(device.mailAddress).toMatch(new RegExp(`^${handle}@`));
      const settings = await json<Settings>(await settingsOf({ token: device.token }));
      expect(settings.mailAddress).toBe(device.mailAddress);
      expect(settings.devices).toEqual([{ id: device.id, name: 'work laptop', createdAt: expect.any(Number), lastUsedAt: expect.any(Number) }]);
      // The console sees the same device, and nowhere is the token shown again.
      const fromConsole = await json<Settings>(await settingsOf({ headers: person.headers }));
      expect(fromConsole.devices.map((d) => d.id)).toEqual([device.id]);
      expect(JSON.stringify(fromConsole)).not.toContain(device.token);
    });

    it('refuses a wrong password with 401 and the console login\u2019s very words, and makes no device', async () => {
      const { handle, person } = await cast.owner('Eve');
      const res = await call(base, 'POST', '/_/api/devices', {}, { handle, password: 'not the password', name: 'laptop' });
      const consoleLogin = await call(base, 'POST', '/_/api/login', {}, { handle, password: 'not the password' });

      expect(res.status).toBe(401);
      expect(await res.json()).toEqual(await consoleLogin.json());
      expect((await json<Settings>(await settingsOf({ headers: person.headers }))).devices).toEqual([]);
    });

    it('refuses a device name that could not be shown (control or bidi characters)', async () => {
      const { handle } = await cast.owner('Finn');
      const res = await call(base, 'POST', '/_/api/devices', {}, { handle, password: TEST_PASSWORD, name: 'laptop\u202egnp.exe' });
      expect(res.status).toBe(400);
    });

    it('refuses a device login from another site\u2019s page', async () => {
      const { handle } = await cast.owner('Gus');
      const res = await call(base, 'POST', '/_/api/devices', { headers: { origin: 'https://evil.example' } }, { handle, password: TEST_PASSWORD, name: 'x' });
      expect(res.status).toBe(403);
    });

    it('lets a device token read the settings but not change the address, make a device, or revoke another device', async () => {
      const { console, device } = await owner();
      const other = await deviceLogin(base, device.handle, 'phone');

      expect((await settingsOf({ token: device.token })).status).toBe(200);
      const setEmail = await call(base, 'PUT', '/_/api/settings/email', { token: device.token }, { address: 'thief@evil.example' });
      expect(setEmail.status).toBe(403);
      expect((await errorOf(setEmail)).message).toBe('A mail device cannot change settings: use the console.');
      // A device login takes the password, whoever asks: the token alone makes no device.
      expect((await call(base, 'POST', '/_/api/devices', { token: device.token }, { handle: device.handle, name: 'x' })).status).toBe(400);
      expect((await call(base, 'DELETE', `/_/api/settings/devices/${other.id}`, { token: device.token })).status).toBe(403);

      const settings = await json<Settings>(await settingsOf({ headers: console.headers }));
      expect(settings.email).toBeNull();
      expect(settings.devices.map((d) => d.id).sort()).toEqual([device.id, other.id].sort());
    });

    it('lets a device log itself out: its token stops working, with a message that says to log in again', async () => {
      const { device } = await owner();
      expect((await call(base, 'DELETE', `/_/api/settings/devices/${device.id}`, { token: device.token })).status).toBe(204);

      const after = await settingsOf({ token: device.token });
      expect(after.status).toBe(401);
      expect((await errorOf(after)).message).toBe('This mail login is not valid any more: log in again (npx knock mail login).');
    });

    it('lets the console revoke a device; another owner cannot (404), and a made-up token is 401', async () => {
      const { console, device } = await owner();
      const mallory = await owner('Mallory');

      expect((await call(base, 'DELETE', `/_/api/settings/devices/${device.id}`, { headers: { ...mallory.console.headers, origin: base } })).status).toBe(404);
      expect((await settingsOf({ token: device.token })).status).toBe(200);
      expect((await call(base, 'DELETE', `/_/api/settings/devices/${device.id}`, { headers: { ...console.headers, origin: base } })).status).toBe(204);
      expect((await settingsOf({ token: device.token })).status).toBe(401);
      expect((await settingsOf({ token: `knd_${'A'.repeat(43)}` })).status).toBe(401);
      expect((await settingsOf({ token: 'knd_short' })).status).toBe(401);
    });

    it('logs every mail device out when the password changes', async () => {
      const { handle, device } = await owner();
      await knock.accounts.setPassword(handle, 'a brand new password');
      expect((await settingsOf({ token: device.token })).status).toBe(401);
    });

    it('never opens the console\u2019s inbox actions to a device token: it cannot delete a conversation', async () => {
      const { handle, device } = await owner();
      const { conversationId } = await visitorWrote(handle, 'Vic', 'hello');

      const res = await call(base, 'DELETE', `/_/api/conversations/${conversationId}`, { token: device.token });
      expect(res.status).toBe(401);
      expect(await knock.storage.getConversation(conversationId)).not.toBeNull();
    });
  });

  describe('the owner\u2019s address', () => {
    it('sets the address unverified from the console, shows it, and removes it', async () => {
      const { console } = await owner();
      const headers = { ...console.headers, origin: base };
      const set = await json<Settings>(await call(base, 'PUT', '/_/api/settings/email', { headers }, { address: 'alice@example.com' }));
      expect(set.email).toEqual({ address: 'alice@example.com', verified: false });
      expect((await json<Settings>(await settingsOf({ headers }))).email).toEqual({ address: 'alice@example.com', verified: false });

      const removed = await json<Settings>(await call(base, 'PUT', '/_/api/settings/email', { headers }, { address: null }));
      expect(removed.email).toBeNull();
    });

    it('refuses what is not an address, and anyone not logged in', async () => {
      const { console } = await owner();
      const bad = await call(base, 'PUT', '/_/api/settings/email', { headers: console.headers }, { address: 'not an address' });
      expect(bad.status).toBe(400);
      expect((await errorOf(bad)).message).toBe('address: This does not look like an email address.');
      expect((await call(base, 'PUT', '/_/api/settings/email', {}, { address: 'a@example.com' })).status).toBe(401);
      expect((await settingsOf({})).status).toBe(401);
    });
  });

  describe('writing over HTTP', () => {
    it('"New email" makes an email conversation with the address and subject; the owner\u2019s message is stored in it', async () => {
      const { device } = await owner();
      const made = await json<{ conversationId: string }>(await call(base, 'POST', '/_/api/emails', { token: device.token }, { to: 'bob@example.com', subject: 'The boat' }), 201);

      const conversation = await knock.storage.getConversation(made.conversationId);
      expect(conversation).toMatchObject({ kind: 'email', subject: 'The boat', visitorEmail: 'bob@example.com' });
      const posted = await json<{ seq: number; at: number }>(await postMessage({ token: device.token }, made.conversationId, { clientMsgId: cmid(), body: 'Is it still for sale?' }), 201);
      const [message] = await knock.storage.messagesAfter(made.conversationId, posted.seq - 1, 1);
      expect(message).toMatchObject({ seq: posted.seq, at: posted.at, senderRole: 'owner', body: 'Is it still for sale?', event: { kind: 'text' } });
    });

    it('refuses a New email without a subject or to something that is not an address', async () => {
      const { device } = await owner();
      expect((await call(base, 'POST', '/_/api/emails', { token: device.token }, { to: 'bob@example.com', subject: '  ' })).status).toBe(400);
      expect((await call(base, 'POST', '/_/api/emails', { token: device.token }, { to: 'bob', subject: 'Hi' })).status).toBe(400);
    });

    it('stores a message posted twice with one clientMsgId once, and answers both with its seq', async () => {
      const { handle, device } = await owner();
      const { conversationId } = await visitorWrote(handle, 'Vic', 'hi');
      const body = { clientMsgId: cmid(), body: 'Hello Vic' };
      const first = await json<{ seq: number }>(await postMessage({ token: device.token }, conversationId, body), 201);
      const again = await json<{ seq: number }>(await postMessage({ token: device.token }, conversationId, body), 201);

      expect(again.seq).toBe(first.seq);
      expect((await knock.storage.messagesAfter(conversationId, 0, 10)).filter((m) => m.body === 'Hello Vic')).toHaveLength(1);
    });

    it('reaches the devices in the conversation: the visitor and the owner\u2019s open console see the message at once', async () => {
      const { handle, console, device } = await owner();
      const { session, conversationId } = await visitorWrote(handle, 'Vic', 'anyone there?');
      const ownerView = console.conversation(conversationId);
      await waitFor(ownerView, (s) => s.messages.length === 1, 'the owner\u2019s console open');

      await json(await postMessage({ token: device.token }, conversationId, { clientMsgId: cmid(), body: 'Yes, from my mail client' }), 201);
      await waitFor(session, (s) => s.messages.some((m) => m.body === 'Yes, from my mail client'), 'the visitor sees it');
      await waitFor(ownerView, (s) => s.messages.some((m) => m.body === 'Yes, from my mail client'), 'the console sees it');
    });

    it('attaches files the device uploaded; a file message without text is named by its files', async () => {
      const { handle, device } = await owner();
      const { conversationId } = await visitorWrote(handle, 'Vic', 'send me the plan');
      const upload = await uploadFile(base, conversationId, 'plan.txt', Buffer.from('the plan'), { headers: { authorization: `Bearer ${device.token}` } });
      const ref = await json<FileRef>(upload, 201);

      const posted = await json<{ seq: number }>(await postMessage({ token: device.token }, conversationId, { clientMsgId: cmid(), body: '', files: [ref.id] }), 201);
      const [message] = await knock.storage.messagesAfter(conversationId, posted.seq - 1, 1);
      expect(message).toMatchObject({ body: 'plan.txt', event: { kind: 'file', files: [ref] } });
      const download = await fetch(`${base}/_/files/${ref.id}/plan.txt`, { headers: { authorization: `Bearer ${device.token}` } });
      expect(await download.text()).toBe('the plan');
    });

    it('refuses an empty message, a file named twice, and a file the visitor uploaded', async () => {
      const { handle, device } = await owner();
      const { conversationId, token } = await visitorWrote(handle, 'Vic', 'hi');
      const mine = await json<FileRef>(await uploadFile(base, conversationId, 'a.txt', Buffer.from('a'), { headers: { authorization: `Bearer ${device.token}` } }), 201);
      const theirs = await json<FileRef>(await uploadFile(base, conversationId, 'b.txt', Buffer.from('b'), { token }), 201);
      const auth = { token: device.token };

      expect((await errorOf(await postMessage(auth, conversationId, { clientMsgId: cmid(), body: '   ' }))).message).toBe('body: The message is empty.');
      expect((await errorOf(await postMessage(auth, conversationId, { clientMsgId: cmid(), body: 'x', files: [mine.id, mine.id] }))).message).toBe('files: A file is attached twice.');
      expect((await postMessage(auth, conversationId, { clientMsgId: cmid(), body: 'x', files: [theirs.id] })).status).toBe(400);
      expect(await knock.storage.messagesAfter(conversationId, 1, 10)).toEqual([]);
    });

    it('answers 404 for another owner\u2019s conversation, whatever the action, and 401 to a visitor\u2019s token or nobody', async () => {
      const { handle } = await owner();
      const { conversationId, token } = await visitorWrote(handle, 'Vic', 'private');
      const mallory = await owner('Mallory');
      const asMallory = { token: mallory.device.token };

      expect((await postMessage(asMallory, conversationId, { clientMsgId: cmid(), body: 'injected' })).status).toBe(404);
      expect((await call(base, 'POST', `/_/api/conversations/${conversationId}/read`, asMallory, { seq: 1 })).status).toBe(404);
      expect((await call(base, 'GET', `/_/api/mail/conversations/${conversationId}/messages?after=0`, asMallory)).status).toBe(404);
      expect((await postMessage({ headers: mallory.console.headers }, conversationId, { clientMsgId: cmid(), body: 'injected' })).status).toBe(404);
      expect((await postMessage({ token: 'x'.repeat(43) }, 'no-such-conversation', { clientMsgId: cmid(), body: 'x' })).status).toBe(401);
      // The visitor's own conversation token does not make them the owner.
      expect((await postMessage({ token }, conversationId, { clientMsgId: cmid(), body: 'as the owner?' })).status).toBe(401);
      expect((await postMessage({}, conversationId, { clientMsgId: cmid(), body: 'nobody' })).status).toBe(401);
      expect((await knock.storage.messagesAfter(conversationId, 0, 10)).map((m) => m.body)).toEqual(['private']);
    });

    it('refuses a body over KNOCK_MAX_BODY_BYTES with 413, and a console post from another site\u2019s page', async () => {
      const { handle, console, device } = await owner();
      const { conversationId } = await visitorWrote(handle, 'Vic', 'hi');
      const huge = JSON.stringify({ clientMsgId: cmid(), body: 'x'.repeat(100 * 1024) });
      expect((await postMessage({ token: device.token }, conversationId, huge)).status).toBe(413);
      const crossSite = await postMessage({ headers: { ...console.headers, origin: 'https://evil.example' } }, conversationId, { clientMsgId: cmid(), body: 'x' });
      expect(crossSite.status).toBe(403);
    });
  });

  describe('the read mark', () => {
    it('raises the owner\u2019s read mark: the answer and the owner\u2019s console show the conversation read', async () => {
      const { handle, console, device } = await owner();
      const { conversationId } = await visitorWrote(handle, 'Vic', 'one', 'two');
      const list = console.ownerSession(handle);
      await waitFor(list, (s) => s.conversations.find((c) => c.id === conversationId)?.unread === 2, 'two unread in the console');

      const summary = await json<ConversationSummary>(await call(base, 'POST', `/_/api/conversations/${conversationId}/read`, { token: device.token }, { seq: 2 }));
      expect(summary).toMatchObject({ id: conversationId, unread: 0 });
      await waitFor(list, (s) => s.conversations.find((c) => c.id === conversationId)?.unread === 0, 'read in the console');
      expect((await mailConversations({ token: device.token })).find((c) => c.id === conversationId)?.ownerReadSeq).toBe(2);
    });

    it('never lowers the mark, and takes a seq past the end as the last message', async () => {
      const { handle, device } = await owner();
      const { conversationId } = await visitorWrote(handle, 'Vic', 'one', 'two', 'three');
      const read = (n: number) => call(base, 'POST', `/_/api/conversations/${conversationId}/read`, { token: device.token }, { seq: n });
      const mark = async () => (await mailConversations({ token: device.token })).find((c) => c.id === conversationId)?.ownerReadSeq;

      await json(await read(2));
      await json(await read(1));
      expect(await mark()).toBe(2);
      await json(await read(1_000_000));
      expect(await mark()).toBe(3);
      expect((await read(-1)).status).toBe(400);
    });
  });

  describe('conversations as mail', () => {
    it('lists every conversation of the owner, the archived too, with a subject and the owner\u2019s read mark', async () => {
      const { handle, console, device } = await owner();
      const chat = (await visitorWrote(handle, 'Vic', 'hello')).conversationId;
      const nameless = (await visitorWrote(handle, '', 'who am I')).conversationId;
      const email = (await json<{ conversationId: string }>(await call(base, 'POST', '/_/api/emails', { token: device.token }, { to: 'bob@example.com', subject: 'Invoice 42' }), 201)).conversationId;
      expect((await call(base, 'POST', `/_/api/conversations/${chat}/archive`, { headers: { ...console.headers, origin: base } }, { archived: true })).status).toBe(200);

      const list = await mailConversations({ token: device.token });
      expect(new Map(list.map((c) => [c.id, c]))).toEqual(
        new Map([
          [chat, { id: chat, subject: 'Conversation with Vic', lastSeq: 1, ownerReadSeq: 0 }],
          [nameless, { id: nameless, subject: 'Conversation with a visitor', lastSeq: 1, ownerReadSeq: 0 }],
          [email, { id: email, subject: 'Invoice 42', lastSeq: 0, ownerReadSeq: 0 }],
        ]),
      );
      // Another owner's list holds none of them.
      expect(await mailConversations({ token: (await owner('Mallory')).device.token })).toEqual([]);
    });

    it('gives each message as an RFC 5322 mail a mail client reads, after a seq, with its attachments', async () => {
      const { handle, device } = await owner();
      const { conversationId, token } = await visitorWrote(handle, 'Vic', 'Is the boat for sale?');
      const ref = await json<FileRef>(await uploadFile(base, conversationId, 'photo.txt', Buffer.from('a photo'), { token }), 201);
      const visitorRoom = cast.visitor().conversation(conversationId, token);
      visitorRoom.send('Here is a picture', [ref]);
      await waitFor(visitorRoom, (s) => s.messages.some((m) => m.seq !== null && m.body === 'Here is a picture'), 'the file message stored');
      await json(await postMessage({ token: device.token }, conversationId, { clientMsgId: cmid(), body: 'It is, yes.' }), 201);

      const page = await mailMessages({ token: device.token }, conversationId, 0);
      expect(page.more).toBe(false);
      expect(page.items.map((i) => [i.seq, i.from])).toEqual([[1, 'visitor'], [2, 'visitor'], [3, 'owner']]);
      const [first, withFile, answer] = await Promise.all(page.items.map((i) => simpleParser(Buffer.from(i.eml, 'base64'))));
      expect(first!.text?.trim()).toBe('Is the boat for sale?');
      expect(withFile!.text?.trim()).toBe('Here is a picture');
      expect(withFile!.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([['photo.txt', 'a photo']]);
      expect(answer!.text?.trim()).toBe('It is, yes.');
      for (const mail of [first, withFile, answer]) expect(mail!.messageId).toBeTruthy();

      expect((await mailMessages({ token: device.token }, conversationId, 2)).items.map((i) => i.seq)).toEqual([3]);
      expect((await mailMessages({ token: device.token }, conversationId, 3)).items).toEqual([]);
      expect((await call(base, 'GET', `/_/api/mail/conversations/${conversationId}/messages?after=-1`, { token: device.token })).status).toBe(400);
    });

    it('pages a long conversation: at most 100 messages at a time, `more` until the last', async () => {
      const { handle, device } = await owner();
      const { conversationId } = await visitorWrote(handle, 'Vic', 'start');
      for (let i = 0; i < 120; i++) await json(await postMessage({ token: device.token }, conversationId, { clientMsgId: cmid(), body: `line ${i}` }), 201);

      const first = await mailMessages({ token: device.token }, conversationId, 0);
      expect(first.items).toHaveLength(100);
      expect(first.more).toBe(true);
      const second = await mailMessages({ token: device.token }, conversationId, first.items.at(-1)!.seq);
      expect(second.items.map((i) => i.seq)).toEqual(Array.from({ length: 21 }, (_, i) => 101 + i));
      expect(second.more).toBe(false);
    });
  });
});

describe('rate limits', () => {
  let knock: TestKnock;
  let cast: Cast;
  const three = { perWindow: 3, windowMs: 60_000 };
  beforeAll(async () => {
    knock = await startKnock({
      pingIntervalMs: NO_PINGS,
      rateLimits: mailTestRateLimits({ loginsPerHandleAndIp: three, socketMessages: three, newEmailsPerAccount: { perWindow: 2, windowMs: 3600_000 } }),
    });
    cast = new Cast(knock);
  });
  afterEach(() => cast.closeAll());
  afterAll(() => knock.close());

  it('counts device logins with the console\u2019s: over the limit for an account from one address, both are refused', async () => {
    const { handle } = await cast.owner('Alice'); // one console login
    const wrong = { handle, password: 'guess', name: 'x' };
    expect((await call(knock.url, 'POST', '/_/api/devices', {}, wrong)).status).toBe(401);
    expect((await call(knock.url, 'POST', '/_/api/login', {}, { handle, password: 'guess' })).status).toBe(401);

    const refused = await call(knock.url, 'POST', '/_/api/devices', {}, { ...wrong, password: TEST_PASSWORD });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('limits the messages one account posts, and the new addresses it mails', async () => {
    const { handle } = await cast.owner('Bea');
    const device = await deviceLogin(knock.url, handle);
    const newEmail = () => call(knock.url, 'POST', '/_/api/emails', { token: device.token }, { to: 'x@example.com', subject: 'Hi' });
    expect((await newEmail()).status).toBe(201);
    const { conversationId } = (await (await newEmail()).json()) as { conversationId: string };
    expect((await newEmail()).status).toBe(429);

    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(knock.url, 'POST', `/_/api/conversations/${conversationId}/messages`, { token: device.token }, { clientMsgId: cmid(), body: `m${i}` })).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
  });
});
