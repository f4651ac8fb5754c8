/**
 * A rule for adapters whose data outlives a Knock version: the outbox of a database written before forwarding (issue
 * 18, schema version 6) comes through migration 007, which gives it the `cancelled` state (SQLite makes the table
 * anew for it), with every job as it was, still found by key, ref and conversation, still claimed and settled, still
 * deleted with its conversation, and now cancellable. Each adapter's test file builds the old database its own way.
 */
import { expect } from 'vitest';
import type { OutboxJob } from '../../../engine/ports/storage.ts';
import { T0 } from './fixtures.ts';
import { inserts, type OlderDatabase, type Row } from './legacyEvents.ts';

/** The version these rows are written for: the last schema before migration 007. */
export const PRE_CHANNELS_SCHEMA_VERSION = 6;

const ann = { id: 'acc-ann-0001', handle: 'ann', display_name: 'Ann', password_hash: 'hash-of-ann', created_at: T0 };
const conversation = {
  id: 'conv-mail-0001', owner_account_id: ann.id, token_hash: 'token-hash-older-1', last_seq: 2, created_at: T0, updated_at: T0,
};

/** A job row as 006 wrote it: one of every state, one of them leased. */
function jobRow(key: string, fields: Partial<Row>): Row {
  return {
    id: `job-${key}`, kind: 'mail.reply', key, payload: '{"to":"vic@example.com"}', conversation_id: conversation.id, message_seq: 1,
    recipient: 'vic@example.com', state: 'pending', attempts: 0, run_at: T0, locked_by: null, locked_until: null, last_error: null,
    ref: null, created_at: T0, updated_at: T0, ...fields,
  };
}

const jobs: Row[] = [
  jobRow('waiting', { run_at: T0 + 10 }),
  jobRow('retrying', { state: 'retrying', attempts: 1, run_at: T0 + 20, last_error: '421 Try again later', message_seq: 2 }),
  jobRow('leased', { attempts: 1, locked_by: 'w-old', locked_until: T0 + 60_000 }),
  jobRow('sent', { state: 'sent', attempts: 1, ref: 'm1@knock.example' }),
  jobRow('failed', { state: 'failed', attempts: 5, last_error: '550 No such user' }),
  jobRow('notify', { kind: 'mail.notify', conversation_id: null, message_seq: null, recipient: null }),
];

/** What the port reads from jobRow(key): the record of that row. */
function record(row: Row): OutboxJob {
  return {
    id: row.id as string, kind: row.kind as string, key: row.key as string, payload: JSON.parse(row.payload as string) as unknown,
    conversationId: row.conversation_id as string | null, messageSeq: row.message_seq as number | null,
    recipient: row.recipient as string | null, state: row.state as OutboxJob['state'], attempts: row.attempts as number,
    runAt: row.run_at as number, lockedBy: row.locked_by as string | null, lockedUntil: row.locked_until as number | null,
    lastError: row.last_error as string | null, ref: row.ref as string | null, createdAt: row.created_at as number,
    updatedAt: row.updated_at as number,
  };
}

/** Writes the rows into `older` (at PRE_CHANNELS_SCHEMA_VERSION), opens it with the current code, and checks the outbox. */
export async function expectOlderOutboxKept(older: OlderDatabase): Promise<void> {
  await older.exec([inserts('accounts', [ann]), inserts('conversations', [conversation]), inserts('outbox_jobs', jobs)].join('\n'));
  const s = await older.open();
  const byKey = new Map(jobs.map((row) => [row.key as string, record(row)]));

  for (const [key, job] of byKey) expect(await s.getJob(job.id), key).toEqual(job);
  expect(await s.jobByRef('m1@knock.example')).toEqual(byKey.get('sent'));
  // The newest job of each message: of the jobs of message 1, made at once, the one of the highest id.
  expect((await s.conversationJobs(conversation.id)).map((j) => j.key)).toEqual(['waiting', 'retrying']);
  expect(await s.nextJobAt()).toBe(T0);
  // Still one job per key, and the claim and the lease as before.
  expect(await s.enqueueJob({ kind: 'mail.reply', key: 'waiting', payload: {}, runAt: T0, at: T0 })).toEqual({
    job: byKey.get('waiting'), duplicate: true,
  });
  const claimed = await s.claimJobs({ worker: 'w-new', now: T0 + 100, leaseMs: 1000, limit: 10 });
  expect(claimed.map((j) => j.key)).toEqual(['notify', 'waiting', 'retrying']);
  expect(await s.settleJob('job-notify', 'w-new', { state: 'cancelled', at: T0 + 101 })).toMatchObject({ state: 'cancelled' });
  // Once their leases ran out (the old one at T0 + 60 s), the waiting jobs are cancelled; the sent one stays sent.
  expect(await s.cancelJobs(['waiting', 'leased', 'sent'], T0 + 1000)).toEqual([]);
  expect((await s.cancelJobs(['waiting', 'leased', 'sent'], T0 + 60_000)).map((j) => j.key)).toEqual(['leased', 'waiting']);
  expect(await s.getJob('job-sent')).toEqual(byKey.get('sent'));

  await s.deleteConversation(conversation.id);
  for (const key of ['waiting', 'retrying', 'leased', 'sent', 'failed']) expect(await s.getJob(`job-${key}`), key).toBeNull();
  expect(await s.getJob('job-notify')).toMatchObject({ state: 'cancelled' });
  await expect(s.enqueueJob({ kind: 'mail.reply', key: 'orphan', payload: {}, conversationId: conversation.id, runAt: T0, at: T0 }))
    .rejects.toMatchObject({ code: 'not_found' });
}
