/**
 * A company's operators act for it (issue 19): with `X-Knock-Account: <company>` over HTTP (the console's calls), and
 * without any header in the company's rooms (its UserRoom, its conversations' rooms). Everything else is an attack:
 * a stranger naming a company, a header naming a person, a removed operator, a plain operator changing what only
 * admins may, a mail device (personal) naming the company. Also the profile's company answers and a knock's page.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelsAnswer, InboxAnswer, ProfileAnswer } from '../../engine/protocol.ts';
import { ApiError } from '../../client/src/sdk/api.ts';
import { Cast, NO_PINGS } from '../support/cast.ts';
import { waitFor, type Person } from '../support/clients.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { call, deviceLogin, errorOf, mailTestRateLimits } from '../support/mailApiClient.ts';
import { RawRoom } from '../support/rawRoom.ts';
import { sha256, uploadFile } from '../support/uploads.ts';
import { WebhookReceiver } from '../support/webhookReceiver.ts';

let knock: TestKnock;
let cast: Cast;
let receiver: WebhookReceiver;

beforeAll(async () => {
  knock = await startKnock({ pingIntervalMs: NO_PINGS, rateLimits: mailTestRateLimits(), channelsAllowPrivate: true });
  cast = new Cast(knock);
  receiver = await WebhookReceiver.start();
});
afterEach(() => cast.closeAll());
afterAll(async () => {
  await receiver?.close();
  await knock?.close();
});

const HEADER = 'x-knock-account';
const SHOP = 'https://shop.example';

/** A company (an account made a company, with one allowed site), its admin, a plain operator and a stranger. */
interface Team {
  company: string;
  companyId: string;
  admin: { handle: string; person: Person };
  operator: { handle: string; person: Person };
  stranger: { handle: string; person: Person };
}

let teams = 0;
async function team(): Promise<Team> {
  const company = `acme-${process.pid}-${++teams}`;
  const admin = await cast.owner('Ada');
  const operator = await cast.owner('Otto');
  const stranger = await cast.owner('Mallory');
  // As the server's operator makes it (npx knock company add / operator add / site add).
  const account = await knock.companies.add({ handle: company, name: 'Acme Ltd', adminHandle: admin.handle });
  await knock.companies.addOperator(company, operator.handle);
  await knock.companies.addSite(company, SHOP);
  return { company, companyId: account.id, admin, operator, stranger };
}

/** A request of `who` (their console's cookies), acting for `account` when given. */
function as(who: Person, account?: string, extra: Record<string, string> = {}): { headers: Record<string, string> } {
  return { headers: { ...who.headers, origin: knock.url, ...(account === undefined ? {} : { [HEADER]: account }), ...extra } };
}

async function inboxIds(res: Response): Promise<string[]> {
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as InboxAnswer).conversations.map((c) => c.id);
}

/** A visitor knocks on /handle and writes `text`; the conversation's id. */
async function visitorWrote(handle: string, text: string) {
  const visitor = cast.visitor();
  const { session, conversationId } = await visitor.knock(handle, 'Vera');
  session.send(text);
  await waitFor(session, (s) => s.messages.some((m) => m.seq !== null), 'the visitor\u2019s message stored');
  return { visitor, session, conversationId };
}

const profileOf = async (who: Person | null, handle: string): Promise<ProfileAnswer> => {
  const res = await fetch(`${knock.url}/_/api/profile/${handle}`, { headers: who?.headers ?? {} });
  expect(res.status).toBe(200);
  return (await res.json()) as ProfileAnswer;
};

