/**
 * The PostgreSQL and Redis the tests (and the bench's scale-out scenario) run against. In order:
 * 1. the ones named by `KNOCK_TEST_DATABASE_URL` / `KNOCK_TEST_REDIS_URL`;
 * 2. the machine's own, when something answers at the default addresses (127.0.0.1:5432, trust auth, database
 *    `test`; 127.0.0.1:6379);
 * 3. otherwise throwaway servers of the run's own, from Debian's packages (`postgresql`, `redis-server`): PostgreSQL
 *    made by `initdb` in a temporary directory, listening on a free port of 127.0.0.1 with trust auth and no
 *    durability (a test database), and a Redis that keeps nothing on disk. They are shared by the whole run and
 *    stopped at its end; each runs under a small shell guard that stops it when the process that started it is
 *    gone, so an interrupted run (Ctrl-C, a killed runner) leaves no server behind either.
 *
 * @example
 *   const services = await testServices();   // in vitest's globalSetup
 *   process.env.KNOCK_TEST_DATABASE_URL = services.databaseUrl;
 *   // ... the run ...
 *   await services.stop();
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './ports.ts';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

export interface TestServices {
  databaseUrl: string;
  redisUrl: string;
  /** What was used, for the run's log: `set`, `machine` or `throwaway` (with how long it took to start). */
  describe(): string;
  /** Stops the throwaway servers (nothing else); idempotent. */
  stop(): Promise<void>;
}

