/**
 * Issue 21, Settings → Domains through a real Knock: the owner adds a domain in any spelling, reads the NS records to
 * set, and the domain turns active once the resolver Knock checks through (a stand-in for the Internet's DNS on
 * 127.0.0.1, test/support/worldDns.ts) shows it delegated to Knock's name servers and to nothing else, by "Check now"
 * or by the periodic check. And the attacks: a domain another account has, one delegated elsewhere, Knock's own
 * names, malformed and oversized input, callers who are not the owner, another site's request, a flood of domains.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggedInOwner, Person, refusal, waitFor } from '../support/clients.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { authenticate } from 'mailauth';
import { swaks } from '../support/mailPeers.ts';
import { MailSink } from '../support/mailSink.ts';
import { WorldDns } from '../support/worldDns.ts';

const NS = ['ns1.knock.test', 'ns2.knock.test'];
let knock: TestKnock;
let world: WorldDns;
let sink: MailSink;

beforeAll(async () => {
  world = await WorldDns.start();
  sink = await MailSink.start();
  knock = await startKnock({ smtpRelayUrl: `smtp://127.0.0.1:${sink.port}`, visitorMailDelayMs: 0, dnsNameservers: NS, publicIps: ['127.0.0.1'], dnsCheckResolver: world.address, mailDomain: 'knock.test', domainCheckIntervalMs: 1000, smtpPort: 0, smtpHost: '127.0.0.1' });
});
afterAll(async () => {
  await knock?.close();
  await Promise.all([world?.close(), sink?.close()]);
});

const owner = (handle: string): Promise<Person> => loggedInOwner(knock, handle);

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('own domains', () => {
  it('adds a domain in any spelling as pending, names the NS records to set, and activates it when delegated to Knock', async () => {
    const alice = await owner('alice');
    expect(await alice.api.domains()).toEqual({ domains: [], nameservers: NS });
    const added = await alice.api.addDomain('Alice.Example.');
    expect(added.domains).toEqual([
      { name: 'alice.example', state: 'pending', checkedAt: expect.any(Number), checkError: 'No NS records for alice.example yet.', activatedAt: null },
    ]);
    // The registrar is set: "Check now" sees it.
    world.delegate('alice.example', ['NS1.knock.test.', 'ns2.knock.test']);
    const checked = await alice.api.checkDomain('alice.example');
    expect(checked.domains[0]).toMatchObject({ name: 'alice.example', state: 'active', checkError: null, activatedAt: expect.any(Number) });
    // Its DKIM key was made for it: the public half is published, the private one kept for signing.
    const stored = await knock.storage.getDomain('alice.example');
    expect(stored?.dkimSelector).toBe('knock1');
    expect(Buffer.from(stored!.dkimPublicKey, 'base64').length).toBeGreaterThan(256);
    expect((await knock.storage.dkimKeyOf('alice.example'))?.privateKey).toContain('BEGIN PRIVATE KEY');
  });

  it('activates a pending domain by the periodic check once its delegation appears', async () => {
    const bob = await owner('bob');
    await bob.api.addDomain('https://chat.bob.example/');
    expect((await bob.api.domains()).domains[0]).toMatchObject({ name: 'chat.bob.example', state: 'pending' });
    world.delegate('chat.bob.example', NS);
    await until(() => bob.api.domains(), (a) => a.domains[0]?.state === 'active', 'the periodic check');
  });

  it('keeps a domain delegated elsewhere, or to Knock and someone else, pending, saying where it points', async () => {
    const carol = await owner('carol');
    world.delegate('carol.example', ['ns1.other-dns.example', 'ns2.other-dns.example']);
    const answer = await carol.api.addDomain('carol.example');
    expect(answer.domains[0]).toMatchObject({ state: 'pending', checkError: 'carol.example is delegated to ns1.other-dns.example, ns2.other-dns.example, not only to ns1.knock.test, ns2.knock.test.' });
    world.delegate('carol.example', ['ns1.knock.test', 'ns.other-dns.example']);
    expect((await carol.api.checkDomain('carol.example')).domains[0]).toMatchObject({ state: 'pending', checkError: expect.stringContaining('ns.other-dns.example') });
    world.delegate('carol.example', 'fail');
    expect((await carol.api.checkDomain('carol.example')).domains[0]).toMatchObject({ state: 'pending', checkError: expect.stringContaining('is tried again') });
  });

  it('refuses a domain another account has, Knock\u2019s own names, and what is no domain, storing nothing', async () => {
    const dave = await owner('dave');
    expect((await refusal(dave.api.addDomain('ALICE.example'))).status).toBe(409);
    for (const own of ['knock.test', 'mail.knock.test']) expect((await refusal(dave.api.addDomain(own))).message).toContain('own name');
    for (const typed of ['not a domain', '1.2.3.4', 'localhost', 'a..example', `${'x'.repeat(64)}.example`, '-dash.example', '']) {
      const err = await refusal(dave.api.addDomain(typed));
      expect(err.status, typed).toBe(400);
    }
    const huge = await fetch(`${knock.url}/_/api/domains`, {
      method: 'POST',
      headers: { ...dave.headers, 'Content-Type': 'application/json', Origin: knock.url },
      body: JSON.stringify({ domain: 'x.example', padding: 'x'.repeat(4096) }),
    });
    expect(huge.status).toBe(413);
    expect((await dave.api.domains()).domains).toEqual([]);
  });

  it('refuses callers who are not the owner at the console, other owners\u2019 domains, and requests from another site', async () => {
    const stranger = new Person(knock.url);
    const calls = [() => stranger.api.domains(), () => stranger.api.addDomain('evil.example'), () => stranger.api.checkDomain('alice.example'), () => stranger.api.removeDomain('alice.example')];
    for (const call of calls) expect((await refusal(call())).status).toBe(401);
    const erin = await owner('erin');
    expect((await refusal(erin.api.checkDomain('alice.example'))).status).toBe(404);
    expect((await refusal(erin.api.removeDomain('alice.example'))).status).toBe(404);
    const forged = await fetch(`${knock.url}/_/api/domains`, {
      method: 'POST',
      headers: { ...erin.headers, 'Content-Type': 'application/json', Origin: 'https://evil.example' },
      body: JSON.stringify({ domain: 'erin.example' }),
    });
    expect(forged.status).toBe(403);
    expect(await knock.storage.getDomain('alice.example')).toMatchObject({ state: 'active' });
    expect(await knock.storage.getDomain('erin.example')).toBeNull();
  });

  it('holds ten domains per account, and a removed one frees its place and its name', async () => {
    const frank = await owner('frank');
    for (let i = 0; i < 10; i++) await frank.api.addDomain(`d${i}.frank.example`);
    expect((await refusal(frank.api.addDomain('d10.frank.example'))).message).toContain('remove one first');
    expect((await frank.api.removeDomain('d0.frank.example')).domains).toHaveLength(9);
    await frank.api.addDomain('d10.frank.example');
    const gina = await owner('gina');
    expect((await gina.api.addDomain('d0.frank.example')).domains.map((d) => d.name)).toEqual(['d0.frank.example']);
  });
});

describe('mail to an own domain', () => {
  it('lands in the owner\u2019s inbox at any address of an active domain, and is refused for a pending one', async () => {
    const hana = await owner('hana');
    await hana.api.addDomain('hana.example');
    await hana.api.addDomain('later.example');
    world.delegate('hana.example', NS);
    await hana.api.checkDomain('hana.example');
    const sent = await swaks(knock.mailPort!, ['--from', 'bob@sender.test', '--to', 'hello@HANA.example', '--header', 'Subject: To your own domain', '--body', 'Hi Hana!']);
    expect(sent.exitCode, sent.transcript).toBe(0);
    const inbox = await until(() => hana.api.inbox(), (a) => a.conversations.length > 0, 'the mail in Hana\u2019s inbox');
    expect(inbox.conversations[0]).toMatchObject({ lastMessage: { body: expect.stringContaining('Hi Hana!') } });
    // A pending domain is nobody's: its mail is refused at RCPT TO, as any domain Knock does not serve.
    const refused = await swaks(knock.mailPort!, ['--from', 'bob@sender.test', '--to', 'hello@later.example']);
    expect(refused.exitCode).toBe(24);
    expect((await hana.api.inbox()).conversations).toHaveLength(1);

    // Hana answers: her mail is From her own domain, signed with the key Knock made for it (and publishes in DNS).
    const session = hana.conversation(inbox.conversations[0]!.id);
    session.send('Hello Bob, from my own domain.');
    await waitFor(session, (st) => st.messages.some((m) => m.body === 'Hello Bob, from my own domain.' && m.seq !== null), 'the answer stored');
    const out = await sink.next((m) => m.parsed.text?.includes('Hello Bob, from my own domain.') ?? false);
    expect(out.parsed.from?.value[0]?.address).toBe('hana@hana.example');
    const domain = (await knock.storage.getDomain('hana.example'))!;
    const resolver = async (name: string, type: string) => {
      if (type === 'TXT' && name === `${domain.dkimSelector}._domainkey.hana.example`) return [[`v=DKIM1; k=rsa; p=${domain.dkimPublicKey}`]];
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    };
    const auth = await authenticate(out.raw, { ip: '127.0.0.1', helo: 'relay.test', sender: 'hana@hana.example', resolver, trustReceived: false } as never);
    const dkim = (auth as { dkim: { results: Array<{ signingDomain: string; status: { result: string } }> } }).dkim.results;
    expect(dkim.map((r) => [r.signingDomain, r.status.result])).toContainEqual(['hana.example', 'pass']);
    await hana.closeAll();
  });
});

describe('a server without name servers', () => {
  it('says it takes no domains', async () => {
    const plain = await startKnock();
    try {
      await plain.addUser('jo', 'Jo');
      const jo = new Person(plain.url);
      await jo.login('jo');
      expect(await jo.api.domains()).toEqual({ domains: [], nameservers: [] });
      expect((await refusal(jo.api.addDomain('jo.example'))).message).toContain('no name servers');
    } finally {
      await plain.close();
    }
  });
});