describe('an operator acts for the company', () => {
  it('lists the company\u2019s inbox with the header (and their own without it), reads and answers its conversations as the owner', async () => {
    const t = await team();
    const { session, conversationId } = await visitorWrote(t.company, 'Do you ship to Norway?');
    const own = await visitorWrote(t.operator.handle, 'a personal message');

    expect(await inboxIds(await call(knock.url, 'GET', '/_/api/conversations', as(t.operator.person, t.company)))).toEqual([conversationId]);
    expect(await inboxIds(await call(knock.url, 'GET', '/_/api/conversations', as(t.operator.person)))).toEqual([own.conversationId]);

    // Read as mail, and answered over HTTP: the visitor gets the answer from the company.
    const read = await call(knock.url, 'GET', `/_/api/mail/conversations/${conversationId}/messages?after=0`, as(t.operator.person, t.company));
    expect(read.status).toBe(200);
    const answer = await call(knock.url, 'POST', `/_/api/conversations/${conversationId}/messages`, as(t.operator.person, t.company), {
      clientMsgId: 'operator-answer-1',
      body: 'Yes, we do.',
    });
    expect(answer.status, await answer.clone().text()).toBe(201);
    await waitFor(session, (s) => s.messages.some((m) => m.body === 'Yes, we do.'), 'the answer at the visitor');

    // The conversation's room needs no header: the conversation names the company.
    const room = await RawRoom.join(knock.url, 'conversation', { conversationId }, t.operator.person.headers);
    try {
      const welcome = await waitFor(room, (s) => s.of('welcome').length === 1, 'the welcome');
      expect(welcome.of<{ me: { role: string } }>('welcome')[0]!.me.role).toBe('owner');
    } finally {
      await room.room.leave();
    }
  });

  it('uploads and downloads a company conversation\u2019s files without any header (the conversation names the company); a stranger cannot', async () => {
    const t = await team();
    const { conversationId } = await visitorWrote(t.company, 'here is my receipt');
    const bytes = new TextEncoder().encode('the operator\u2019s answer, as a file');
    const uploaded = await uploadFile(knock.url, conversationId, 'answer.txt', bytes, { headers: t.operator.person.headers });
    expect(uploaded.status, await uploaded.clone().text()).toBe(201);
    const ref = (await uploaded.json()) as { id: string; name: string };
    const url = `/_/files/${ref.id}/${ref.name}`;
    const download = await fetch(`${knock.url}${url}`, { headers: t.operator.person.headers });
    expect(download.status).toBe(200);
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(bytes));
    expect((await fetch(`${knock.url}${url}`, { headers: t.stranger.person.headers })).status).toBe(404);
    expect((await uploadFile(knock.url, conversationId, 'x.txt', bytes, { headers: t.stranger.person.headers })).status).toBe(404);
  });

  it('opens the company\u2019s UserRoom as one of its devices: the company is online to its visitors while the console is open', async () => {
    const t = await team();
    const visitor = cast.visitor();
    const presence = visitor.visitorPresence(t.company);
    await waitFor(presence, (s) => s.connection === 'live' && !s.online, 'the company offline');

    const console = t.operator.person.ownerSession(t.company);
    await waitFor(console, (s) => s.connection === 'live', 'the operator\u2019s console joined as the owner');
    await waitFor(presence, (s) => s.online, 'the company online to the visitor');
    expect((await profileOf(null, t.company)).online).toBe(true);

    await console.close();
    await waitFor(presence, (s) => !s.online, 'the company offline again');
  });

  it('leaves the company offline to its visitors while its only operator with a console open is away, online when back', async () => {
    const t = await team();
    const visitor = cast.visitor();
    const presence = visitor.visitorPresence(t.company);
    await waitFor(presence, (s) => s.connection === 'live' && !s.online, 'the company offline');
    const api = t.operator.person.api;
    api.setAccount(t.company);
    await api.setMyStatus('away');

    const console = t.operator.person.ownerSession(t.company);
    await waitFor(console, (s) => s.connection === 'live', 'the operator\u2019s console joined as the owner');
    expect((await profileOf(null, t.company)).online).toBe(false);
    expect(presence.snapshot().online).toBe(false);

    await api.setMyStatus('online');
    await waitFor(presence, (s) => s.online, 'the company online once the operator is back');
    await api.setMyStatus('away');
    await waitFor(presence, (s) => !s.online, 'offline again when the operator goes away with the console open');
    await console.close();
  });

  it('is the company\u2019s owner on its profile, with their role; their own profile lists the companies they work for', async () => {
    const t = await team();
    expect(await profileOf(t.operator.person, t.company)).toMatchObject({ isOwner: true, company: { role: 'operator' } });
    expect(await profileOf(t.admin.person, t.company)).toMatchObject({ isOwner: true, company: { role: 'admin' } });
    expect(await profileOf(t.stranger.person, t.company)).toMatchObject({ isOwner: false, company: { role: null } });
    expect(await profileOf(null, t.company)).toMatchObject({ isOwner: false, company: { role: null } });

    const own = await profileOf(t.operator.person, t.operator.handle);
    expect(own.companies).toEqual([{ handle: t.company, displayName: 'Acme Ltd', role: 'operator' }]);
    expect(own.company).toBeUndefined();
    expect((await profileOf(t.stranger.person, t.stranger.handle)).companies).toEqual([]);
    // Another's profile never lists whom they work for.
    expect((await profileOf(t.stranger.person, t.operator.handle)).companies).toBeUndefined();
  });
});

