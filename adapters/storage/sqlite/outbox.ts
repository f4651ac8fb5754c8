/**
 * The outbox (engine/ports/storage.ts OutboxStorage) in SQLite, on SqliteStorage's connection (006_mail.sql). One
 * writer at a time holds the database (BEGIN IMMEDIATE, across processes too), so a claim's read of the due jobs and
 * its lease on them are one transaction that no other claimer can interleave with.
 */
import type Database from 'better-sqlite3';
import { KnockError } from '../../../engine/errors.ts';
import type { NewOutboxJob, OutboxJob, OutboxStorage } from '../../../engine/ports/storage.ts';
import { assertWellFormed, rowLimit } from '../common.ts';
import { inClaimOrder, jobValues, newJob, newestJobsOf, outboxColumns, outcomeColumns, toJob, type JobOutcome, type OutboxRow } from '../outboxRows.ts';
import { isConstraint } from './constraints.ts';

/** The outbox's statements (exported so tests can EXPLAIN the text the adapter runs). */
export const outboxSql = {
  insert: `INSERT INTO outbox_jobs (${outboxColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (key) DO NOTHING`,
  byKey: `SELECT ${outboxColumns} FROM outbox_jobs WHERE key = ?`,
  byId: `SELECT ${outboxColumns} FROM outbox_jobs WHERE id = ?`,
  // A ref names one mail (a Message-ID is made per job); should two jobs share one, the first queued answers.
  byRef: `SELECT ${outboxColumns} FROM outbox_jobs WHERE ref = ? ORDER BY created_at, id LIMIT 1`,
  // A lease is live until locked_until (excluded), as a session until expires_at: at locked_until it has run out.
  claim: `UPDATE outbox_jobs SET attempts = attempts + 1, locked_by = @worker, locked_until = @until, updated_at = @now
    WHERE id IN (
      SELECT id FROM outbox_jobs
      WHERE state IN ('pending', 'retrying') AND run_at <= @now AND (locked_until IS NULL OR locked_until <= @now)
      ORDER BY run_at, created_at, id LIMIT @limit
    )
    RETURNING ${outboxColumns}`,
  settle: `UPDATE outbox_jobs SET state = @state, run_at = IFNULL(@runAt, run_at), last_error = @error, ref = IFNULL(@ref, ref),
      locked_by = NULL, locked_until = NULL, updated_at = @at
    WHERE id = @id AND locked_by = @worker
    RETURNING ${outboxColumns}`,
  conversationJobs: newestJobsOf('?'),
  // A job in flight is claimable again only once its lease runs out: that, not its run_at, is when to look again.
  nextJobAt: "SELECT MIN(MAX(run_at, IFNULL(locked_until, 0))) AS at FROM outbox_jobs WHERE state IN ('pending', 'retrying')",
  failSent: `UPDATE outbox_jobs SET state = 'failed', last_error = ?, updated_at = ? WHERE id = ? AND state = 'sent' RETURNING ${outboxColumns}`,
  // The keys come as one JSON array, each a lookup of the key's index (`+state`: not through outbox_jobs_due, which
  // would read every waiting job, a backlog when a relay is down). A job leased at @at is being tried: left alone.
  cancel: `UPDATE outbox_jobs SET state = 'cancelled', locked_by = NULL, locked_until = NULL, updated_at = @at
    WHERE key IN (SELECT value FROM json_each(@keys)) AND +state IN ('pending', 'retrying')
      AND (locked_until IS NULL OR locked_until <= @at)
    RETURNING ${outboxColumns}`,
} as const;

interface Settlement {
  id: string;
  worker: string;
  state: string;
  runAt: number | null;
  error: string | null;
  ref: string | null;
  at: number;
}

export class SqliteOutbox implements OutboxStorage {
  private readonly q;

  constructor(private readonly db: Database.Database) {
    this.q = {
      insert: db.prepare<unknown[]>(outboxSql.insert),
      byKey: db.prepare<[string], OutboxRow>(outboxSql.byKey),
      byId: db.prepare<[string], OutboxRow>(outboxSql.byId),
      byRef: db.prepare<[string], OutboxRow>(outboxSql.byRef),
      claim: db.prepare<{ worker: string; now: number; until: number; limit: number }, OutboxRow>(outboxSql.claim),
      settle: db.prepare<Settlement, OutboxRow>(outboxSql.settle),
      conversationJobs: db.prepare<[string], OutboxRow>(outboxSql.conversationJobs),
      nextJobAt: db.prepare<[], { at: number | null }>(outboxSql.nextJobAt),
      failSent: db.prepare<[string, number, string], OutboxRow>(outboxSql.failSent),
      cancel: db.prepare<{ keys: string; at: number }, OutboxRow>(outboxSql.cancel),
    };
  }

  async enqueueJob(input: NewOutboxJob): Promise<{ job: OutboxJob; duplicate: boolean }> {
    const { job, payload } = newJob(input);
    const enqueue = this.db.transaction(() => {
      try {
        if (this.q.insert.run(...jobValues(job, payload)).changes === 1) return { job, duplicate: false };
      } catch (err) {
        if (isConstraint(err, 'FOREIGNKEY')) throw new KnockError('not_found', 'There is no such conversation.');
        throw err;
      }
      const first = this.q.byKey.get(job.key);
      if (!first) throw new Error(`The outbox job of key ${job.key} is neither new nor stored.`);
      return { job: toJob(first), duplicate: true };
    });
    return enqueue.immediate();
  }

  async claimJobs(input: { worker: string; now: number; leaseMs: number; limit: number }): Promise<OutboxJob[]> {
    const limit = rowLimit(input.limit);
    if (limit === 0) return [];
    const claim = this.db.transaction(() =>
      this.q.claim.all({ worker: input.worker, now: input.now, until: input.now + input.leaseMs, limit }).map(toJob),
    );
    return inClaimOrder(claim.immediate());
  }

  async settleJob(id: string, worker: string, outcome: JobOutcome): Promise<OutboxJob | null> {
    const columns = outcomeColumns(outcome);
    const row = this.q.settle.get({ id, worker, ...columns, at: outcome.at });
    return row ? toJob(row) : null;
  }

  async cancelJobs(keys: readonly string[], at: number): Promise<OutboxJob[]> {
    if (keys.length === 0) return [];
    return inClaimOrder(this.q.cancel.all({ keys: JSON.stringify(keys), at }).map(toJob));
  }

  async getJobByKey(key: string): Promise<OutboxJob | null> {
    const row = this.q.byKey.get(key);
    return row ? toJob(row) : null;
  }

  async getJob(id: string): Promise<OutboxJob | null> {
    const row = this.q.byId.get(id);
    return row ? toJob(row) : null;
  }

  async jobByRef(ref: string): Promise<OutboxJob | null> {
    const row = this.q.byRef.get(ref);
    return row ? toJob(row) : null;
  }

  async conversationJobs(conversationId: string): Promise<OutboxJob[]> {
    return this.q.conversationJobs.all(conversationId).map(toJob);
  }

  async nextJobAt(): Promise<number | null> {
    return this.q.nextJobAt.get()?.at ?? null;
  }

  async failSentJob(id: string, error: string, at: number): Promise<OutboxJob | null> {
    assertWellFormed(error, 'The error');
    const row = this.q.failSent.get(error, at, id);
    return row ? toJob(row) : null;
  }
}
