/**
 * The targets of issue 24, each checked against what this run measured: Knock (every message durable before its ack)
 * against the IM servers people run (ejabberd and Prosody, archives on) and bare Colyseus, at a moderate rate, on
 * PostgreSQL against SQLite, and in memory per idle connected user against ejabberd. Like targets.ts: a target this
 * run could not measure is `met: null` with the reason; a missed one says by how much, and what the same measure
 * gave for the nearest baseline, so a reader can tell a slow Knock from a target below what the machine allows.
 */
import { MODERATE_RATE } from '../modes.ts';
import type { BenchReport, LoadStep, MemorySeries, TargetCheck, ThroughputResult } from '../results.ts';

/** Knock's saturation over each XMPP peer's (their archives on). */
const PEER_RATIO = 2;
/** Knock's saturation over bare Colyseus's. */
const COLYSEUS_RATIO = 0.9;
/** At MODERATE_RATE offered. */
const MODERATE_P99_MS = 10;
const MODERATE_CPU_CORES = 0.4;
/** One process on PostgreSQL + Redis over one on SQLite. */
const POSTGRES_RATIO = 0.5;
/** Knock's memory per idle connected user over ejabberd's. */
const MEMORY_RATIO = 1;

type Measured = Pick<BenchReport, 'throughput' | 'memory' | 'cluster'>;

export function checkPeerTargets(report: Measured): TargetCheck[] {
  return [
    peerTarget(report, 'ejabberd', 'ejabberd (archive on SQLite)'),
    peerTarget(report, 'prosody', 'Prosody (archive on its internal storage)'),
    colyseusTarget(report),
    moderateP99Target(report),
    moderateCpuTarget(report),
    postgresTarget(report),
    memoryTarget(report),
  ];
}

const byServer = (list: ThroughputResult[], server: string) => list.find((t) => t.server === server);
const stepAt = (result: ThroughputResult | undefined, rate: number): LoadStep | undefined => result?.steps.find((s) => s.offeredPerSec === rate);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function notMeasured(id: string, label: string, required: string, threshold: number, note: string): TargetCheck {
  return { id, label, measured: 'not measured', required, value: null, threshold, met: null, note };
}

function peerTarget(r: Measured, server: string, name: string): TargetCheck {
  const id = `vs-${server}`;
  const label = `Knock\u2019s saturation (durable before ack) vs ${name}`;
  const required = `>= ${PEER_RATIO}x`;
  const knock = byServer(r.throughput, 'knock');
  const peer = byServer(r.throughput, server);
  if (!knock || !peer || peer.saturation.deliveredPerSec === 0) return notMeasured(id, label, required, PEER_RATIO, `the Knock or ${server} throughput scenario did not run`);
  const ratio = knock.saturation.deliveredPerSec / peer.saturation.deliveredPerSec;
  const met = ratio >= PEER_RATIO;
  return {
    id,
    label,
    measured: `${ratio.toFixed(1)}x (${fmt(knock.saturation.deliveredPerSec)} vs ${fmt(peer.saturation.deliveredPerSec)} msg/s)`,
    required,
    value: ratio,
    threshold: PEER_RATIO,
    met,
    note: met ? '' : `Missed: Knock would need ${fmt(PEER_RATIO * peer.saturation.deliveredPerSec)} msg/s.`,
  };
}

function colyseusTarget(r: Measured): TargetCheck {
  const id = 'vs-bare-colyseus';
  const label = 'Knock\u2019s saturation (durable before ack) vs bare Colyseus (stores nothing)';
  const required = `>= ${COLYSEUS_RATIO * 100}%`;
  const knock = byServer(r.throughput, 'knock');
  const colyseus = byServer(r.throughput, 'colyseus');
  if (!knock || !colyseus || colyseus.saturation.deliveredPerSec === 0) return notMeasured(id, label, required, COLYSEUS_RATIO, 'the Knock or bare Colyseus throughput scenario did not run');
  const ratio = knock.saturation.deliveredPerSec / colyseus.saturation.deliveredPerSec;
  const met = ratio >= COLYSEUS_RATIO;
  const load = colyseus.saturation.loadBound ? ' Bare Colyseus\u2019s figure was limited by the load processes, so its real limit, and the gap, are larger.' : '';
  const perCpu = ` Per second of server CPU: ${fmt(knock.saturation.perServerCpuSecond)} vs ${fmt(colyseus.saturation.perServerCpuSecond)} messages.`;
  return {
    id,
    label,
    measured: `${(ratio * 100).toFixed(0)}% (${fmt(knock.saturation.deliveredPerSec)} vs ${fmt(colyseus.saturation.deliveredPerSec)} msg/s)`,
    required,
    value: ratio,
    threshold: COLYSEUS_RATIO,
    met,
    note: (met ? '' : `Missed: Knock would need ${fmt(COLYSEUS_RATIO * colyseus.saturation.deliveredPerSec)} msg/s.`) + perCpu + load,
  };
}

/** What bare Colyseus and plain ws did at the same offered rate, for the note of a moderate-rate target. */
function baselinesAt(r: Measured, measure: (s: LoadStep) => string): string {
  const parts = (['colyseus', 'ws'] as const).flatMap((server) => {
    const step = stepAt(byServer(r.throughput, server), MODERATE_RATE);
    return step ? [`${server === 'ws' ? 'plain ws' : 'bare Colyseus'} ${measure(step)}`] : [];
  });
  return parts.length > 0 ? ` At the same rate: ${parts.join(', ')}.` : '';
}

