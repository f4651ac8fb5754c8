/**
 * Knock's load bench (issue #3): `npm run bench` (quick, under 3 minutes), `npm run bench -- --full`,
 * `node --import tsx bench/run.ts --smoke` (CI: seconds, a handful of clients, every scenario end to end).
 *
 * One server process at a time, pinned to the server CPUs; the load in separate processes pinned to the other CPUs
 * (bench/load/worker.ts, colyseus.js and `ws` clients, the protocol the browser speaks); everything on 127.0.0.1.
 * In order: the matchmaking driver alone; Knock (open a URL, relay throughput and latency, activation, memory per
 * owner and per visitor); the plain ws relay (the wire's limit) and bare Colyseus on Colyseus's LocalDriver at the
 * same rates and counts; the XMPP servers a self-hoster would run instead, ejabberd and Prosody (Debian's packages,
 * message archiving on; bench/peers/), with the same workload over XMPP; bare Colyseus's owner ramp and activation
 * on Knock's IndexedDriver (what the driver alone changes; Knock itself runs on it); two Knock processes on PostgreSQL + Redis; document sync (Yjs updates through
 * the DocRoom) and Pong games on Knock. Then the targets, as ratios to the
 * plain ws relay of this run, a JSON file and an HTML report under bench/results/, and a table on the terminal.
 *
 * Options: --smoke | --quick | --full, --out <dir>, --server-cpus <list>, --load-cpus <list>,
 * --cluster-cpus <list,list>, --only <drivers,knock,ws,colyseus,ejabberd,prosody,colyseusIndexed,cluster,docs,games>
 * (each of knock, ws, colyseus, ejabberd, prosody and colyseusIndexed is the server kind it starts; docs and games
 * start Knock).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { machineInfo } from './lib/procfs.ts';
import { installExitHooks, killAll, pinProcess, repoRoot } from './lib/processes.ts';
import type { IdleSpec, PairSpec } from './load/messages.ts';
import { WorkerPool } from './load/workerPool.ts';
import { modes, type ModeName } from './modes.ts';
import { renderHtml } from './report/html.ts';
import { renderTable } from './report/table.ts';
import { checkPeerTargets } from './report/peerTargets.ts';
import { checkTargets } from './report/targets.ts';
import type { ActivationResult, BenchReport } from './results.ts';
import { measureCluster } from './scenarios/cluster.ts';
import { activate, closeIdle, holdRoomsWithVisitors, memoryRamp } from './scenarios/connections.ts';
import type { BenchContext } from './scenarios/context.ts';
import { measureDocSync } from './scenarios/docSync.ts';
import { measureDrivers } from './scenarios/driverMicro.ts';
import { measureGames } from './scenarios/games.ts';
import { measureOpenUrl } from './scenarios/openUrl.ts';
import { probeStorage } from './scenarios/storageProbe.ts';
import { measureThroughput } from './scenarios/throughput.ts';
import { measureXmppPeer } from './scenarios/xmppPeers.ts';
import { ejabberdMnesiaPeer, ejabberdPeer } from './peers/ejabberd.ts';
import { prosodyPeer } from './peers/prosody.ts';
import type { SeedPlan, Seeded } from './seed.ts';
import { startServer, type RunningServer, type ServerKind } from './targets.ts';

/** Smoke mode checks that every scenario produces numbers, on CI machines busy with other tests: pings stay out of it. */
const SMOKE_PING_INTERVAL_MS = 10_000;

const SCENARIOS = ['drivers', 'knock', 'ws', 'colyseus', 'ejabberd', 'prosody', 'ejabberdMnesia', 'colyseusIndexed', 'cluster', 'docs', 'games'] as const;
/** Run only when named in --only (or in --full mode): a variant, not what a self-hoster gets by default. */
const ON_REQUEST: ReadonlySet<Scenario> = new Set(['ejabberdMnesia']);
type Scenario = (typeof SCENARIOS)[number];

interface Options {
  mode: ModeName;
  out: string;
  serverCpus: string;
  loadCpus: string;
  clusterCpus: string[];
  clusterNote: string;
  only: Set<Scenario>;
}

