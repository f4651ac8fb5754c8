/**
 * Inbound mail throughput (issue 17): messages per second Knock's SMTP server accepts AND stores (its 250 comes only
 * once the mail is a message of a conversation, with its attachment in Blobs and the raw mail kept), each with a
 * 100 KB attachment, sent by `--connections` SMTP connections at once (nodemailer's pool, as a sending MTA keeps a
 * few connections open), `--mails` in all. Knock runs as `npm start` runs it (SQLite and blobs in a fresh data
 * directory) pinned to the server CPU; the sender runs on the other.
 *
 *   node --import tsx bench/mailInbound.ts [--mails 300] [--connections 4] [--kb 100] [--server-cpus 0]
 *
 * Every mail goes to the same owner from its own sender, so each opens a conversation of its own (the heavier path:
 * a new conversation, participant, file, message and mail record each); `--threaded` sends them all as replies in
 * one thread instead.
 */
import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import { freePort } from '../test/support/ports.ts';
import { rssBytes } from './lib/procfs.ts';
import { installExitHooks } from './lib/processes.ts';
import { benchRateLimits, startServer } from './targets.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const MAILS = Number(arg('mails', '300'));
const CONNECTIONS = Number(arg('connections', '4'));
const KB = Number(arg('kb', '100'));
const SERVER_CPUS = arg('server-cpus', '0');
const THREADED = process.argv.includes('--threaded');
const DOMAIN = 'bench.test';

async function main(): Promise<void> {
  installExitHooks();
  const smtpPort = await freePort();
  const { server, seeded } = await startServer('knock', {
    cpus: SERVER_CPUS,
    seed: { own: { count: 1, sessions: false } },
    env: {
      KNOCK_SMTP_PORT: String(smtpPort),
      KNOCK_SMTP_HOST: '127.0.0.1',
      KNOCK_MAIL_DOMAIN: DOMAIN,
      KNOCK_MAX_MAIL_CONNECTIONS_PER_IP: '1000',
      KNOCK_RATE_LIMITS: benchRateLimits,
    },
  });
  const pid = server.procs[0]!.pid;
  const owner = seeded.own![0]!;
  const attachment = randomBytes(KB * 1024);
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true, pool: true, maxConnections: CONNECTIONS, maxMessages: Infinity });
  try {
    const send = (i: number) =>
      transport.sendMail({
        from: THREADED ? 'Sender <sender@mail.test>' : `Sender ${i} <sender${i}@mail.test>`,
        to: `${owner.handle}@${DOMAIN}`,
        subject: THREADED ? 'Bench thread' : `Bench ${i}`,
        text: `Mail number ${i}.\n`.repeat(20),
        messageId: `<bench-${i}@mail.test>`,
        ...(THREADED && i > 0 ? { inReplyTo: '<bench-0@mail.test>', references: ['<bench-0@mail.test>'] } : {}),
        attachments: [{ filename: `file-${i}.bin`, content: attachment }],
      });
    // Warm up (the first mail opens the connection, JIT-compiles the path), then measure.
    await send(0);
    const rssBefore = rssBytes(pid) ?? 0;
    let next = 1;
    let peakRss = rssBefore;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssBytes(pid) ?? 0);
    }, 50);
    const started = process.hrtime.bigint();
    const latencies: number[] = [];
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (next <= MAILS) {
          const i = next++;
          const t0 = process.hrtime.bigint();
          await send(i);
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    clearInterval(sampler);
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(1);
    console.log(
      JSON.stringify(
        {
          bench: 'mailInbound',
          mails: MAILS,
          connections: CONNECTIONS,
          attachmentKB: KB,
          threaded: THREADED,
          seconds: Number(seconds.toFixed(2)),
          mailsPerSecond: Number((MAILS / seconds).toFixed(1)),
          latencyMs: { p50: Number(pct(50)), p99: Number(pct(99)) },
          serverRssMiB: { before: Math.round(rssBefore / 2 ** 20), peak: Math.round(peakRss / 2 ** 20) },
        },
        null,
        2,
      ),
    );
  } finally {
    transport.close();
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
