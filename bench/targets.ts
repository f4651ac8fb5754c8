/**
 * The servers under test, each started as its own process pinned to the server CPUs, on 127.0.0.1 only:
 * - `ws`: the plain ws relay (the wire's limit);
 * - `colyseus` / `colyseusIndexed`: Colyseus with no Knock logic, on Colyseus's LocalDriver / Knock's IndexedDriver
 *   (what the driver alone changes);
 * - `knock`: Knock as `npm start` runs it (engine/main.ts), on SQLite in a fresh data directory (and so on the
 *   IndexedDriver, adapters/presence/coordination.ts);
 * - a Knock cluster: N processes on PostgreSQL + Redis (startKnockCluster);
 * - `ejabberd` / `prosody`: the XMPP servers a self-hoster would run instead (bench/peers/, started by
 *   startXmppPeer there, not here: they are not Node processes).
 * Every Node server is preloaded with bench/servers/memoryProbe.ts and --expose-gc, so memory is read after a full GC.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { WireProtocol } from './load/messages.ts';
import { rssBytes } from './lib/procfs.ts';
import { baseEnv, freePort, repoRoot, sleep, spawnPinned, waitForHttp, type Pinned } from './lib/processes.ts';
import { seedSqlite, type SeedPlan, type Seeded } from './seed.ts';

export type ServerKind = 'ws' | 'colyseus' | 'colyseusIndexed' | 'knock';
/** The XMPP servers measured beside Knock (bench/peers/). */
export type PeerKind = 'ejabberd' | 'ejabberdMnesia' | 'prosody';

export const serverLabels: Record<ServerKind | 'cluster', string> = {
  ws: 'plain ws relay',
  colyseus: 'bare Colyseus (LocalDriver)',
  colyseusIndexed: 'bare Colyseus (IndexedDriver)',
  knock: 'Knock (IndexedDriver)',
  cluster: 'Knock cluster (PostgreSQL + Redis)',
};

export interface MemorySample {
  rssBytes: number;
  heapUsedBytes: number | null;
  externalBytes: number | null;
  /** Whether a full GC ran before the sample (--expose-gc). */
  gc: boolean;
}

export interface RunningServer {
  kind: ServerKind | PeerKind | 'cluster';
  label: string;
  protocol: WireProtocol;
  /** http://127.0.0.1:<port> of each process. */
  endpoints: string[];
  procs: Pinned[];
  /** Knock's data directory (SQLite, blobs), for benches that compare with the disk it is on. */
  dataDir?: string;
  /** Reads the first process's memory after a full GC (Node servers; the XMPP peers: RSS as it is, `gc: false`). */
  memory(): Promise<MemorySample>;
  stop(): Promise<void>;
}

/** Every bench client connects from 127.0.0.1: the per-address caps on sockets would stop the load at a thousand. */
const benchConnectionCaps = { KNOCK_MAX_WEBSOCKETS_PER_IP: '1000000', KNOCK_MAX_CONNECTIONS_PER_IP: '1000000' };

/** Knock's limits, raised so that only the server's capacity limits the load (README "KNOCK_RATE_LIMITS"). */
const UNLIMITED = { perWindow: 1_000_000_000, windowMs: 1000 };
export const benchRateLimits = JSON.stringify({
  socketMessages: UNLIMITED,
  socketSignals: UNLIMITED,
  knocksPerIp: UNLIMITED,
  knocksPerTarget: UNLIMITED,
  loginsPerIp: UNLIMITED,
  loginsPerHandle: UNLIMITED,
  loginsPerHandleAndIp: UNLIMITED,
  signupsPerIp: UNLIMITED,
  // Every load connection joins from 127.0.0.1.
  matchmakesPerIp: UNLIMITED,
  // Yjs messages to a document (60/s per connection by default): the `docs` scenario types far faster.
  docMessages: UNLIMITED,
  // bench/uploads.ts uploads from 127.0.0.1 too.
  uploadsPerIp: UNLIMITED,
  mailConnectionsPerIp: UNLIMITED,
  mailsPerIp: UNLIMITED,
});

const START_TIMEOUT_MS = 60_000;
const MEMORY_TIMEOUT_MS = 10_000;
const probe = pathToFileURL(path.join(repoRoot, 'bench/servers/memoryProbe.ts')).href;

const entries: Record<ServerKind, { script: string; health: string; protocol: WireProtocol; env?: Record<string, string> }> = {
  ws: { script: 'bench/servers/plainWsRelay.ts', health: '/health', protocol: 'ws' },
  colyseus: { script: 'bench/servers/bareColyseus.ts', health: '/health', protocol: 'colyseus' },
  colyseusIndexed: { script: 'bench/servers/bareColyseus.ts', health: '/health', protocol: 'colyseus', env: { BENCH_DRIVER: 'indexed' } },
  knock: { script: 'engine/main.ts', health: '/_/health', protocol: 'knock' },
};

