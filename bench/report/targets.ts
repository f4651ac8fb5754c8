/**
 * The targets of issue #3, each checked against what this run measured, as a ratio to the plain-ws relay measured in
 * the same run where the target says so. A target that this run could not measure (mode, skipped scenario) is
 * `met: null` with the reason; a missed one says by how much.
 */
import type { ActivationResult, BenchReport, LoadStep, MemorySeries, TargetCheck, ThroughputResult } from '../results.ts';

const THROUGHPUT_RATIO = 0.7;
const P99_RATIO = 1.5;
const MEMORY_RATIO = 2;
const HELD_VISITORS = 19_500;
const ACTIVATION_PER_SEC = 500;
/** "Flat": the rate with many rooms open is within 10% of the rate with none. */
const FLATNESS = 0.9;
const CLUSTER_RATIO = 1.6;

type Measured = Pick<BenchReport, 'throughput' | 'memory' | 'activation' | 'cluster' | 'mode' | 'storageProbe'>;

export function checkTargets(report: Measured): TargetCheck[] {
  return [
    throughputTarget(report),
    latencyTarget(report),
    memoryTarget(report),
    heldTarget(report),
    ...activationTargets(report),
    clusterTarget(report),
  ];
}

export const byServer = (list: ThroughputResult[], server: string) => list.find((t) => t.server === server);