describe('attacks on acting for a company', () => {
  it('a stranger naming a company gets 403, and not their own inbox either', async () => {
    const t = await team();
    await visitorWrote(t.company, 'company secret');
    const mine = await visitorWrote(t.stranger.handle, 'mine');
    for (const path of ['/_/api/conversations', '/_/api/mail/conversations', '/_/api/settings', '/_/api/channels', '/_/api/company']) {
      const res = await call(knock.url, 'GET', path, as(t.stranger.person, t.company));
      expect(res.status, path).toBe(403);
      const text = await res.text();
      expect(text, path).toMatch(/not an operator of/);
      expect(text, path).not.toContain(mine.conversationId);
    }
    // A company's conversation is not theirs by any path either.
    const { conversationId } = await visitorWrote(t.company, 'another');
    expect((await call(knock.url, 'GET', `/_/api/mail/conversations/${conversationId}/messages?after=0`, as(t.stranger.person))).status).toBe(404);
    await expect(RawRoom.join(knock.url, 'conversation', { conversationId }, t.stranger.person.headers)).rejects.toThrow(/not a member/);
  });

  it('the header naming a person, not a company, gives nothing, not even to a colleague; a malformed header is refused', async () => {
    const t = await team();
    await visitorWrote(t.operator.handle, 'for Otto only');
    for (const who of [t.stranger.person, t.admin.person]) {
      const res = await call(knock.url, 'GET', '/_/api/conversations', as(who, t.operator.handle));
      expect(res.status).toBe(403);
    }
    expect((await call(knock.url, 'GET', '/_/api/conversations', as(t.stranger.person, 'nobody-here-at-all'))).status).toBe(403);
    const malformed = await call(knock.url, 'GET', '/_/api/conversations', as(t.stranger.person, 'NOT A HANDLE'));
    expect(malformed.status).toBe(400);
    expect((await errorOf(malformed)).message).toMatch(/does not name an account/);
    // Sent twice, the header is one list of two: nobody's request.
    const twice = await fetch(`${knock.url}/_/api/conversations`, {
      headers: [
        ['cookie', t.operator.person.headers.cookie!],
        [HEADER, t.company],
        [HEADER, t.operator.handle],
      ],
    });
    expect(twice.status).toBe(400);
  });

  it('an operator removed from the team loses the company at the next request and the next join', async () => {
    const t = await team();
    const { conversationId } = await visitorWrote(t.company, 'hello');
    expect((await call(knock.url, 'GET', '/_/api/conversations', as(t.operator.person, t.company))).status).toBe(200);

    const removed = await call(knock.url, 'DELETE', `/_/api/company/operators/${t.operator.handle}`, as(t.admin.person, t.company));
    expect(removed.status, await removed.clone().text()).toBe(200);

    expect((await call(knock.url, 'GET', '/_/api/conversations', as(t.operator.person, t.company))).status).toBe(403);
    expect((await call(knock.url, 'GET', `/_/api/mail/conversations/${conversationId}/messages?after=0`, as(t.operator.person))).status).toBe(404);
    await expect(RawRoom.join(knock.url, 'conversation', { conversationId }, t.operator.person.headers)).rejects.toThrow(/not a member/);
    // The UserRoom still takes them, as any visitor: never as the company's device.
    const user = await RawRoom.join(knock.url, 'user', { handle: t.company }, t.operator.person.headers);
    try {
      const welcome = await waitFor(user, (s) => s.of('welcome').length === 1, 'the welcome');
      expect(welcome.of<{ role: string }>('welcome')[0]!.role).toBe('visitor');
    } finally {
      await user.room.leave();
    }
    expect(await profileOf(t.operator.person, t.company)).toMatchObject({ isOwner: false, company: { role: null } });
  });

  it('a plain operator cannot change channels, forwarding, email settings, devices, sites or the team: 403 saying why; an admin can', async () => {
    const t = await team();
    const plain = t.operator.person.api;
    plain.setAccount(t.company);
    const channels = await plain.channels();
    const refused = async (what: string, action: () => Promise<unknown>) => {
      const err = await action().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, what).toBeInstanceOf(ApiError);
      expect((err as ApiError).status, what).toBe(403);
      expect((err as ApiError).message, what).toMatch(new RegExp(`Only an admin of /${t.company}`));
    };
    await refused('add a channel', () => plain.addChannel({ kind: 'webhook', address: `${receiver.url}?plain` }));
    await refused('forwarding', () => plain.setForwarding({ ...channels.settings, paused: true }));
    await refused('email', () => plain.setEmail('help@acme.example'));
    await refused('add a site', () => plain.addSite('https://other.example'));
    await refused('remove a site', () => plain.removeSite(SHOP));
    await refused('invite', () => plain.inviteOperator());
    await refused('remove an operator', () => plain.removeOperator(t.admin.handle));
    const device = await knock.storage.createDeviceToken({ accountId: t.companyId, name: 'desk', tokenHash: 'h'.repeat(64), at: Date.now() });
    await refused('revoke a device', () => plain.revokeDevice(device.id));
    // Reading is every operator's.
    expect((await plain.settings()).devices.map((d) => d.id)).toEqual([device.id]);
    expect((await plain.company()).sites).toEqual([SHOP]);

    const admin = t.admin.person.api;
    admin.setAccount(t.company);
    const added = await admin.addChannel({ kind: 'webhook', address: `${receiver.url}?admin` });
    expect(added.channel.kind).toBe('webhook');
    expect((await admin.setForwarding({ ...channels.settings, paused: true })).settings.paused).toBe(true);
    expect((await admin.addSite('https://other.example')).sites).toEqual([SHOP, 'https://other.example']);
    await admin.revokeDevice(device.id);
    // It was the company's channel, not the admin's own.
    const company = (await knock.storage.getAccountByHandle(t.company))!;
    const adminAccount = (await knock.storage.getAccountByHandle(t.admin.handle))!;
    expect((await knock.storage.getForwardingSettings(company.id)).paused).toBe(true);
    expect((await knock.storage.getForwardingSettings(adminAccount.id)).paused).toBe(false);
    admin.setAccount(null);
    expect(((await admin.channels()) as ChannelsAnswer).channels).toEqual([]);
  });

  it('a mail device ignores the header: it is its person\u2019s, never the company\u2019s', async () => {
    const t = await team();
    const companyConversation = await visitorWrote(t.company, 'for the company');
    const own = await visitorWrote(t.operator.handle, 'for Otto');
    const device = await deviceLogin(knock.url, t.operator.handle);
    const listed = await call(knock.url, 'GET', '/_/api/mail/conversations', { token: device.token, headers: { [HEADER]: t.company } });
    expect(listed.status).toBe(200);
    const ids = ((await listed.json()) as { conversations: Array<{ id: string }> }).conversations.map((c) => c.id);
    expect(ids).toEqual([own.conversationId]);
    const messages = await call(knock.url, 'GET', `/_/api/mail/conversations/${companyConversation.conversationId}/messages?after=0`, {
      token: device.token,
      headers: { [HEADER]: t.company },
    });
    expect(messages.status).toBe(404);
  });
});

