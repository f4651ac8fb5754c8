/**
 * A load process (started by bench/load/workerPool.ts, pinned away from the server's CPUs). It holds connections and
 * drives traffic on the controller's commands (bench/load/messages.ts) and answers each with numbers. It exits when
 * told to, or as soon as its controller is gone (the IPC channel closes), so it can never outlive a run.
 */
import { Histogram } from '../lib/histogram.ts';
import { Clients, openIdle, openPair, type ChatPair, type ChatSink, type IdleConnection } from './connections.ts';
import { openDocPair } from './docPair.ts';
import type { Command, GameSpec, GameWindowResult, IdleSpec, IdleStatus, OpenResult, OpenUrlResult, PairKind, PairSpec, Reply, Request, WireProtocol } from './messages.ts';
import { OpenUrlRecorder, openUrlOnce } from './openUrl.ts';
import { startPongGame, type PongGame } from './pong.ts';
import { Traffic } from './traffic.ts';

const MAX_ERRORS_KEPT = 5;
const workerId = process.env.BENCH_WORKER_ID ?? '0';

class LoadProcess {
  private readonly clients = new Clients();
  private pairs: ChatPair[] = [];
  private idle: IdleConnection[] = [];
  private games: PongGame[] = [];
  private traffic: Traffic | null = null;
  private runs = 0;
  /** Chat events go to the traffic engine once one runs; until then (joining) there are none to count. */
  private readonly sink: ChatSink = {
    delivered: (id) => this.traffic?.delivered(id),
    acked: (id) => this.traffic?.acked(id),
    refused: (ref, text) => this.traffic?.refused(ref, text),
  };

  async handle(command: Command): Promise<unknown> {
    switch (command.cmd) {
      case 'openPairs':
        return this.openPairs(command.protocol, command.kind ?? 'chat', command.pairs, command.concurrency, command.timeoutMs);
      case 'closePairs': {
        const pairs = this.pairs.splice(0);
        this.traffic = null;
        await Promise.race([Promise.all(pairs.map((p) => p.close())), sleep(command.timeoutMs)]);
        return { closed: pairs.length };
      }
      case 'traffic':
        this.traffic = new Traffic(this.pairs, `w${workerId}r${this.runs++}x`);
        return this.traffic.run(command.plan);
      case 'openIdle':
        return this.openIdle(command.protocol, command.role, command.specs, command.concurrency, command.timeoutMs, command.deadline);
      case 'closeIdle': {
        const idle = this.idle.splice(0);
        await Promise.race([Promise.all(idle.map((c) => c.close())), sleep(command.timeoutMs)]);
        return { closed: idle.length };
      }
      case 'idleStatus': {
        const open = this.idle.filter((c) => c.open).length;
        return { open, dropped: this.idle.length - open } satisfies IdleStatus;
      }
      case 'openUrl':
        return this.openUrl(command.specs, command.concurrency, command.timeoutMs);
      case 'openGames':
        return this.openGames(command.games, command.concurrency, command.timeoutMs);
      case 'gameWindow':
        return this.gameWindow(command.measureMs);
      case 'leaveGames': {
        const games = command.close ? this.games.splice(0) : this.games;
        await Promise.race([Promise.all(games.map((g) => (command.close ? g.close() : g.leaveGame()))), sleep(command.timeoutMs)]);
        return { left: games.length };
      }
      case 'exit':
        setImmediate(() => process.exit(0));
        return null;
    }
  }

  private async openPairs(protocol: WireProtocol, kind: PairKind, specs: PairSpec[], concurrency: number, timeoutMs: number): Promise<OpenResult> {
    if (kind === 'doc' && protocol !== 'knock') throw new Error('document pairs need Knock');
    return timed(specs, concurrency, async (spec) => {
      this.pairs.push(await (kind === 'doc' ? openDocPair(spec, this.clients, this.sink, timeoutMs) : openPair(protocol, spec, this.clients, this.sink, timeoutMs)));
    });
  }

  private async openGames(specs: GameSpec[], concurrency: number, timeoutMs: number): Promise<OpenResult> {
    return timed(specs, concurrency, async (spec) => {
      this.games.push(await startPongGame({ endpoint: spec.endpoint, owner: spec.owner, name: `Player ${spec.id}` }, this.clients, timeoutMs));
    });
  }

  /** What the games receive over `measureMs`; a game that ends (by score) meanwhile is left out. */
  private async gameWindow(measureMs: number): Promise<GameWindowResult> {
    const games = [...this.games];
    const before = games.map((g) => g.players.map((p) => ({ states: p.states, inputs: p.inputs })));
    const start = performance.now();
    await sleep(measureMs);
    const windowMs = performance.now() - start;
    const result: GameWindowResult = { games: games.length, running: 0, ticks: 0, states: 0, inputs: 0, windowMs };
    games.forEach((game, i) => {
      if (game.over) return;
      result.running++;
      game.players.forEach((p, seat) => {
        const was = before[i]![seat]!;
        if (seat === 0) result.ticks += p.states - was.states;
        result.states += p.states - was.states;
        result.inputs += p.inputs - was.inputs;
      });
    });
    return result;
  }

  private async openIdle(protocol: WireProtocol, role: 'visitor' | 'owner', specs: IdleSpec[], concurrency: number, timeoutMs: number, deadline?: number): Promise<OpenResult> {
    return timed(
      specs,
      concurrency,
      async (spec) => {
        this.idle.push(await openIdle(protocol, role, spec, this.clients, timeoutMs));
      },
      deadline,
    );
  }

  private async openUrl(specs: Array<{ endpoint: string; handle: string }>, concurrency: number, timeoutMs: number): Promise<OpenUrlResult> {
    const recorder = new OpenUrlRecorder();
    let n = Number(workerId) * 1_000_000;
    const result = await timed(specs, concurrency, async (spec) => {
      recorder.add(await openUrlOnce(spec.endpoint, spec.handle, this.clients, n++, timeoutMs));
    });
    return {
      done: result.opened,
      failed: result.failed,
      openToReady: recorder.openToReady.toJSON(),
      knockToFirstAck: recorder.knockToFirstAck.toJSON(),
      firstErrors: result.firstErrors,
    };
  }
}

/**
 * Runs `task` over `items`, `concurrency` at a time, timing each; failures are counted, not thrown. No task starts
 * after `deadline` (epoch ms); what is left is counted as skipped.
 */
async function timed<T>(items: T[], concurrency: number, task: (item: T) => Promise<void>, deadline = Infinity): Promise<OpenResult> {
  const latency = new Histogram();
  const firstErrors: string[] = [];
  let next = 0;
  let failed = 0;
  const start = performance.now();
  const lane = async () => {
    while (next < items.length && Date.now() < deadline) {
      const item = items[next++]!;
      const t = performance.now();
      try {
        await task(item);
        latency.record(performance.now() - t);
      } catch (err) {
        failed++;
        if (firstErrors.length < MAX_ERRORS_KEPT) firstErrors.push(err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  return { opened: latency.count, failed, skipped: items.length - next, elapsedMs: performance.now() - start, latency: latency.toJSON(), firstErrors };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

if (!process.send) throw new Error('bench/load/worker.ts runs as a child of bench/run.ts (it needs an IPC channel).');
const load = new LoadProcess();
process.on('disconnect', () => process.exit(0));
process.on('message', (raw) => {
  const request = raw as Request;
  load.handle(request).then(
    (result) => process.send!({ id: request.id, ok: true, result } satisfies Reply),
    (err: unknown) => process.send!({ id: request.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies Reply),
  );
});
process.send({ ready: true });
