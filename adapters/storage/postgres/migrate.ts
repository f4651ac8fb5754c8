/**
 * Versioned schema migrations for the PostgreSQL adapter: plain SQL files named `NNN_description.sql` in
 * `postgres/migrations/`, applied in numeric order, each in its own transaction, recorded in `schema_migrations`
 * of the adapter's schema. See adapters/storage/README.md.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
// The file format and the loader are the same for every SQL adapter; only how a migration is applied differs.
// (A type-only import of better-sqlite3 inside that module: loading it does not load SQLite.)
import { loadMigrations, type Migration } from '../sqlite/migrate.ts';

/** Resolved from this module, not from the cwd, so `knock` works wherever it is started. */
export const defaultMigrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url));

/** First key of the two-key advisory lock: "KNCK", so Knock's locks do not collide with another application's. */
const LOCK_NAMESPACE = 0x4b4e434b;

/**
 * Applies the migrations of `dir` that `schema` has not recorded yet, creating the schema if it is missing.
 * Returns the versions applied now.
 *
 * Several Knock processes may start at once against one database: each migration runs in a transaction that first
 * takes a transaction-scoped advisory lock for the schema (`pg_advisory_xact_lock`), then re-reads
 * `schema_migrations`, so exactly one process applies a version and the others wait, then see it recorded. DDL is
 * transactional in PostgreSQL: a failing migration leaves no trace, and the ones before it stay applied.
 *
 * The pool's connections must already have `search_path` set to `schema` (PostgresStorage.open does).
 *
 * @example
 *   const applied = await applyMigrations(pool, 'knock'); // [1, 2] on a new schema, [] on the next start
 */
export async function applyMigrations(
  pool: pg.Pool,
  schema: string,
  dir: string = defaultMigrationsDir,
  now: () => number = Date.now,
): Promise<number[]> {
  const migrations = loadMigrations(dir);
  const known = migrations.at(-1)?.version ?? 0;
  const applied: number[] = [];
  const client = await pool.connect();
  let failed = false;
  try {
    // One pass per migration; a pass with nothing left to apply still checks the schema and the recorded version.
    for (;;) {
      const next = await inTransaction(client, async () => {
        await prepareSchema(client, schema);
        const done = await recordedVersions(client);
        const newest = Math.max(0, ...done);
        if (newest > known) {
          throw new Error(`The database has schema version ${newest}, newer than this Knock knows (${known}). Upgrade Knock.`);
        }
        const pending = migrations.find((m) => !done.has(m.version));
        if (pending) await applyOne(client, pending, now);
        return pending;
      });
      if (!next) return applied;
      applied.push(next.version);
    }
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    // After a failure the connection may be broken or mid-transaction: destroy it rather than pool it (this runs
    // once, at start, so the cost of a new connection does not matter).
    client.release(failed);
  }
}

async function inTransaction<T>(client: pg.PoolClient, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // If the connection itself is gone, ROLLBACK fails too; the original error is the one worth reporting.
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * Takes the schema's migration lock, creates the schema and `schema_migrations` when missing, and checks that the
 * connection's search_path really points at the schema (a connection string with its own `options` could override
 * the adapter's, and then tables would silently land elsewhere).
 */
async function prepareSchema(client: pg.PoolClient, schema: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1::int, $2::int)', [LOCK_NAMESPACE, lockKeyOf(schema)]);
  // Checked before CREATE: on a hosted database the user may lack the CREATE privilege yet own an existing schema.
  const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${quoteIdentifier(schema)}`);
  const current = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
  const actual = current.rows[0]?.schema ?? null;
  if (actual !== schema) {
    throw new Error(
      `The connection's search_path resolves to schema ${actual ?? '(none)'} instead of ${schema}. ` +
        'Remove `options` from the connection string: it replaces the search_path Knock sets.',
    );
  }
  await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
}

async function recordedVersions(client: pg.PoolClient): Promise<Set<number>> {
  const rows = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
  return new Set(rows.rows.map((r) => r.version));
}

async function applyOne(client: pg.PoolClient, migration: Migration, now: () => number): Promise<void> {
  try {
    // A file of several statements runs through the simple query protocol, which allows that (no parameters).
    await client.query(migration.sql);
    await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [migration.version, now()]);
  } catch (err) {
    throw new Error(`Migration ${migration.name} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** A stable 32-bit key per schema, so processes migrating different schemas of one database do not wait for each other. */
function lockKeyOf(schema: string): number {
  return createHash('sha256').update(schema).digest().readInt32BE(0);
}

/** A plain identifier: letters, digits and underscores, not starting with a digit, at most 63 bytes (NAMEDATALEN). */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Refuses a schema name that would need escaping; Knock's schema names are chosen by an operator, not a user. */
export function assertSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`Invalid PostgreSQL schema name "${schema}": use letters, digits and underscores (at most 63).`);
  }
}

/** Double-quoted, so a mixed-case name keeps its case; assertSchemaName has ruled out quotes inside. */
export function quoteIdentifier(name: string): string {
  return `"${name}"`;
}
