/**
 * Connections held by one server process: memory per idle visitor, per owner and per plain socket, and room
 * activation (a URL opened whose room is not open: joinOrCreate creates it) with no rooms and with many rooms open.
 *
 * Memory is RSS after a full GC (bench/servers/memoryProbe.ts), from /proc; per connection it is
 * (RSS(N) - RSS(baseline)) / (N - baseline connections). The baseline is read after a warm-up, with the visitors'
 * URLs (anchors) already open, so a visitor's figure is its socket, seat and state only.
 */
import type { IdleSpec, IdleStatus, OpenResult } from '../load/messages.ts';
import { CpuMeter } from '../lib/procfs.ts';
import { sleep } from '../lib/processes.ts';
import type { ActivationResult, MemoryPoint, MemorySeries } from '../results.ts';
import type { RunningServer } from '../targets.ts';
import { mergeHistograms, waitForQuiet, withCpu, type BenchContext } from './context.ts';

const CLOSE_TIMEOUT_MS = 60_000;

/** Opens idle connections spread over the load processes, `totalConcurrency` joins in flight in all. */
async function openIdle(
  ctx: BenchContext,
  server: RunningServer,
  role: 'visitor' | 'owner',
  specs: IdleSpec[],
  totalConcurrency = ctx.mode.connections.concurrency,
): Promise<OpenResult> {
  const concurrency = Math.max(1, Math.ceil(totalConcurrency / ctx.pool.size));
  const timeoutMs = 30_000;
  const start = performance.now();
  // No join starts after the step's budget (a LocalDriver with 19,000 rooms creates a few dozen a second).
  const budgetMs = ctx.mode.connections.stepBudgetMs;
  const deadline = Date.now() + budgetMs;
  const results = await ctx.pool.each<OpenResult>(
    ctx.pool.split(specs).map((share) => (share.length === 0 ? null : { cmd: 'openIdle', protocol: server.protocol, role, specs: share, concurrency, timeoutMs, deadline })),
    budgetMs + timeoutMs + 30_000,
  );
  const skipped = results.reduce((n, r) => n + r.skipped, 0);
  if (skipped > 0) ctx.log(`${server.label}: stopped at the time limit of ${budgetMs / 1000} s, ${skipped} of ${specs.length} connections not attempted`);
  return {
    opened: results.reduce((n, r) => n + r.opened, 0),
    failed: results.reduce((n, r) => n + r.failed, 0),
    skipped,
    elapsedMs: performance.now() - start,
    latency: mergeHistograms(results.map((r) => r.latency)).toJSON(),
    firstErrors: results.flatMap((r) => r.firstErrors).slice(0, 5),
  };
}

/** The server's and the load processes' CPU (cores) while the connections sit idle for the mode's settle time. */
async function idleCpu(ctx: BenchContext, server: RunningServer): Promise<{ server: number; load: number }> {
  const meter = new CpuMeter({ server: server.procs.map((p) => p.pid), load: ctx.pool.pids });
  await sleep(ctx.mode.connections.settleMs);
  const { cores } = meter.read();
  return { server: cores.server ?? 0, load: cores.load ?? 0 };
}

async function idleStatus(ctx: BenchContext): Promise<IdleStatus> {
  const all = await ctx.pool.all<IdleStatus>({ cmd: 'idleStatus' }, 30_000);
  return { open: all.reduce((n, s) => n + s.open, 0), dropped: all.reduce((n, s) => n + s.dropped, 0) };
}

/**
 * Drops every idle connection, then (with `server`) waits until the server has handled the disconnections (its CPU
 * is quiet again, bounded), so that work is not measured as part of what comes next.
 */
export async function closeIdle(ctx: BenchContext, server?: RunningServer): Promise<void> {
  const start = performance.now();
  const closed = await ctx.pool.all<{ closed: number }>({ cmd: 'closeIdle', timeoutMs: CLOSE_TIMEOUT_MS }, CLOSE_TIMEOUT_MS + 10_000);
  const n = closed.reduce((sum, c) => sum + c.closed, 0);
  const quiet = server && n > 0 ? await waitForQuiet(server, CLOSE_TIMEOUT_MS) : true;
  const seconds = (performance.now() - start) / 1000;
  if (!quiet) ctx.errors.push(`${server!.label}: still busy ${CLOSE_TIMEOUT_MS / 1000} s after ${n} connections closed`);
  if (n > 0 && seconds > 2) ctx.log(`closed ${n} idle connections; the server was done with them after ${seconds.toFixed(1)} s`);
}

/**
 * Ramps idle connections to each of `counts` (cumulative) and reads memory at each point. `warmup` connections are
 * opened and closed first; `anchorSpecs` are opened before the baseline and stay (their rooms are not the subject).
 */
