/**
 * mediasoup's worker processes (C++, one core each at most): `size` of them, one per core by default
 * (KNOCK_MEDIASOUP_WORKERS). A new call's router goes to the worker holding the fewest routers. A worker that dies
 * (a crash, SIGKILL) is replaced at once, and `onDied` hands its routers' owners the news so they move their calls.
 *
 * @example
 *   const pool = await WorkerPool.start({ size: 2, rtcMinPort: 40000, rtcMaxPort: 49999, logger, onDied });
 *   const router = await pool.createRouter(mediaCodecs);
 *   await pool.close();
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { types as ms } from 'mediasoup';
import type { Logger } from '../../../engine/logger.ts';

export interface WorkerPoolOptions {
  size: number;
  rtcMinPort: number;
  rtcMaxPort: number;
  logger: Logger;
  /** A worker died; it is replaced already. Its routers are closed: their calls must move. */
  onDied(dead: ms.Worker): void;
}

/** How long after a death the replacement is tried again when starting it fails (a broken binary: logged, not spun). */
const RESTART_RETRY_MS = 2000;

export class WorkerPool {
  private readonly workers: ms.Worker[] = [];
  private readonly routersOf = new Map<ms.Worker, number>();
  private closed = false;
  private restarts = 0;

  private constructor(private readonly options: WorkerPoolOptions) {}

  /**
   * The worker binary mediasoup will start (MEDIASOUP_WORKER_BIN, or its default path, where the build links the
   * cached worker), and whether it is there. Found as mediasoup finds it (node/lib/Worker.js `workerBin`) without
   * loading mediasoup: every process that reads the configuration asks this, CLI commands too, and loading mediasoup
   * costs them half a second; it is loaded when the first worker starts.
   */
  static workerBinary(): { path: string; present: boolean } {
    const bin = process.env.MEDIASOUP_WORKER_BIN || defaultWorkerBin();
    return { path: bin ?? 'mediasoup (not installed)', present: bin !== null && existsSync(bin) };
  }

  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    try {
      for (let i = 0; i < options.size; i++) pool.workers.push(await pool.spawn());
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  /** Live workers' process ids (tests kill one to see calls recover). */
  get pids(): number[] {
    return this.workers.map((w) => w.pid);
  }

  /** How many workers were started to replace dead ones. */
  get replaced(): number {
    return this.restarts;
  }

  async createRouter(mediaCodecs: ms.RtpCodecCapability[]): Promise<ms.Router> {
    const worker = this.leastLoaded();
    const router = await worker.createRouter({ mediaCodecs });
    this.routersOf.set(worker, (this.routersOf.get(worker) ?? 0) + 1);
    router.observer.once('close', () => this.routersOf.set(worker, Math.max(0, (this.routersOf.get(worker) ?? 1) - 1)));
    return router;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const worker of this.workers.splice(0)) worker.close();
    this.routersOf.clear();
  }

  private leastLoaded(): ms.Worker {
    if (this.closed) throw new Error('the mediasoup worker pool is closed');
    const live = this.workers.filter((w) => !w.died && !w.closed);
    const best = live.sort((a, b) => (this.routersOf.get(a) ?? 0) - (this.routersOf.get(b) ?? 0))[0];
    if (!best) throw new Error('no mediasoup worker is running (one is being restarted)');
    return best;
  }

  private async spawn(): Promise<ms.Worker> {
    const mediasoup = await import('mediasoup');
    const worker = await mediasoup.createWorker({
      logLevel: 'warn',
      rtcMinPort: this.options.rtcMinPort,
      rtcMaxPort: this.options.rtcMaxPort,
    });
    this.routersOf.set(worker, 0);
    worker.on('died', (err) => this.died(worker, err));
    this.options.logger.info({ pid: worker.pid }, 'mediasoup worker started');
    return worker;
  }

  private died(worker: ms.Worker, err: Error): void {
    const at = this.workers.indexOf(worker);
    if (at >= 0) this.workers.splice(at, 1);
    this.routersOf.delete(worker);
    if (this.closed) return;
    this.options.logger.error({ pid: worker.pid, err }, 'a mediasoup worker died; starting another');
    void this.replace().then(() => this.options.onDied(worker));
  }

  private async replace(): Promise<void> {
    while (!this.closed) {
      try {
        const worker = await this.spawn();
        if (this.closed) return worker.close();
        this.workers.push(worker);
        this.restarts++;
        return;
      } catch (err) {
        this.options.logger.error({ err }, 'could not start a mediasoup worker; trying again');
        await new Promise((resolve) => setTimeout(resolve, RESTART_RETRY_MS).unref());
      }
    }
  }
}

/** mediasoup's default worker path (worker/out/<build type>/mediasoup-worker in its package); null when not installed. */
function defaultWorkerBin(): string | null {
  let manifest: string;
  try {
    manifest = createRequire(import.meta.url).resolve('mediasoup/package.json');
  } catch {
    return null;
  }
  const buildType = process.env.MEDIASOUP_BUILDTYPE === 'Debug' ? 'Debug' : 'Release';
  return path.join(path.dirname(manifest), 'worker', 'out', buildType, 'mediasoup-worker');
}