export function notMeasured(id: string, label: string, required: string, threshold: number, note: string): TargetCheck {
  return { id, label, measured: 'not measured', required, value: null, threshold, met: null, note };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function throughputTarget(r: Measured): TargetCheck {
  const id = 'relay-throughput';
  const label = '1:1 relay through Knock (stored before ack): saturation throughput vs plain ws';
  const required = `>= ${pct(THROUGHPUT_RATIO)} of plain ws`;
  const ws = byServer(r.throughput, 'ws');
  const knock = byServer(r.throughput, 'knock');
  if (!ws || !knock || ws.saturation.deliveredPerSec === 0) return notMeasured(id, label, required, THROUGHPUT_RATIO, 'the ws or Knock throughput scenario did not run');
  const ratio = knock.saturation.deliveredPerSec / ws.saturation.deliveredPerSec;
  const met = ratio >= THROUGHPUT_RATIO;
  const load = ws.saturation.loadBound ? ' The ws figure was limited by the load processes (their CPU was full), so the wire\u2019s real limit is higher and the ratio lower still.' : '';
  const k = knock.saturation;
  const fsync = r.storageProbe ? ` A 4 KiB fdatasync took ${r.storageProbe.latency.p50Ms.toFixed(2)} ms at p50 here (${Math.round(1000 / r.storageProbe.latency.p50Ms)} syncs/s).` : '';
  const why =
    k.cpu.server < 0.8
      ? ` Knock\u2019s CPU was ${k.cpu.server.toFixed(2)} cores at saturation: it waits on the disk, not on CPU (every ack waits for the fdatasync of the WAL that covers its commit; one sync, in the thread pool, covers every commit since the one before).${fsync}`
      : '';
  const sustained = knock.sustainedPerSec !== null ? ` In open loop it kept up with ${Math.round(knock.sustainedPerSec)} msg/s (the highest rate run that was delivered in full).` : '';
  const perCpu = ws.saturation.perServerCpuSecond > 0 ? ` Per second of server CPU: ${Math.round(k.perServerCpuSecond)} vs ${Math.round(ws.saturation.perServerCpuSecond)} messages (${pct(k.perServerCpuSecond / ws.saturation.perServerCpuSecond)}).` : '';
  return {
    id,
    label,
    measured: `${pct(ratio)} (${Math.round(knock.saturation.deliveredPerSec)} vs ${Math.round(ws.saturation.deliveredPerSec)} msg/s)`,
    required,
    value: ratio,
    threshold: THROUGHPUT_RATIO,
    met,
    note: (met ? '' : `Missed by ${((THROUGHPUT_RATIO - ratio) * 100).toFixed(1)} points: Knock would need ${Math.round(THROUGHPUT_RATIO * ws.saturation.deliveredPerSec)} msg/s, ${(THROUGHPUT_RATIO / ratio).toFixed(1)}x what it delivers.`) + why + sustained + perCpu + load,
  };
}

/** Knock's open-loop steps at or below half its saturation, each with ws's step at the same offered rate. */
function commonSteps(r: Measured): Array<{ rate: number; knock: LoadStep; ws: LoadStep }> {
  const ws = byServer(r.throughput, 'ws');
  const knock = byServer(r.throughput, 'knock');
  if (!ws || !knock) return [];
  const half = knock.saturation.deliveredPerSec / 2;
  return knock.steps
    .filter((s) => s.offeredPerSec !== null && s.offeredPerSec <= half * 1.001)
    .map((k) => ({ rate: k.offeredPerSec!, knock: k, ws: ws.steps.find((w) => w.offeredPerSec === k.offeredPerSec) }))
    .filter((x): x is { rate: number; knock: LoadStep; ws: LoadStep } => x.ws !== undefined && x.ws.latency.count > 0 && x.knock.latency.count > 0);
}

function latencyTarget(r: Measured): TargetCheck {
  const id = 'relay-p99';
  const label = 'p99 latency below half of Knock\u2019s saturation, vs plain ws at the same rate';
  const required = `<= ${P99_RATIO}x plain ws`;
  const common = commonSteps(r);
  if (common.length === 0) return notMeasured(id, label, required, P99_RATIO, 'no open-loop rate at or below half of Knock\u2019s saturation was run on both');
  const ratios = common.map((c) => ({ rate: c.rate, ratio: c.knock.latency.p99Ms / c.ws.latency.p99Ms, knock: c.knock.latency.p99Ms, ws: c.ws.latency.p99Ms }));
  const worst = ratios.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  const met = worst.ratio <= P99_RATIO;
  return {
    id,
    label,
    measured: `worst ${worst.ratio.toFixed(1)}x at ${worst.rate} msg/s (${worst.knock.toFixed(2)} vs ${worst.ws.toFixed(2)} ms); ` + ratios.map((x) => `${x.rate}/s: ${x.ratio.toFixed(1)}x`).join(', '),
    required,
    value: worst.ratio,
    threshold: P99_RATIO,
    met,
    note: met ? '' : `Missed by ${(worst.ratio / P99_RATIO).toFixed(1)}x: Knock\u2019s p99 would need to be ${(P99_RATIO * worst.ws).toFixed(2)} ms at ${worst.rate} msg/s.`,
  };
}

export const series = (list: MemorySeries[], server: string, shape: MemorySeries['shape']) => list.find((m) => m.server === server && m.shape === shape);

function memoryTarget(r: Measured): TargetCheck {
  const id = 'visitor-memory';
  const label = 'memory per idle online visitor vs a plain ws connection';
  const required = `<= ${MEMORY_RATIO}x plain ws`;
  const knock = series(r.memory, 'knock', 'visitor');
  const ws = series(r.memory, 'ws', 'plain');
  const k = knock?.points.at(-1);
  const w = ws?.points.find((p) => p.planned === k?.planned) ?? ws?.points.at(-1);
  if (!k || !w || w.bytesPerConnection <= 0) return notMeasured(id, label, required, MEMORY_RATIO, 'the memory scenarios of Knock or ws did not run');
  const ratio = k.bytesPerConnection / w.bytesPerConnection;
  const met = ratio <= MEMORY_RATIO;
  return {
    id,
    label,
    measured: `${ratio.toFixed(2)}x (${(k.bytesPerConnection / 1024).toFixed(1)} KiB at ${k.connections} vs ${(w.bytesPerConnection / 1024).toFixed(1)} KiB at ${w.connections})`,
    required,
    value: ratio,
    threshold: MEMORY_RATIO,
    met,
    note: met ? '' : `Missed by ${(ratio / MEMORY_RATIO).toFixed(2)}x: a visitor would need to cost ${((MEMORY_RATIO * w.bytesPerConnection) / 1024).toFixed(1)} KiB.`,
  };
}

function heldTarget(r: Measured): TargetCheck {
  const id = 'visitors-held';
  const label = 'idle visitors held by one Knock process';
  const required = `${HELD_VISITORS} with no failure`;
  const knock = series(r.memory, 'knock', 'visitor');
  const last = knock?.points.at(-1);
  if (!knock || !last) return notMeasured(id, label, required, HELD_VISITORS, 'the Knock visitor scenario did not run');
  const failed = knock.points.reduce((n, p) => n + p.failed, 0) + last.dropped;
  if (last.planned < HELD_VISITORS && failed === 0) {
    return { ...notMeasured(id, label, required, HELD_VISITORS, `this mode (${r.mode}) stops at ${last.connections}; run with --full`), measured: `${last.connections} held (the most this mode asks for)` };
  }
  const met = last.connections >= HELD_VISITORS && failed === 0;
  return {
    id,
    label,
    measured: `${last.connections} held; ${failed - last.dropped} failed to open, ${last.dropped} dropped by the server`,
    required,
    value: last.connections,
    threshold: HELD_VISITORS,
    met,
    note: met
      ? ''
      : `Missed: ${Math.max(0, HELD_VISITORS - last.connections)} short${knock.firstErrors[0] ? `; first error: ${knock.firstErrors[0]}` : ''}.` +
        (last.dropped > 0 ? ` Knock closes a visitor\u2019s socket that misses one pong (visitors are pinged every 10 s by default); with the load processes\u2019 CPU at ${last.idleLoadCpuCores.toFixed(2)} cores, pongs came late.` : ''),
  };
}

/** Knock's activation runs, fewest rooms open first. Bare Colyseus's (either driver) are shown in the report, not judged. */
const knockActivations = (r: Measured) => r.activation.filter((a) => a.server === 'knock').sort((a, b) => a.roomsOpen - b.roomsOpen);

function activationTargets(r: Measured): TargetCheck[] {
  const runs = knockActivations(r);
  const zero = runs.filter((a) => a.roomsOpen === 0);
  const heldBy = (h: ActivationResult['heldBy']) => [...zero, ...runs.filter((a) => a.roomsOpen > 0 && a.heldBy === h)];
  return [activationRateTarget(runs), activationFlatTarget(r, heldBy('visitors'), 'visitors'), activationFlatTarget(r, heldBy('owners'), 'owners')];
}

function activationRateTarget(runs: ActivationResult[]): TargetCheck {
  const id = 'activation-rate-knock';
  const label = 'room activations per second, Knock';
  const required = `>= ${ACTIVATION_PER_SEC}/s`;
  if (runs.length === 0) return notMeasured(id, label, required, ACTIVATION_PER_SEC, 'not run');
  const slowest = runs.reduce((a, b) => (b.perSec < a.perSec ? b : a));
  const met = slowest.perSec >= ACTIVATION_PER_SEC;
  return {
    id,
    label,
    measured: runs.map((a) => `${Math.round(a.perSec)}/s with ${a.roomsOpen} rooms open`).join(', '),
    required,
    value: slowest.perSec,
    threshold: ACTIVATION_PER_SEC,
    met,
    note: met ? '' : `Missed by ${Math.round(ACTIVATION_PER_SEC - slowest.perSec)}/s (${pct(1 - slowest.perSec / ACTIVATION_PER_SEC)} short) with ${slowest.roomsOpen} rooms open.`,
  };
}

function activationFlatTarget(r: Measured, runs: ActivationResult[], heldBy: 'visitors' | 'owners'): TargetCheck {
  const id = heldBy === 'visitors' ? 'activation-flat-knock' : 'activation-flat-knock-owners';
  const label =
    heldBy === 'visitors'
      ? 'activation rate with many rooms open (one idle visitor each) vs none, Knock'
      : 'activation rate with many rooms open (each owner online, pinged every 800 ms) vs none, Knock';
  const required = `>= ${pct(FLATNESS)}`;
  const zero = runs[0];
  const many = runs.length > 1 ? runs.at(-1) : undefined;
  if (!zero) return notMeasured(id, label, required, FLATNESS, 'not run');
  if (!many) return notMeasured(id, label, required, FLATNESS, 'only one room count was run');
  const ratio = many.perSec / zero.perSec;
  const met = ratio >= FLATNESS;
  const bound = [zero, many].filter((a) => a.loadBound).map((a) => `${a.roomsOpen} rooms open (load CPU ${a.cpu.load.toFixed(2)})`);
  const loadNote = bound.length > 0 ? ` The load processes\u2019 CPU was full with ${bound.join(' and ')}: that rate is what they could drive, not what the server could do.` : '';
  const partial =
    many.roomsOpen >= 19_000 ? '' : r.mode === 'full' ? ` (the owner ramp reached ${many.roomsOpen} rooms of 19,000 within its time limit)` : ` (this mode opens ${many.roomsOpen} rooms, not 19,000; run with --full)`;
  return {
    id,
    label,
    measured: `${pct(ratio)} (${Math.round(many.perSec)}/s with ${many.roomsOpen} open vs ${Math.round(zero.perSec)}/s with ${zero.roomsOpen})${partial}`,
    required: `${required} (the same rate)`,
    value: ratio,
    threshold: FLATNESS,
    met,
    note: met
      ? ''
      : `Missed: the rate falls by ${pct(1 - ratio)} with ${many.roomsOpen} rooms open. The open rooms\u2019 idle work took ${many.idleCpuCores.toFixed(2)} cores before the activations started; ` +
        `one activation itself cost ${many.cpuMsPerActivation.toFixed(2)} CPU-ms with them open vs ${zero.cpuMsPerActivation.toFixed(2)} with none (${(many.cpuMsPerActivation / Math.max(1e-9, zero.cpuMsPerActivation)).toFixed(2)}x).${loadNote}`,
  };
}

function clusterTarget(r: Measured): TargetCheck {
  const id = 'cluster-scaling';
  const label = 'two processes on PostgreSQL + Redis vs one process';
  const required = `>= ${CLUSTER_RATIO}x`;
  const { single, double, skipped, note } = r.cluster;
  if (skipped || !single || !double || single.deliveredPerSec === 0) return notMeasured(id, label, required, CLUSTER_RATIO, skipped ?? 'not run');
  const ratio = double.deliveredPerSec / single.deliveredPerSec;
  const sqlite = byServer(r.throughput, 'knock');
  const vsSqlite = sqlite ? `; vs one process on SQLite (${Math.round(sqlite.saturation.deliveredPerSec)} msg/s): ${(double.deliveredPerSec / sqlite.saturation.deliveredPerSec).toFixed(2)}x` : '';
  const met = ratio >= CLUSTER_RATIO;
  return {
    id,
    label,
    measured: `${ratio.toFixed(2)}x (${Math.round(double.deliveredPerSec)} vs ${Math.round(single.deliveredPerSec)} msg/s)${vsSqlite}`,
    required,
    value: ratio,
    threshold: CLUSTER_RATIO,
    met,
    note: (met ? '' : `Missed by ${(CLUSTER_RATIO - ratio).toFixed(2)}x. `) + note,
  };
}
