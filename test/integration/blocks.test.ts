/**
 * Blocked visitors (issue 22) on a real server, through the same SDK and HTTP calls as the browser: a blocked
 * visitor's messages, uploads and knocks are refused with the text they read, by their cookie and by their address
 * (a fresh cookie from the same address too), and nothing of it is stored; unblocking lets them back; an account
 * can neither see nor change another's blocks; a company's operators block for the company; every change is audited
 * and rate-limited.
 *
 * The server trusts one proxy (KNOCK_TRUST_PROXY=1) so each visitor's address is the X-Forwarded-For its requests
 * carry: the knock, the matchmaking of its socket and its uploads alike. Mail into a blocked conversation is refused
 * at the SMTP server too.
 */
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blockVisitor, conversationBlock, unblockVisitor } from '../../client/src/sdk/accountSafety.ts';
import { ConversationSession } from '../../client/src/sdk/conversationSession.ts';
import { memoryStore } from '../../client/src/sdk/browserStore.ts';
import { visitorCookieName } from '../../engine/cookies.ts';
import { ADDRESS_BLOCK_MS } from '../../engine/visitorBlocks.ts';
import { BLOCK_CHANGES_PER_ACCOUNT } from '../../engine/http/blocksApi.ts';
import { Cast, testRateLimits } from '../support/cast.ts';
import { refusal, waitFor } from '../support/clients.ts';
import { setCookies } from '../support/httpClient.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { uploadFile } from '../support/uploads.ts';

let knock: TestKnock;
let cast: Cast;
const sessions: ConversationSession[] = [];

beforeAll(async () => {
  knock = await startKnock({ trustProxy: 1, rateLimits: testRateLimits() });
  cast = new Cast(knock);
});
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  await cast.closeAll();
});
afterAll(() => knock?.close());

/** A browser at one address: its cookies for the owner, its knocks and its conversation's socket come from `ip`. */
class VisitorAt {
  cookie: string | null = null;
  constructor(readonly ip: string) {}

