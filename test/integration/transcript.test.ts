/**
 * The transcript by email (issue 19): a conversation's visitor asks (their token, as the visitor page sends it), and
 * the relay (an SMTP sink) receives the conversation as text, one line per message, from the owner's address, to the
 * address given. The owner may ask too. Attacks: a stranger asking for another conversation's transcript (404, as for
 * no conversation), a bad address (400), asking too often (429, per conversation and per address), a server with no
 * relay (503, said plainly).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cast, NO_PINGS } from '../support/cast.ts';
import { waitFor } from '../support/clients.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { call, errorOf, mailTestRateLimits } from '../support/mailApiClient.ts';
import { MailSink } from '../support/mailSink.ts';

const DOMAIN = 'example.test';

let knock: TestKnock;
let sink: MailSink;
let cast: Cast;

beforeAll(async () => {
  sink = await MailSink.start();
  knock = await startKnock({
    pingIntervalMs: NO_PINGS,
    rateLimits: mailTestRateLimits(),
    mailDomain: DOMAIN,
    smtpRelayUrl: sink.url,
    outboxRetryBaseMs: 50,
    outboxPollMs: 100,
  });
  cast = new Cast(knock);
});
afterEach(() => cast.closeAll());
afterAll(async () => {
  await knock?.close();
  await sink?.close();
});

/** A conversation of `owner` where the visitor and the owner each wrote; the visitor's token. */
async function chat(ownerName = 'Alice Liddell') {
  const owner = await cast.owner(ownerName);
  const visitor = cast.visitor();
  const { session, conversationId, token } = await visitor.knock(owner.handle, 'Vera');
  session.send('Do you ship to Norway?\nAnd to Iceland?');
  await waitFor(session, (s) => s.messages.some((m) => m.seq !== null), 'the visitor\u2019s message stored');
  const console_ = owner.person.conversation(conversationId);
  console_.send('Yes, to both.');
  await waitFor(session, (s) => s.messages.some((m) => m.body === 'Yes, to both.' && m.seq !== null), 'the answer arrived');
  return { owner, conversationId, token };
}

const asVisitor = (token: string) => ({ headers: { origin: knock.url, authorization: `Bearer ${token}` } });
const ask = (conversationId: string, caller: { headers: Record<string, string> }, email: unknown) =>
  call(knock.url, 'POST', `/_/api/conversations/${conversationId}/transcript`, caller, { email });

describe('the transcript by email', () => {
  it('mails the visitor the conversation, one line per message with time and name, from the owner\u2019s address', async () => {
    const { owner, conversationId, token } = await chat();
    const res = await ask(conversationId, asVisitor(token), 'vera@visitor.test');
    expect(res.status, await res.clone().text()).toBe(202);
    expect(await res.json()).toEqual({ email: 'vera@visitor.test' });
    const mail = await sink.next((m) => m.envelope.to.includes('vera@visitor.test'));
    expect(mail.subject).toBe('Your conversation with Alice Liddell');
    expect(mail.parsed.from?.value[0]?.address).toBe(`${owner.handle}@${DOMAIN}`);
    const text = mail.parsed.text ?? '';
    expect(text).toMatch(/\[\d{4}-\d\d-\d\d \d\d:\d\d UTC\] Vera: Do you ship to Norway\?\n {4}And to Iceland\?/);
    expect(text).toMatch(/\[\d{4}-\d\d-\d\d \d\d:\d\d UTC\] Alice Liddell: Yes, to both\./);
    expect(text.indexOf('Vera:')).toBeLessThan(text.indexOf('Alice Liddell: Yes'));
  });

  it('lets the owner ask too', async () => {
    const { owner, conversationId } = await chat('Olive Owner');
    const res = await ask(conversationId, { headers: { ...owner.person.headers, origin: knock.url } }, 'olive@elsewhere.test');
    expect(res.status).toBe(202);
    const mail = await sink.next((m) => m.envelope.to.includes('olive@elsewhere.test'));
    expect(mail.parsed.text).toContain('Olive Owner: Yes, to both.');
  });

  it('answers a stranger (another conversation\u2019s token, another owner, nobody) as if there were no such conversation', async () => {
    const { conversationId } = await chat();
    const other = await chat();
    const stranger = await cast.owner('Mallory');
    for (const caller of [asVisitor(other.token), { headers: { ...stranger.person.headers, origin: knock.url } }, { headers: { origin: knock.url } }]) {
      const res = await ask(conversationId, caller, 'mallory@evil.test');
      expect(res.status).toBe(404);
    }
    expect((await ask('no-such-conversation', asVisitor(other.token), 'mallory@evil.test')).status).toBe(404);
    expect(sink.received.some((m) => m.envelope.to.includes('mallory@evil.test'))).toBe(false);
  });

  it('refuses an address that is none, and a request from another site', async () => {
    const { conversationId, token } = await chat();
    for (const email of ['not an address', '', 'a@b', 'x'.repeat(250) + '@example.com', 42]) {
      const res = await ask(conversationId, asVisitor(token), email);
      expect(res.status, String(email)).toBe(400);
    }
    const cross = await call(knock.url, 'POST', `/_/api/conversations/${conversationId}/transcript`, { headers: { origin: 'https://evil.example', authorization: `Bearer ${token}` } }, { email: 'v@visitor.test' });
    expect(cross.status).toBe(403);
  });

  it('mails one conversation\u2019s transcript at most 3 times an hour', async () => {
    const { conversationId, token } = await chat();
    for (let i = 0; i < 3; i++) expect((await ask(conversationId, asVisitor(token), `again${i}@visitor.test`)).status).toBe(202);
    const fourth = await ask(conversationId, asVisitor(token), 'again3@visitor.test');
    expect(fourth.status).toBe(429);
    expect((await errorOf(fourth)).message).toContain('Transcripts of this conversation');
    await sink.next((m) => m.envelope.to.includes('again2@visitor.test'));
  });

  it('limits how many transcripts one address (IP) asks for, whatever the conversation', async () => {
    // The earlier tests of this file asked from this address too; within 10 more asks the address's limit is reached.
    let refused: Response | null = null;
    for (let i = 0; i < 10 && refused === null; i++) {
      const { conversationId, token } = await chat();
      const res = await ask(conversationId, asVisitor(token), `ip${i}@visitor.test`);
      if (res.status === 429) refused = res;
      else expect(res.status).toBe(202);
    }
    expect(refused).not.toBeNull();
    expect((await errorOf(refused!)).message).toContain('from your address');
  });
});

describe('without a mail relay', () => {
  it('refuses the transcript plainly (503) instead of leaving it waiting', async () => {
    const plain = await startKnock({ pingIntervalMs: NO_PINGS, rateLimits: mailTestRateLimits() });
    const plainCast = new Cast(plain);
    try {
      const owner = await plainCast.owner('Alice');
      const { session, conversationId, token } = await plainCast.visitor().knock(owner.handle, 'Vera');
      session.send('Hello?');
      await waitFor(session, (s) => s.messages.some((m) => m.seq !== null), 'the message stored');
      const res = await call(plain.url, 'POST', `/_/api/conversations/${conversationId}/transcript`, { headers: { origin: plain.url, authorization: `Bearer ${token}` } }, { email: 'vera@visitor.test' });
      expect(res.status).toBe(503);
      expect((await errorOf(res)).message).toContain('does not send email');
    } finally {
      await plainCast.closeAll();
      await plain.close();
    }
  });
});
