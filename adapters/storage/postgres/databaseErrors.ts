/**
 * How PostgreSQL's errors become KnockErrors (CONVENTIONS 8). Call sites map the violations they expect (a taken
 * handle, an unknown account) with their own message; `asStorageError` maps the rest: input the database cannot
 * hold is the caller's mistake (bad_request), anything else is ours (internal, keeping the original as `cause`
 * for the log: the engine logs internal errors with their cause, and shows the client only the message).
 */
import pg from 'pg';
import { KnockError } from '../../../engine/errors.ts';

/** SQLSTATE codes the adapter acts on (PostgreSQL manual, appendix A). */
export const SqlState = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  /** Also "invalid byte sequence": TEXT cannot hold U+0000. */
  characterNotInRepertoire: '22021',
  invalidTextRepresentation: '22P02',
  numericValueOutOfRange: '22003',
} as const;

/** True for a database error with this SQLSTATE, on `constraint` when given (names are set in 001_init.sql). */
export function isViolation(err: unknown, code: string, constraint?: string): boolean {
  if (!(err instanceof pg.DatabaseError) || err.code !== code) return false;
  return constraint === undefined || err.constraint === constraint;
}

/** Anything a query threw, as the KnockError the port promises. */
export function asStorageError(err: unknown): KnockError {
  if (err instanceof KnockError) return err;
  if (err instanceof pg.DatabaseError) {
    switch (err.code) {
      case SqlState.characterNotInRepertoire:
        // Names and bodies are BYTEA and hold U+0000; identifiers, handles and hashes are TEXT and cannot.
        return withCause(new KnockError('bad_request', 'The text contains a NUL character (U+0000), which cannot be stored here.'), err);
      case SqlState.invalidTextRepresentation:
      case SqlState.numericValueOutOfRange:
        // E.g. a time or seq that is not an integer, or one beyond 64 bits.
        return withCause(new KnockError('bad_request', 'A number is not a whole number in the range the database stores.'), err);
    }
  }
  return withCause(new KnockError('internal', 'The database failed. Please try again.'), err);
}

export function withCause(error: KnockError, cause: unknown): KnockError {
  error.cause = cause;
  return error;
}

/**
 * One statement on the pool. `refine` maps the errors the call site expects (with its own message); every other
 * error goes through asStorageError. The original error stays reachable as `cause`.
 */
export async function runStatement<R extends pg.QueryResultRow = pg.QueryResultRow>(
  pool: pg.Pool,
  query: pg.QueryConfig,
  refine?: (err: unknown) => KnockError | undefined,
): Promise<pg.QueryResult<R>> {
  try {
    return await pool.query<R>(query);
  } catch (err) {
    const refined = refine?.(err);
    throw refined ? withCause(refined, err) : asStorageError(err);
  }
}
