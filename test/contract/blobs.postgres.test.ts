/**
 * The PostgreSQL adapter of Blobs: the contract in a fresh schema per test of the machine's PostgreSQL
 * (`KNOCK_TEST_DATABASE_URL` to use another), then what only PostgreSQL has: the tables and their creation by
 * several processes at once, chunk rows, pools given or owned, and reads that touch only the chunks they need.
 */
import pg from 'pg';
import { Readable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CHUNK_BYTES, PostgresBlobs } from '../../adapters/blobs/postgres/PostgresBlobs.ts';
import { TestSchemas, newSchemaName, testDatabaseUrl } from '../support/postgresSchemas.ts';
import { blobsContract } from './blobs.contract.ts';
import { KiB, bytesOf, digestOf, readAll, sha256 } from './blobsSources.ts';

const schemas = new TestSchemas();
afterAll(() => schemas.end());

const openBlobs = (schema: string): Promise<PostgresBlobs> =>
  PostgresBlobs.open({ connectionString: testDatabaseUrl, schema, poolSize: 4 });

const count = async (sql: string): Promise<number> => Number((await schemas.query<{ n: string }>(sql))[0]?.n ?? 0);

blobsContract('PostgreSQL', async () => {
  const schema = newSchemaName();
  const opened = [await openBlobs(schema)];
  return {
    blobs: opened[0] as PostgresBlobs,
    openAnother: async () => {
      const another = await openBlobs(schema);
      opened.push(another);
      return another;
    },
    storedBytes: () => count(`SELECT coalesce(sum(octet_length(data)), 0) AS n FROM "${schema}".blob_chunks`),
    leftovers: () => count(
      `SELECT count(*) AS n FROM "${schema}".blob_chunks c WHERE NOT EXISTS (SELECT 1 FROM "${schema}".blobs b WHERE b.id = c.blob_id)`,
    ),
    close: async () => {
      for (const blobs of opened) await blobs.close();
      await schemas.drop(schema);
    },
  };
});