  async knock(handle: string, name = 'Mallory'): Promise<Response> {
    const res = await fetch(`${knock.url}/_/api/u/${handle}/knock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': this.ip, ...(this.cookie ? { cookie: this.cookie } : {}) },
      body: JSON.stringify({ name }),
    });
    const set = setCookies(res).get(visitorCookieName(handle));
    if (set) this.cookie = set.value === '' ? null : `${set.name}=${set.value}`;
    return res;
  }

  /** Knocks, and must be let in: the conversation started. */
  async enter(handle: string, name = 'Mallory'): Promise<{ conversationId: string; token: string }> {
    const res = await this.knock(handle, name);
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    return (await res.json()) as { conversationId: string; token: string };
  }

  /** Knocks (it must be let in) and opens the conversation's socket. */
  async start(handle: string, name = 'Mallory'): Promise<{ session: ConversationSession; conversationId: string; token: string }> {
    const { conversationId, token } = await this.enter(handle, name);
    return { session: this.open(conversationId, token), conversationId, token };
  }

  open(conversationId: string, token: string): ConversationSession {
    const session = ConversationSession.open({ endpoint: knock.url, conversationId, token, store: memoryStore(), headers: { 'x-forwarded-for': this.ip } });
    sessions.push(session);
    return session;
  }
}

/** Sends and waits for the message to be stored; returns its seq. */
async function sent(session: ConversationSession, body: string): Promise<void> {
  session.send(body);
  await waitFor(session, (s) => s.messages.some((m) => m.body === body && m.seq !== null), `"${body}" stored`);
}

/** Sends and waits for the refusal; returns what the visitor reads. */
async function refused(session: ConversationSession, body: string): Promise<{ status: string; error: string | undefined; alert: string | undefined }> {
  session.send(body);
  const snap = await waitFor(session, (s) => s.messages.some((m) => m.body === body && m.status === 'failed'), `"${body}" refused`);
  const message = snap.messages.find((m) => m.body === body)!;
  return { status: message.status, error: message.error, alert: snap.lastError?.message };
}

async function storedBodies(conversationId: string): Promise<string[]> {
  return (await knock.storage.messagesAfter(conversationId, 0, 100)).map((m) => m.body);
}

describe('blocking a visitor', () => {
  it('refuses the blocked visitor\u2019s next message with the text they read, stores nothing, and keeps their socket open', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const mallory = new VisitorAt('198.51.100.10');
    const { session, conversationId } = await mallory.start(handle);
    await sent(session, 'first message');

    const answer = await blockVisitor(alice.api, conversationId);
    expect(answer.block).toMatchObject({ conversationId, visitorName: 'Mallory', blockedBy: handle });
    expect(answer.block!.addressUntil).toBeGreaterThan(Date.now() + ADDRESS_BLOCK_MS - 60_000);
    expect((await conversationBlock(alice.api, conversationId)).block?.id).toBe(answer.block!.id);

    expect(await refused(session, 'are you ignoring me?')).toEqual({
      status: 'failed',
      error: 'Alice does not accept messages from you.',
      alert: 'Alice does not accept messages from you.',
    });
    expect(await storedBodies(conversationId)).toEqual(['first message']);
    expect(session.snapshot().connection).toBe('live');
    // Uploading a file is refused the same way.
    const upload = await uploadFile(knock.url, conversationId, 'x.txt', new TextEncoder().encode('x'), { headers: { cookie: mallory.cookie!, 'x-forwarded-for': mallory.ip } });
    expect(upload.status).toBe(403);
    expect(((await upload.json()) as { error: { message: string } }).error.message).toBe('Alice does not accept messages from you.');
  });

  it('refuses a knock from the blocked visitor\u2019s cookie, and from a fresh cookie at the same address, but not from another address', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const mallory = new VisitorAt('198.51.100.20');
    const { conversationId } = await mallory.enter(handle);
    await blockVisitor(alice.api, conversationId);

    const again = await mallory.knock(handle);
    expect(again.status).toBe(403);
    expect(((await again.json()) as { error: { message: string } }).error.message).toBe('Alice does not accept messages from you.');
    const freshCookie = new VisitorAt('198.51.100.20');
    expect((await freshCookie.knock(handle)).status).toBe(403);
    expect(await knock.storage.conversationIdsOf((await knock.storage.getAccountByHandle(handle))!.id)).toEqual([conversationId]);

    const elsewhere = new VisitorAt('203.0.113.99');
    expect((await elsewhere.knock(handle, 'Bob')).status).toBe(201);
    // The cookie alone is refused wherever it comes from.
    const movedCookie = new VisitorAt('192.0.2.55');
    movedCookie.cookie = mallory.cookie;
    expect((await movedCookie.knock(handle)).status).toBe(403);
  });

  it('refuses the messages of another conversation from the blocked address, and only to the owner who blocked', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const { handle: bobHandle } = await cast.owner('Bob');
    const office = '198.51.100.30';
    const first = await new VisitorAt(office).start(handle);
    const second = await new VisitorAt(office).start(handle, 'Colleague');
    const toBob = await new VisitorAt(office).start(bobHandle);
    await blockVisitor(alice.api, first.conversationId);

    expect((await refused(second.session, 'from the same address')).error).toBe('Alice does not accept messages from you.');
    await sent(toBob.session, 'Bob never blocked anyone');
  });

  it('refuses the blocked visitor the conversation’s documents (and games): they may still read the conversation', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const mallory = new VisitorAt('198.51.100.35');
    const { conversationId, token } = await mallory.enter(handle);
    const owner = (await knock.storage.getParticipants(conversationId)).find((p) => p.role === 'owner')!;
    const doc = await knock.storage.createDocument({ conversationId, createdBy: owner.id, title: 'Plan', at: Date.now() });
    const joinDoc = async () => {
      const res = await fetch(`${knock.url}/_/matchmake/joinOrCreate/doc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': mallory.ip },
        body: JSON.stringify({ docId: doc.id, token }),
      });
      return (await res.json()) as { code?: string; error?: string };
    };
    expect((await joinDoc()).code).toBeUndefined(); // a seat, before the block
    await blockVisitor(alice.api, conversationId);
    expect(await joinDoc()).toEqual({ code: 'forbidden', error: 'Alice does not accept messages from you.' });
    const session = mallory.open(conversationId, token);
    await waitFor(session, (s) => s.connection === 'live', 'the blocked visitor still reads the conversation');
  });

  it('lets the visitor back once unblocked: their cookie writes again and their address may knock', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const mallory = new VisitorAt('198.51.100.40');
    const { session, conversationId } = await mallory.start(handle);
    await blockVisitor(alice.api, conversationId);
    await refused(session, 'blocked');

    expect(await unblockVisitor(alice.api, conversationId)).toEqual({ block: null });
    expect((await conversationBlock(alice.api, conversationId)).block).toBeNull();
    await sent(session, 'sorry, may I write again?');
    expect((await new VisitorAt('198.51.100.40').knock(handle, 'Neighbour')).status).toBe(201);
    expect(await storedBodies(conversationId)).toEqual(['sorry, may I write again?']);
  });

  it('keeps the cookie refused after its conversation is deleted: the page keeps the cookie, the knock is refused', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const mallory = new VisitorAt('198.51.100.50');
    const { conversationId } = await mallory.enter(handle);
    await blockVisitor(alice.api, conversationId);
    expect((await fetch(`${knock.url}/_/api/conversations/${conversationId}`, { method: 'DELETE', headers: alice.headers })).status).toBe(204);

    const profile = await fetch(`${knock.url}/_/api/profile/${handle}`, { headers: { cookie: mallory.cookie!, 'x-forwarded-for': '192.0.2.77' } });
    expect(setCookies(profile).has(visitorCookieName(handle))).toBe(false);
    const elsewhere = new VisitorAt('192.0.2.77');
    elsewhere.cookie = mallory.cookie;
    expect((await elsewhere.knock(handle)).status).toBe(403);
    // Settings still lists the block, without its conversation.
    expect((await alice.api.request('GET', '/_/api/blocks', undefined, null)) as unknown).toMatchObject({ blocks: [{ conversationId: null, visitorName: 'Mallory' }] });
  });

  it('answers another account\u2019s conversation and block as ones that do not exist, and changes nothing', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const { person: eve } = await cast.owner('Eve');
    const mallory = new VisitorAt('198.51.100.60');
    const { session, conversationId } = await mallory.start(handle);

    for (const call of [blockVisitor(eve.api, conversationId), conversationBlock(eve.api, conversationId), unblockVisitor(eve.api, conversationId)]) {
      expect((await refusal(call)).status).toBe(404);
    }
    await sent(session, 'still welcome');
    const block = (await blockVisitor(alice.api, conversationId)).block!;
    expect((await refusal(eve.api.request('DELETE', `/_/api/blocks/${block.id}`, undefined, null))).status).toBe(404);
    expect(await eve.api.request('GET', '/_/api/blocks', undefined, null)).toEqual({ blocks: [] });
    expect((await conversationBlock(alice.api, conversationId)).block?.id).toBe(block.id);
    // Without a session, or from another site: refused.
    expect((await fetch(`${knock.url}/_/api/blocks`)).status).toBe(401);
    const crossSite = await fetch(`${knock.url}/_/api/conversations/${conversationId}/block`, { method: 'POST', headers: { ...alice.headers, origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);
  });

  it('records blocks and unblocks in the owner\u2019s audit log, and unblocks from Settings\u2019 list by id', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const { conversationId } = await new VisitorAt('198.51.100.70').enter(handle, 'Trent');
    const block = (await blockVisitor(alice.api, conversationId)).block!;
    // Blocking again makes no second block and no second entry.
    expect((await blockVisitor(alice.api, conversationId)).block?.id).toBe(block.id);
    expect(await alice.api.request('DELETE', `/_/api/blocks/${block.id}`, undefined, null)).toEqual({ blocks: [] });
    const account = (await knock.storage.getAccountByHandle(handle))!;
    const entries = await knock.storage.listAudit(account.id, { limit: 10 });
    expect(entries.filter((e) => e.kind.startsWith('visitor.')).map((e) => [e.kind, e.detail])).toEqual([
      ['visitor.unblocked', { visitor: 'Trent' }],
      ['visitor.blocked', { visitor: 'Trent' }],
    ]);
  });

  it('lets a company\u2019s operators block for the company, named in its log; a person outside the team cannot', async () => {
    const { handle: adminHandle } = await cast.owner('Ann');
    const { handle: opHandle, person: operator } = await cast.owner('Oscar');
    const { person: outsider } = await cast.owner('Olga');
    const companyHandle = `acme-${process.pid}`;
    await knock.companies.add({ handle: companyHandle, name: 'Acme', adminHandle });
    await knock.companies.addOperator(companyHandle, opHandle);
    const { session, conversationId } = await new VisitorAt('198.51.100.80').start(companyHandle, 'Troll');

    outsider.api.setAccount(companyHandle);
    expect((await refusal(blockVisitor(outsider.api, conversationId))).status).toBe(403);
    operator.api.setAccount(companyHandle);
    expect((await blockVisitor(operator.api, conversationId)).block).toMatchObject({ blockedBy: opHandle });
    expect((await refused(session, 'hello?')).error).toBe('Acme does not accept messages from you.');
    const company = (await knock.storage.getAccountByHandle(companyHandle))!;
    expect((await knock.storage.listAudit(company.id, { limit: 5 })).map((e) => [e.kind, e.detail])).toContainEqual(['visitor.blocked', { visitor: 'Troll', by: opHandle }]);
  });

  it('limits how often an account blocks and unblocks', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const { conversationId } = await new VisitorAt('198.51.100.90').enter(handle);
    const changes = BLOCK_CHANGES_PER_ACCOUNT.perWindow;
    for (let i = 0; i < changes; i++) {
      if (i % 2 === 0) await blockVisitor(alice.api, conversationId);
      else await unblockVisitor(alice.api, conversationId);
    }
    // An even number of changes ends unblocked: the next is a block, over the limit.
    expect(changes % 2).toBe(0);
    expect(await refusal(blockVisitor(alice.api, conversationId))).toMatchObject({ status: 429, code: 'rate_limited' });
  });
});

