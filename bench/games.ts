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
import { Client, type Room } from 'colyseus.js';
import { createApi } from '../client/src/sdk/api.ts';
import { SESSION_COOKIE } from '../engine/cookies.ts';
import type { GameRecord } from '../engine/protocol.ts';
import { PONG, type PongView } from '../games/pong.ts';
import { baseEnv, freePort, installExitHooks, killAll, repoRoot, sleep, spawnPinned, waitForHttp, withTimeout } from './lib/processes.ts';
import { cpuSeconds } from './lib/procfs.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const GAME_COUNTS = option('games', '1,10,50').split(',').map(Number);
const SECONDS = Number(option('seconds', '10'));
const HANDLE = 'benchgames';
const PASSWORD = 'bench password 1';

interface Player {
  room: Room;
  seat: 0 | 1;
  sent: number;
  inputs: number;
}

/** Follows the ball: -1, 0 or 1, sent only on a change (a person holding and releasing a key). */
function follow(player: Player, view: PongView): void {
  const diff = view.ball.y - view.paddles[player.seat];
  const speed = Math.abs(diff) < PONG.paddleHeight / 4 ? 0 : Math.sign(diff);
  if (speed === player.sent) return;
  player.sent = speed;
  player.inputs += 1;
  player.room.send('move', { move: { speed } });
}

function once<T>(room: Room, type: string, accept: (payload: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve) => {
    const off = room.onMessage(type, (payload: T) => {
      if (!accept(payload)) return;
      off();
      resolve(payload);
    });
  });
}

async function main(): Promise<void> {
  installExitHooks();
  // colyseus.js warns about messages that arrive before a handler is registered (the welcome, right after joining);
  // the players read only `state`, so those warnings are noise here.
  const warn = console.warn.bind(console);
  console.warn = (...parts: unknown[]) => {
    if (!String(parts[0]).startsWith('colyseus.js: onMessage() not registered')) warn(...parts);
  };
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'knock-bench-games-'));
  const env = {
    ...baseEnv(),
    KNOCK_DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    KNOCK_LOG_LEVEL: 'warn',
    KNOCK_RATE_LIMITS: JSON.stringify({ knocksPerIp: { perWindow: 100_000, windowMs: 60_000 }, socketMessages: { perWindow: 100_000, windowMs: 10_000 } }),
  };
  execFileSync(process.execPath, ['engine/bin/knock.mjs', 'user', 'add', HANDLE, '--name', 'Bench', '--password-stdin'], { cwd: repoRoot, env, input: `${PASSWORD}\n` });
  const port = await freePort();
  const server = spawnPinned({ name: 'knock', cpus: '0', nodeArgs: ['--import', 'tsx', 'engine/main.ts'], env: { ...env, PORT: String(port) } });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${base}/_/health`, server, 30_000);
    const cookies = new Map<string, string>();
    await createApi({ base, cookies }).login(HANDLE, PASSWORD);
    const ownerHeaders = { cookie: `${SESSION_COOKIE}=${encodeURIComponent(cookies.get(SESSION_COOKIE)!)}` };
    const rooms: Room[] = [];
    const players: Player[] = [];
    let running = 0;
    const measured: Array<{ games: number; cores: number }> = [];
    for (const target of GAME_COUNTS) {
      // Start games until `target` run at once (each: a visitor knocks, invites; the owner accepts; both join).
      while (running < target) {
        await withTimeout(startGame(base, ownerHeaders, rooms, players), 15_000, 'starting a game');
        running += 1;
      }
      await sleep(1000);
      const states = countStates(players);
      const cpu0 = cpuSeconds(server.pid);
      const inputs0 = players.reduce((n, p) => n + p.inputs, 0);
      const t0 = performance.now();
      await sleep(SECONDS * 1000);
      const seconds = (performance.now() - t0) / 1000;
      if (finished.count > 0) process.stdout.write(`  (${finished.count} game(s) ended by score so far)\n`);
      const cores = (cpuSeconds(server.pid) - cpu0) / seconds;
      const inputs = (players.reduce((n, p) => n + p.inputs, 0) - inputs0) / seconds;
      const statesPerSecond = (countStates(players) - states) / seconds;
      // Games that ended by score no longer tick: count only those still running.
      measured.push({ games: target - finished.count, cores });
      process.stdout.write(`${String(target - finished.count).padStart(5)} games running  server CPU ${(cores * 100).toFixed(1).padStart(5)} %  states/s received ${statesPerSecond.toFixed(0).padStart(6)}  inputs/s sent ${inputs.toFixed(0)}\n`);
    }
    // The same sockets, games left: what the connections alone cost (the baseline to subtract).
    await Promise.all(players.map((p) => p.room.leave(true).catch(() => undefined)));
    const cpu0 = cpuSeconds(server.pid);
    await sleep(SECONDS * 1000);
    const idle = (cpuSeconds(server.pid) - cpu0) / SECONDS;
    process.stdout.write(`idle (conversation sockets only, no game): server CPU ${(idle * 100).toFixed(1)} %\n`);
    for (const { games, cores } of measured) {
      process.stdout.write(`${String(games).padStart(5)} games: ${(((cores - idle) * 100) / games).toFixed(2)} % of a core per running game\n`);
    }
    process.stdout.write(`Tick: ${1000 / PONG.tickMs} Hz. Machine: ${os.cpus()[0]?.model ?? '?'}; server pinned to CPU 0, clients to CPU 1.\n`);
    await Promise.all(rooms.map((r) => r.leave(true).catch(() => undefined)));
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    killAll();
  }
}

const received = new WeakMap<Room, number>();
/** Games that ended (5 points) during the run: the figures count only games still running. */
const finished = { count: 0 };
function countStates(players: Player[]): number {
  return players.reduce((n, p) => n + (received.get(p.room) ?? 0), 0);
}

async function startGame(base: string, ownerHeaders: Record<string, string>, rooms: Room[], players: Player[]): Promise<void> {
  const answer = await createApi({ base, cookies: new Map() }).knock(HANDLE, 'Player');
  const visitorClient = new Client(base);
  const ownerClient = new Client(base, { headers: ownerHeaders });
  const visitor = await visitorClient.joinOrCreate('conversation', { conversationId: answer.conversationId, token: answer.token });
  const owner = await ownerClient.joinOrCreate('conversation', { conversationId: answer.conversationId });
  for (const room of [visitor, owner]) room.onMessage('*', () => undefined);
  rooms.push(visitor, owner);
  const invited = once<GameRecord>(owner, 'game', (g) => g.status === 'invited');
  visitor.send('game.invite', { kind: 'pong' });
  const game = await invited;
  const active = once<GameRecord>(visitor, 'game', (g) => g.status === 'active');
  owner.send('game.answer', { gameId: game.id, accept: true });
  await active;
  const options = { gameId: game.id, conversationId: answer.conversationId };
  for (const [client, extra, seat] of [[visitorClient, { token: answer.token }, 0], [ownerClient, {}, 1]] as const) {
    const room = await client.joinOrCreate('game', { ...options, ...extra });
    const player: Player = { room, seat, sent: 0, inputs: 0 };
    room.onMessage('*', () => undefined);
    if (seat === 0) room.onMessage('over', () => (finished.count += 1));
    room.onMessage('state', (state: { view: PongView }) => {
      received.set(room, (received.get(room) ?? 0) + 1);
      follow(player, state.view);
    });
    players.push(player);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  killAll();
  process.exit(1);
});