describe('PostgreSQL Blobs adapter', () => {
  const cleanups: (() => Promise<void>)[] = [];
  /** A new schema, dropped after the test with every adapter opened on it. */
  const newSchema = (): { schema: string; open: () => Promise<PostgresBlobs> } => {
    const schema = newSchemaName();
    const opened: PostgresBlobs[] = [];
    cleanups.push(async () => {
      for (const blobs of opened) await blobs.close();
      await schemas.drop(schema);
    });
    return {
      schema,
      open: async () => {
        const blobs = await openBlobs(schema);
        opened.push(blobs);
        return blobs;
      },
    };
  };
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('creates its schema and tables once when several processes open a new schema at once', async () => {
    const { schema, open } = newSchema();
    const all = await Promise.all([open(), open(), open(), open()]);
    const tables = await schemas.query<{ tablename: string }>(
      'SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename', [schema],
    );
    expect(tables.map((t) => t.tablename)).toEqual(['blob_chunks', 'blobs']);
    const { id } = await (all[0] as PostgresBlobs).put(Readable.from([Buffer.from('shared')]), { maxBytes: 10 });
    for (const blobs of all) expect(await blobs.stat(id)).toEqual({ size: 6 });
  });

  it('shares a schema with the Storage adapter, also when both create it at once', async () => {
    const { schema, open } = newSchema();
    const [storage, blobs] = await Promise.all([schemas.openStorage({ schema }), open()]);
    try {
      const { id } = await blobs.put(Readable.from([Buffer.from('beside the messages')]), { maxBytes: 100 });
      expect(await blobs.stat(id)).toEqual({ size: 19 });
      expect(await storage.listAccounts()).toEqual([]);
    } finally {
      await storage.close(); // its schema is dropped by this test's cleanup
    }
  });

  it('stores a blob as 256 KiB chunk rows numbered from 0, the last one shorter, uncompressed', async () => {
    const { schema, open } = newSchema();
    const blobs = await open();
    expect(CHUNK_BYTES).toBe(256 * KiB);
    const bytes = bytesOf(1, 2 * CHUNK_BYTES + 1000);
    const { id } = await blobs.put(Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), { maxBytes: bytes.length });
    const rows = await schemas.query<{ n: number; size: number }>(
      `SELECT n, octet_length(data) AS size FROM "${schema}".blob_chunks WHERE blob_id = $1 ORDER BY n`, [id],
    );
    expect(rows).toEqual([{ n: 0, size: CHUNK_BYTES }, { n: 1, size: CHUNK_BYTES }, { n: 2, size: 1000 }]);
    const [storage] = await schemas.query<{ storage: string }>(
      `SELECT attstorage AS storage FROM pg_attribute WHERE attrelid = '"${schema}".blob_chunks'::regclass AND attname = 'data'`,
    );
    expect(storage).toEqual({ storage: 'e' }); // EXTERNAL: out of line, never compressed
    expect(await schemas.query(`SELECT id, size FROM "${schema}".blobs`)).toEqual([{ id, size: String(bytes.length) }]);
  });

  it('reads only the chunks a range covers, and fails a read whose chunks vanished rather than end it short', async () => {
    const { schema, open } = newSchema();
    const blobs = await open();
    const bytes = bytesOf(2, 3 * CHUNK_BYTES);
    const { id } = await blobs.put(Readable.from([bytes]), { maxBytes: bytes.length });
    await schemas.query(`DELETE FROM "${schema}".blob_chunks WHERE blob_id = $1 AND n = 1`, [id]);
    const inFirst = await readAll(await nonNull(blobs.get(id, { start: 10, end: CHUNK_BYTES - 1 })));
    expect(sha256(inFirst)).toBe(sha256(bytes.subarray(10, CHUNK_BYTES)));
    const inLast = await readAll(await nonNull(blobs.get(id, { start: 2 * CHUNK_BYTES, end: 2 * CHUNK_BYTES + 9 })));
    expect(sha256(inLast)).toBe(sha256(bytes.subarray(2 * CHUNK_BYTES, 2 * CHUNK_BYTES + 10)));
    await expect(digestOf(await nonNull(blobs.get(id)))).rejects.toThrow(`The file ${id} was deleted while it was being read.`);
  });

  it('leaves a pool it was given open when it closes, and ends a pool it opened', async () => {
    const { schema } = newSchema();
    const pool = new pg.Pool({ connectionString: testDatabaseUrl, max: 2 });
    try {
      const given = await PostgresBlobs.open({ pool, schema });
      await given.put(Readable.from([Buffer.from('x')]), { maxBytes: 1 });
      await given.close();
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
    const owned = await openBlobs(schema);
    await owned.close();
    await expect(owned.stat(sha256(Buffer.from('x')))).rejects.toThrow('The blob store is closed.');
  });

  it('refuses a schema name that is not a plain identifier, before connecting', async () => {
    for (const schema of ['bad-name', 'x"; DROP SCHEMA public; --', '', '1abc']) {
      await expect(PostgresBlobs.open({ connectionString: 'postgres://nobody@127.0.0.1:1/none', schema })).rejects.toThrow(/Invalid PostgreSQL schema name/);
    }
  });

  it('fails to open, rather than hang, when the server cannot be reached', async () => {
    await expect(PostgresBlobs.open({ connectionString: 'postgres://postgres@127.0.0.1:1/test', schema: 'x' })).rejects.toThrow();
  });

  it('rolls back a put whose connection dies, leaving nothing and a working pool', async () => {
    const { schema, open } = newSchema();
    const blobs = await open();
    const bytes = bytesOf(3, 2 * CHUNK_BYTES);
    let killed: unknown[] = [];
    async function* killedHalfway(): AsyncGenerator<Buffer> {
      yield bytes.subarray(0, CHUNK_BYTES + 10 * KiB);
      // The put's connection: the one whose transaction has written chunk rows in this schema.
      killed = await schemas.query(
        `SELECT pg_terminate_backend(pid) AS killed FROM pg_locks
          WHERE relation = '"${schema}".blob_chunks'::regclass AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid()`,
      );
      yield bytes.subarray(CHUNK_BYTES + 10 * KiB);
    }
    await expect(blobs.put(killedHalfway(), { maxBytes: bytes.length })).rejects.toThrow();
    expect(killed).toEqual([{ killed: true }]);
    expect(await count(`SELECT count(*) AS n FROM "${schema}".blob_chunks`)).toBe(0);
    const { id } = await blobs.put(Readable.from([bytes]), { maxBytes: bytes.length });
    expect(await blobs.stat(id)).toEqual({ size: bytes.length });
  });
});

async function nonNull<T>(value: Promise<T | null>): Promise<T> {
  const resolved = await value;
  expect(resolved).not.toBeNull();
  return resolved as T;
}
