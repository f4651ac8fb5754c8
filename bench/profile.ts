/**
 * Where Knock's relay spends its CPU: starts Knock (as the bench does: pinned, seeded, SQLite) under V8's
 * sampling profiler, drives the 1:1 relay in a closed loop from the load processes, and prints the functions with
 * the most self time. The `.cpuprofile` stays for Chrome DevTools (Performance > Load profile).
 *
 *   node --import tsx bench/profile.ts [--pairs 100] [--window 8] [--seconds 8] [--kind knock]
 *   node --import tsx bench/profile.ts --rate 4000     # open loop at a set rate instead of saturation
 *   node --import tsx bench/profile.ts --kind colyseus --rate 4000   # a baseline (ws, colyseus) the same way
 *   node --import tsx bench/profile.ts --rate 4000 --no-profile      # the same run without the profiler's own cost
 *   node --import tsx bench/profile.ts --kind postgres --pairs 60     # one process on PostgreSQL + Redis (as `cluster`)
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killAll } from './lib/processes.ts';
import { WorkerPool } from './load/workerPool.ts';
import { modes } from './modes.ts';
import type { BenchContext } from './scenarios/context.ts';
import { openPairs, closePairs, runStep } from './scenarios/throughput.ts';
import { testServices } from '../test/support/throwawayServices.ts';
import type { PairSpec } from './load/messages.ts';
import { claimClusterStore, type ClusterStore } from './scenarios/cluster.ts';
import { startKnockCluster, startServer, type RunningServer, type ServerKind } from './targets.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

/** Self time per function (name + file:line), in percent of all samples, the top `limit`. */
export function topSelf(profile: CpuProfile, limit: number): Array<{ percent: number; where: string }> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map<string, number>();
  for (const id of profile.samples) {
    const frame = byId.get(id)!.callFrame;
    const file = frame.url.replace(/^file:\/\//, '').replace(process.cwd() + '/', '');
    const where = `${frame.functionName || '(anonymous)'} ${file ? `${file}:${frame.lineNumber + 1}` : ''}`.trim();
    counts.set(where, (counts.get(where) ?? 0) + 1);
  }
  const total = profile.samples.length;
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([where, n]) => ({ percent: (100 * n) / total, where }));
}

async function main(): Promise<void> {
  const kind = arg('--kind', 'knock') as ServerKind | 'postgres';
  const pairs = Number(arg('--pairs', '100'));
  const window = Number(arg('--window', '8'));
  const rate = Number(arg('--rate', '0'));
  const seconds = Number(arg('--seconds', '8'));
  // The sampling profiler costs the server CPU of its own: `--no-profile` measures the same run without it.
  const unprofiled = process.argv.includes('--no-profile');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'knock-profile-'));
  const mode = modes.quick;
  const pool = await WorkerPool.start(mode.workers, '1');
  const ctx: BenchContext = { mode, pool, serverCpus: '0', loadCpus: '1', loadCpuCount: 1, log: (l) => console.log(l), errors: [] };
  const nodeFlags = unprofiled ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  const { server, specs, release } = kind === 'postgres' ? await startOnPostgres(ctx, pairs, nodeFlags) : await startOnSqlite(kind, pairs, nodeFlags);
  try {
    await openPairs(ctx, server, specs);
    const load = rate > 0 ? ({ mode: 'open', ratePerSec: rate } as const) : ({ mode: 'closed', window } as const);
    const step = await runStep(ctx, server, load, { warmupMs: 1000, measureMs: seconds * 1000, drainMs: 3000 });
    console.log(`delivered ${Math.round(step.deliveredPerSec)} msg/s, server CPU ${step.cpu.server.toFixed(2)} cores, load CPU ${step.cpu.load.toFixed(2)}, other ${step.cpu.other.toFixed(2)}, iowait ${step.cpu.iowait.toFixed(2)}${step.loadBound ? " (load-bound)" : ""}, p50 ${step.latency.p50Ms.toFixed(1)} ms, p99 ${step.latency.p99Ms.toFixed(1)} ms`);
    await closePairs(ctx);
  } finally {
    await server.stop();
    await release();
    await pool.stop();
    killAll();
  }
  if (unprofiled) return;
  // The main thread's profile (a worker thread writes its own, numbered after it).
  const file = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()[0];
  if (!file) throw new Error(`no profile written in ${dir}`);
  const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
  for (const row of topSelf(profile, Number(arg('--top', '40')))) console.log(`${row.percent.toFixed(1).padStart(5)}%  ${row.where}`);
  console.log(`\nprofile: ${path.join(dir, file)}`);
}

interface Profiled {
  server: RunningServer;
  specs: PairSpec[];
  /** Frees what the server used besides itself (its schema and Redis database). */
  release: () => Promise<void>;
}

/** Knock on its defaults (SQLite, seeded owners with a visitor each), or a baseline (two anonymous sockets a pair). */
async function startOnSqlite(kind: ServerKind, pairs: number, nodeFlags: string[]): Promise<Profiled> {
  const { server, seeded } = await startServer(kind, { cpus: '0', ...(kind === 'knock' ? { seed: { pair: { count: pairs, sessions: true } } } : {}), nodeFlags });
  const endpoint = server.endpoints[0]!;
  const specs = seeded.pair ? seeded.pair.map((owner, i) => ({ id: `p${i}`, endpoint, owner })) : Array.from({ length: pairs }, (_, i) => ({ id: `p${i}`, endpoint }));
  return { server, specs, release: async () => undefined };
}

/** One Knock process on PostgreSQL + Redis (found as the cluster scenario finds them), in a schema of its own. */
async function startOnPostgres(ctx: BenchContext, pairs: number, nodeFlags: string[]): Promise<Profiled> {
  const services = await testServices();
  let store: ClusterStore | null = null;
  const release = async () => {
    await store?.release();
    await services.stop();
  };
  try {
    store = await claimClusterStore(ctx, services, pairs);
    const server = await startKnockCluster(1, store.env, ['0'], nodeFlags);
    return { server, specs: store.owners.map((owner, i) => ({ id: `p${i}`, endpoint: server.endpoints[0]!, owner })), release };
  } catch (err) {
    await release();
    throw err;
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    killAll();
    process.exit(1);
  },
);
