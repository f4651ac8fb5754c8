/**
 * Appends per second through the Storage port alone (no sockets): N conversations, W appends in flight in each
 * (closed loop), for SQLite (a file in a temp directory: group commit + fdatasync off the event loop) and for the
 * machine's PostgreSQL (a schema of its own, dropped afterwards: group commit per conversation, conversations in
 * parallel on the pool). What the relay's durable write costs, without the relay.
 *
 *   node --import tsx bench/storageAppends.ts [--conversations 20] [--window 4] [--seconds 3] [--only sqlite|postgres]
 *     [--event text|call] [--pool N]
 *
 * `--event call` appends call records (an event with a JSON payload) instead of text (no payload), the common case.
 * `--pool` sets PostgreSQL's pool size (default: the adapter's own, as Knock runs it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStorage } from '../adapters/storage/sqlite/SqliteStorage.ts';
import type { Storage } from '../engine/ports/storage.ts';
import type { ConversationEvent } from '../engine/protocol.ts';
import { Histogram } from './lib/histogram.ts';
import { TestSchemas } from '../test/support/postgresSchemas.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

/** The event of the `n`th append: text, or a call record of its own (as a server writes one per call). */
function eventMaker(kind: string): (n: number) => ConversationEvent {
  if (kind === 'text') return () => ({ kind: 'text' });
  if (kind === 'call') return (n) => ({ kind: 'call', callId: `bench-call-${n}`, media: 'video', reason: 'completed', durationMs: 754_000 });
  throw new Error(`--event is text or call, not ${kind}`);
}

async function measure(storage: Storage, conversations: number, window: number, seconds: number, eventOf: (n: number) => ConversationEvent) {
  const account = await storage.createAccount({ handle: 'bench', displayName: 'Bench', passwordHash: 'x', at: Date.now() });
  const convs = [];
  for (let i = 0; i < conversations; i++) {
    convs.push(await storage.createConversation({ ownerAccountId: account.id, tokenHash: `bench-${i}-${Date.now()}`, visitorName: 'V', at: Date.now() }));
  }
  const latency = new Histogram();
  let n = 0;
  const stopAt = Date.now() + seconds * 1000;
  await Promise.all(
    convs.flatMap((c) =>
      Array.from({ length: window }, async (_, k) => {
        while (Date.now() < stopAt) {
          const started = performance.now();
          const i = n++;
          await storage.appendMessage({
            conversationId: c.conversation.id, senderId: c.visitor.id, clientMsgId: `b-${k}-${i}`, body: 'hello', event: eventOf(i), at: Date.now(),
          });
          latency.record(performance.now() - started);
        }
      }),
    ),
  );
  const summary = latency.summary();
  return { appendsPerSec: Math.round(summary.count / seconds), p50Ms: summary.p50Ms, p99Ms: summary.p99Ms };
}

async function main(): Promise<void> {
  const conversations = Number(arg('--conversations', '20'));
  const window = Number(arg('--window', '4'));
  const seconds = Number(arg('--seconds', '3'));
  const only = arg('--only', 'sqlite,postgres').split(',');
  const event = arg('--event', 'text');
  const pool = arg('--pool', '');
  const poolSize = pool === '' ? undefined : Number(pool);
  const eventOf = eventMaker(event);
  const shape = `${conversations} conversations x ${window} in flight, ${seconds} s, ${event} events`;
  if (only.includes('sqlite')) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'knock-appends-'));
    const storage = SqliteStorage.open({ file: path.join(dir, 'knock.db') });
    try {
      console.log('SQLite    ', shape, await measure(storage, conversations, window, seconds, eventOf));
    } finally {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (only.includes('postgres')) {
    const schemas = new TestSchemas();
    const storage = await schemas.openStorage({ poolSize });
    try {
      console.log('PostgreSQL', `${shape}, pool ${poolSize ?? 'default'}`, await measure(storage, conversations, window, seconds, eventOf));
    } finally {
      await schemas.release(storage);
      await schemas.end();
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