function moderateP99Target(r: Measured): TargetCheck {
  const id = 'moderate-p99';
  const label = `p99 latency at ${fmt(MODERATE_RATE)} msg/s offered, Knock`;
  const required = `<= ${MODERATE_P99_MS} ms`;
  const step = stepAt(byServer(r.throughput, 'knock'), MODERATE_RATE);
  if (!step || step.latency.count === 0) return notMeasured(id, label, required, MODERATE_P99_MS, `no open-loop step at ${fmt(MODERATE_RATE)} msg/s was run (smoke mode runs none)`);
  const p99 = step.latency.p99Ms;
  const met = p99 <= MODERATE_P99_MS;
  return {
    id,
    label,
    measured: `${p99.toFixed(1)} ms (p50 ${step.latency.p50Ms.toFixed(2)} ms)`,
    required,
    value: p99,
    threshold: MODERATE_P99_MS,
    met,
    note: (met ? '' : `Missed by ${(p99 / MODERATE_P99_MS).toFixed(1)}x.`) + baselinesAt(r, (s) => `p99 ${s.latency.p99Ms.toFixed(1)} ms`),
  };
}

function moderateCpuTarget(r: Measured): TargetCheck {
  const id = 'moderate-cpu';
  const label = `server CPU at ${fmt(MODERATE_RATE)} msg/s offered, Knock`;
  const required = `<= ${MODERATE_CPU_CORES} cores`;
  const step = stepAt(byServer(r.throughput, 'knock'), MODERATE_RATE);
  if (!step || step.latency.count === 0) return notMeasured(id, label, required, MODERATE_CPU_CORES, `no open-loop step at ${fmt(MODERATE_RATE)} msg/s was run (smoke mode runs none)`);
  const cores = step.cpu.server;
  const met = cores <= MODERATE_CPU_CORES;
  return {
    id,
    label,
    measured: `${cores.toFixed(2)} cores (${fmt((cores * 1e6) / Math.max(1, step.deliveredPerSec))} \u00b5s per message)`,
    required,
    value: cores,
    threshold: MODERATE_CPU_CORES,
    met,
    note: (met ? '' : `Missed by ${(cores / MODERATE_CPU_CORES).toFixed(1)}x.`) + baselinesAt(r, (s) => `${s.cpu.server.toFixed(2)} cores`),
  };
}

function postgresTarget(r: Measured): TargetCheck {
  const id = 'postgres-vs-sqlite';
  const label = 'one Knock process on PostgreSQL + Redis vs one on SQLite: saturation';
  const required = `>= ${POSTGRES_RATIO * 100}%`;
  const sqlite = byServer(r.throughput, 'knock');
  const { single, skipped } = r.cluster;
  if (skipped || !single || !sqlite || sqlite.saturation.deliveredPerSec === 0) return notMeasured(id, label, required, POSTGRES_RATIO, skipped ?? 'the Knock or cluster scenario did not run');
  const ratio = single.deliveredPerSec / sqlite.saturation.deliveredPerSec;
  const met = ratio >= POSTGRES_RATIO;
  return {
    id,
    label,
    measured: `${(ratio * 100).toFixed(0)}% (${fmt(single.deliveredPerSec)} vs ${fmt(sqlite.saturation.deliveredPerSec)} msg/s)`,
    required,
    value: ratio,
    threshold: POSTGRES_RATIO,
    met,
    note:
      (met ? '' : `Missed: PostgreSQL would need ${fmt(POSTGRES_RATIO * sqlite.saturation.deliveredPerSec)} msg/s. `) +
      `Knock\u2019s CPU ${single.cpu.server.toFixed(2)} cores, the rest of the machine (PostgreSQL, Redis) ${single.cpu.other.toFixed(2)} cores, on the same two cores as the load.`,
  };
}

const series = (list: MemorySeries[], server: string, shape: MemorySeries['shape']) => list.find((m) => m.server === server && m.shape === shape);

function memoryTarget(r: Measured): TargetCheck {
  const id = 'memory-vs-ejabberd';
  const label = 'memory per idle connected user: Knock (a visitor at a URL) vs ejabberd (a logged-in XMPP user)';
  const required = `<= ${MEMORY_RATIO}x`;
  const k = series(r.memory, 'knock', 'visitor')?.points.at(-1);
  const e = series(r.memory, 'ejabberd', 'user')?.points.at(-1);
  if (!k || !e || e.bytesPerConnection <= 0) return notMeasured(id, label, required, MEMORY_RATIO, 'the memory scenarios of Knock or ejabberd did not run');
  const ratio = k.bytesPerConnection / e.bytesPerConnection;
  const met = ratio <= MEMORY_RATIO;
  return {
    id,
    label,
    measured: `${ratio.toFixed(2)}x (${(k.bytesPerConnection / 1024).toFixed(1)} KiB at ${fmt(k.connections)} vs ${(e.bytesPerConnection / 1024).toFixed(1)} KiB at ${fmt(e.connections)})`,
    required,
    value: ratio,
    threshold: MEMORY_RATIO,
    met,
    note: (met ? '' : `Missed by ${ratio.toFixed(2)}x.`) + ' Knock\u2019s is measured after a full GC, ejabberd\u2019s as RSS (the Erlang VM is not asked to collect).',
  };
}
