/**
 * The targets of issue 24, each checked against what this run measured: Knock (every message durable before its ack)
 * against the IM servers people run (ejabberd and Prosody, archives on) and bare Colyseus, at a moderate rate, on
 * PostgreSQL against SQLite, and in memory per idle connected user against ejabberd. Like targets.ts: a target this
 * run could not measure is `met: null` with the reason; a missed one says by how much, and what the same measure
 * gave for the nearest baseline, so a reader can tell a slow Knock from a target below what the machine allows.
 */
import { MODERATE_RATE } from '../modes.ts';
import type { BenchReport, LoadStep, TargetCheck, ThroughputResult } from '../results.ts';
import { byServer, notMeasured, series } from './targets.ts';

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
    moderateTarget(report, moderateP99),
    moderateTarget(report, moderateCpu),
    postgresTarget(report),
    memoryTarget(report),
  ];
}

const stepAt = (result: ThroughputResult | undefined, rate: number): LoadStep | undefined => result?.steps.find((s) => s.offeredPerSec === rate);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

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

/** How one of Knock's figures at MODERATE_RATE offered is read, shown and bounded. */
interface ModerateMeasure {
  id: string;
  label: string;
  unit: string;
  threshold: number;
  value: (s: LoadStep) => number;
  shown: (s: LoadStep) => string;
}

const moderateP99: ModerateMeasure = {
  id: 'moderate-p99',
  label: `p99 latency at ${fmt(MODERATE_RATE)} msg/s offered, Knock`,
  unit: 'ms',
  threshold: MODERATE_P99_MS,
  value: (s) => s.latency.p99Ms,
  shown: (s) => `p99 ${s.latency.p99Ms.toFixed(1)} ms`,
};

const moderateCpu: ModerateMeasure = {
  id: 'moderate-cpu',
  label: `server CPU at ${fmt(MODERATE_RATE)} msg/s offered, Knock`,
  unit: 'cores',
  threshold: MODERATE_CPU_CORES,
  value: (s) => s.cpu.server,
  shown: (s) => `${s.cpu.server.toFixed(2)} cores (${fmt((s.cpu.server * 1e6) / Math.max(1, s.deliveredPerSec))} \u00b5s per message)`,
};

function moderateTarget(r: Measured, m: ModerateMeasure): TargetCheck {
  const required = `<= ${m.threshold} ${m.unit}`;
  const step = stepAt(byServer(r.throughput, 'knock'), MODERATE_RATE);
  if (!step || step.latency.count === 0) return notMeasured(m.id, m.label, required, m.threshold, `no open-loop step at ${fmt(MODERATE_RATE)} msg/s was run (smoke mode runs none)`);
  const value = m.value(step);
  const met = value <= m.threshold;
  // What bare Colyseus and plain ws did at the same offered rate: a target below what they manage cannot be met.
  const baselines = (['colyseus', 'ws'] as const).flatMap((server) => {
    const same = stepAt(byServer(r.throughput, server), MODERATE_RATE);
    return same ? [`${server === 'ws' ? 'plain ws' : 'bare Colyseus'} ${m.shown(same)}`] : [];
  });
  return {
    id: m.id,
    label: m.label,
    measured: m.shown(step),
    required,
    value,
    threshold: m.threshold,
    met,
    note: (met ? '' : `Missed by ${(value / m.threshold).toFixed(1)}x.`) + (baselines.length > 0 ? ` At the same rate: ${baselines.join(', ')}.` : ''),
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

function memoryTarget(r: Measured): TargetCheck {
  const id = 'memory-vs-ejabberd';
  const label = 'memory per idle connected user: Knock (a visitor at a URL) vs ejabberd (a logged-in XMPP user)';
  const required = `<= ${MEMORY_RATIO}x`;
  const k = series(r.memory, 'knock', 'visitor')?.points.at(-1);
  const e = series(r.memory, 'ejabberd', 'user')?.points.at(-1);
  if (!k || !e) return notMeasured(id, label, required, MEMORY_RATIO, 'the memory scenarios of Knock or ejabberd did not run');
  if (e.bytesPerConnection <= 0) return notMeasured(id, label, required, MEMORY_RATIO, `ejabberd\u2019s RSS did not grow with ${fmt(e.connections)} users (too few to measure)`);
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
