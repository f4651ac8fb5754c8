/**
 * Knock → forward latency (issue 18): from the moment a visitor sends a message (in a conversation already open) to
 * the moment the owner's peer has it, per channel, median, p90 and worst over `--knocks` knocks (20). Each
 * peer is real and on 127.0.0.1, as in the tests: a webhook receiver, an SMSC (smpp), a push service (decrypting),
 * an SMTP sink (the relay), and Prosody with the owner's XMPP client when Prosody is installed. Knock runs in this
 * process (SQLite in a temp dir), so the figure is the forwarding path itself: the log's listener, the plan, the
 * outbox's claim, the channel's send, and the peer's read.
 *
 *   node --import tsx bench/forwardLatency.ts [--knocks 20]
 */
import { existsSync } from 'node:fs';
import { Person, waitFor } from '../test/support/clients.ts';
import { startKnock } from '../test/support/knockServer.ts';
import { MailSink } from '../test/support/mailSink.ts';
import { startPushService } from '../test/support/pushService.ts';
import { smsText, TestSmsc } from '../test/support/smsc.ts';
import { WebhookReceiver } from '../test/support/webhookReceiver.ts';
import { Prosody } from '../test/support/prosody.ts';
import { XmppOwner } from '../test/support/xmppOwner.ts';
import { storedSubscription } from '../adapters/channels/push/subscription.ts';
import type { ChannelKind } from '../engine/ports/channel.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const KNOCKS = Number(arg('knocks', '20'));

/** Resolves when `seen()` holds, polling every millisecond (the peers record what they get; this reads it). */
async function when(seen: () => boolean, timeoutMs = 15_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (!seen()) {
    if (performance.now() > deadline) throw new Error('a forward did not arrive');
    await new Promise((r) => setImmediate(r));
  }
  return performance.now();
}

async function main(): Promise<void> {
  const [sink, push, receiver] = await Promise.all([MailSink.start(), startPushService(), WebhookReceiver.start()]);
  const smsc = await TestSmsc.start({ systemId: 'knock', password: 'pw' });
  const prosody = existsSync('/usr/bin/prosody') ? await Prosody.start() : null;
  const xmpp = prosody && { knock: await prosody.register('knock', 'knock-pw'), owner: await prosody.register('owner', 'owner-pw') };
  const knock = await startKnock({
    ...(prosody && xmpp ? { xmppService: prosody.service, xmppJid: xmpp.knock, xmppPassword: 'knock-pw' } : {}),
    smtpRelayUrl: sink.url,
    smppUrl: smsc.url,
    smppSystemId: 'knock',
    smppPassword: 'pw',
    smsNumber: '+15550001111',
    channelsAllowPrivate: true,
    rateLimits: { knocksPerIp: { perWindow: 10_000, windowMs: 60_000 }, knocksPerTarget: { perWindow: 10_000, windowMs: 60_000 } },
  });
  const results: Record<string, { medianMs: number; p90Ms: number; maxMs: number }> = {};
  try {
    const owners: Array<{ kind: ChannelKind; handle: string; arrived: (text: string) => boolean }> = [];
    const add = async (kind: ChannelKind, address: string, secret: string | null, arrived: (text: string) => boolean) => {
      const handle = `${kind}owner`;
      await knock.addUser(handle, `Owner ${kind}`);
      const account = (await knock.storage.getAccountByHandle(handle))!;
      await knock.storage.addChannel({ accountId: account.id, kind, address, secret, delayMs: 0, verified: true, at: Date.now() });
      owners.push({ kind, handle, arrived });
    };
    receiver.secret = 'whsec_benchbenchbenchbenchbenchbenchbenchbench00';
    await add('webhook', receiver.url, JSON.stringify([receiver.secret]), (text) => receiver.calls.some((c) => (c.body.texts as string[] | undefined)?.includes(text)));
    await add('sms', '+15557654321', null, (text) => smsc.submits.some((s) => smsText(s).includes(text)));
    const device = push.subscribe();
    const stored = storedSubscription(device.subscription);
    await add('push', stored.address, stored.secret, (text) => push.delivered.some((m) => JSON.stringify(m.json).includes(text)));
    await add('email', 'owner@inbox.test', null, (text) => sink.received.some((m) => m.parsed.text?.includes(text) === true));
    let phone: XmppOwner | null = null;
    if (prosody && xmpp) {
      phone = await XmppOwner.login({ service: prosody.service, domain: prosody.domain, username: 'owner', password: 'owner-pw' });
      await phone.setPresence('available');
      const owner = phone;
      await add('xmpp', xmpp.owner, null, (text) => owner.messages.some((m) => m.body.includes(text)));
    } else {
      console.error('Prosody is not installed: XMPP is left out (apt-get install prosody).');
    }

    for (const owner of owners) {
      const latencies: number[] = [];
      for (let i = 0; i < KNOCKS + 1; i++) {
        const visitor = new Person(knock.url);
        const { session } = await visitor.knock(owner.handle, `Visitor ${i}`);
        await waitFor(session, (s) => s.connection === 'live', 'the conversation open', 15_000);
        const text = `Knock ${owner.kind} ${i} ${Math.random().toString(36).slice(2)}`;
        const sent = performance.now();
        session.send(text);
        const arrived = await when(() => owner.arrived(text));
        if (i > 0) latencies.push(arrived - sent); // the first one warms the path up
        await visitor.closeAll();
      }
      latencies.sort((a, b) => a - b);
      const at = (q: number) => Number(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1));
      results[owner.kind] = { medianMs: at(0.5), p90Ms: at(0.9), maxMs: Number(latencies[latencies.length - 1]!.toFixed(1)) };
    }
    console.log(JSON.stringify({ bench: 'forwardLatency', knocks: KNOCKS, results }, null, 2));
    await phone?.close();
  } finally {
    await knock.close();
    await Promise.all([sink.close(), push.close(), receiver.close(), smsc.close()]);
    await prosody?.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