describe('a knock on a company records the page it started on', () => {
  const knockWith = (handle: string, startedOn: unknown) =>
    call(knock.url, 'POST', `/_/api/u/${handle}/knock`, { headers: { origin: knock.url } }, { name: 'Vera', startedOn });

  it('keeps a page of one of the company\u2019s sites, and drops (without refusing the chat) any other page', async () => {
    const t = await team();
    const page = { url: `${SHOP}/boots?size=44`, title: 'Boots' };
    const kept = await knockWith(t.company, page);
    expect(kept.status, await kept.clone().text()).toBe(201);
    const { conversationId } = (await kept.json()) as { conversationId: string };
    expect((await knock.storage.getConversation(conversationId))?.startedOn).toEqual(page);

    for (const [handle, url] of [
      [t.company, 'https://evil.example/boots'],
      [t.company, 'http://shop.example/boots'],
      [t.company, 'https://shop.example:8443/boots'],
      [t.operator.handle, `${SHOP}/boots`],
    ] as const) {
      const res = await knockWith(handle, { url, title: 'Boots' });
      expect(res.status, url).toBe(201);
      const id = ((await res.json()) as { conversationId: string }).conversationId;
      expect((await knock.storage.getConversation(id))?.startedOn, `${handle} ${url}`).toBeNull();
    }
    const bad = await knockWith(t.company, { url: 'javascript:alert(1)', title: 'x' });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).message).toMatch(/not a web address/);
  });
});

