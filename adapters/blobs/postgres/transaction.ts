/**
 * One transaction on a connection of its own, for the work of PostgresBlobs that spans several statements and waits
 * in between (a put waits for its upload between chunks).
 */
import type pg from 'pg';

/**
 * Runs `work` between BEGIN and COMMIT, or ROLLBACK when it asks for one (`commit: false`) or throws. While the
 * connection is checked out, pg-pool does not listen for its errors: a connection that dies while the transaction
 * waits (an upload in progress) would emit an unhandled 'error' and end the process. A listener here records it
 * instead; the next statement then fails, the transaction is rolled back by the server, and the connection is
 * dropped rather than pooled.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<{ value: T; commit: boolean }>,
): Promise<T> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (err: Error): void => {
    lost = err;
  };
  client.on('error', onError);
  let broken = false;
  try {
    await client.query('BEGIN');
    const { value, commit } = await work(client);
    await client.query(commit ? 'COMMIT' : 'ROLLBACK');
    return value;
  } catch (err) {
    // If the connection itself failed, ROLLBACK fails too: the original error is the one to report.
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw lost !== undefined && err !== lost ? new Error(`The database connection failed: ${lost.message}`, { cause: err }) : err;
  } finally {
    client.off('error', onError);
    client.release(broken || lost !== undefined);
  }
}
