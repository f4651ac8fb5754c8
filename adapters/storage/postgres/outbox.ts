/**
 * The outbox (engine/ports/storage.ts OutboxStorage) in PostgreSQL, on the adapter's pool (006_mail.sql). One
 * statement per call, so each is its own transaction; several processes claim from one table at once, and
 * `FOR UPDATE SKIP LOCKED` hands each due job to one of them.
 */
import { KnockError } from '../../../engine/errors.ts';
import type { NewOutboxJob, OutboxJob, OutboxStorage } from '../../../engine/ports/storage.ts';
import { assertWellFormed, rowLimit } from '../common.ts';
import { inClaimOrder, jobValues, newJob, newestJobsOf, outboxColumns, outcomeColumns, toJob, type JobOutcome, type OutboxRow } from '../outboxRows.ts';
import { SqlState, isViolation } from './databaseErrors.ts';
import type { RunStatement } from './inbox.ts';

export const outboxSql = {
  insert: `INSERT INTO outbox_jobs (${outboxColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
    ON CONFLICT (key) DO NOTHING RETURNING ${outboxColumns}`,
  byKey: `SELECT ${outboxColumns} FROM outbox_jobs WHERE key = $1`,
  byId: `SELECT ${outboxColumns} FROM outbox_jobs WHERE id = $1`,
  // A ref names one mail (a Message-ID is made per job); should two jobs share one, the first queued answers.
  byRef: `SELECT ${outboxColumns} FROM outbox_jobs WHERE ref = $1 ORDER BY created_at, id LIMIT 1`,
  /**
   * $1 worker, $2 now, $3 the lease's end, $4 limit. The due jobs are chosen and locked in a CTE, not in `WHERE id IN
   * (SELECT ... FOR UPDATE SKIP LOCKED LIMIT n)`: PostgreSQL plans an IN sub-select as a join and may run it again for
   * each row it updates, and a locking sub-select run again skips the rows already updated and takes the next ones,
   * past its LIMIT (BUG #15715; Tom Lane: only a WITH query is promised to run once). SKIP LOCKED passes over the jobs
   * another claimer has locked and not committed; one it committed is read again under the lock and no longer
   * qualifies (its lease is live), so no job is claimed twice. A lease is live until locked_until (excluded), as a
   * session until expires_at.
   */
  claim: `WITH due AS (
      SELECT id FROM outbox_jobs
      WHERE state IN ('pending', 'retrying') AND run_at <= $2 AND (locked_until IS NULL OR locked_until <= $2)
      ORDER BY run_at, created_at, id
      LIMIT $4
      FOR UPDATE SKIP LOCKED
    )
    UPDATE outbox_jobs SET attempts = attempts + 1, locked_by = $1, locked_until = $3, updated_at = $2
    WHERE id IN (SELECT id FROM due)
    RETURNING ${outboxColumns}`,
  // $1 id, $2 worker, $3 state, $4 run_at (kept when NULL), $5 error, $6 ref (kept when NULL), $7 at.
  settle: `UPDATE outbox_jobs SET state = $3, run_at = COALESCE($4::bigint, run_at), last_error = $5, ref = COALESCE($6::text, ref),
      locked_by = NULL, locked_until = NULL, updated_at = $7
    WHERE id = $1 AND locked_by = $2
    RETURNING ${outboxColumns}`,
  conversationJobs: newestJobsOf('$1'),
  // A job in flight is claimable again only once its lease runs out: that, not its run_at, is when to look again.
  nextJobAt: "SELECT MIN(GREATEST(run_at, COALESCE(locked_until, 0))) AS at FROM outbox_jobs WHERE state IN ('pending', 'retrying')",
  failSent: `UPDATE outbox_jobs SET state = 'failed', last_error = $2, updated_at = $3 WHERE id = $1 AND state = 'sent'
    RETURNING ${outboxColumns}`,
  // $1 the keys, $2 at. A job leased at $2 is being tried: left alone. A claim that leased one before this statement
  // read it holds its row lock until it commits; the row is then read again, leased, and no longer qualifies.
  cancel: `UPDATE outbox_jobs SET state = 'cancelled', locked_by = NULL, locked_until = NULL, updated_at = $2
    WHERE key = ANY($1::text[]) AND state IN ('pending', 'retrying') AND (locked_until IS NULL OR locked_until <= $2)
    RETURNING ${outboxColumns}`,
} as const;