export async function testServices(env: NodeJS.ProcessEnv = process.env): Promise<TestServices> {
  const started: Throwaway[] = [];
  const notes: string[] = [];
  /** The set URL, else the machine's when it answers, else a throwaway server's; noted for the run's log. */
  const choose = async (what: string, variable: string, machine: { url: string; where: string; answers: () => Promise<boolean> }, start: () => Promise<Throwaway>): Promise<string> => {
    const set = env[variable];
    if (set) {
      notes.push(`${what}: ${variable}`);
      return set;
    }
    if (await machine.answers()) {
      notes.push(`${what}: the machine\u2019s, ${machine.where}`);
      return machine.url;
    }
    const t0 = Date.now();
    const server = await start();
    started.push(server);
    notes.push(`${what}: throwaway at ${server.url} (started in ${Date.now() - t0} ms)`);
    return server.url;
  };
  try {
    const databaseUrl = await choose(
      'PostgreSQL',
      'KNOCK_TEST_DATABASE_URL',
      { url: DEFAULT_DATABASE_URL, where: '127.0.0.1:5432', answers: () => postgresAnswers(DEFAULT_DATABASE_URL) },
      () => ThrowawayPostgres.start(),
    );
    const redisUrl = await choose(
      'Redis',
      'KNOCK_TEST_REDIS_URL',
      { url: DEFAULT_REDIS_URL, where: '127.0.0.1:6379', answers: () => redisAnswers(6379) },
      () => ThrowawayRedis.start(),
    );
    let stopped: Promise<void> | null = null;
    return {
      databaseUrl,
      redisUrl,
      describe: () => notes.join('; '),
      stop: () => (stopped ??= Promise.all(started.map((s) => s.stop())).then(() => undefined)),
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    throw err;
  }
}

export interface Throwaway {
  readonly url: string;
  /** Its temporary directory, gone after stop(). */
  readonly directory: string;
  stop(): Promise<void>;
}

/**
 * Runs `command` under a guard shell: it stops the child (with `stopSignal`) when told to (SIGTERM), or when the
 * process `watchPid` is gone. The guard's own pid is what `stop()` signals.
 */
function guarded(command: string[], stopSignal: 'INT' | 'TERM', watchPid: number, log: { text: string }): ChildProcess {
  const quoted = command.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = [
    `${quoted} & child=$!`,
    `trap 'kill -${stopSignal} $child 2>/dev/null; wait $child; exit 0' TERM INT`,
    `while kill -0 ${watchPid} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1 & wait $!; done`,
    `kill -${stopSignal} $child 2>/dev/null; wait $child`,
  ].join('\n');
  const guard = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const keep = (chunk: Buffer) => {
    log.text = (log.text + chunk.toString('utf8')).slice(-16_384);
  };
  guard.stdout?.on('data', keep);
  guard.stderr?.on('data', keep);
  guard.unref();
  return guard;
}

async function stopGuard(guard: ChildProcess): Promise<void> {
  if (guard.exitCode !== null || guard.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => guard.once('exit', () => resolve()));
  guard.kill('SIGTERM');
  const timer = setTimeout(() => {
    try {
      process.kill(-guard.pid!, 'SIGKILL'); // the guard and its server, as a group
    } catch {
      // already gone
    }
  }, STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** Debian's PostgreSQL binaries (the newest major installed). */
function postgresBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const file = path.join(root, v, 'bin', name);
    if (existsSync(file)) return file;
  }
  throw new Error(`PostgreSQL is not installed (no ${root}/*/bin/${name}): as root, \`apt-get install postgresql\`, or set KNOCK_TEST_DATABASE_URL.`);
}

export class ThrowawayPostgres implements Throwaway {
  private constructor(
    readonly url: string,
    private readonly guard: ChildProcess,
    private readonly dir: string,
    private readonly log: { text: string },
  ) {}

  static async start(): Promise<ThrowawayPostgres> {
    const postgres = postgresBin('postgres');
    const initdb = postgresBin('initdb');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'knock-test-pg-'));
    // PostgreSQL refuses to run as root: as root, the data directory and the server belong to Debian's `postgres`.
    const asRoot = process.getuid?.() === 0;
    const run = (argv: string[]) => (asRoot ? ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', '--', ...argv] : argv);
    if (asRoot) {
      const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
      await chown(dir, id('-u'), id('-g'));
    }
    const data = path.join(dir, 'data');
    const [cmd, ...args] = run([initdb, '-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--locale=C.UTF-8']);
    execFileSync(cmd!, args, { stdio: 'pipe' });
    const port = await freePort();
    const log = { text: '' };
    const guard = guarded(
      run([postgres, '-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300']),
      'INT', // fast shutdown: SIGTERM would wait for every client to disconnect
      process.pid,
      log,
    );
    const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const server = new ThrowawayPostgres(`postgres://postgres@127.0.0.1:${port}/test`, guard, dir, log);
    try {
      await until(() => postgresAnswers(admin), () => server.exited(), `PostgreSQL on 127.0.0.1:${port}`, log);
      const client = new pg.Client({ connectionString: admin });
      await client.connect();
      await client.query('CREATE DATABASE test');
      await client.end();
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  private exited(): boolean {
    return this.guard.exitCode !== null || this.guard.signalCode !== null;
  }

  /** The directory holding its data and socket (removed by stop()). */
  get directory(): string {
    return this.dir;
  }

  async stop(): Promise<void> {
    await stopGuard(this.guard);
    await rm(this.dir, { recursive: true, force: true });
  }
}

export class ThrowawayRedis implements Throwaway {
  private constructor(
    readonly url: string,
    private readonly guard: ChildProcess,
    private readonly dir: string,
  ) {}

  static async start(): Promise<ThrowawayRedis> {
    const bin = '/usr/bin/redis-server';
    if (!existsSync(bin)) throw new Error('Redis is not installed (no /usr/bin/redis-server): as root, `apt-get install redis-server`, or set KNOCK_TEST_REDIS_URL.');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'knock-test-redis-'));
    const port = await freePort();
    const log = { text: '' };
    const guard = guarded(
      [bin, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--databases', '16'],
      'TERM',
      process.pid,
      log,
    );
    const server = new ThrowawayRedis(`redis://127.0.0.1:${port}`, guard, dir);
    try {
      await until(() => redisAnswers(port), () => guard.exitCode !== null, `Redis on 127.0.0.1:${port}`, log);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  get directory(): string {
    return this.dir;
  }

  async stop(): Promise<void> {
    await stopGuard(this.guard);
    await rm(this.dir, { recursive: true, force: true });
  }
}

async function until(ready: () => Promise<boolean>, died: () => boolean, what: string, log: { text: string }): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await ready()) return;
    if (died()) throw new Error(`${what} exited while starting:\n${log.text}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} did not answer within ${START_TIMEOUT_MS} ms:\n${log.text}`);
}

/** True when a PostgreSQL answers a query at `url` (within a second). */
export async function postgresAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** True when a Redis on 127.0.0.1:`port` answers PING (within a second). */
export function redisAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}
