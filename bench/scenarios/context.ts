/** What every scenario gets from bench/run.ts: the mode, the load processes, the pinning and a log. */
import { Histogram, type HistogramData } from '../lib/histogram.ts';
import { CpuMeter } from '../lib/procfs.ts';
import type { WorkerPool } from '../load/workerPool.ts';
import type { Mode } from '../modes.ts';
import type { CpuUse } from '../results.ts';
import type { RunningServer } from '../targets.ts';

export interface BenchContext {
  mode: Mode;
  pool: WorkerPool;
  serverCpus: string;
  loadCpus: string;
  /** How many CPUs the load processes may use (for "the load was the limit"). */
  loadCpuCount: number;
  log(line: string): void;
  /** Problems that did not stop the run; they go into the report. */
  errors: string[];
}

/** Measures the CPU of the server's processes, the load processes and everything else while `run` runs. */
export async function withCpu<T>(ctx: BenchContext, server: RunningServer, run: () => Promise<T>): Promise<{ result: T; cpu: CpuUse }> {
  const meter = new CpuMeter({ server: server.procs.map((p) => p.pid), load: ctx.pool.pids });
  const result = await run();
  const read = meter.read();
  return {
    result,
    cpu: { server: read.cores.server ?? 0, load: read.cores.load ?? 0, other: read.otherCores, iowait: read.iowaitCores, steal: read.stealCores },
  };
}

export function mergeHistograms(parts: HistogramData[]): Histogram {
  const merged = new Histogram();
  for (const part of parts) merged.merge(Histogram.from(part));
  return merged;
}

/** `n` items dealt so that process i gets items i, i+k, i+2k... (k processes). */
export function deal<T>(ctx: BenchContext, items: T[]): T[][] {
  return ctx.pool.split(items);
}
