/**
 * The PostgreSQL adapter of the Blobs port (engine/ports/blobs.ts): used when `DATABASE_URL` is set, so several Knock
 * processes share files without a shared disk. A blob is a row of `blobs` and its bytes are rows of `blob_chunks`,
 * 256 KiB each; tables and layout in adapters/blobs/README.md.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import pg from 'pg';
import type { Logger } from '../../../engine/logger.ts';
import type { BlobInfo, Blobs } from '../../../engine/ports/blobs.ts';
import { assertSchemaName, quoteIdentifier } from '../../storage/postgres/migrate.ts';
import { isBlobId, readLimited, resolveRange } from '../blobRules.ts';
import { ensureBlobTables } from './blobTables.ts';
import { inTransaction } from './transaction.ts';

/** Bytes per chunk row: large enough that a 25 MiB file is 100 rows, small enough to hold a few in memory. */
export const CHUNK_BYTES = 256 * 1024;
/** Chunks fetched per query when reading: 1 MiB in memory at most, a round trip per MiB. */
const CHUNKS_PER_READ = 4;

export type PostgresBlobsOptions = {
  /** The schema of the tables, created if missing (the same as the Storage's). Default `public`. */
  schema?: string;
  /** The clock of `blobs.created_at`. */
  now?: () => number;
} & (
  | {
      /** A pool the caller owns (and ends): close() leaves it open. */
      pool: pg.Pool;
    }
  | {
      /** `postgres://user:password@host:5432/database`, e.g. from `DATABASE_URL`. */
      connectionString: string;
      /** The most connections this adapter opens. Default 4: every put holds one for its whole upload. */
      poolSize?: number;
      /** Told when an idle pooled connection fails (the pool replaces it; without a listener it would end the process). */
      logger?: Pick<Logger, 'warn'>;
    }
);