describe('blocking an email correspondent', () => {
  it('refuses their mail into the blocked conversation at the SMTP server, with the same text', async () => {
    const mailKnock = await startKnock({ smtpPort: 0, smtpHost: '127.0.0.1', mailDomain: 'knock.test' });
    try {
      await mailKnock.addUser('alice', 'Alice');
      const send = async (mail: SendMailOptions) => {
        const transport = nodemailer.createTransport({ host: '127.0.0.1', port: mailKnock.mailPort!, secure: false, ignoreTLS: true, logger: false });
        return transport.sendMail(mail).finally(() => transport.close());
      };
      await send({ from: 'Spammer <spam@sender.test>', to: 'alice@knock.test', subject: 'Buy now', text: 'Cheap!', messageId: '<spam-1@sender.test>' });
      const alice = (await mailKnock.storage.getAccountByHandle('alice'))!;
      const [conversationId] = await mailKnock.storage.conversationIdsOf(alice.id);
      const owner = new Cast(mailKnock);
      try {
        const device = await owner.device('alice');
        await blockVisitor(device.api, conversationId!);
      } finally {
        await owner.closeAll();
      }
      const reply = send({ from: 'spam@sender.test', to: 'alice@knock.test', subject: 'Re: Buy now', text: 'Still cheap!', inReplyTo: '<spam-1@sender.test>', messageId: '<spam-2@sender.test>' });
      await expect(reply).rejects.toMatchObject({ responseCode: 550, response: expect.stringContaining('Alice does not accept messages from you.') });
      expect((await mailKnock.storage.messagesAfter(conversationId!, 0, 10)).map((m) => m.body)).toEqual(['Cheap!']);
    } finally {
      await mailKnock.close();
    }
  });
});
