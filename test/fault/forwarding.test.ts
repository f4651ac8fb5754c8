/**
 * Faults of forwarding (issue 18, "Done when 3"), counted at the peers:
 * - Knock is SIGKILLed while forwards wait in the outbox (the bot's webhook answers 503): after the restart, with the
 *   bot back, each forward reaches it exactly once (and every try of one forward carried the same Knock-Webhook-Id);
 * - two Knock processes share PostgreSQL: every forward is sent once, never by both;
 * - Prosody stops while a knock is being forwarded and starts again: the owner's XMPP client gets it once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Person, waitFor } from '../support/clients.ts';
import { KnockProcess } from '../support/knockProcess.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { Prosody } from '../support/prosody.ts';
import { TestCluster } from '../support/testCluster.ts';
import { WebhookReceiver } from '../support/webhookReceiver.ts';
import { XmppOwner } from '../support/xmppOwner.ts';

const WAIT_MS = 20_000;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function until<T>(read: () => T | Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)?.slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `npx knock channel add <handle> webhook <url>`: the channel, verified, and its secret as the CLI printed it. */
async function addWebhook(knock: KnockProcess, handle: string, url: string): Promise<string> {
  const added = await knock.cli(['channel', 'add', handle, 'webhook', url]);
  expect(added.code, added.out).toBe(0);
  return /Signing secret \(shown once\): (whsec_\S+)/.exec(added.out)![1]!;
}

/** Visitors each knock and write one line; resolves when every line is stored. */
async function knocks(url: string, handle: string, lines: readonly string[]): Promise<Person[]> {
  return Promise.all(
    lines.map(async (line, i) => {
      const visitor = new Person(url);
      const { session } = await visitor.knock(handle, `Visitor ${i}`);
      session.send(line);
      await waitFor(session, (s) => s.messages.some((m) => m.body === line && m.seq !== null), 'the line stored', 15_000);
      return visitor;
    }),
  );
}

const forwardsOf = (receiver: WebhookReceiver, line: string) =>
  receiver.calls.filter((c) => c.body.type === 'knock.forward' && (c.body.texts as string[]).includes(line));

describe('forwarding survives faults', () => {
  it('delivers every pending forward exactly once after a SIGKILL, with one webhook id per forward', async () => {
    const receiver = await WebhookReceiver.start();
    cleanups.push(() => receiver.close());
    receiver.status = 503;
    const knock = await KnockProcess.create({
      env: { KNOCK_CHANNELS_ALLOW_PRIVATE: '1', KNOCK_OUTBOX_RETRY_BASE_MS: '200', KNOCK_OUTBOX_POLL_MS: '100', KNOCK_OUTBOX_LEASE_MS: '2000' },
    });
    cleanups.push(() => knock.dispose());
    await knock.addUser('alice', 'Alice');
    receiver.secret = await addWebhook(knock, 'alice', receiver.url);
    await knock.start();

    const lines = ['First knock', 'Second knock', 'Third knock'];
    const visitors = await knocks(knock.url, 'alice', lines);
    // Each forward was tried and refused (503): all three wait in the outbox when the process dies.
    await until(() => lines.every((l) => forwardsOf(receiver, l).length > 0), Boolean, 'a refused try of every forward');
    await knock.kill();
    for (const v of visitors) await v.closeAll();
    receiver.status = 200;
    await knock.start();
    await until(() => lines.every((l) => forwardsOf(receiver, l).some((c) => c.status === 200)), Boolean, 'every forward taken');
    // A forward taken is never sent again: give the outbox a few more polls to prove it.
    await new Promise((r) => setTimeout(r, 1000));
    for (const line of lines) {
      const calls = forwardsOf(receiver, line);
      expect(calls.filter((c) => c.status === 200), line).toHaveLength(1);
      expect(new Set(calls.map((c) => c.headers['knock-webhook-id'])).size, `${line}: one id for every try`).toBe(1);
      expect(calls.every((c) => c.signatureOk)).toBe(true);
    }
  });

  it('never sends a forward twice from two processes on PostgreSQL', async (test) => {
    const receiver = await WebhookReceiver.start();
    cleanups.push(() => receiver.close());
    const cluster = await TestCluster.open(test, 'fault/forwarding');
    const env = { KNOCK_CHANNELS_ALLOW_PRIVATE: '1', KNOCK_OUTBOX_POLL_MS: '50' };
    const a = await cluster.add(env);
    const b = await cluster.add(env);
    await cluster.addUser('alice', 'Alice');
    receiver.secret = await addWebhook(a, 'alice', receiver.url);
    await Promise.all([a.start(), b.start()]);
    const lines = Array.from({ length: 12 }, (_, i) => `Knock number ${i + 1}`);
    // Half the visitors at each process: both outboxes hold due jobs at once.
    const visitors = [...(await knocks(a.url, 'alice', lines.slice(0, 6))), ...(await knocks(b.url, 'alice', lines.slice(6)))];
    await until(() => lines.every((l) => forwardsOf(receiver, l).length > 0), Boolean, 'every forward');
    await new Promise((r) => setTimeout(r, 1000));
    for (const line of lines) expect(forwardsOf(receiver, line), line).toHaveLength(1);
    for (const v of visitors) await v.closeAll();
  });

  it('forwards to XMPP once when Prosody was down at the knock and comes back', async () => {
    const prosody = await Prosody.start();
    cleanups.push(() => prosody.close());
    const knockJid = await prosody.register('knock', 'knock-pw');
    const aliceJid = await prosody.register('alice', 'alice-pw');
    const knock: TestKnock = await startKnock({ xmppService: prosody.service, xmppJid: knockJid, xmppPassword: 'knock-pw', outboxRetryBaseMs: 200, outboxPollMs: 100 });
    cleanups.push(() => knock.close());
    await knock.addUser('alice', 'Alice');
    const alice = (await knock.storage.getAccountByHandle('alice'))!;
    const channel = await knock.storage.addChannel({ accountId: alice.id, kind: 'xmpp', address: aliceJid, secret: null, delayMs: 0, verified: true, at: Date.now() });
    const phone = await XmppOwner.login({ service: prosody.service, domain: prosody.domain, username: 'alice', password: 'alice-pw' });
    cleanups.push(() => phone.close());
    await phone.setPresence('available');

    await prosody.stop();
    const [visitor] = await knocks(knock.url, 'alice', ['While the XMPP server is down']);
    const conversationId = (await knock.storage.listConversations(alice.id, { limit: 5 }))[0]!.id;
    const forward = await until(() => knock.storage.getOpenForward(conversationId), (f) => f !== null, 'the forward');
    const key = `forward:${forward!.id}:${channel.id}`;
    await until(() => knock.storage.getJobByKey(key), (job) => job?.state === 'retrying', 'a failed try while Prosody is down');
    await prosody.restart();
    const got = await phone.nextMessage((m) => m.body.includes('While the XMPP server is down'), WAIT_MS);
    expect(got.thread).toBe(`knock-${conversationId}`);
    await until(() => knock.storage.getJobByKey(key), (job) => job?.state === 'sent', 'the job sent');
    await new Promise((r) => setTimeout(r, 1000));
    // No second copy came after the one taken above.
    expect(phone.messages.filter((m) => m.body.includes('While the XMPP server is down'))).toHaveLength(0);
    await visitor!.closeAll();
  });
});