export async function memoryRamp(
  ctx: BenchContext,
  server: RunningServer,
  opts: { shape: MemorySeries['shape']; specs: IdleSpec[]; counts: number[]; anchorSpecs?: IdleSpec[]; warmup?: IdleSpec[] },
): Promise<MemorySeries> {
  const role = opts.shape === 'owner' ? 'owner' : 'visitor';
  const firstErrors: string[] = [];
  if (opts.warmup && opts.warmup.length > 0) {
    await openIdle(ctx, server, role, opts.warmup);
    await closeIdle(ctx, server);
  }
  if (opts.anchorSpecs && opts.anchorSpecs.length > 0) {
    const anchors = await openIdle(ctx, server, 'visitor', opts.anchorSpecs);
    firstErrors.push(...anchors.firstErrors);
  }
  await sleep(ctx.mode.connections.settleMs);
  const base = await server.memory();
  let held = (await idleStatus(ctx)).open;
  const baseline = { connections: held, rssBytes: base.rssBytes, heapUsedBytes: base.heapUsedBytes };
  ctx.log(`${server.label}: ${opts.shape} memory baseline ${mib(base.rssBytes)} MiB RSS with ${held} connections`);
  const points: MemoryPoint[] = [];
  let used = 0;
  for (const count of opts.counts) {
    const toOpen = opts.specs.slice(used, used + (count - held));
    used += toOpen.length;
    const { result: opened, cpu: openingCpu } = await withCpu(ctx, server, () => openIdle(ctx, server, role, toOpen));
    firstErrors.push(...opened.firstErrors);
    const { server: idleCpuCores, load: idleLoadCpuCores } = await idleCpu(ctx, server);
    const sample = await server.memory();
    // What the server holds now: opened, minus what it closed since (a load process too slow to answer pings).
    const status = await idleStatus(ctx);
    held = status.open;
    const added = held - baseline.connections;
    const point: MemoryPoint = {
      planned: count,
      connections: held,
      rssBytes: sample.rssBytes,
      heapUsedBytes: sample.heapUsedBytes,
      dropped: status.dropped,
      bytesPerConnection: added > 0 ? (sample.rssBytes - baseline.rssBytes) / added : 0,
      idleCpuCores,
      idleLoadCpuCores,
      openedPerSec: opened.opened / (opened.elapsedMs / 1000),
      openingCpu,
      failed: opened.failed,
    };
    points.push(point);
    ctx.log(
      `${server.label}: ${held} ${opts.shape}s -> ${mib(sample.rssBytes)} MiB RSS, ${(point.bytesPerConnection / 1024).toFixed(1)} KiB each, ` +
        `idle CPU ${idleCpuCores.toFixed(2)} (load ${idleLoadCpuCores.toFixed(2)}), opened ${Math.round(point.openedPerSec)}/s (server CPU ${openingCpu.server.toFixed(2)}, other ${openingCpu.other.toFixed(2)})` +
        `${opened.failed ? `, ${opened.failed} failed to open` : ''}${status.dropped ? `, ${status.dropped} dropped by the server` : ''}`,
    );
    if ((opened.failed > 0 && opened.opened === 0) || opened.skipped > 0) break;
  }
  return { server: server.kind, label: server.label, shape: opts.shape, baseline, points, gc: base.gc, firstErrors: firstErrors.slice(0, 5) };
}

/**
 * Opens URLs whose rooms are not open (each join creates a room) and times it; the connections stay open.
 * `idleCpuCores`: the server's CPU with the open rooms idle, measured just before (memoryRamp's last point).
 */
export async function activate(
  ctx: BenchContext,
  server: RunningServer,
  specs: IdleSpec[],
  open: { rooms: number; heldBy: ActivationResult['heldBy'] } = { rooms: 0, heldBy: 'none' },
  idleCpuCores = 0,
): Promise<ActivationResult> {
  const roomsOpen = open.rooms;
  const { result, cpu } = await withCpu(ctx, server, () => openIdle(ctx, server, 'visitor', specs, ctx.mode.activation.concurrency));
  const perSec = result.opened / (result.elapsedMs / 1000);
  const cpuMsPerActivation = perSec > 0 ? (Math.max(0, cpu.server - idleCpuCores) * 1000) / perSec : 0;
  ctx.log(
    `${server.label}: ${result.opened} rooms activated with ${roomsOpen} open${roomsOpen ? ` (held by ${open.heldBy})` : ''}: ${Math.round(perSec)}/s ` +
      `(server CPU ${cpu.server.toFixed(2)}, ${idleCpuCores.toFixed(2)} of it idle load; ${cpuMsPerActivation.toFixed(2)} CPU-ms each), load CPU ${cpu.load.toFixed(2)}${result.failed ? `, ${result.failed} failed` : ''}`,
  );
  return {
    server: server.kind,
    label: server.label,
    roomsOpen,
    heldBy: open.heldBy,
    handles: specs.length,
    activated: result.opened,
    failed: result.failed,
    perSec,
    latency: mergeHistograms([result.latency]).summary(),
    cpu,
    idleCpuCores,
    cpuMsPerActivation,
    loadBound: cpu.load >= 0.9 * ctx.loadCpuCount,
    firstErrors: result.firstErrors,
  };
}

/**
 * Opens one idle visitor at each URL of `specs` (owners offline: each join creates that URL's room and holds it
 * open), then reads the server's idle CPU with them. Returns the rooms held and that CPU.
 */
export async function holdRoomsWithVisitors(ctx: BenchContext, server: RunningServer, specs: IdleSpec[]): Promise<{ rooms: number; idleCpuCores: number }> {
  const opened = await openIdle(ctx, server, 'visitor', specs.map((s) => ({ endpoint: s.endpoint, handle: s.handle })));
  const idleCpuCores = (await idleCpu(ctx, server)).server;
  const rooms = (await idleStatus(ctx)).open;
  ctx.log(`${server.label}: ${rooms} rooms held open by one idle visitor each (owners offline), opened at ${Math.round(opened.opened / (opened.elapsedMs / 1000))}/s, idle CPU ${idleCpuCores.toFixed(2)}${opened.failed ? `, ${opened.failed} failed` : ''}`);
  return { rooms, idleCpuCores };
}

export function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
