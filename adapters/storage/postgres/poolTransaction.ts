/**
 * Several statements as one transaction on one pooled connection (channels.ts, phones.ts): BEGIN, the work, COMMIT;
 * ROLLBACK on any error, which comes out as thrown (the caller maps it). A connection whose ROLLBACK fails too is
 * broken: it is destroyed, not pooled.
 *
 * @example
 *   const moved = await poolTransaction(pool, async (client) => { await client.query(a); return client.query(b); });
 */
import type pg from 'pg';

export async function poolTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw err;
  } finally {
    client.release(broken);
  }
}
