/**
 * Knock set beside what a self-hoster would run instead (ejabberd, Prosody) and the baselines, one row per server of
 * the run: what it does with a message before delivering it (durability), saturation, server CPU per message, the
 * latency at each rate Knock was offered, memory per idle connection. The terminal table and the HTML report both
 * draw from these rows.
 *
 * @example
 *   for (const row of comparisonRows(report)) console.log(row.label, row.saturationPerSec, row.durability?.fsyncBeforeDelivery);
 */
import { durabilityOf, type Durability } from '../peers/durability.ts';
import type { BenchReport, LoadStep, MemorySeries } from '../results.ts';

export interface ComparisonRow {
  server: string;
  label: string;
  durability: Durability | null;
  saturationPerSec: number;
  /** Server CPU per delivered message at saturation, microseconds. */
  cpuMicrosPerMessage: number | null;
  /** The load processes were the limit at saturation. */
  loadBound: boolean;
  sustainedPerSec: number | null;
  /** At each of Knock's open-loop rates: the step, 'skipped' (far above this server's saturation) or null (not run). */
  atKnockRates: Array<{ rate: number; step: LoadStep | 'skipped' | null }>;
  /** The idle connection this server's memory figure is for, and KiB per connection at the ramp's last point. */
  idle: { shape: MemorySeries['shape']; connections: number; kibPerConnection: number; gc: boolean } | null;
}

/** The idle shape compared across servers: a visitor with a URL open (Knock, Colyseus), a socket, an XMPP user. */
const comparableShapes: Array<MemorySeries['shape']> = ['visitor', 'user', 'plain'];

export function comparisonRows(r: BenchReport): ComparisonRow[] {
  const knock = r.throughput.find((t) => t.server === 'knock');
  const knockRates = (knock?.steps ?? []).map((s) => s.offeredPerSec!).filter((x) => x !== null);
  return r.throughput.map((t) => {
    const series = r.memory.find((m) => m.server === t.server && comparableShapes.includes(m.shape));
    const last = series?.points.at(-1);
    const s = t.saturation;
    return {
      server: t.server,
      label: t.label,
      durability: durabilityOf(t.server),
      saturationPerSec: s.deliveredPerSec,
      cpuMicrosPerMessage: s.perServerCpuSecond > 0 ? 1e6 / s.perServerCpuSecond : null,
      loadBound: s.loadBound,
      sustainedPerSec: t.sustainedPerSec,
      atKnockRates: knockRates.map((rate) => ({
        rate,
        step: t.steps.find((x) => x.offeredPerSec === rate) ?? (t.skippedRates?.includes(rate) ? 'skipped' : null),
      })),
      idle: series && last ? { shape: series.shape, connections: last.connections, kibPerConnection: last.bytesPerConnection / 1024, gc: series.gc } : null,
    };
  });
}

/** "p50 / p99" of a step at one of Knock's rates, as both reports print it. */
export function latencyCell(step: LoadStep | 'skipped' | null, ms: (v: number) => string): string {
  if (step === null) return '-';
  if (step === 'skipped') return 'above saturation';
  const lost = step.undelivered + step.errors;
  return `${ms(step.latency.p50Ms)} / ${ms(step.latency.p99Ms)}${lost > 0 ? ` (${lost} lost)` : ''}`;
}

/** "yes (SQLite ...)" / "no (...)": who fsyncs a message before it is acknowledged or delivered. */
export function durabilityCell(d: Durability | null): string {
  if (!d) return '-';
  return `${d.fsyncBeforeDelivery ? 'yes' : 'no'}: ${d.stores}`;
}
