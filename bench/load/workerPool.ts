/**
 * The controller's side of the load processes: starts them pinned to the load CPUs, sends each a command and waits
 * for its answer (bounded), and stops them. Work is split evenly: `split(items)` gives each process its share.
 */
import { spawnPinned, baseEnv, withTimeout, type Pinned } from '../lib/processes.ts';
import type { Command, Reply } from './messages.ts';

const START_TIMEOUT_MS = 60_000;

class LoadWorker {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(readonly proc: Pinned) {
    proc.child.on('message', (raw) => {
      const reply = raw as Reply | { ready: true };
      if (!('id' in reply)) return;
      const waiter = this.waiting.get(reply.id);
      if (!waiter) return;
      this.waiting.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.result);
      else waiter.reject(new Error(`${proc.name}: ${reply.error}`));
    });
    void proc.exited.then(({ code, signal }) => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`${proc.name} exited (${code ?? signal}):\n${proc.output()}`));
      this.waiting.clear();
    });
  }

  call<R>(command: Command, timeoutMs: number): Promise<R> {
    const id = this.nextId++;
    const answer = new Promise<R>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
    this.proc.child.send({ id, ...command });
    return withTimeout(answer, timeoutMs, `${this.proc.name} ${command.cmd}`);
  }
}

export class WorkerPool {
  private constructor(private readonly workers: LoadWorker[]) {}

  static async start(count: number, cpus: string): Promise<WorkerPool> {
    const procs = Array.from({ length: count }, (_, i) =>
      spawnPinned({
        name: `load-${i}`,
        cpus,
        nodeArgs: ['--expose-gc', '--import', 'tsx', 'bench/load/worker.ts'],
        env: { ...baseEnv(), BENCH_WORKER_ID: String(i) },
        ipc: true,
      }),
    );
    await Promise.all(
      procs.map((proc) =>
        withTimeout(
          new Promise<void>((resolve, reject) => {
            proc.child.once('message', () => resolve());
            void proc.exited.then(() => reject(new Error(`${proc.name} exited while starting:\n${proc.output()}`)));
          }),
          START_TIMEOUT_MS,
          `${proc.name} start`,
        ),
      ),
    );
    return new WorkerPool(procs.map((p) => new LoadWorker(p)));
  }

  get size(): number {
    return this.workers.length;
  }

  get pids(): number[] {
    return this.workers.map((w) => w.proc.pid);
  }

  /** Items dealt round-robin, one list per process (some may be empty). */
  split<T>(items: T[], among = this.workers.length): T[][] {
    const shares: T[][] = Array.from({ length: among }, () => []);
    items.forEach((item, i) => shares[i % among]!.push(item));
    return shares;
  }

  /** Sends each process its own command (null: nothing for it) and waits for every answer. */
  async each<R>(commands: Array<Command | null>, timeoutMs: number): Promise<R[]> {
    const answers = await Promise.all(commands.map((c, i) => (c ? this.workers[i]!.call<R>(c, timeoutMs) : Promise.resolve(null))));
    return answers.filter((a): a is Awaited<R> => a !== null) as R[];
  }

  /** The same command to every process. */
  all<R>(command: Command, timeoutMs: number): Promise<R[]> {
    return this.each<R>(this.workers.map(() => command), timeoutMs);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        try {
          await w.call({ cmd: 'exit' }, 2000);
        } catch {
          // already gone, or stuck: stop() below ends it
        }
        await w.proc.stop(2000);
      }),
    );
  }
}