export class PostgresOutbox implements OutboxStorage {
  constructor(private readonly run: RunStatement) {}

  /**
   * Two statements: when the key is taken, the first job is read in a snapshot of its own, which sees it even when it
   * was committed by another process while the insert waited for it (ON CONFLICT DO NOTHING waits, then inserts nothing).
   */
  async enqueueJob(input: NewOutboxJob): Promise<{ job: OutboxJob; duplicate: boolean }> {
    const { job, payload } = newJob(input);
    const inserted = await this.run<OutboxRow>(outboxSql.insert, jobValues(job, payload), (err) =>
      isViolation(err, SqlState.foreignKeyViolation) ? new KnockError('not_found', 'There is no such conversation.') : undefined,
    );
    if (inserted.rows[0]) return { job: toJob(inserted.rows[0]), duplicate: false };
    const first = (await this.run<OutboxRow>(outboxSql.byKey, [job.key])).rows[0];
    if (!first) throw new KnockError('internal', `The outbox job of key ${job.key} is neither new nor stored.`);
    return { job: toJob(first), duplicate: true };
  }

  async claimJobs(input: { worker: string; now: number; leaseMs: number; limit: number }): Promise<OutboxJob[]> {
    const limit = rowLimit(input.limit);
    if (limit === 0) return [];
    const claimed = await this.run<OutboxRow>(outboxSql.claim, [input.worker, input.now, input.now + input.leaseMs, limit]);
    return inClaimOrder(claimed.rows.map(toJob));
  }

  async settleJob(id: string, worker: string, outcome: JobOutcome): Promise<OutboxJob | null> {
    const c = outcomeColumns(outcome);
    const row = (await this.run<OutboxRow>(outboxSql.settle, [id, worker, c.state, c.runAt, c.error, c.ref, outcome.at])).rows[0];
    return row ? toJob(row) : null;
  }

  async cancelJobs(keys: readonly string[], at: number): Promise<OutboxJob[]> {
    if (keys.length === 0) return [];
    return inClaimOrder((await this.run<OutboxRow>(outboxSql.cancel, [keys, at])).rows.map(toJob));
  }

  async getJobByKey(key: string): Promise<OutboxJob | null> {
    const row = (await this.run<OutboxRow>(outboxSql.byKey, [key])).rows[0];
    return row ? toJob(row) : null;
  }

  async getJob(id: string): Promise<OutboxJob | null> {
    const row = (await this.run<OutboxRow>(outboxSql.byId, [id])).rows[0];
    return row ? toJob(row) : null;
  }

  async jobByRef(ref: string): Promise<OutboxJob | null> {
    const row = (await this.run<OutboxRow>(outboxSql.byRef, [ref])).rows[0];
    return row ? toJob(row) : null;
  }

  async conversationJobs(conversationId: string): Promise<OutboxJob[]> {
    return (await this.run<OutboxRow>(outboxSql.conversationJobs, [conversationId])).rows.map(toJob);
  }

  async nextJobAt(): Promise<number | null> {
    return (await this.run<{ at: number | null }>(outboxSql.nextJobAt, [])).rows[0]?.at ?? null;
  }

  async failSentJob(id: string, error: string, at: number): Promise<OutboxJob | null> {
    assertWellFormed(error, 'The error');
    const row = (await this.run<OutboxRow>(outboxSql.failSent, [id, error, at])).rows[0];
    return row ? toJob(row) : null;
  }
}
