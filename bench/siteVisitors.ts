/**
 * Live help (issue 19): how many monitored visitors one Knock process holds in a company's SiteRoom with an
 * operator's console live, what each costs in memory and idle CPU, and how many page views per second it ingests
 * (stored as page views AND shown to the operator).
 *
 *   node --import tsx bench/siteVisitors.ts [--visitors 10000] [--concurrency 64] [--seconds 10] [--server-cpus 0]
 *
 * Knock runs as `npm start` runs it (SQLite in a fresh data directory), pinned to the server CPU; this process is the
 * load (pin it to the other CPU: `taskset -c 1 node ...`). Visitors speak what the widget's monitor frame speaks:
 * colyseus.js, `joinOrCreate('site', { as: 'visitor', ... })`, then `page` messages; the operator joins with a
 * session cookie, as the console does, and receives every visitor's change.
 * - Held: visitors joined and listed by the operator; memory is the server's RSS after a full GC, before and after.
 * - Ingest: closed loop, every visitor moves to its next page as soon as the operator saw its last one; page views per
 *   second = changes the operator received per second over the window (each one a page view recorded, the one
 *   before ended, in SQLite).
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { Client, type Room } from 'colyseus.js';
import { ROOMS_PATH, type SiteVisitorRecord } from '../engine/protocol.ts';
import { ownerHeaders } from './load/connections.ts';
import { CpuMeter } from './lib/procfs.ts';
import { installExitHooks, repoRoot, sleep } from './lib/processes.ts';
import { startServer } from './targets.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const VISITORS = Number(arg('visitors', '10000'));
const CONCURRENCY = Number(arg('concurrency', '64'));
const SECONDS = Number(arg('seconds', '10'));
const SERVER_CPUS = arg('server-cpus', '0');
const SITE = 'https://shop.example';
const COMPANY = 'shop';

/** `npx knock ...` against the server's data directory (SQLite in WAL mode: the running server sees the rows). */
function cli(dataDir: string, args: string[]): void {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'engine/cli.ts', ...args], {
    cwd: repoRoot,
    env: { ...process.env, KNOCK_DATA_DIR: dataDir, KNOCK_LOG_LEVEL: 'warn' },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`knock ${args.join(' ')} failed: ${run.stderr || run.stdout}`);
}

interface Visitor {
  id: string;
  room: Room;
  /** The number of the page it is on (its URL is pageUrl(page)). */
  page: number;
}

async function main(): Promise<void> {
  installExitHooks();
  const { server, seeded } = await startServer('knock', {
    cpus: SERVER_CPUS,
    seed: { op: { count: 1, sessions: true } },
    env: { KNOCK_SITE_MAX_VISITORS: String(VISITORS * 2), KNOCK_SITE_VISITOR_GRACE_MS: '1000' },
  });
  const endpoint = server.endpoints[0]! + ROOMS_PATH;
  const operatorAccount = seeded.op![0]!;
  const visitors = new Map<string, Visitor>();
  let updates = 0;
  let listed = 0;
  let ingesting = false;
  const nextPage = (visitor: Visitor) => {
    visitor.page++;
    visitor.room.send('page', { url: pageUrl(visitor.page), title: `Page ${visitor.page}`, referrer: pageUrl(visitor.page - 1) });
  };
  try {
    cli(server.dataDir!, ['company', 'add', COMPANY, '--name', 'Shop Ltd', '--admin', operatorAccount.handle]);
    cli(server.dataDir!, ['site', 'add', COMPANY, SITE]);

    const operator = await new Client(endpoint, { headers: ownerHeaders(operatorAccount.token) }).joinOrCreate('site', { as: 'operator', handle: COMPANY });
    const seen = new Set<string>();
    operator.onMessage('visitors', (m: { visitors: SiteVisitorRecord[] }) => m.visitors.forEach((v) => seen.add(v.visitorId)));
    operator.onMessage('visitor', (v: SiteVisitorRecord) => {
      updates++;
      if (!seen.has(v.visitorId)) seen.add(v.visitorId);
      listed = seen.size;
      const visitor = visitors.get(v.visitorId);
      // Closed loop: the view the operator just saw was this visitor's newest page: on to the next one.
      if (visitor && ingesting && v.page.url === pageUrl(visitor.page)) nextPage(visitor);
    });
    for (const type of ['status', 'visitor.gone', 'chats', 'error']) operator.onMessage(type, () => undefined);

    const baseline = await server.memory();
    const client = new Client(endpoint);
    const joinStarted = performance.now();
    let next = 0;
    let failed = 0;
    const firstErrors: string[] = [];
    const joiner = async () => {
      while (next < VISITORS) {
        next++;
        const id = randomBytes(16).toString('base64url');
        try {
          const room = await client.joinOrCreate('site', { as: 'visitor', handle: COMPANY, visitorId: id, site: SITE, monitor: true });
          for (const type of ['status', 'invited', 'error']) room.onMessage(type, () => undefined);
          const visitor: Visitor = { id, room, page: 0 };
          visitors.set(id, visitor);
          room.send('page', { url: pageUrl(0), title: 'Home', referrer: '' });
        } catch (err) {
          failed++;
          if (firstErrors.length < 3) firstErrors.push(String(err));
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, joiner));
    const deadline = Date.now() + 120_000;
    while (listed < visitors.size && Date.now() < deadline) await sleep(200);
    const joinSeconds = (performance.now() - joinStarted) / 1000;
    await sleep(2000);
    const idle = new CpuMeter({ server: server.procs.map((p) => p.pid) });
    await sleep(5000);
    const idleCores = idle.read().cores.server ?? 0;
    const held = await server.memory();

    ingesting = true;
    const startUpdates = updates;
    const meter = new CpuMeter({ server: server.procs.map((p) => p.pid), load: [process.pid] });
    for (const visitor of visitors.values()) nextPage(visitor);
    await sleep(SECONDS * 1000);
    const ingested = updates - startUpdates;
    const ingestCpu = meter.read();
    ingesting = false;

    const perVisitor = (held.rssBytes - baseline.rssBytes) / Math.max(1, visitors.size);
    console.log(`site visitors (one process, SQLite, operator console live):`);
    console.log(`  visitors held and listed: ${listed} of ${VISITORS} (${failed} failed${firstErrors.length ? `: ${firstErrors.join(' | ')}` : ''}), joined in ${joinSeconds.toFixed(1)} s (${(visitors.size / joinSeconds).toFixed(0)}/s)`);
    console.log(`  memory: RSS ${(baseline.rssBytes / 2 ** 20).toFixed(0)} MiB -> ${(held.rssBytes / 2 ** 20).toFixed(0)} MiB, ${(perVisitor / 1024).toFixed(1)} KiB per monitored visitor`);
    console.log(`  idle CPU with ${visitors.size} visitors connected: ${idleCores.toFixed(3)} cores`);
    console.log(`  page views ingested: ${(ingested / ingestCpu.seconds).toFixed(0)}/s (server ${ingestCpu.cores.server?.toFixed(2)} cores, this load process ${ingestCpu.cores.load?.toFixed(2)}; ${ingested} in ${ingestCpu.seconds.toFixed(1)} s)`);
    await Promise.allSettled([...visitors.values()].map((v) => v.room.leave()));
    await operator.leave();
  } finally {
    await server.stop();
  }
}

function pageUrl(n: number): string {
  return `${SITE}/products/${n}`;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
