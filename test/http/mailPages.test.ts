/**
 * What email shows in a browser (issue 17), against a real server: a received mail's HTML as a sandboxed document
 * (its headers, who may see it, and the console page allowed to frame it), and the pages of mail links, verify and
 * unsubscribe (what they say, that only the button or a mail client's one-click POST unsubscribes, their rate limit).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobs } from '../../adapters/blobs/local/LocalBlobs.ts';
import { secretHash } from '../../engine/auth.ts';
import { createLogger } from '../../engine/logger.ts';
import { Cast, NO_PINGS } from '../support/cast.ts';
import { waitFor } from '../support/clients.ts';
import { cspDirectives } from '../support/httpClient.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { call, deviceLogin, mailTestRateLimits } from '../support/mailApiClient.ts';

/** What a person reads on a server page: its language, title, headings, buttons and the form they post. */
function pageOf(html: string) {
  return {
    lang: /<html lang="([^"]+)">/.exec(html)?.[1],
    title: /<title>([^<]*)<\/title>/.exec(html)?.[1],
    headings: [...html.matchAll(/<h1>([^<]*)<\/h1>/g)].map((m) => m[1]),
    buttons: [...html.matchAll(/<button[^>]*>([^<]*)<\/button>/g)].map((m) => m[1]),
    form: /<form method="([^"]+)" action="([^"]+)">/.exec(html)?.slice(1),
    stylesheet: /<link rel="stylesheet" href="(\/_\/assets\/[^"]+\.css)">/.exec(html)?.[1],
    scripts: html.match(/<script/g)?.length ?? 0,
  };
}

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

  /** An owner and a visitor's conversation with one message. */
  async function conversation(visitorName = 'Vic') {
    const { handle, person: owner } = await cast.owner('Alice');
    const { session, conversationId, token } = await cast.visitor().knock(handle, visitorName);
    session.send('hello');
    await waitFor(session, (s) => s.messages.some((m) => m.seq !== null), 'the first message stored');
    return { handle, owner, conversationId, token };
  }

  /**
   * A mail received into the conversation with an HTML part, stored as the mail service stores one: the sanitized
   * HTML in Blobs (the server's own directory), the `email` event, and the mail's record naming both.
   */
  async function receivedEmail(conversationId: string, html: string): Promise<number> {
    const blobs = await LocalBlobs.open({ dir: path.join(knock.dataDir, 'blobs'), logger: createLogger('silent') });
    try {
      const { id: htmlBlobId } = await blobs.put(Readable.from([Buffer.from(html)]), { maxBytes: 1024 * 1024 });
      const conversation = (await knock.storage.getConversation(conversationId))!;
      const visitor = (await knock.storage.getParticipants(conversationId)).find((p) => p.role === 'visitor')!;
      const messageId = `${randomUUID()}@example.com`;
      const { message } = await knock.storage.appendMessage({
        conversationId,
        senderId: visitor.id,
        clientMsgId: `email:${messageId}`,
        body: 'The offer, as text',
        event: {
          kind: 'email',
          subject: 'Offer',
          from: { address: 'vic@example.com', name: 'Vic' },
          to: [{ address: `${conversation.ownerHandle}@localhost`, name: '' }],
          messageId,
          auth: { spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none', suspicious: false },
          html: true,
          files: [],
        },
        at: Date.now(),
      });
      await knock.storage.recordMail({ messageId, accountId: conversation.ownerAccountId, conversationId, seq: message.seq, rawBlobId: null, htmlBlobId, at: Date.now() });
      return message.seq;
    } finally {
      await blobs.close();
    }
  }

  const emailHtml = (conversationId: string, seq: number | string, headers: Record<string, string> = {}, query = '') =>
    fetch(`${base}/_/api/conversations/${conversationId}/emails/${seq}.html${query}`, { headers });

  describe('a received email\u2019s HTML', () => {
    const HTML = '<p style="color: #333">A <b>fine</b> boat, <img src="cid:boat@vic" alt="the boat"></p>';

    it('is served to the owner as a sandboxed document of its own: no script, nothing fetched, framed by Knock\u2019s pages only', async () => {
      const { owner, conversationId } = await conversation();
      const seq = await receivedEmail(conversationId, HTML);

      const res = await emailHtml(conversationId, seq, owner.headers);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const csp = cspDirectives(res.headers.get('content-security-policy'));
      expect(csp.get('sandbox')).toEqual([]);
      expect(csp.get('default-src')).toEqual(["'none'"]);
      expect(csp.get('img-src')).toEqual(['cid:', 'data:']);
      expect(csp.get('style-src')).toEqual(["'unsafe-inline'"]);
      expect(csp.get('frame-ancestors')).toEqual(["'self'"]);
      expect(csp.has('script-src')).toBe(false);
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('cache-control')).toBe('private');
      const body = await res.text();
      expect(body).toMatch(/^<!doctype html>\n<html>/);
      expect(body).toContain(`<body>\n${HTML}\n</body>`);
    });

    it('lets images from https load only when the owner asks (?images=1)', async () => {
      const { owner, conversationId } = await conversation();
      const seq = await receivedEmail(conversationId, HTML);
      const res = await emailHtml(conversationId, seq, owner.headers, '?images=1');
      expect(cspDirectives(res.headers.get('content-security-policy')).get('img-src')).toEqual(['https:', 'data:']);
    });

    it('is served to the conversation\u2019s visitor and to the owner\u2019s mail device', async () => {
      const { handle, conversationId, token } = await conversation();
      const seq = await receivedEmail(conversationId, HTML);
      const device = await deviceLogin(base, handle);

      expect((await emailHtml(conversationId, seq, { authorization: `Bearer ${token}` })).status).toBe(200);
      expect((await emailHtml(conversationId, seq, { authorization: `Bearer ${device.token}` })).status).toBe(200);
    });

    it('is the same 404 for another conversation\u2019s visitor, another owner, nobody, a message that is no email, and an email asked for under another conversation', async () => {
      const { conversationId, owner } = await conversation();
      const seq = await receivedEmail(conversationId, HTML);
      const other = await conversation('Mallory');

      const asked = [
        await emailHtml(conversationId, seq, { authorization: `Bearer ${other.token}` }),
        await emailHtml(conversationId, seq, other.owner.headers),
        await emailHtml(conversationId, seq),
        await emailHtml(conversationId, 1, owner.headers), // "hello": a text message
        await emailHtml(conversationId, 'abc', owner.headers),
        await emailHtml(other.conversationId, seq, other.owner.headers),
      ];
      expect(asked.map((r) => r.status)).toEqual([404, 404, 404, 404, 404, 404]);
      const bodies = await Promise.all(asked.map((r) => r.json()));
      expect(new Set(bodies.map((b) => JSON.stringify(b))).size, 'one answer for all').toBe(1);
    });

    it('may be framed by the console\u2019s page, which itself is framed by nobody', async () => {
      const { handle } = await conversation();
      const csp = cspDirectives((await fetch(`${base}/${handle}`)).headers.get('content-security-policy'));
      expect(csp.get('frame-src')).toEqual(["'self'"]);
      expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    });
  });

  describe('the verify link', () => {
    async function ownerWithAddress(token: string) {
      const { handle, person } = await cast.owner('Alice');
      const account = (await knock.storage.getAccountByHandle(handle))!;
      await knock.storage.setAccountEmail(account.id, { address: 'alice@example.com', verifyTokenHash: secretHash(token), at: Date.now() });
      return person;
    }

    it('verifies the owner\u2019s address once, on a page that says so; then the link is not valid any more', async () => {
      const token = `verify-${randomUUID()}`;
      const owner = await ownerWithAddress(token);

      const res = await fetch(`${base}/_/mail/verify/${token}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const page = pageOf(await res.text());
      expect(page).toMatchObject({ lang: 'en', title: 'Your email address is verified · Knock', headings: ['Your email address is verified'], scripts: 0 });
      expect(page.stylesheet, 'the app\u2019s look').toBeTruthy();
      const settings = (await (await call(base, 'GET', '/_/api/settings', { headers: owner.headers })).json()) as { email: unknown };
      expect(settings.email).toEqual({ address: 'alice@example.com', verified: true });

      const again = await fetch(`${base}/_/mail/verify/${token}`);
      expect(again.status).toBe(404);
      expect(pageOf(await again.text()).headings).toEqual(['This link is not valid any more']);
    });

    it('answers a made-up token, or a POST, without verifying anything', async () => {
      const token = `verify-${randomUUID()}`;
      const owner = await ownerWithAddress(token);
      expect((await fetch(`${base}/_/mail/verify/${token}x`)).status).toBe(404);
      expect((await fetch(`${base}/_/mail/verify/${token}`, { method: 'POST' })).status).toBe(405);
      const settings = (await (await call(base, 'GET', '/_/api/settings', { headers: owner.headers })).json()) as { email: unknown };
      expect(settings.email).toEqual({ address: 'alice@example.com', verified: false });
    });
  });

  describe('the unsubscribe link', () => {
    const emailOff = async (conversationId: string) => (await knock.storage.getConversation(conversationId))!.visitorEmailOff;

    it('shows a page with an Unsubscribe button and changes nothing when only opened (as link scanners do)', async () => {
      const { conversationId } = await conversation();
      const token = await knock.storage.conversationMailToken(conversationId);

      const res = await fetch(`${base}/_/mail/unsubscribe/${token}`);
      expect(res.status).toBe(200);
      const page = pageOf(await res.text());
      expect(page).toMatchObject({ lang: 'en', headings: ['Unsubscribe'], buttons: ['Unsubscribe'], form: ['post', `/_/mail/unsubscribe/${token}`], scripts: 0 });
      expect(cspDirectives(res.headers.get('content-security-policy')).get('form-action')).toEqual(["'self'"]);
      expect(await emailOff(conversationId)).toBe(false);
    });

    it('stops mail to the visitor of that conversation, and of no other, when the button is pressed', async () => {
      const { conversationId } = await conversation();
      const other = await conversation('Olga');
      const token = await knock.storage.conversationMailToken(conversationId);

      const res = await fetch(`${base}/_/mail/unsubscribe/${token}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
      expect(res.status).toBe(200);
      expect(pageOf(await res.text()).headings).toEqual(['You will get no more mail from this conversation']);
      expect(await emailOff(conversationId)).toBe(true);
      expect(await emailOff(other.conversationId)).toBe(false);
    });

    it('takes a mail client\u2019s one-click unsubscribe (RFC 8058)', async () => {
      const { conversationId } = await conversation();
      const token = await knock.storage.conversationMailToken(conversationId);
      const res = await fetch(`${base}/_/mail/unsubscribe/${token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
      expect(res.status).toBe(200);
      expect(await emailOff(conversationId)).toBe(true);
    });

    it('says the link is not valid for a token that names no conversation, opened or posted', async () => {
      for (const token of ['no-such-token-at-all', 'x', '%3Cscript%3E']) {
        for (const method of ['GET', 'POST']) {
          const res = await fetch(`${base}/_/mail/unsubscribe/${token}`, { method });
          expect(res.status, `${method} ${token}`).toBe(404);
          expect(pageOf(await res.text()).headings).toEqual(['This link is not valid any more']);
        }
      }
    });
  });
});

describe('mail links from one address', () => {
  let knock: TestKnock;
  beforeAll(async () => {
    knock = await startKnock({ pingIntervalMs: NO_PINGS, rateLimits: mailTestRateLimits({ mailLinksPerIp: { perWindow: 3, windowMs: 60_000 } }) });
  });
  afterAll(() => knock.close());

  it('are refused once over mailLinksPerIp: guessing tokens is slow', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${knock.url}/_/mail/unsubscribe/guess-${i}-abcdefgh`, { method: i % 2 ? 'POST' : 'GET' })).status);
    expect(statuses).toEqual([404, 404, 404, 429]);
    expect((await fetch(`${knock.url}/_/mail/verify/guess-abcdefgh`)).status).toBe(429);
  });
});
