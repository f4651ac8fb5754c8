/**
 * Knock as a separate process, for fault tests (CONVENTIONS 13), started exactly as `npm start` starts it once
 * `prestart` has built it: package.json's start script (`node … engine/dist/main.mjs`, the ahead-of-time build of
 * engine/main.ts), in a process group of its own, on a free port picked once (so a restart comes back at the same
 * address clients know), with its own temporary data directory; and the operations a fault test needs: start, SIGKILL, a graceful stop (SIGTERM or
 * SIGINT, to the process or to its whole group), and the operators' CLI against the same data, run as `npx knock`
 * runs it (engine/bin/knock.mjs, which runs engine/dist/cli.mjs).
 * `dispose()` kills whatever is still running and removes the data directory; call it in a `finally`/`afterEach`.
 * The browser bundle (client/dist) and the server's (engine/dist) must exist: the vitest globalSetup builds both.
 *
 * @example
 *   const knock = await KnockProcess.create();
 *   try {
 *     await knock.addUser('alice', 'Alice');
 *     await knock.start();
 *     await knock.kill();   // SIGKILL: no shutdown code runs
 *     await knock.start();  // same port, same data
 *   } finally {
 *     await knock.dispose();
 *   }
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_PASSWORD } from './knockServer.ts';
import { freePort } from './ports.ts';

export { freePort };

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const HEALTH_POLL_MS = 50;
const START_TIMEOUT_MS = 20_000;
/** After a stop signal, how long before the process is killed: beyond any KNOCK_SHUTDOWN_TIMEOUT_MS a test sets. */
const KILL_AFTER_MS = 20_000;
const KEEP_OUTPUT_CHARS = 64 * 1024;

/** Limits for machines, not humans: a test types far faster than a person (the default is 30 messages per 10 s). */
export const FAST_RATE_LIMITS = {
  socketMessages: { perWindow: 10_000, windowMs: 1000 },
  socketSignals: { perWindow: 10_000, windowMs: 1000 },
  knocksPerIp: { perWindow: 1000, windowMs: 60_000 },
  matchmakesPerIp: { perWindow: 10_000, windowMs: 60_000 },
} as const;

/** Several processes of one Knock: shared PostgreSQL and Redis (README "Running several processes"). */
export interface ClusterEnv {
  /** DATABASE_URL. */
  databaseUrl: string;
  /** KNOCK_DATABASE_SCHEMA: a schema of the test's own (test/support/postgresSchemas.ts). */
  databaseSchema: string;
  /** REDIS_URL, naming a logical database of the test's own (test/support/redisDatabase.ts). */
  redisUrl: string;
  /**
   * A path after 127.0.0.1:<port> in KNOCK_PUBLIC_ADDRESS, e.g. `/_/p1`, as behind a proxy that routes that path to
   * this process (README); the process itself is reached directly, which works because it reads only the last two
   * segments of a room socket's path.
   */
  publicPath?: string;
}

export interface KnockProcessOptions {
  /** Overrides of the rate limits (KNOCK_RATE_LIMITS); defaults to FAST_RATE_LIMITS. */
  rateLimits?: Record<string, { perWindow: number; windowMs: number }>;
  /**
   * Run as one process of a cluster: storage in PostgreSQL, presence and matchmaking in Redis, and
   * KNOCK_PUBLIC_ADDRESS=127.0.0.1:<this port>, where clients open the sockets of rooms this process holds.
   * Without it, the process is alone, on SQLite in its data directory.
   */
  cluster?: ClusterEnv;
  /** More environment for the server (e.g. KNOCK_PING_INTERVAL_MS). */
  env?: Record<string, string>;
  logLevel?: string;
  /**
   * Nobody reads the server's standard output (a log reader that stalls): the pipe fills up and stays full.
   * `stalledOutput()` reads what is in it once the server has exited. `log` then holds standard error only.
   */
  stalledStdout?: boolean;
}

