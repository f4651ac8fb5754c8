/** What every scenario gets from bench/run.ts: the mode, the load processes, the pinning and a log. */
import { Histogram, type HistogramData } from '../lib/histogram.ts';
import { CpuMeter } from '../lib/procfs.ts';
import { sleep } from '../lib/processes.ts';
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

/**
 * Waits (at most `maxMs`) until the server's CPU stays under 10% of a core for 300 ms (idle sockets' pings cost a
 * few %): the backlog of an earlier step (messages still being stored after its drain gave up) must not be
 * measured as part of the next one.
 */
export async function waitForQuiet(server: RunningServer, maxMs: number): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    const meter = new CpuMeter({ server: server.procs.map((p) => p.pid) });
    await sleep(300);
    if ((meter.read().cores.server ?? 0) < 0.1) return true;
  }
  return false;
}
