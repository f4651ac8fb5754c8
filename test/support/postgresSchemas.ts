/**
 * Throwaway PostgreSQL schemas for tests: every store opened through `TestSchemas` lives in a schema of its own,
 * named at random, dropped with everything in it when the store is released. Tests therefore share one database
 * (the machine's, or `KNOCK_TEST_DATABASE_URL`) without seeing each other's rows, even across parallel files.
 *
 * @example
 *   const schemas = new TestSchemas();
 *   storageContract('PostgreSQL', () => schemas.openStorage(), (s) => schemas.release(s));
 *   afterAll(() => schemas.end());
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Storage } from '../../engine/ports/storage.ts';
import { PostgresStorage } from '../../adapters/storage/postgres/PostgresStorage.ts';

/** The test database: trust auth for user `postgres` on this machine, unless the environment names another. */
export const testDatabaseUrl = process.env.KNOCK_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema name no other test run will pick: `knock_test_` and 48 random bits. */
export function newSchemaName(): string {
  return `knock_test_${randomBytes(6).toString('hex')}`;
}

export class TestSchemas {
  private admin: pg.Pool | undefined;
  private readonly schemaOf = new Map<Storage, string>();

  constructor(private readonly url: string = testDatabaseUrl) {}

  /** A PostgresStorage on a new, empty schema. */
  async openStorage(opts: { schema?: string; poolSize?: number } = {}): Promise<PostgresStorage> {
    const schema = opts.schema ?? newSchemaName();
    let storage: PostgresStorage;
    try {
      storage = await PostgresStorage.open({ connectionString: this.url, schema, poolSize: opts.poolSize });
    } catch (err) {
      await this.drop(schema); // open may have created the schema before failing
      throw new Error(`Could not open PostgreSQL at ${redact(this.url)} (set KNOCK_TEST_DATABASE_URL to use another).`, { cause: err });
    }
    this.schemaOf.set(storage, schema);
    return storage;
  }

  /** Closes the store and drops its schema once no other store opened here uses it. */
  async release(storage: Storage): Promise<void> {
    await storage.close();
    const schema = this.schemaOf.get(storage);
    this.schemaOf.delete(storage);
    if (schema && ![...this.schemaOf.values()].includes(schema)) await this.drop(schema);
  }

  async drop(schema: string): Promise<void> {
    await this.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }

  /** A statement outside any adapter: what is really in the database, not what the adapter says. */
  async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    this.admin ??= new pg.Pool({ connectionString: this.url, max: 2 });
    return (await this.admin.query<R>(text, values)).rows;
  }

  /** Releases what is left (a test that failed before its cleanup) and the admin connections. */
  async end(): Promise<void> {
    for (const storage of [...this.schemaOf.keys()]) await this.release(storage);
    await this.admin?.end();
    this.admin = undefined;
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
