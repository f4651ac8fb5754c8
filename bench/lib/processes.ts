/**
 * Child processes of a bench run: every server and load process is started pinned to its CPUs (taskset) and
 * registered here, so that whatever happens (an error, Ctrl-C, a timeout) `killAll()` ends each one by its pid.
 * Nothing here ever signals a process it did not start.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const KEEP_OUTPUT_CHARS = 32 * 1024;

export interface Pinned {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** The last 32 KiB it printed (stdout and stderr), for error messages. */
  output(): string;
  /** Resolves when it has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<Pinned>();

/** Moves a running process, every thread of it (-a), to these CPUs (a `taskset` list such as "1" or "0,1"). */
export function pinProcess(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-pc', cpus, String(pid)], { stdio: 'ignore' });
}

/** Ends every child still running (SIGKILL), e.g. on the way out after an error. */
export function killAll(): void {
  for (const p of live) p.child.kill('SIGKILL');
}

let exitHooksInstalled = false;
/**
 * Kills every child when this process exits or is interrupted, however that happens. `onSignal` runs first on
 * SIGINT/SIGTERM/SIGHUP (after the children are killed), e.g. to write what was measured so far.
 */
export function installExitHooks(onSignal?: (signal: NodeJS.Signals) => void): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      try {
        onSignal?.(signal);
      } finally {
        process.exit(130);
      }
    });
  }
}

export interface SpawnPinnedOptions {
  name: string;
  /** CPUs for taskset -c, e.g. "0" or "1,2". */
  cpus: string;
  /** Arguments to node (flags, then the entry script and its arguments). */
  nodeArgs: string[];
  env: Record<string, string>;
  ipc?: boolean;
}

/** Starts `node <nodeArgs>` under `taskset -c <cpus>` (taskset execs node: the pid is node's). */
export function spawnPinned(opts: SpawnPinnedOptions): Pinned {
  return spawnPinnedProgram({ name: opts.name, cpus: opts.cpus, program: process.execPath, args: opts.nodeArgs, env: opts.env, cwd: repoRoot, ...(opts.ipc ? { ipc: true } : {}) });
}

export interface SpawnPinnedProgramOptions {
  name: string;
  /** CPUs for taskset -c, e.g. "0" or "1,2". */
  cpus: string;
  /** The program taskset execs (its pid is the program's) and its arguments. */
  program: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Run as this user (a daemon that refuses to run as root: Prosody, ejabberd). */
  user?: { uid: number; gid: number };
  ipc?: boolean;
}

/** Starts any program under `taskset -c <cpus>`, registered like every other child (killed by pid on the way out). */
export function spawnPinnedProgram(opts: SpawnPinnedProgramOptions): Pinned {
  const child = spawn('taskset', ['-c', opts.cpus, opts.program, ...opts.args], {
    cwd: opts.cwd,
    env: opts.env,
    stdio: opts.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    ...(opts.user ?? {}),
  });
  if (child.pid === undefined) throw new Error(`Could not start ${opts.name} (taskset and ${opts.program} must be on PATH).`);
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString('utf8')).slice(-KEEP_OUTPUT_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(pinned);
      resolve({ code, signal });
    });
  });
  const pinned: Pinned = {
    name: opts.name,
    child,
    pid: child.pid,
    output: () => out,
    exited,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  live.add(pinned);
  return pinned;
}

/** Only what a Node process needs: the caller's NODE_OPTIONS, test runner variables etc. stay out. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('No free port.'))));
    });
  });
}

/** Polls `url` until it answers 200; rejects with the process's output if it exits or `timeoutMs` passes. */
export async function waitForHttp(url: string, proc: Pinned, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void proc.exited.then(() => (gone = true));
  while (Date.now() < deadline) {
    if (gone) throw new Error(`${proc.name} exited while starting:\n${proc.output()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`${proc.name} did not answer ${url} within ${timeoutMs} ms:\n${proc.output()}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects after `ms` unless `promise` settles first; the message says what was awaited. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