function parseArgs(argv: string[]): Options {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const mode: ModeName = argv.includes('--smoke') ? 'smoke' : argv.includes('--full') ? 'full' : 'quick';
  const cpus = os.cpus().length;
  // Two cores: the server on one, the load on the other. More: a core each for two cluster processes too.
  const serverCpus = value('--server-cpus') ?? '0';
  const loadCpus = value('--load-cpus') ?? (cpus >= 3 ? `2-${cpus - 1}` : cpus === 2 ? '1' : '0');
  const clusterCpus = value('--cluster-cpus')?.split(',') ?? (cpus >= 3 ? ['0', '1'] : [serverCpus, serverCpus]);
  const shared = new Set(clusterCpus).size < 2;
  const clusterNote = shared
    ? `Both processes are pinned to CPU ${clusterCpus[0]}: this ${cpus}-core machine has no core to spare for a second server process (the other runs the load), so the ratio shows what coordination costs, not how far a second core scales. PostgreSQL and Redis run unpinned on the same machine. Run with --cluster-cpus 0,1 (the second process then shares the load's core) or on a machine with more cores.`
    : `Process 1 on CPU ${clusterCpus[0]}, process 2 on CPU ${clusterCpus[1]}, load on CPU ${loadCpus}; PostgreSQL and Redis run unpinned on the same machine.`;
  const named = value('--only')?.split(',') as Scenario[] | undefined;
  const only = new Set(named ?? SCENARIOS.filter((s) => mode === 'full' || !ON_REQUEST.has(s)));
  for (const s of only) if (!SCENARIOS.includes(s)) throw new Error(`--only: unknown scenario "${s}" (use ${SCENARIOS.join(', ')})`);
  return { mode, out: path.resolve(value('--out') ?? path.join(repoRoot, 'bench/results')), serverCpus, loadCpus, clusterCpus, clusterNote, only };
}

function cpuCount(list: string): number {
  return list.split(',').reduce((n, part) => {
    const [a, b] = part.split('-').map(Number);
    return n + (b === undefined ? 1 : b - a! + 1);
  }, 0);
}

function gitInfo(): BenchReport['git'] {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: repoRoot, encoding: 'utf8' }).trim() !== '';
    return { commit, dirty };
  } catch {
    return null;
  }
}

