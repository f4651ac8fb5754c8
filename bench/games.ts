/**
 * What one running real-time game costs the server (issue 6): Knock runs in its own process pinned to CPU 0
 * (as `npm start` runs it, SQLite, default settings but raised rate limits); this script, pinned to CPU 1, plays
 * N games of Pong at once with real colyseus.js clients (two players per game, each paddle following the ball and
 * sending an input only when its direction changes, as the browser does) and reads the server's CPU time from /proc.
 * The cost per game is (CPU with N games − CPU with the same clients connected and idle) / N.
 *
 *   taskset -c 1 node --import tsx bench/games.ts            # 1, 10 and 50 games, 10 s each
 *   taskset -c 1 node --import tsx bench/games.ts --games 1,20 --seconds 5
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createApi } from '../client/src/sdk/api.ts';
import { SESSION_COOKIE } from '../engine/cookies.ts';
import { PONG } from '../games/pong.ts';
import { baseEnv, freePort, installExitHooks, killAll, repoRoot, sleep, spawnPinned, waitForHttp } from './lib/processes.ts';
import { cpuSeconds } from './lib/procfs.ts';
import { Clients } from './load/connections.ts';
import { startPongGame, type PongGame } from './load/pong.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const GAME_COUNTS = option('games', '1,10,50').split(',').map(Number);
const SECONDS = Number(option('seconds', '10'));
const HANDLE = 'benchgames';
const PASSWORD = 'bench password 1';
const START_TIMEOUT_MS = 15_000;

async function main(): Promise<void> {
  installExitHooks();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'knock-bench-games-'));
  const env = {
    ...baseEnv(),
    KNOCK_DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    KNOCK_LOG_LEVEL: 'warn',
    KNOCK_SMTP_PORT: '-1',
    KNOCK_RATE_LIMITS: JSON.stringify({
      knocksPerIp: { perWindow: 100_000, windowMs: 60_000 },
      socketMessages: { perWindow: 100_000, windowMs: 10_000 },
      matchmakesPerIp: { perWindow: 100_000, windowMs: 60_000 },
    }),
  };
  execFileSync(process.execPath, ['engine/bin/knock.mjs', 'user', 'add', HANDLE, '--name', 'Bench', '--password-stdin'], { cwd: repoRoot, env, input: `${PASSWORD}\n` });
  const port = await freePort();
  const server = spawnPinned({ name: 'knock', cpus: '0', nodeArgs: ['--import', 'tsx', 'engine/main.ts'], env: { ...env, PORT: String(port) } });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${base}/_/health`, server, 30_000);
    const cookies = new Map<string, string>();
    await createApi({ base, cookies }).login(HANDLE, PASSWORD);
    const owner = { handle: HANDLE, token: cookies.get(SESSION_COOKIE)! };
    const clients = new Clients();
    const games: PongGame[] = [];
    const players = () => games.flatMap((g) => g.players);
    const count = (what: 'states' | 'inputs') => players().reduce((n, p) => n + p[what], 0);
    const finished = () => games.filter((g) => g.over).length;
    const measured: Array<{ games: number; cores: number }> = [];
    for (const target of GAME_COUNTS) {
      // Start games until `target` run at once (each: a visitor knocks, invites; the owner accepts; both join).
      while (games.length < target) games.push(await startPongGame({ endpoint: base, owner, name: 'Player' }, clients, START_TIMEOUT_MS));
      await sleep(1000);
      const states = count('states');
      const cpu0 = cpuSeconds(server.pid);
      const inputs0 = count('inputs');
      const t0 = performance.now();
      await sleep(SECONDS * 1000);
      const seconds = (performance.now() - t0) / 1000;
      if (finished() > 0) process.stdout.write(`  (${finished()} game(s) ended by score so far)\n`);
      const cores = (cpuSeconds(server.pid) - cpu0) / seconds;
      const inputs = (count('inputs') - inputs0) / seconds;
      const statesPerSecond = (count('states') - states) / seconds;
      // Games that ended by score no longer tick: count only those still running.
      measured.push({ games: target - finished(), cores });
      process.stdout.write(`${String(target - finished()).padStart(5)} games running  server CPU ${(cores * 100).toFixed(1).padStart(5)} %  states/s received ${statesPerSecond.toFixed(0).padStart(6)}  inputs/s sent ${inputs.toFixed(0)}\n`);
    }
    // The same sockets, games left: what the connections alone cost (the baseline to subtract).
    await Promise.all(games.map((g) => g.leaveGame()));
    const cpu0 = cpuSeconds(server.pid);
    await sleep(SECONDS * 1000);
    const idle = (cpuSeconds(server.pid) - cpu0) / SECONDS;
    process.stdout.write(`idle (conversation sockets only, no game): server CPU ${(idle * 100).toFixed(1)} %\n`);
    for (const { games, cores } of measured) {
      process.stdout.write(`${String(games).padStart(5)} games: ${(((cores - idle) * 100) / games).toFixed(2)} % of a core per running game\n`);
    }
    process.stdout.write(`Tick: ${1000 / PONG.tickMs} Hz. Machine: ${os.cpus()[0]?.model ?? '?'}; server pinned to CPU 0, clients to CPU 1.\n`);
    await Promise.all(games.map((g) => g.close()));
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    killAll();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  killAll();
  process.exit(1);
});
