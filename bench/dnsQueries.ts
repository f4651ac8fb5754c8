/**
 * DNS queries per second Knock's DNS server answers (issue 21), over UDP on loopback: an A query for an active
 * domain, the zone cached (KNOCK_DNS_CACHE_MS, default 3 s: one storage read per 3 s, whatever the rate). Knock runs
 * as `npm start` runs it (SQLite in a fresh data directory), pinned to the server CPU; run this script on the other
 * (`taskset -c 1`). Response rate limiting is OFF for the bench (KNOCK_DNS_RESPONSES_PER_SECOND=0): with it, one
 * client gets 20 identical answers a second, by design.
 *
 *   taskset -c 1 node --import tsx bench/dnsQueries.ts [--seconds 10] [--window 16] [--sockets 2] [--server-cpus 0]
 *
 * A closed loop: `--sockets` UDP sockets each keep `--window` queries in flight; every answer sends the next query.
 * A query unanswered after 1 s counts as lost and is replaced.
 */
import dgram from 'node:dgram';
import path from 'node:path';
import dnsPacket from 'dns-packet';
import { SqliteStorage } from '../adapters/storage/sqlite/SqliteStorage.ts';
import { freePort } from '../test/support/ports.ts';
import { arg } from './lib/args.ts';
import { cpuSeconds } from './lib/procfs.ts';
import { installExitHooks } from './lib/processes.ts';
import { startServer } from './targets.ts';

const SECONDS = Number(arg('seconds', '10'));
const WINDOW = Number(arg('window', '16'));
const SOCKETS = Number(arg('sockets', '2'));
const SERVER_CPUS = arg('server-cpus', '0');
const DOMAIN = 'bench.example';
const LOST_AFTER_MS = 1000;

interface Counts {
  answered: number;
  wrong: number;
  lost: number;
}

/** One UDP socket keeping WINDOW queries in flight until `until` (process.hrtime in ns). */
async function drive(port: number, until: bigint, counts: Counts, measuring: () => boolean): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const sentAt = new Map<number, number>();
  let nextId = 0;
  const send = () => {
    const id = nextId++ & 0xffff;
    sentAt.set(id, Date.now());
    socket.send(dnsPacket.encode({ type: 'query', id, questions: [{ name: DOMAIN, type: 'A' }] }), port, '127.0.0.1');
  };
  await new Promise<void>((resolve) => {
    socket.on('message', (message) => {
      const id = message.readUInt16BE(0);
      if (!sentAt.delete(id)) return;
      // An answer with the A record (not truncated, not an error) is what counts.
      const ok = message.length > 12 && message.readUInt16BE(6) === 1 && (message.readUInt16BE(2) & 0x020f) === 0;
      if (measuring()) {
        if (ok) counts.answered += 1;
        else counts.wrong += 1;
      }
      if (process.hrtime.bigint() < until) send();
      else if (sentAt.size === 0) resolve();
    });
    const sweeper = setInterval(() => {
      const now = Date.now();
      for (const [id, at] of sentAt) {
        if (now - at < LOST_AFTER_MS) continue;
        sentAt.delete(id);
        if (measuring()) counts.lost += 1;
        if (process.hrtime.bigint() < until) send();
      }
      if (process.hrtime.bigint() >= until) {
        clearInterval(sweeper);
        resolve();
      }
    }, 100);
    for (let i = 0; i < WINDOW; i++) send();
  });
  socket.close();
}

async function main(): Promise<void> {
  installExitHooks();
  const dnsPort = await freePort();
  const { server } = await startServer('knock', {
    cpus: SERVER_CPUS,
    env: {
      KNOCK_DNS_PORT: String(dnsPort),
      KNOCK_DNS_HOST: '127.0.0.1',
      KNOCK_DNS_NAMESERVERS: 'ns1.bench.test,ns2.bench.test',
      KNOCK_PUBLIC_IPS: '192.0.2.10,2001:db8::10',
      KNOCK_DNS_RESPONSES_PER_SECOND: '0',
    },
  });
  const pid = server.procs[0]!.pid;
  try {
    // The domain goes in through the storage adapter, on the database the server has open (SQLite in WAL mode).
    const storage = SqliteStorage.open({ file: path.join(server.dataDir!, 'knock.db') });
    const account = await storage.createAccount({ handle: 'benchowner', displayName: 'Bench', passwordHash: 'unused', at: Date.now() });
    await storage.addDomain({ name: DOMAIN, accountId: account.id, dkimSelector: 'knock1', dkimPublicKey: 'MIIBIjANBgkq', dkimPrivateKey: 'unused', at: Date.now() });
    await storage.recordDomainCheck(DOMAIN, { active: true, error: null, at: Date.now() });
    await storage.close();
    // Warm up for a second (JIT, the zone read), then measure.
    const counts: Counts = { answered: 0, wrong: 0, lost: 0 };
    let measuring = false;
    const warmUntil = process.hrtime.bigint() + 1_000_000_000n;
    await Promise.all(Array.from({ length: SOCKETS }, () => drive(dnsPort, warmUntil, counts, () => measuring)));
    measuring = true;
    const cpuBefore = cpuSeconds(pid);
    const started = process.hrtime.bigint();
    const until = started + BigInt(Math.round(SECONDS * 1e9));
    await Promise.all(Array.from({ length: SOCKETS }, () => drive(dnsPort, until, counts, () => measuring)));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = (cpuSeconds(pid) - cpuBefore) / seconds;
    console.log(
      JSON.stringify(
        {
          bench: 'dnsQueries',
          query: `${DOMAIN} A over UDP, cached zone, RRL off`,
          sockets: SOCKETS,
          window: WINDOW,
          seconds: Number(seconds.toFixed(2)),
          answered: counts.answered,
          queriesPerSecond: Math.round(counts.answered / seconds),
          wrongAnswers: counts.wrong,
          lost: counts.lost,
          serverCores: Number(cpu.toFixed(2)),
        },
        null,
        2,
      ),
    );
  } finally {
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
