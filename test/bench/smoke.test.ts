/**
 * The load bench (bench/run.ts) end to end in smoke mode, so the harness cannot rot: it runs as a child process,
 * exactly as `node --import tsx bench/run.ts --smoke` does in CI (servers and load processes pinned, real sockets),
 * and the JSON report it writes must have every scenario's numbers, with messages actually delivered.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchReport, LoadStep } from '../../bench/results.ts';
import { testDatabaseUrl } from '../support/postgresSchemas.ts';
import { testRedisUrl } from '../support/redisDatabase.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const RUN_TIMEOUT_MS = 180_000;

interface Run {
  code: number | null;
  output: string;
  report: BenchReport;
  html: string;
}

let outDir = '';
let run: Run;

/** Only what node needs: the test runner's NODE_OPTIONS and VITEST_* variables stay out of the bench. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', 'KNOCK_TEST_DATABASE_URL', 'KNOCK_TEST_REDIS_URL']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

async function runSmoke(): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', '--out', outDir], { cwd: repoRoot, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  const files = await readdir(outDir);
  const json = files.find((f) => f.endsWith('-smoke.json'));
  const html = files.find((f) => f.endsWith('-smoke.html'));
  if (!json || !html) throw new Error(`bench/run.ts --smoke wrote no report (exit ${code}):\n${output}`);
  return {
    code,
    output,
    report: JSON.parse(await readFile(path.join(outDir, json), 'utf8')) as BenchReport,
    html: await readFile(path.join(outDir, html), 'utf8'),
  };
}

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname || '127.0.0.1', port: Number(port) || defaultPort });
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function expectTraffic(step: LoadStep, what: string): void {
  expect(step.deliveredPerSec, `${what}: delivered per second`).toBeGreaterThan(0);
  expect(step.latency.count, `${what}: latency samples`).toBeGreaterThan(0);
  expect(step.latency.p99Ms, `${what}: p99`).toBeGreaterThan(0);
  expect(step.cpu.server, `${what}: server CPU`).toBeGreaterThan(0);
}

beforeAll(async () => {
  outDir = await mkdtemp(path.join(os.tmpdir(), 'knock-bench-smoke-'));
  run = await runSmoke();
}, RUN_TIMEOUT_MS + 10_000);

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

describe('bench/run.ts --smoke', () => {
  it('finishes without a failed scenario and says so in its exit code', () => {
    expect(run.report.errors, run.output).toEqual([]);
    expect(run.code, run.output).toBe(0);
  });

  it('relays messages through plain ws, bare Colyseus, Knock, ejabberd and Prosody, at saturation and at a set rate', () => {
    const servers = run.report.throughput.map((t) => t.server).sort();
    expect(servers).toEqual(['colyseus', 'ejabberd', 'knock', 'prosody', 'ws']);
    for (const t of run.report.throughput) {
      expect(t.pairsOpened, t.label).toBe(t.pairs);
      expectTraffic(t.saturation, `${t.label} saturation`);
      expect(t.steps.length, t.label).toBeGreaterThan(0);
      for (const step of t.steps) expectTraffic(step, `${t.label} at ${step.offeredPerSec}/s`);
    }
    // Knock acknowledges every stored message; plain ws acknowledges nothing.
    expect(run.report.throughput.find((t) => t.server === 'knock')!.saturation.ackLatency?.count).toBeGreaterThan(0);
    expect(run.report.throughput.find((t) => t.server === 'ws')!.saturation.ackLatency).toBeNull();
  });

  it('starts ejabberd and Prosody from their own configurations, with message archiving, and says what each does with a message', () => {
    expect(run.report.peers.map((p) => p.server).sort()).toEqual(['ejabberd', 'prosody']);
    for (const p of run.report.peers) {
      expect(p.version, p.label).not.toBe('unknown');
      expect(p.registered, `${p.label}: accounts registered before the load`).toBeGreaterThan(0);
      expect(p.storageLines.join(' '), p.label).toMatch(/mam/i);
      expect(p.durability.sources.length, p.label).toBeGreaterThan(0);
    }
    // Knock fsyncs before it acknowledges; ejabberd's archive on SQLite commits (fsync) before delivery; Prosody's
    // internal storage writes to the page cache only.
    const fsyncs = Object.fromEntries(run.report.peers.map((p) => [p.server, p.durability.fsyncBeforeDelivery]));
    expect(fsyncs).toEqual({ ejabberd: true, prosody: false });
    for (const server of ['ejabberd', 'prosody']) {
      const t = run.report.throughput.find((x) => x.server === server)!;
      expect(t.saturation.ackLatency, `${server}: XMPP acknowledges nothing per message`).toBeNull();
      expect(t.saturation.errors, `${server}: ${t.saturation.firstErrors.join('; ')}`).toBe(0);
    }
    expect(run.html).toContain('Knock and the XMPP servers a self-hoster would run instead');
  });

  it('reads memory at every connection count of every shape', () => {
    const series = run.report.memory.map((m) => `${m.server}/${m.shape}`).sort();
    expect(series).toEqual(['colyseus/owner', 'colyseus/visitor', 'colyseusIndexed/owner', 'ejabberd/user', 'knock/owner', 'knock/visitor', 'prosody/user', 'ws/plain']);
    for (const m of run.report.memory) {
      expect(m.baseline.rssBytes, m.label).toBeGreaterThan(0);
      // Node servers are read after a forced GC; Erlang and Lua cannot be made to collect from outside.
      expect(m.gc, `${m.label}: memory read after a forced GC`).toBe(m.shape !== 'user');
      expect(m.points.length, m.label).toBeGreaterThan(0);
      for (const p of m.points) {
        expect(p.failed, `${m.label} ${m.shape}s: ${m.firstErrors.join('; ')}`).toBe(0);
        expect(p.dropped, `${m.label} ${m.shape}s dropped by the server`).toBe(0);
        expect(p.rssBytes, m.label).toBeGreaterThan(0);
        expect(p.openedPerSec, m.label).toBeGreaterThan(0);
      }
    }
  });

  it('activates rooms with none open and with the owners\u2019 rooms open (Knock: also with rooms held by idle visitors), Knock and bare Colyseus on both drivers', () => {
    for (const server of ['knock', 'colyseus', 'colyseusIndexed']) {
      const runs = run.report.activation.filter((a) => a.server === server);
      const expected = server === 'knock' ? ['none', 'owners', 'visitors'] : ['none', 'owners'];
      expect(runs.map((a) => a.heldBy).sort(), server).toEqual(expected);
      for (const a of runs) expect(a.roomsOpen > 0, `${server} ${a.heldBy}`).toBe(a.heldBy !== 'none');
      for (const a of runs) {
        expect(a.failed, `${server}: ${a.firstErrors.join('; ')}`).toBe(0);
        expect(a.activated, server).toBe(a.handles);
        expect(a.perSec, server).toBeGreaterThan(0);
      }
    }
  });

  it('times opening a URL to ready and the first message to its ack', () => {
    const [open] = run.report.openUrl;
    expect(open?.failed, open?.firstErrors.join('; ')).toBe(0);
    expect(open?.openToReady.count).toBe(open?.visitors);
    expect(open?.knockToFirstAck.count).toBe(open?.visitors);
  });

  it('measures both matchmaking drivers alone and the disk a stored message waits for', () => {
    expect(new Set(run.report.driverMicro.map((p) => p.driver))).toEqual(new Set(['LocalDriver', 'IndexedDriver']));
    for (const p of run.report.driverMicro) expect(p.findPerSec * p.createPerSec, p.driver).toBeGreaterThan(0);
    expect(run.report.storageProbe?.latency.count).toBeGreaterThan(0);
  });

  it('runs two Knock processes on PostgreSQL + Redis whenever both answer', async () => {
    const available = (await reachable(testDatabaseUrl, 5432)) && (await reachable(testRedisUrl, 6379));
    const { cluster } = run.report;
    if (!available) {
      expect(cluster.skipped).toMatch(/PostgreSQL|Redis/);
      return;
    }
    expect(cluster.skipped).toBeNull();
    expectTraffic(cluster.single!, 'cluster, 1 process');
    expectTraffic(cluster.double!, 'cluster, 2 processes');
    expectTraffic(cluster.singleAtHalf!, 'cluster, 1 process, open loop');
    expectTraffic(cluster.doubleAtHalf!, 'cluster, 2 processes, open loop');
    expect(cluster.doubleAtHalf!.offeredPerSec).toBe(cluster.singleAtHalf!.offeredPerSec);
  });

  it('syncs every keystroke of one document editor to the other through the DocRoom, and says how fast', () => {
    const docs = run.report.docSync;
    expect(docs, 'the docs scenario ran').not.toBeNull();
    expect(docs!.docsOpened).toBe(docs!.docs);
    for (const step of [docs!.saturation, ...docs!.steps]) {
      const what = `documents, ${step.offeredPerSec === null ? 'saturation' : `${step.offeredPerSec}/s`}`;
      expectTraffic(step, what);
      expect(step.errors, `${what}: ${step.firstErrors.join('; ')}`).toBe(0);
      expect(step.sent, what).toBeGreaterThan(0);
      expect(step.delivered, `${what}: every update sent reached the other editor`).toBe(step.sent);
    }
    expect(docs!.steps.length).toBeGreaterThan(0);
  });

  it('plays Pong games and reports the ticks their players received and the server CPU per game', () => {
    const games = run.report.games;
    expect(games, 'the games scenario ran').not.toBeNull();
    expect(games!.failed, games!.firstErrors.join('; ')).toBe(0);
    expect(games!.tickHz).toBe(25);
    expect(games!.points.length).toBeGreaterThan(0);
    for (const p of games!.points) {
      expect(p.running, 'games still running in the window').toBeGreaterThan(0);
      expect(p.ticksPerSec, 'ticks per second received').toBeGreaterThan(0);
      expect(p.expectedTicksPerSec).toBe(p.running * 25);
      expect(p.cpu.server, 'server CPU with the games').toBeGreaterThan(0);
      expect(Number.isFinite(p.cpuPerGame)).toBe(true);
    }
    expect(run.html).toContain('Document sync');
    expect(run.html).toContain('Games: ticks served');
  });

  it('checks every target and writes an HTML report with its charts', () => {
    const ids = run.report.targets.map((t) => t.id);
    expect(ids).toEqual(expect.arrayContaining(['relay-throughput', 'relay-p99', 'visitor-memory', 'visitors-held', 'activation-rate-knock', 'activation-flat-knock', 'activation-flat-knock-owners', 'cluster-scaling']));
    for (const t of run.report.targets) expect([true, false, null], t.id).toContain(t.met);
    expect(run.report.targets.find((t) => t.id === 'relay-throughput')?.value).toBeGreaterThan(0);
    // Issue 24's: against the XMPP servers and bare Colyseus (measured here), at 4,000 msg/s (no such step in smoke
    // mode: not measured, with the reason), on PostgreSQL (measured when the cluster scenario found one).
    const byId = new Map(run.report.targets.map((t) => [t.id, t]));
    for (const id of ['vs-ejabberd', 'vs-prosody', 'vs-bare-colyseus']) expect(byId.get(id)?.value, id).toBeGreaterThan(0);
    // A handful of connections in smoke mode: a per-connection figure may come out at or below 0 (a GC, RSS pages not
    // yet touched), and then the target says it could not compare rather than a ratio.
    const memory = byId.get('memory-vs-ejabberd');
    if (memory?.value === null) expect(memory.note, 'memory-vs-ejabberd').toMatch(/did not run|too few to measure/);
    else expect(Number.isFinite(memory?.value), 'memory-vs-ejabberd').toBe(true);
    for (const id of ['moderate-p99', 'moderate-cpu']) expect(byId.get(id), id).toMatchObject({ met: null, note: expect.stringContaining('4,000 msg/s') });
    const postgres = byId.get('postgres-vs-sqlite');
    expect(postgres, 'postgres-vs-sqlite').toBeDefined();
    if (run.report.cluster.skipped === null) expect(postgres!.value).toBeGreaterThan(0);
    expect(run.html).toContain('<svg');
    expect(run.html).not.toMatch(/NaN|undefined/);
  });
});
