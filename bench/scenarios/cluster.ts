/**
 * Scale-out: Knock on PostgreSQL + Redis (DATABASE_URL, KNOCK_DATABASE_SCHEMA, REDIS_URL, KNOCK_PUBLIC_ADDRESS),
 * saturation throughput of one process and of two. Pair i is matched by process i % n (as a load balancer with
 * client affinity would spread people), so each conversation's room lives on the process its people reach.
 * A fresh schema and a Redis logical database of its own (claimed as the tests do) are removed at the end.
 * PostgreSQL and Redis are found as the tests find them (test/support/throwawayServices.ts): the ones named by
 * KNOCK_TEST_DATABASE_URL / KNOCK_TEST_REDIS_URL, else the machine's, else throwaway ones started for the scenario
 * (a throwaway PostgreSQL runs without fsync: the report's note says which was used).
 * Skipped, with the reason in the report, when none can be had.
 */
import { PostgresStorage } from '../../adapters/storage/postgres/PostgresStorage.ts';
import { TestSchemas, newSchemaName } from '../../test/support/postgresSchemas.ts';
import { TestRedis } from '../../test/support/redisDatabase.ts';
import { testServices, type TestServices } from '../../test/support/throwawayServices.ts';
import { withTimeout } from '../lib/processes.ts';
import type { PairSpec } from '../load/messages.ts';
import type { ClusterResult, LoadStep } from '../results.ts';
import { seedStorage } from '../seed.ts';
import { startKnockCluster, type ClusterEnv } from '../targets.ts';
import type { BenchContext } from './context.ts';
import { closePairs, fmt, openPairs, runStep } from './throughput.ts';

const PROBE_TIMEOUT_MS = 5000;

export async function measureCluster(ctx: BenchContext, cpus: string[], note: string): Promise<ClusterResult> {
  const { pairs, window, saturation } = ctx.mode.cluster;
  let empty: ClusterResult = { skipped: null, pairs, single: null, double: null, singleAtHalf: null, doubleAtHalf: null, cpusPerProcess: cpus, note };
  let services: TestServices;
  try {
    services = await testServices();
  } catch (err) {
    const reason = `no PostgreSQL and Redis to use: ${err instanceof Error ? err.message : String(err)}`;
    ctx.log(`cluster: skipped (${reason})`);
    return { ...empty, skipped: reason };
  }
  ctx.log(`cluster: ${services.describe()}`);
  empty = { ...empty, note: `${note} ${services.describe()}.` };
  let store: ClusterStore;
  try {
    store = await claimClusterStore(ctx, services, pairs);
  } catch (err) {
    const reason = `PostgreSQL or Redis not available: ${err instanceof Error ? err.message : String(err)}`;
    ctx.log(`cluster: skipped (${reason})`);
    await services.stop();
    return { ...empty, skipped: reason };
  }
  try {
    // Each also runs open loop at half the one-process saturation: latency at the same rate, one process or two.
    const one = await saturate(ctx, 1, store.env, cpus, store.owners, window, saturation, (sat) => sat / 2);
    const halfRate = one.step.offeredPerSec ?? 1;
    await store.redis.flush();
    const two = await saturate(ctx, 2, store.env, cpus, store.owners, window, saturation, () => halfRate);
    return { ...empty, single: one.saturation, double: two.saturation, singleAtHalf: one.step, doubleAtHalf: two.step };
  } finally {
    await store.release();
    await services.stop();
  }
}

/** A cluster's shared state for one measurement: a PostgreSQL schema of its own, seeded, and a Redis database of its own. */
export interface ClusterStore {
  env: ClusterEnv;
  redis: TestRedis;
  /** The seeded owners, each with a session (a pair's owner side). */
  owners: Array<{ handle: string; token: string }>;
  /** Drops the schema and gives the Redis database back; failures go to the report's errors. */
  release(): Promise<void>;
}

/**
 * Claims a Redis database and a fresh schema in `services`, seeded with `pairs` owners (the cluster scenario, and
 * bench/profile.ts --kind postgres). What it claimed before a failure is released before it rethrows.
 */
export async function claimClusterStore(ctx: BenchContext, services: TestServices, pairs: number): Promise<ClusterStore> {
  const schemas = new TestSchemas(services.databaseUrl);
  const schema = newSchemaName();
  let redis: TestRedis | null = null;
  const release = async () => {
    await redis?.release().catch(() => undefined);
    await schemas.drop(schema).catch((err: unknown) => ctx.errors.push(`cluster: could not drop schema ${schema}: ${String(err)}`));
    await schemas.end();
  };
  try {
    redis = await withTimeout(TestRedis.claim(services.redisUrl), PROBE_TIMEOUT_MS, 'Redis');
    const owners = await seedOwners(ctx, services.databaseUrl, schema, pairs);
    return { env: { databaseUrl: services.databaseUrl, databaseSchema: schema, redisUrl: redis.url }, redis, owners, release };
  } catch (err) {
    await release();
    throw err;
  }
}

async function seedOwners(ctx: BenchContext, databaseUrl: string, schema: string, count: number): Promise<Array<{ handle: string; token: string }>> {
  const storage = await withTimeout(PostgresStorage.open({ connectionString: databaseUrl, schema }), PROBE_TIMEOUT_MS, 'PostgreSQL');
  try {
    ctx.log(`cluster: seeding ${count} owners in PostgreSQL schema ${schema}`);
    return (await seedStorage(storage, { pair: { count, sessions: true } })).pair!;
  } finally {
    await storage.close();
  }
}

async function saturate(
  ctx: BenchContext,
  processes: number,
  env: ClusterEnv,
  cpus: string[],
  owners: Array<{ handle: string; token: string }>,
  window: number,
  phase: { warmupMs: number; measureMs: number; drainMs: number },
  rateFor: (saturationPerSec: number) => number,
): Promise<{ saturation: LoadStep; step: LoadStep }> {
  ctx.log(`cluster: starting ${processes} Knock process${processes > 1 ? 'es' : ''} on PostgreSQL + Redis (CPUs ${cpus.slice(0, processes).join(' / ')})`);
  const server = await startKnockCluster(processes, env, cpus);
  try {
    const pairs: PairSpec[] = owners.map((owner, i) => ({ id: `c${processes}p${i}`, endpoint: server.endpoints[i % processes]!, owner }));
    await openPairs(ctx, server, pairs);
    try {
      const saturation = await runStep(ctx, server, { mode: 'closed', window }, phase);
      const which = `${processes} process${processes > 1 ? 'es' : ''}`;
      ctx.log(`cluster: ${which} saturate at ${fmt(saturation.deliveredPerSec)} msg/s (p99 ${saturation.latency.p99Ms.toFixed(1)} ms, server CPU ${saturation.cpu.server.toFixed(2)}, other CPU ${saturation.cpu.other.toFixed(2)})`);
      const ratePerSec = Math.max(1, Math.round(rateFor(saturation.deliveredPerSec)));
      const step = await runStep(ctx, server, { mode: 'open', ratePerSec }, phase);
      ctx.log(`cluster: ${which} at ${fmt(ratePerSec)} msg/s offered: p50 ${step.latency.p50Ms.toFixed(2)} ms, p99 ${step.latency.p99Ms.toFixed(2)} ms`);
      return { saturation, step };
    } finally {
      await closePairs(ctx);
    }
  } finally {
    await server.stop();
  }
}