describe('the company settings API', () => {
  it('shows every operator the team, the sites and the embed code for this server', async () => {
    const t = await team();
    const answer = await call(knock.url, 'GET', '/_/api/company', as(t.operator.person, t.company));
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { operators: Array<{ handle: string; role: string }>; sites: string[]; snippet: string };
    expect(body.operators.map((o) => [o.handle, o.role])).toEqual([
      [t.admin.handle, 'admin'],
      [t.operator.handle, 'operator'],
    ]);
    expect(body.sites).toEqual([SHOP]);
    expect(body.snippet).toBe(`<script src="${knock.url}/_/widget.js" data-knock="${t.company}" async></script>`);
    // A person's own account is no company.
    const notCompany = await call(knock.url, 'GET', '/_/api/company', as(t.operator.person));
    expect(notCompany.status).toBe(404);
    expect((await errorOf(notCompany)).message).toMatch(/is not a company/);
  });

  it('refuses a site that is not an origin, a body over its cap and a removal of a site not listed, each saying why', async () => {
    const t = await team();
    for (const origin of ['https://shop.example/path', 'ftp://shop.example', 'shop.example', '']) {
      const res = await call(knock.url, 'POST', '/_/api/company/sites', as(t.admin.person, t.company), { origin });
      expect(res.status, origin).toBe(400);
      expect((await errorOf(res)).message, origin).toMatch(/origin like https:\/\/shop\.example/);
    }
    const huge = await call(knock.url, 'POST', '/_/api/company/sites', as(t.admin.person, t.company), { origin: `https://${'a'.repeat(10_000)}.example` });
    expect(huge.status).toBe(413);
    const notJson = await call(knock.url, 'POST', '/_/api/company/sites', as(t.admin.person, t.company, { 'content-type': 'text/plain' }), 'origin=x');
    expect(notJson.status).toBe(400);
    const missing = await call(knock.url, 'DELETE', `/_/api/company/sites?origin=${encodeURIComponent('https://never.example')}`, as(t.admin.person, t.company));
    expect(missing.status).toBe(404);
    const removed = await call(knock.url, 'DELETE', `/_/api/company/sites?origin=${encodeURIComponent(SHOP)}`, as(t.admin.person, t.company));
    expect(((await removed.json()) as { sites: string[] }).sites).toEqual([]);
  });

  it('never leaves a company without an admin, and answers 404 for someone not in the team', async () => {
    const t = await team();
    const last = await call(knock.url, 'DELETE', `/_/api/company/operators/${t.admin.handle}`, as(t.admin.person, t.company));
    expect(last.status).toBe(409);
    expect((await errorOf(last)).message).toMatch(/last admin/);
    const stranger = await call(knock.url, 'DELETE', `/_/api/company/operators/${t.stranger.handle}`, as(t.admin.person, t.company));
    expect(stranger.status).toBe(404);
    expect((await call(knock.url, 'DELETE', '/_/api/company/operators/%E0%A4%A', as(t.admin.person, t.company))).status).toBe(404);
  });

  it('an invitation link makes a signed-in person an operator, once', async () => {
    const t = await team();
    const invited = await call(knock.url, 'POST', '/_/api/company/operators/invite', as(t.admin.person, t.company), {});
    expect(invited.status).toBe(201);
    const { link } = (await invited.json()) as { link: string; expiresAt: number };
    const token = /^\/_\/join\/([A-Za-z0-9_-]+)$/.exec(link)![1]!;
    expect((await fetch(`${knock.url}${link}`)).status).toBe(200);

    // Nobody signed in: told to log in first.
    expect((await call(knock.url, 'POST', '/_/api/company/join', { headers: { origin: knock.url } }, { token })).status).toBe(401);
    const newcomer = await cast.owner('Nina');
    const joined = await newcomer.person.api.joinCompany(token);
    expect(joined).toEqual({ handle: t.company, displayName: 'Acme Ltd', role: 'operator' });
    expect(await profileOf(newcomer.person, t.company)).toMatchObject({ isOwner: true, company: { role: 'operator' } });
    // Used: nobody else joins with it.
    await expect(t.stranger.person.api.joinCompany(token)).rejects.toMatchObject({ status: 404 });
    expect(await profileOf(t.stranger.person, t.company)).toMatchObject({ isOwner: false });
  });

  it('an operator sets their own status and capacity, within bounds', async () => {
    const t = await team();
    const api = t.operator.person.api;
    api.setAccount(t.company);
    const before = (await api.company()).operators.find((o) => o.handle === t.admin.handle);
    const away = await api.setMyStatus('away');
    expect(away.operators.find((o) => o.handle === t.operator.handle)).toMatchObject({ status: 'away' });
    const capacity = await api.setMyCapacity(5);
    expect(capacity.operators.find((o) => o.handle === t.operator.handle)).toMatchObject({ capacity: 5 });
    // The admin's row is untouched.
    expect(capacity.operators.find((o) => o.handle === t.admin.handle)).toEqual(before);
    await expect(api.setMyCapacity(0)).rejects.toMatchObject({ status: 400 });
    await expect(api.setMyCapacity(51)).rejects.toMatchObject({ status: 400 });
    const bad = await call(knock.url, 'PUT', '/_/api/company/me/status', as(t.operator.person, t.company), { status: 'busy' });
    expect(bad.status).toBe(400);
  });
});