/** Starts one server; Knock gets a fresh data directory, seeded with `seed` before it starts. */
export async function startServer(
  kind: ServerKind,
  opts: { cpus: string; seed?: SeedPlan; nodeFlags?: string[]; pingIntervalMs?: number; env?: Record<string, string> },
): Promise<{ server: RunningServer; seeded: Seeded }> {
  const entry = entries[kind];
  const workDir = mkdtempSync(path.join(os.tmpdir(), `knock-bench-${kind}-`));
  try {
    const isKnock = entry.protocol === 'knock';
    const seeded = isKnock && opts.seed ? await seedSqlite(workDir, opts.seed) : {};
    const port = await freePort();
    const env: Record<string, string> = {
      ...baseEnv(),
      PORT: String(port),
      HOST: '127.0.0.1',
      BENCH_MEMORY_FILE: path.join(workDir, 'memory.json'),
      ...entry.env,
      // No SMTP server unless the bench asks for one (env KNOCK_SMTP_PORT): the default port 2525 is one per machine.
      ...(isKnock ? { KNOCK_DATA_DIR: workDir, KNOCK_LOG_LEVEL: 'warn', KNOCK_RATE_LIMITS: benchRateLimits, KNOCK_SMTP_PORT: '-1', ...benchConnectionCaps } : {}),
      // Smoke mode on a busy CI machine: a late pong must not drop a connection the smoke test counts.
      ...(opts.pingIntervalMs !== undefined
        ? { KNOCK_PING_INTERVAL_MS: String(opts.pingIntervalMs), BENCH_PING_INTERVAL_MS: String(opts.pingIntervalMs) }
        : {}),
      ...opts.env,
    };
    const proc = spawnPinned({ name: kind, cpus: opts.cpus, nodeArgs: ['--expose-gc', ...(opts.nodeFlags ?? []), '--import', 'tsx', '--import', probe, entry.script], env });
    const endpoint = `http://127.0.0.1:${port}`;
    try {
      await waitForHttp(endpoint + entry.health, proc, START_TIMEOUT_MS);
      if (kind === 'colyseusIndexed') await waitForOutput(proc, 'bench: IndexedDriver in use', 5000);
    } catch (err) {
      await proc.stop(1000);
      throw err;
    }
    const server: RunningServer = {
      kind,
      label: serverLabels[kind],
      protocol: entry.protocol,
      endpoints: [endpoint],
      procs: [proc],
      dataDir: workDir,
      memory: () => readMemory(proc, env.BENCH_MEMORY_FILE!),
      stop: async () => {
        await proc.stop();
        rmSync(workDir, { recursive: true, force: true });
      },
    };
    return { server, seeded };
  } catch (err) {
    rmSync(workDir, { recursive: true, force: true });
    throw err;
  }
}

export interface ClusterEnv {
  databaseUrl: string;
  databaseSchema: string;
  redisUrl: string;
}

/** N Knock processes of one cluster (README "Scaling"), process i pinned to cpus[i % cpus.length]. */
export async function startKnockCluster(count: number, cluster: ClusterEnv, cpus: string[], nodeFlags: string[] = []): Promise<RunningServer> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'knock-bench-cluster-'));
  const procs: Pinned[] = [];
  const endpoints: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const env: Record<string, string> = {
        ...baseEnv(),
        PORT: String(port),
        HOST: '127.0.0.1',
        KNOCK_DATA_DIR: path.join(workDir, `p${i}`),
        KNOCK_LOG_LEVEL: 'warn',
        KNOCK_RATE_LIMITS: benchRateLimits,
        KNOCK_SMTP_PORT: '-1',
        ...benchConnectionCaps,
        DATABASE_URL: cluster.databaseUrl,
        KNOCK_DATABASE_SCHEMA: cluster.databaseSchema,
        REDIS_URL: cluster.redisUrl,
        KNOCK_PUBLIC_ADDRESS: `127.0.0.1:${port}`,
        BENCH_MEMORY_FILE: path.join(workDir, `memory-${i}.json`),
      };
      procs.push(spawnPinned({ name: `cluster-${i}`, cpus: cpus[i % cpus.length]!, nodeArgs: ['--expose-gc', ...nodeFlags, '--import', 'tsx', '--import', probe, 'engine/main.ts'], env }));
      endpoints.push(`http://127.0.0.1:${port}`);
    }
    await Promise.all(procs.map((proc, i) => waitForHttp(`${endpoints[i]}/_/health`, proc, START_TIMEOUT_MS)));
  } catch (err) {
    await Promise.all(procs.map((p) => p.stop(1000)));
    rmSync(workDir, { recursive: true, force: true });
    throw err;
  }
  return {
    kind: 'cluster',
    label: `${serverLabels.cluster}, ${count} process${count > 1 ? 'es' : ''}`,
    protocol: 'knock',
    endpoints,
    procs,
    memory: () => readMemory(procs[0]!, path.join(workDir, 'memory-0.json')),
    stop: async () => {
      await Promise.all(procs.map((p) => p.stop()));
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** SIGUSR2 makes the probe run a full GC and write memoryUsage(); RSS is then read from /proc. */
async function readMemory(proc: Pinned, file: string): Promise<MemorySample> {
  rmSync(file, { force: true });
  proc.child.kill('SIGUSR2');
  const deadline = Date.now() + MEMORY_TIMEOUT_MS;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${proc.name} did not write its memory sample within ${MEMORY_TIMEOUT_MS} ms`);
    await sleep(20);
  }
  const usage = JSON.parse(readFileSync(file, 'utf8')) as { heapUsed: number; external: number; gc: boolean };
  const rss = rssBytes(proc.pid);
  if (rss === null) throw new Error(`${proc.name} is gone`);
  return { rssBytes: rss, heapUsedBytes: usage.heapUsed, externalBytes: usage.external, gc: usage.gc };
}

async function waitForOutput(proc: Pinned, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!proc.output().includes(text)) {
    if (Date.now() > deadline) throw new Error(`${proc.name} never printed "${text}":\n${proc.output()}`);
    await sleep(20);
  }
}
