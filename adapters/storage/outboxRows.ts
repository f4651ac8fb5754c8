/**
 * The outbox (issue 17) as both SQL adapters store it (006_mail.sql): the job row and its record, the checks on a
 * new job and on a try's outcome, and the longest SELECT, which both run word for word but for its placeholder.
 */
import { KnockError } from '../../engine/errors.ts';
import type { NewOutboxJob, OutboxJob, OutboxState, OutboxStorage } from '../../engine/ports/storage.ts';
import { assertWellFormed, newId } from './common.ts';

export interface OutboxRow {
  id: string;
  kind: string;
  key: string;
  payload: string;
  conversation_id: string | null;
  message_seq: number | null;
  recipient: string | null;
  state: string;
  attempts: number;
  run_at: number;
  locked_by: string | null;
  locked_until: number | null;
  last_error: string | null;
  ref: string | null;
  created_at: number;
  updated_at: number;
}

/** The columns of OutboxRow, in the order the INSERTs of both adapters list them. */
export const outboxColumns =
  'id, kind, key, payload, conversation_id, message_seq, recipient, state, attempts, run_at, locked_by, locked_until, last_error, ref, created_at, updated_at';

/** A job's payload is a few addresses and ids; a mail's body and files are read from the conversation when sent. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;


/** The CHECK constraint guarantees this; the check keeps the type honest without a cast. */
function asState(value: string): OutboxState {
  if (value === 'pending' || value === 'retrying' || value === 'sent' || value === 'failed' || value === 'cancelled') return value;
  throw new Error(`Unknown outbox job state in the database: ${value}`);
}

export function toJob(r: OutboxRow): OutboxJob {
  return {
    id: r.id,
    kind: r.kind,
    key: r.key,
    // Written by enqueueJob from JSON.stringify: it parses, and the kind's handler checks its fields.
    payload: JSON.parse(r.payload) as unknown,
    conversationId: r.conversation_id,
    messageSeq: r.message_seq,
    recipient: r.recipient,
    state: asState(r.state),
    attempts: r.attempts,
    runAt: r.run_at,
    lockedBy: r.locked_by,
    lockedUntil: r.locked_until,
    lastError: r.last_error,
    ref: r.ref,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** A new job as `enqueueJob` inserts it, and its payload as JSON; refused (bad_request) when it cannot be stored. */
export function newJob(input: NewOutboxJob): { job: OutboxJob; payload: string } {
  if (input.kind === '' || input.key === '') throw new KnockError('bad_request', 'An outbox job needs a kind and a key.');
  // undefined, a function or a symbol have no JSON: nothing would come back.
  const payload = JSON.stringify(input.payload) as string | undefined;
  if (payload === undefined) throw new KnockError('bad_request', 'An outbox job\u2019s payload must be JSON.');
  if (Buffer.byteLength(payload, 'utf8') > MAX_PAYLOAD_BYTES) {
    throw new KnockError('bad_request', `An outbox job\u2019s payload is larger than ${MAX_PAYLOAD_BYTES / 1024} KiB.`);
  }
  for (const [what, text] of [['The job kind', input.kind], ['The job key', input.key], ['The recipient', input.recipient], ['The ref', input.ref]] as const) {
    if (text) assertWellFormed(text, what);
  }
  const job: OutboxJob = {
    id: newId(), kind: input.kind, key: input.key, payload: JSON.parse(payload) as unknown,
    conversationId: input.conversationId ?? null, messageSeq: input.messageSeq ?? null, recipient: input.recipient ?? null,
    state: 'pending', attempts: 0, runAt: input.runAt, lockedBy: null, lockedUntil: null, lastError: null,
    ref: input.ref ?? null, createdAt: input.at, updatedAt: input.at,
  };
  return { job, payload };
}

/**
 * Claimed jobs in the order they were chosen, oldest run_at first (then creation, then id): an UPDATE's RETURNING
 * gives its rows in the order it updated them, which neither database promises to be its sub-select's.
 */
export function inClaimOrder(jobs: OutboxJob[]): OutboxJob[] {
  return jobs.sort((a, b) => a.runAt - b.runAt || a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The values of `job` for an INSERT listing `outboxColumns`. */
export function jobValues(job: OutboxJob, payload: string): unknown[] {
  return [
    job.id, job.kind, job.key, payload, job.conversationId, job.messageSeq, job.recipient, job.state, job.attempts, job.runAt,
    job.lockedBy, job.lockedUntil, job.lastError, job.ref, job.createdAt, job.updatedAt,
  ];
}

export type JobOutcome = Parameters<OutboxStorage['settleJob']>[2];

/**
 * The columns a settlement writes: state, run_at (kept when null), last_error, ref (kept when null). A cancelled try
 * clears the error as a sent one does: the job ended, not for a failure.
 */
export function outcomeColumns(outcome: JobOutcome): { state: OutboxState; runAt: number | null; error: string | null; ref: string | null } {
  switch (outcome.state) {
    case 'sent':
      return { state: 'sent', runAt: null, error: null, ref: outcome.ref ?? null };
    case 'retrying':
      assertWellFormed(outcome.error, 'The error');
      return { state: 'retrying', runAt: outcome.runAt, error: outcome.error, ref: null };
    case 'failed':
      assertWellFormed(outcome.error, 'The error');
      return { state: 'failed', runAt: null, error: outcome.error, ref: null };
    case 'cancelled':
      return { state: 'cancelled', runAt: null, error: null, ref: null };
  }
}

/**
 * The newest job of each message of conversation `conversation` (a placeholder), by message seq: what the owner sees
 * under each message (a message mailed again has a newer job). Newest by creation, then by id, so a tie still gives
 * one job. A range scan of outbox_jobs_by_message, each candidate checked by a lookup in it.
 */
export function newestJobsOf(conversation: string): string {
  return `SELECT ${outboxColumns} FROM outbox_jobs j
    WHERE j.conversation_id = ${conversation} AND j.message_seq IS NOT NULL
      AND NOT EXISTS (
        SELECT 1 FROM outbox_jobs n WHERE n.conversation_id = j.conversation_id AND n.message_seq = j.message_seq
          AND (n.created_at > j.created_at OR (n.created_at = j.created_at AND n.id > j.id))
      )
    ORDER BY j.message_seq`;
}
