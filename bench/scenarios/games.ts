/**
 * Real-time games: N games of Pong at once (bench/load/pong.ts: a visitor knocks and invites, the owner accepts,
 * both join the GameRoom with colyseus.js and play, each paddle following the ball), started in the load processes,
 * more at each point (1, then 50...). Over each window: the ticks the players received (one `state` per tick to
 * each player) against the game's tick rate, and the server's CPU. Then every game is left, the conversation
 * sockets staying, and the server's CPU read again: the cost of one running game is
 * (CPU with the games − that baseline) / games still running.
 */
import { PONG } from '../../games/pong.ts';
import { sleep } from '../lib/processes.ts';
import type { GameSpec, GameWindowResult, OpenResult } from '../load/messages.ts';
import type { GamesPoint, GamesResult } from '../results.ts';
import type { SeededAccount } from '../seed.ts';
import type { RunningServer } from '../targets.ts';
import { withCpu, type BenchContext } from './context.ts';

const START_TIMEOUT_MS = 15_000;
const LEAVE_TIMEOUT_MS = 10_000;
const TICK_HZ = 1000 / PONG.tickMs;

export async function measureGames(ctx: BenchContext, server: RunningServer, owners: SeededAccount[]): Promise<GamesResult> {
  const { counts, settleMs, measureMs, concurrency } = ctx.mode.games;
  const endpoint = server.endpoints[0]!;
  const result: GamesResult = { server: server.kind, label: server.label, game: 'pong', tickHz: TICK_HZ, windowMs: measureMs, idleCpuCores: 0, points: [], failed: 0, firstErrors: [] };
  const raw: Array<Omit<GamesPoint, 'cpuPerGame'>> = [];
  let started = 0;
  try {
    for (const count of counts) {
      // One owner per game, as the games of many people would be.
      const specs: GameSpec[] = owners.slice(started, count).map((owner, i) => ({ id: `g${started + i}`, endpoint, owner }));
      ctx.log(`games: starting ${specs.length} Pong game(s), ${count} in all`);
      const opened = await ctx.pool.each<OpenResult>(
        ctx.pool.split(specs).map((share) => (share.length === 0 ? null : { cmd: 'openGames', games: share, concurrency, timeoutMs: START_TIMEOUT_MS })),
        START_TIMEOUT_MS * Math.ceil(count / concurrency) + 30_000,
      );
      started = count;
      const failed = opened.reduce((n, r) => n + r.failed, 0);
      result.failed += failed;
      result.firstErrors.push(...opened.flatMap((r) => r.firstErrors).slice(0, 5 - result.firstErrors.length));
      if (failed > 0) ctx.errors.push(`games: ${failed} of ${specs.length} games failed to start: ${result.firstErrors[0] ?? 'no error given'}`);
      await sleep(settleMs);
      const { result: windows, cpu } = await withCpu(ctx, server, () => ctx.pool.all<GameWindowResult>({ cmd: 'gameWindow', measureMs }, measureMs + 30_000));
      const seconds = Math.max(...windows.map((w) => w.windowMs)) / 1000;
      const sum = (key: 'games' | 'running' | 'ticks' | 'states' | 'inputs') => windows.reduce((n, w) => n + w[key], 0);
      const point = {
        games: sum('games'),
        running: sum('running'),
        ticksPerSec: sum('ticks') / seconds,
        expectedTicksPerSec: sum('running') * TICK_HZ,
        statesPerSec: sum('states') / seconds,
        inputsPerSec: sum('inputs') / seconds,
        cpu,
        loadBound: cpu.load >= 0.9 * ctx.loadCpuCount,
      };
      ctx.log(`games: ${point.running} running, ${Math.round(point.ticksPerSec)} ticks/s received (${Math.round(point.expectedTicksPerSec)} at ${TICK_HZ} Hz), server CPU ${cpu.server.toFixed(3)}`);
      raw.push(point);
    }
    if (raw.every((p) => p.games === 0)) throw new Error(`no game could be started: ${result.firstErrors[0] ?? 'no error given'}`);
    // The baseline: the same conversation sockets, no game.
    await ctx.pool.all({ cmd: 'leaveGames', close: false, timeoutMs: LEAVE_TIMEOUT_MS }, LEAVE_TIMEOUT_MS + 10_000);
    await sleep(settleMs);
    const idle = await withCpu(ctx, server, () => sleep(measureMs));
    result.idleCpuCores = idle.cpu.server;
    result.points = raw.map((p) => ({ ...p, cpuPerGame: p.running > 0 ? (p.cpu.server - idle.cpu.server) / p.running : 0 }));
    for (const p of result.points) ctx.log(`games: ${p.running} running: ${(100 * p.cpuPerGame).toFixed(2)} % of a core per game (idle ${(100 * idle.cpu.server).toFixed(1)} %)`);
    return result;
  } finally {
    await ctx.pool.all({ cmd: 'leaveGames', close: true, timeoutMs: LEAVE_TIMEOUT_MS }, LEAVE_TIMEOUT_MS + 10_000);
  }
}