/** Every child started by this module, so none outlives the test process even if a test forgets `dispose()`. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export class KnockProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | null = null;
  private output = '';
  private disposed = false;
  /** How many times the server has been started (1 after the first start). */
  starts = 0;

  private stalledStdout: NodeJS.ReadableStream | null = null;

  private constructor(
    readonly port: number,
    readonly dataDir: string,
    private readonly env: Record<string, string>,
    private readonly stdoutStalls: boolean,
  ) {}

  static async create(options: KnockProcessOptions = {}): Promise<KnockProcess> {
    const port = await freePort();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'knock-fault-'));
    const env: Record<string, string> = {
      ...baseEnv(),
      PORT: String(port),
      HOST: '127.0.0.1',
      KNOCK_DATA_DIR: dataDir,
      KNOCK_LOG_LEVEL: options.logLevel ?? 'warn',
      KNOCK_RATE_LIMITS: JSON.stringify(options.rateLimits ?? FAST_RATE_LIMITS),
      // No SMTP server unless a test asks for one (KNOCK_SMTP_PORT in `env`): the default port 2525 is one per machine.
      KNOCK_SMTP_PORT: '-1',
      // No conference server unless a test asks for one (KNOCK_SFU in `env`): mediasoup starts a worker per core.
      KNOCK_SFU: 'none',
      ...(options.cluster
        ? {
            DATABASE_URL: options.cluster.databaseUrl,
            KNOCK_DATABASE_SCHEMA: options.cluster.databaseSchema,
            REDIS_URL: options.cluster.redisUrl,
            KNOCK_PUBLIC_ADDRESS: `127.0.0.1:${port}${options.cluster.publicPath ?? ''}`,
          }
        : {}),
      ...options.env,
    };
    return new KnockProcess(port, dataDir, env, options.stalledStdout ?? false);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** KNOCK_PUBLIC_ADDRESS when it runs in a cluster: how Colyseus's room listings name this process. */
  get publicAddress(): string | undefined {
    return this.env.KNOCK_PUBLIC_ADDRESS;
  }

  /** The SQLite file the server writes (when not in a cluster). */
  get dbFile(): string {
    return path.join(this.dataDir, 'knock.db');
  }

  get running(): boolean {
    return this.child !== null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** What the server printed (stdout and stderr, the last 64 KiB), for failure messages. */
  get log(): string {
    return this.output;
  }

  /** Starts the server and resolves once GET /_/health answers 200; rejects (with its output) if it exits first. */
  async start(): Promise<void> {
    if (this.disposed) throw new Error('This KnockProcess was disposed.');
    if (this.child) throw new Error(`Knock is already running (pid ${this.child.pid}).`);
    const child = spawn(process.execPath, npmStartArgs(), {
      cwd: repoRoot,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // A process group of its own, as a service manager gives it: `stop({ group: true })` signals all of it.
      detached: true,
    });
    this.child = child;
    live.add(child);
    this.starts++;
    const run = this.starts;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-KEEP_OUTPUT_CHARS);
    };
    if (this.stdoutStalls && child.stdout) {
      child.stdout.pause();
      this.stalledStdout = child.stdout;
    } else {
      child.stdout?.on('data', keep);
    }
    child.stderr?.on('data', keep);
    this.output += `--- start #${run} (pid ${child.pid ?? '?'}) ---\n`;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        if (this.child === child) this.child = null;
        this.output += `--- exit #${run}: code ${code ?? '-'} signal ${signal ?? '-'} ---\n`;
        resolve({ code, signal });
      });
    });
    child.once('error', (err) => {
      this.output += `--- spawn error: ${err.message} ---\n`;
    });

    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.child !== child) throw new Error(`Knock exited while starting.\n${this.output}`);
      if (await healthy(this.url)) return;
      await delay(HEALTH_POLL_MS);
    }
    await this.kill();
    throw new Error(`Knock did not answer /_/health with 200 within ${START_TIMEOUT_MS} ms.\n${this.output}`);
  }

  /** With `stalledStdout`: what the server's standard output pipe held, read once the server has exited. */
  async stalledOutput(): Promise<string> {
    const out = this.stalledStdout;
    if (!out) throw new Error('stalledOutput() needs KnockProcess.create({ stalledStdout: true }).');
    if (this.child) throw new Error('stalledOutput() reads the pipe once the server has exited.');
    let text = '';
    out.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    const ended = new Promise<void>((resolve) => out.once('end', () => resolve()));
    out.resume();
    await ended;
    return text;
  }

  /** SIGKILL: the process gets no chance to flush, close or say goodbye. Resolves once it has exited. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  /**
   * SIGSTOP: the process stops answering but keeps its sockets open, so a request sent now is certain to get no
   * answer before a following `kill()`. (A stopped process still dies at once on SIGKILL.)
   */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  /** SIGTERM, the graceful path (main.ts closes rooms and the database); resolves with the exit code. */
  async stop(): Promise<number | null> {
    return (await this.stopWith())?.code ?? null;
  }

  /**
   * Sends `signal` (default SIGTERM) to the server, or with `group` to its whole process group (as systemd or a
   * terminal's Ctrl-C does); resolves with how it ended and how many ms after the signal, or null if it was not
   * running. A process still there after 20 s is killed (its result then says signal SIGKILL).
   */
  async stopWith(opts: { signal?: 'SIGTERM' | 'SIGINT'; group?: boolean } = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number } | null> {
    const child = this.child;
    const exited = this.exited;
    if (!child || !exited || child.pid === undefined) return null;
    const signal = opts.signal ?? 'SIGTERM';
    const sent = Date.now();
    if (opts.group) process.kill(-child.pid, signal);
    else child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    try {
      const end = await exited;
      return { ...end, ms: Date.now() - sent };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * `knock user add` through the real CLI, against this server's database (its data directory, or PostgreSQL in a
   * cluster); works whether or not the server runs.
   */
  async addUser(handle: string, displayName: string, password = TEST_PASSWORD): Promise<void> {
    const { code, out } = await this.cli(['user', 'add', handle, '--name', displayName, '--password-stdin'], `${password}\n`);
    if (code !== 0) throw new Error(`knock user add ${handle} exited with ${code}: ${out}`);
  }

  /** Any `npx knock` command against this server's database, as an operator runs it; its exit code and output. */
  async cli(args: readonly string[], stdin = ''): Promise<{ code: number | null; out: string }> {
    const cli = spawn(process.execPath, ['engine/bin/knock.mjs', ...args], { cwd: repoRoot, env: this.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    cli.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    cli.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    cli.stdin.end(stdin);
    const code = await new Promise<number | null>((resolve, reject) => {
      cli.once('error', reject);
      cli.once('exit', (c) => resolve(c));
    });
    return { code, out };
  }

  /** Kills the server if it runs and removes the data directory. Safe to call more than once. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.kill();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** The node arguments of package.json's `start` script (`node … engine/dist/main.mjs`): the process runs what `npm start` runs. */
function npmStartArgs(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [command, ...args] = pkg.scripts.start.trim().split(/\s+/);
  if (command !== 'node') throw new Error(`package.json's start script should run node: ${pkg.scripts.start}`);
  return args;
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/_/health`, { signal: AbortSignal.timeout(1000) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Only what a Node process needs to run: the test runner's own variables (NODE_OPTIONS, VITEST_*) stay out. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', 'SystemRoot']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}