function openFilesLimit(): string {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    return line?.split(/\s{2,}/)[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The accounts a Knock server needs. Chat server: pair owners, URL owners, the URLs idle visitors open (anchors);
 * rooms server: owners for the ramp, URLs to activate. Both: a few for warming up.
 */
function knockSeedPlan(mode: (typeof modes)[ModeName], purpose: 'chat' | 'rooms'): SeedPlan {
  const { throughput, connections, activation, openUrl } = mode;
  const warm = { warm: { count: 20, sessions: true } };
  if (purpose === 'chat') {
    return { pair: { count: throughput.pairs, sessions: true }, url: { count: openUrl.owners, sessions: true }, anc: { count: connections.anchors, sessions: false }, ...warm };
  }
  return { own: { count: Math.max(...connections.ownerCounts), sessions: true }, act: { count: activation.handles * 3, sessions: false }, ...warm };
}

/** For servers without accounts (bare Colyseus), the same handles with no session. */
function namesOnly(plan: SeedPlan): Seeded {
  return Object.fromEntries(Object.entries(plan).map(([group, { count }]) => [group, Array.from({ length: count }, (_, i) => ({ handle: `${group}${i}`, token: '' }))]));
}

/**
 * On a fresh server (so no freed memory of earlier work hides what owners cost): the owner ramp (memory per owner,
 * a room each), activation with those rooms open; then (Knock) the same number of rooms held open by one idle
 * visitor each, owners offline, and activation with those open; then, once every room is gone, with none open.
 */
async function ownersAndActivation(ctx: BenchContext, server: RunningServer, seeded: Seeded, report: BenchReport): Promise<void> {
  const endpoint = server.endpoints[0]!;
  const spec = (a: { handle: string; token: string }): IdleSpec => ({ endpoint, handle: a.handle, token: a.token });
  const half = ctx.mode.activation.handles;
  const act = seeded.act!.map(spec);
  const owners = seeded.own!.map(spec);
  report.memory.push(await memoryRamp(ctx, server, { shape: 'owner', specs: owners, counts: ctx.mode.connections.ownerCounts, warmup: seeded.warm!.map(spec) }));
  const ramp = report.memory.at(-1)!;
  const roomsOpen = ramp.points.at(-1)?.connections ?? 0;
  const withOwners = await activate(ctx, server, act.slice(half, 2 * half), { rooms: roomsOpen, heldBy: 'owners' }, ramp.points.at(-1)?.idleCpuCores ?? 0);
  // Every room disposes as its last client leaves; closeIdle waits until the server is done with them.
  await closeIdle(ctx, server);
  let withVisitors: ActivationResult | null = null;
  if (server.kind === 'knock' && roomsOpen > 0) {
    const held = await holdRoomsWithVisitors(ctx, server, owners.slice(0, roomsOpen));
    withVisitors = await activate(ctx, server, act.slice(2 * half, 3 * half), { rooms: held.rooms, heldBy: 'visitors' }, held.idleCpuCores);
    await closeIdle(ctx, server);
  }
  report.activation.push(await activate(ctx, server, act.slice(0, half)), withOwners, ...(withVisitors ? [withVisitors] : []));
  await closeIdle(ctx, server);
}

/** On a fresh server: idle visitors, each with one of the anchors' URLs open (those rooms open before the baseline). */
async function visitorMemory(ctx: BenchContext, server: RunningServer, seeded: Seeded, report: BenchReport): Promise<void> {
  const endpoint = server.endpoints[0]!;
  const anchors = seeded.anc!.map((a) => ({ endpoint, handle: a.handle }));
  const total = Math.max(...ctx.mode.connections.visitorCounts);
  const visitors = Array.from({ length: total }, (_, i) => anchors[i % anchors.length]!);
  const warmup = seeded.warm!.map((a) => ({ endpoint, handle: a.handle }));
  report.memory.push(await memoryRamp(ctx, server, { shape: 'visitor', specs: visitors, counts: ctx.mode.connections.visitorCounts, anchorSpecs: anchors, warmup }));
  await closeIdle(ctx, server);
}

/**
 * The chat work (visitor memory, throughput...) and then the rooms work (owner memory, activation) of one kind of
 * server: on two fresh servers, so neither inherits the other's freed memory, or (smoke) on one, to save a start.
 */
async function chatThenRooms(ctx: BenchContext, report: BenchReport, kind: 'knock' | 'colyseus', rooms: boolean, chat: (server: RunningServer, seeded: Seeded) => Promise<void>): Promise<void> {
  const seeds = { chat: knockSeedPlan(ctx.mode, 'chat'), rooms: knockSeedPlan(ctx.mode, 'rooms') };
  const accounts = kind === 'knock';
  const seedFor = (plan: SeedPlan) => (accounts ? plan : undefined);
  const seededFor = (plan: SeedPlan, seeded: Seeded) => (accounts ? seeded : namesOnly(plan));
  const roomsWork = (server: RunningServer, seeded: Seeded) => ownersAndActivation(ctx, server, seeded, report);
  if (ctx.mode.freshServers || !rooms) {
    await withServer(ctx, kind, seedFor(seeds.chat), (server, seeded) => chat(server, seededFor(seeds.chat, seeded)));
    if (rooms) await withServer(ctx, kind, seedFor(seeds.rooms), (server, seeded) => roomsWork(server, seededFor(seeds.rooms, seeded)));
    return;
  }
  const both = { ...seeds.chat, ...seeds.rooms };
  await withServer(ctx, kind, seedFor(both), async (server, seeded) => {
    await chat(server, seededFor(both, seeded));
    await roomsWork(server, seededFor(both, seeded));
  });
}

async function withServer(ctx: BenchContext, kind: ServerKind, seed: SeedPlan | undefined, body: (server: RunningServer, seeded: Seeded) => Promise<void>): Promise<void> {
  ctx.log(`starting ${kind} on CPU ${ctx.serverCpus}`);
  const { server, seeded } = await startServer(kind, { cpus: ctx.serverCpus, ...(seed ? { seed } : {}), ...(ctx.mode.name === 'smoke' ? { pingIntervalMs: SMOKE_PING_INTERVAL_MS } : {}) });
  try {
    await body(server, seeded);
  } finally {
    await server.stop();
  }
}

/**
 * How much CPU other processes took while this run measured (they run on the server's core too). The cluster
 * scenario is left out: its PostgreSQL and Redis are "other" by design.
 */
function contention(report: BenchReport): BenchReport['contention'] {
  const others = [
    ...report.throughput.flatMap((t) => [t.saturation, ...t.steps]).map((s) => s.cpu.other),
    ...report.activation.map((a) => a.cpu.other),
    ...report.memory.flatMap((m) => m.points.map((p) => p.openingCpu.other)),
    ...(report.docSync ? [report.docSync.saturation, ...report.docSync.steps].map((s) => s.cpu.other) : []),
    ...(report.games?.points.map((p) => p.cpu.other) ?? []),
  ];
  if (others.length === 0) return { meanOtherCores: 0, maxOtherCores: 0, samples: 0 };
  return { meanOtherCores: others.reduce((a, b) => a + b, 0) / others.length, maxOtherCores: Math.max(...others), samples: others.length };
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const opts = parseArgs(argv);
  const mode = modes[opts.mode];
  // Interrupted (Ctrl-C, SIGTERM): the children are killed, and what was measured so far is still written.
  let interrupted: (signal: NodeJS.Signals) => void = () => undefined;
  installExitHooks((signal) => interrupted(signal));
  // The controller runs on the load CPUs too, so it never takes the server's (-a: every thread).
  pinProcess(process.pid, opts.loadCpus);
  if (!existsSync(path.join(repoRoot, 'client/dist/index.html'))) {
    console.log('building the browser app (client/dist) that Knock serves');
    execFileSync(process.execPath, ['--import', 'tsx', 'client/build.ts'], { cwd: repoRoot, stdio: 'inherit' });
  }
  const started = Date.now();
  const machine = machineInfo();
  const report: BenchReport = {
    version: 1,
    mode: mode.name,
    command: `node --import tsx bench/run.ts ${argv.join(' ')}`.trim(),
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    machine: { cpus: machine.cpus, model: machine.model, memoryBytes: machine.memoryBytes, node: machine.node, kernel: machine.kernel, loadAverageStart: machine.loadAverage, loadAverageEnd: [], openFilesLimit: openFilesLimit() },
    pinning: { serverCpus: opts.serverCpus, loadCpus: opts.loadCpus, clusterCpus: opts.clusterCpus },
    git: gitInfo(),
    throughput: [],
    memory: [],
    activation: [],
    openUrl: [],
    cluster: { skipped: 'not run', pairs: 0, single: null, double: null, singleAtHalf: null, doubleAtHalf: null, cpusPerProcess: opts.clusterCpus, note: opts.clusterNote },
    driverMicro: [],
    docSync: null,
    games: null,
    storageProbe: null,
    peers: [],
    targets: [],
    contention: { meanOtherCores: 0, maxOtherCores: 0, samples: 0 },
    errors: [],
  };
  const log = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);
  interrupted = (signal) => {
    report.errors.push(`interrupted by ${signal}: the report holds what was measured before`);
    writeReport(report, opts.out, started);
  };
  log(`${mode.name} mode: server on CPU ${opts.serverCpus}, ${mode.workers} load processes on CPU ${opts.loadCpus}`);
  const pool = await WorkerPool.start(mode.workers, opts.loadCpus);
  const ctx: BenchContext = { mode, pool, serverCpus: opts.serverCpus, loadCpus: opts.loadCpus, loadCpuCount: cpuCount(opts.loadCpus), log, errors: report.errors };
  let failed = false;
  const scenario = async (name: Scenario, body: () => Promise<void>) => {
    if (!opts.only.has(name)) return;
    try {
      await body();
    } catch (err) {
      failed = true;
      const text = err instanceof Error ? err.stack ?? err.message : String(err);
      report.errors.push(`${name}: ${text}`);
      log(`${name} FAILED: ${text}`);
      // Connections of the failed scenario must not leak into the next one.
      await pool.all({ cmd: 'closePairs', timeoutMs: 20_000 }, 30_000).catch(() => undefined);
      await pool.all({ cmd: 'leaveGames', close: true, timeoutMs: 20_000 }, 30_000).catch(() => undefined);
      await closeIdle(ctx).catch(() => undefined);
    }
  };

  try {
    await scenario('drivers', async () => {
      report.driverMicro = await measureDrivers(ctx);
    });

    const knockRates = (sat: number) => [...mode.throughput.knockFractions.map((f) => f * sat), ...mode.throughput.fixedRates];
    let knockSaturation = 0;
    await scenario('knock', async () => {
      const chat = async (server: RunningServer, seeded: Seeded) => {
        const endpoint = server.endpoints[0]!;
        await visitorMemory(ctx, server, seeded, report);
        report.openUrl.push(await measureOpenUrl(ctx, server, seeded.url!.map((a) => ({ endpoint, handle: a.handle, token: a.token }))));
        report.storageProbe = probeStorage(500, 1000);
        log(`storage: fdatasync p50 ${report.storageProbe.latency.p50Ms.toFixed(2)} ms, p99 ${report.storageProbe.latency.p99Ms.toFixed(2)} ms (${report.storageProbe.path})`);
        const pairs: PairSpec[] = seeded.pair!.map((owner, i) => ({ id: `k${i}`, endpoint, owner }));
        const result = await measureThroughput(ctx, server, { pairs, rates: knockRates });
        knockSaturation = result.saturation.deliveredPerSec;
        report.throughput.push(result);
      };
      await chatThenRooms(ctx, report, 'knock', true, chat);
    });

    // The baselines run Knock's absolute rates (the same-rate latency comparison) and their own fractions.
    const baselineRates = (sat: number) => [...(knockSaturation > 0 ? knockRates(knockSaturation) : []), ...mode.throughput.ownFractions.map((f) => f * sat)];
    const pairsFor = (endpoint: string, prefix: string): PairSpec[] => Array.from({ length: mode.throughput.pairs }, (_, i) => ({ id: `${prefix}${i}`, endpoint }));

    await scenario('ws', () =>
      withServer(ctx, 'ws', undefined, async (server) => {
        const sockets = Array.from({ length: Math.max(...mode.connections.visitorCounts) }, () => ({ endpoint: server.endpoints[0]! }));
        report.memory.push(await memoryRamp(ctx, server, { shape: 'plain', specs: sockets, counts: mode.connections.visitorCounts, warmup: sockets.slice(0, 20) }));
        await closeIdle(ctx, server);
        report.throughput.push(await measureThroughput(ctx, server, { pairs: pairsFor(server.endpoints[0]!, 'w'), rates: baselineRates }));
      }),
    );

    await scenario('colyseus', () =>
      chatThenRooms(ctx, report, 'colyseus', mode.colyseusRooms, async (server, seeded) => {
        await visitorMemory(ctx, server, seeded, report);
        report.throughput.push(await measureThroughput(ctx, server, { pairs: pairsFor(server.endpoints[0]!, 'c'), rates: baselineRates }));
      }),
    );

    // The XMPP servers: the same pairs and idle users, over XMPP, at Knock's rates and a fraction of their own.
    for (const peer of [ejabberdPeer, prosodyPeer, ejabberdMnesiaPeer]) {
      await scenario(peer.kind, async () => {
        // What an fsync costs here bounds ejabberd's archive on SQLite as it bounds Knock's acks.
        report.storageProbe ??= probeStorage(500, 1000);
        report.peers.push(await measureXmppPeer(ctx, report, peer, baselineRates));
      });
    }

    await scenario('colyseusIndexed', async () => {
      if (!mode.colyseusIndexed) {
        log(`colyseusIndexed: not run in ${mode.name} mode (--full or --smoke runs it)`);
        return;
      }
      await withServer(ctx, 'colyseusIndexed', undefined, (server) => ownersAndActivation(ctx, server, namesOnly(knockSeedPlan(mode, 'rooms')), report));
    });

    await scenario('cluster', async () => {
      report.cluster = await measureCluster(ctx, opts.clusterCpus, opts.clusterNote);
    });

    // Documents and games each on a fresh Knock, one owner account (logged in) per document or game.
    await scenario('docs', () =>
      withServer(ctx, 'knock', { doc: { count: mode.docs.docs, sessions: true } }, async (server, seeded) => {
        report.docSync = await measureDocSync(ctx, server, seeded.doc!);
      }),
    );

    await scenario('games', () =>
      withServer(ctx, 'knock', { game: { count: Math.max(...mode.games.counts), sessions: true } }, async (server, seeded) => {
        report.games = await measureGames(ctx, server, seeded.game!);
      }),
    );
  } finally {
    await pool.stop().catch(() => undefined);
    killAll();
  }

  writeReport(report, opts.out, started);
  return failed ? 2 : 0;
}

/** Completes the report (targets, contention), writes the JSON and HTML files and prints the table. */
function writeReport(report: BenchReport, out: string, started: number): void {
  report.durationMs = Date.now() - started;
  report.machine.loadAverageEnd = os.loadavg();
  report.targets = [...checkTargets(report), ...checkPeerTargets(report)];
  report.contention = contention(report);
  mkdirSync(out, { recursive: true });
  const base = path.join(out, `${report.startedAt.replace(/[:.]/g, '-')}-${report.mode}`);
  writeFileSync(`${base}.json`, JSON.stringify(report, null, 2));
  writeFileSync(`${base}.html`, renderHtml(report));
  console.log(`\n${renderTable(report)}\n\nReport: ${base}.json\n        ${base}.html`);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    killAll();
    process.exit(1);
  },
);
