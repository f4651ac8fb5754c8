/**
 * The throwaway PostgreSQL and Redis a run starts when it has none (test/support/throwawayServices.ts). On machines
 * with their own (CI here) the run never needs them, so they are started here on purpose: they answer, hold data,
 * and leave nothing behind, no process listening and no directory.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { ThrowawayPostgres, ThrowawayRedis, postgresAnswers, redisAnswers } from '../support/throwawayServices.ts';

describe('throwaway services for a run', () => {
  it('starts a PostgreSQL with a `test` database on 127.0.0.1 that takes tables, and removes it all on stop', async () => {
    const server = await ThrowawayPostgres.start();
    try {
      expect(server.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/test$/);
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      await client.query('CREATE TABLE t (x int)');
      await client.query('INSERT INTO t VALUES (1), (2)');
      expect((await client.query('SELECT sum(x)::int AS s FROM t')).rows[0]).toEqual({ s: 3 });
      await client.end();
    } finally {
      await server.stop();
    }
    expect(await postgresAnswers(server.url)).toBe(false);
    expect(existsSync(server.directory)).toBe(false);
  });

  it('starts a Redis on 127.0.0.1 and removes it on stop', async () => {
    const server = await ThrowawayRedis.start();
    const port = Number(new URL(server.url).port);
    try {
      expect(await redisAnswers(port)).toBe(true);
    } finally {
      await server.stop();
    }
    expect(await redisAnswers(port)).toBe(false);
    expect(existsSync(server.directory)).toBe(false);
  });
});