export class PostgresBlobs implements Blobs {
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly ownsPool: boolean,
    private readonly tables: { blobs: string; chunks: string },
    private readonly now: () => number,
  ) {}

  /**
   * Connects (unless given a pool), creates the schema and the tables if missing, and returns the adapter.
   * Safe to call from several processes at once.
   *
   * @example
   *   const blobs = await PostgresBlobs.open({ connectionString: config.databaseUrl, schema: 'knock' });
   */
  static async open(opts: PostgresBlobsOptions): Promise<PostgresBlobs> {
    const schema = opts.schema ?? 'public';
    assertSchemaName(schema);
    const owned = 'pool' in opts ? undefined : openPool(opts);
    const pool = owned ?? (opts as { pool: pg.Pool }).pool;
    try {
      await ensureBlobTables(pool, schema);
    } catch (err) {
      await owned?.end();
      throw err;
    }
    // Names qualified with the schema, so a given pool needs no particular search_path.
    const q = quoteIdentifier(schema);
    return new PostgresBlobs(pool, owned !== undefined, { blobs: `${q}.blobs`, chunks: `${q}.blob_chunks` }, opts.now ?? Date.now);
  }

  /**
   * One transaction per blob, written as the source arrives: chunk rows under a random temporary id (the real id is
   * known only at the end), then the `blobs` row and the chunks renamed to the id, committed together. Nobody sees a
   * blob before its commit, and a rollback (too large, a failed source, a crash) leaves nothing.
   */
  async put(source: AsyncIterable<Uint8Array>, opts: { maxBytes: number }): Promise<BlobInfo> {
    this.assertOpen();
    return inTransaction(this.pool, async (client) => {
      const tempId = `put-${randomBytes(12).toString('hex')}`; // never 64 hex digits: never a blob's id
      const chunks = new ChunkWriter(async (n, data) => {
        await client.query(`INSERT INTO ${this.tables.chunks} (blob_id, n, data) VALUES ($1, $2, $3)`, [tempId, n, data]);
      });
      const info = await readLimited(source, opts.maxBytes, (bytes) => chunks.write(bytes));
      await chunks.end();
      // Waits for a concurrent put of the same bytes to commit or roll back, then keeps whichever got there first.
      const inserted = await client.query(
        `INSERT INTO ${this.tables.blobs} (id, size, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
        [info.id, info.size, this.now()],
      );
      if (inserted.rowCount === 0) return { value: info, commit: false }; // stored already: drop this copy
      await client.query(`UPDATE ${this.tables.chunks} SET blob_id = $1 WHERE blob_id = $2`, [info.id, tempId]);
      return { value: info, commit: true };
    });
  }

  /**
   * Streams the chunks covering the range, a few per query and only as fast as the reader takes them, cut at the
   * edges by the database (`substring`), so a one-byte range moves one byte. Between queries no connection is held:
   * a slow download does not hold the pool. If the blob is deleted meanwhile, the stream fails rather than end short.
   */
  async get(id: string, range?: { start: number; end: number }): Promise<Readable | null> {
    this.assertOpen();
    if (!isBlobId(id)) return null;
    const stored = await this.stat(id);
    if (!stored) return null;
    const span = resolveRange(range, stored.size) ?? { start: 0, end: stored.size - 1 };
    return Readable.from(this.chunksOf(id, span), { objectMode: false });
  }

  async stat(id: string): Promise<{ size: number } | null> {
    this.assertOpen();
    if (!isBlobId(id)) return null;
    const result = await this.pool.query<{ size: string | number }>(`SELECT size FROM ${this.tables.blobs} WHERE id = $1`, [id]);
    const row = result.rows[0];
    // BIGINT arrives as a string unless the pool was told otherwise; sizes are far below 2^53.
    return row ? { size: Number(row.size) } : null;
  }

  /** The chunks go with the row (ON DELETE CASCADE). */
  async delete(id: string): Promise<void> {
    this.assertOpen();
    if (!isBlobId(id)) return;
    await this.pool.query(`DELETE FROM ${this.tables.blobs} WHERE id = $1`, [id]);
  }

  /** Ends the pool if this adapter opened it (after the queries in flight); a given pool is the caller's to end. */
  close(): Promise<void> {
    this.closing ??= this.ownsPool ? this.pool.end() : Promise.resolve();
    return this.closing;
  }

  private async *chunksOf(id: string, span: { start: number; end: number }): AsyncGenerator<Buffer> {
    const last = Math.floor(span.end / CHUNK_BYTES);
    for (let first = Math.floor(span.start / CHUNK_BYTES); first <= last; first += CHUNKS_PER_READ) {
      const upTo = Math.min(first + CHUNKS_PER_READ - 1, last);
      // Each chunk n holds bytes [n*C, n*C+C-1]; the range's part of it starts at `lo` and ends at `hi` (0-based).
      const result = await this.pool.query<{ data: Buffer }>(
        `SELECT substring(data FROM lo + 1 FOR hi - lo + 1) AS data
           FROM (SELECT n, data,
                        greatest($2::bigint - n::bigint * $4, 0)::int AS lo,
                        least($3::bigint - n::bigint * $4, $4 - 1)::int AS hi
                   FROM ${this.tables.chunks} WHERE blob_id = $1 AND n BETWEEN $5 AND $6) AS covering
          ORDER BY n`,
        [id, span.start, span.end, CHUNK_BYTES, first, upTo],
      );
      if (result.rows.length !== upTo - first + 1) throw new Error(`The file ${id} was deleted while it was being read.`);
      for (const row of result.rows) yield row.data;
    }
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('The blob store is closed.');
  }
}

/**
 * Cuts whatever sizes a source yields into chunks of exactly CHUNK_BYTES (the last one shorter) and hands each to
 * `insert` as soon as it is full. One buffer is reused: pg has copied a query's parameters into its message by the
 * time the query resolves.
 */
class ChunkWriter {
  private readonly buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private filled = 0;
  private next = 0;

  constructor(private readonly insert: (n: number, data: Buffer) => Promise<void>) {}

  async write(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.byteLength) {
      const take = Math.min(CHUNK_BYTES - this.filled, bytes.byteLength - offset);
      this.buffer.set(bytes.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === CHUNK_BYTES) await this.flush();
    }
  }

  /** Writes the last, partial chunk; an empty blob has no chunk at all. */
  async end(): Promise<void> {
    if (this.filled > 0) await this.flush();
  }

  private async flush(): Promise<void> {
    await this.insert(this.next, this.buffer.subarray(0, this.filled));
    this.next += 1;
    this.filled = 0;
  }
}

function openPool(opts: { connectionString: string; poolSize?: number; logger?: Pick<Logger, 'warn'> }): pg.Pool {
  const poolSize = opts.poolSize ?? 4;
  if (!Number.isSafeInteger(poolSize) || poolSize < 1) throw new Error(`Invalid PostgreSQL pool size: ${poolSize}.`);
  const pool = new pg.Pool({ connectionString: opts.connectionString, max: poolSize, application_name: 'knock-blobs' });
  pool.on('error', (err) => opts.logger?.warn({ err }, 'an idle PostgreSQL connection failed; the pool dropped it'));
  return pool;
}
