/**
 * The two tables of PostgresBlobs, created at open when missing. Not versioned migrations: the storage adapter's
 * `schema_migrations` numbers its own files (a blobs version 1 would collide with its 001), and two tables that have
 * not changed yet do not need a second migration table. The day their layout changes, give them one
 * (`blob_migrations`) and make today's layout its version 1.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { assertSchemaName, quoteIdentifier } from '../../storage/postgres/migrate.ts';
import { inTransaction } from './transaction.ts';

/**
 * The advisory lock adapters/storage/postgres/migrate.ts takes for the same schema (namespace "KNCK", then the first
 * 32 bits of the schema name's SHA-256). Taking the very same lock means a Storage migrating a new schema and Blobs
 * creating its tables in it never both create the schema at once (one of them would fail with "already exists").
 */
const LOCK_NAMESPACE = 0x4b4e434b;

function lockKeyOf(schema: string): number {
  return createHash('sha256').update(schema).digest().readInt32BE(0);
}

/**
 * Creates the schema and the tables if missing, in one transaction under the schema's lock, so several processes
 * opening a new database at once create them exactly once. Once they exist this takes no table lock at all.
 */
export async function ensureBlobTables(pool: pg.Pool, schema: string): Promise<void> {
  assertSchemaName(schema); // the name is spliced into the SQL below
  await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1::int, $2::int)', [LOCK_NAMESPACE, lockKeyOf(schema)]);
    const found = await client.query<{ chunks: string | null }>(
      'SELECT to_regclass($1) AS chunks', [`${quoteIdentifier(schema)}.blob_chunks`],
    );
    if (found.rows[0]?.chunks == null) await client.query(createTables(schema));
    return { value: undefined, commit: true };
  });
}

function createTables(schema: string): string {
  const s = quoteIdentifier(schema);
  // Checked before CREATE (as migrate.ts does): on a hosted database the user may own the schema yet lack CREATE on it.
  return `
    DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '${schema}') THEN CREATE SCHEMA ${s}; END IF;
    END $$;
    CREATE TABLE IF NOT EXISTS ${s}.blobs (
      id TEXT PRIMARY KEY,
      size BIGINT NOT NULL CHECK (size >= 0),
      created_at BIGINT NOT NULL
    );
    -- Chunks are written under a temporary id and renamed to the blob's id just before commit: the foreign key is
    -- checked at commit (DEFERRABLE INITIALLY DEFERRED), and a blob's chunks go with it (ON DELETE CASCADE).
    CREATE TABLE IF NOT EXISTS ${s}.blob_chunks (
      blob_id TEXT NOT NULL REFERENCES ${s}.blobs (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
      n INTEGER NOT NULL CHECK (n >= 0),
      data BYTEA NOT NULL,
      PRIMARY KEY (blob_id, n)
    );
    -- Out of line and uncompressed: most files (images, archives, video) are compressed already, so trying again
    -- only costs CPU, and substring() of an uncompressed value reads only the part it returns.
    ALTER TABLE ${s}.blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
  `;
}
