/**
 * Document sync through Knock's DocRoom: documents with two editors each (the SDK's DocProvider over colyseus.js,
 * both in one load process, so a keystroke's send and its arrival read the same clock; bench/load/docPair.ts). One
 * message is one keystroke: a one-character insert, one Yjs update, applied by the server (stored, compacted every
 * KNOCK_DOC_COMPACT_UPDATES) and relayed to the other editor, where it counts as delivered once that editor's Y.Doc
 * has applied it. Closed loop first (saturation), then open loop at fractions of it, with the chat relay's
 * machinery (throughput.ts: warm-up, window, drain, server idle and GC before each step).
 *
 * The server runs with the bench's raised rate limits (docMessages included: 60 messages/s per connection by
 * default) and the default document limits: each editor types at the end of its own text, so a document's state
 * grows by about a byte per keystroke, far below KNOCK_DOC_MAX_BYTES; an update refused as too large would show
 * as an error in the step.
 */
import type { SeededAccount } from '../seed.ts';
import type { PairSpec } from '../load/messages.ts';
import type { DocSyncResult, LoadStep } from '../results.ts';
import type { RunningServer } from '../targets.ts';
import type { BenchContext } from './context.ts';
import { closePairs, fmt, openPairs, runStep } from './throughput.ts';

export async function measureDocSync(ctx: BenchContext, server: RunningServer, owners: SeededAccount[]): Promise<DocSyncResult> {
  const { docs, window, saturation: satPhase, step: stepPhase, fractions } = ctx.mode.docs;
  const endpoint = server.endpoints[0]!;
  // One owner per document: a visitor knocks at their URL and makes the document; visitor and owner edit it.
  const pairs: PairSpec[] = owners.slice(0, docs).map((owner, i) => ({ id: `d${i}`, endpoint, owner }));
  ctx.log(`${server.label}: opening ${pairs.length} documents, 2 editors each`);
  const docsOpened = await openPairs(ctx, server, pairs, 'doc');
  try {
    const saturation = await runStep(ctx, server, { mode: 'closed', window }, satPhase);
    ctx.log(`docs: saturation ${fmt(saturation.deliveredPerSec)} updates/s delivered (p50 ${saturation.latency.p50Ms.toFixed(1)} ms, p99 ${saturation.latency.p99Ms.toFixed(1)} ms, server CPU ${saturation.cpu.server.toFixed(2)})`);
    const steps: LoadStep[] = [];
    const rates = [...new Set(fractions.map((f) => Math.max(1, Math.round(f * saturation.deliveredPerSec))))].sort((a, b) => a - b);
    for (const ratePerSec of rates) {
      const step = await runStep(ctx, server, { mode: 'open', ratePerSec }, stepPhase, Math.min(ctx.pool.size, Math.max(1, Math.floor(ratePerSec / 10))));
      ctx.log(`docs: ${fmt(ratePerSec)} updates/s offered -> ${fmt(step.deliveredPerSec)} delivered, p50 ${step.latency.p50Ms.toFixed(2)} ms, p99 ${step.latency.p99Ms.toFixed(2)} ms`);
      steps.push(step);
    }
    return { server: server.kind, label: server.label, docs: pairs.length, docsOpened, editorsPerDoc: 2, saturation, steps };
  } finally {
    await closePairs(ctx);
  }
}
