/**
 * Time to open a URL and be ready to chat, and to get the first message acknowledged (bench/load/openUrl.ts), with
 * the owners online and the server otherwise idle; a few visitors at a time, as people arrive.
 */
import type { IdleSpec, OpenUrlResult as WorkerOpenUrl, OpenResult } from '../load/messages.ts';
import type { OpenUrlResult } from '../results.ts';
import type { RunningServer } from '../targets.ts';
import { closeIdle } from './connections.ts';
import { mergeHistograms, type BenchContext } from './context.ts';

export async function measureOpenUrl(ctx: BenchContext, server: RunningServer, owners: IdleSpec[]): Promise<OpenUrlResult> {
  const { visitors, concurrency } = ctx.mode.openUrl;
  const timeoutMs = 30_000;
  // The owners come online first (visitors then see "online"), one load process holds them.
  const online = await ctx.pool.each<OpenResult>(
    ctx.pool.split(owners).map((share) => (share.length ? { cmd: 'openIdle', protocol: 'knock', role: 'owner', specs: share, concurrency: 4, timeoutMs } : null)),
    timeoutMs * 2,
  );
  const ownerErrors = online.flatMap((r) => r.firstErrors);
  try {
    const specs = Array.from({ length: visitors }, (_, i) => ({ endpoint: owners[i % owners.length]!.endpoint, handle: owners[i % owners.length]!.handle! }));
    const perProcess = Math.max(1, Math.ceil(concurrency / ctx.pool.size));
    const results = await ctx.pool.each<WorkerOpenUrl>(
      ctx.pool.split(specs).map((share) => (share.length ? { cmd: 'openUrl', specs: share, concurrency: perProcess, timeoutMs } : null)),
      timeoutMs + visitors * 2000,
    );
    const openToReady = mergeHistograms(results.map((r) => r.openToReady)).summary();
    const knockToFirstAck = mergeHistograms(results.map((r) => r.knockToFirstAck)).summary();
    const failed = results.reduce((n, r) => n + r.failed, 0);
    ctx.log(`${server.label}: open URL to ready p50 ${openToReady.p50Ms.toFixed(1)} ms, p99 ${openToReady.p99Ms.toFixed(1)} ms; knock to first ack p50 ${knockToFirstAck.p50Ms.toFixed(1)} ms${failed ? `, ${failed} failed` : ''}`);
    return {
      server: server.kind,
      label: server.label,
      visitors,
      failed,
      openToReady,
      knockToFirstAck,
      firstErrors: [...ownerErrors, ...results.flatMap((r) => r.firstErrors)].slice(0, 5),
    };
  } finally {
    await closeIdle(ctx, server);
  }
}
