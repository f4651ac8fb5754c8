/**
 * Several Knock processes of one cluster (README "Running several processes") for a browser test: a fresh PostgreSQL
 * schema and Redis database, processes added one by one (each a KnockProcess, named A, B, C… in the order added),
 * and everything stopped in reverse order when the test is over, passed or failed.
 *
 * Cleanup runs in `onTestFinished`, not in an afterEach: vitest skips the remaining afterEach hooks once one throws,
 * as useBrowser's does when a page logged a CSP violation; onTestFinished runs after them all (so a failed test's
 * screenshots show live pages), and always. A failed test prints what every process printed.
 *
 * @example
 *   it('...', async (test) => {
 *     const cluster = await TestCluster.open(test, 'scale/browsers');
 *     const a = await cluster.add();
 *     const b = await cluster.add({ KNOCK_PING_INTERVAL_MS: '5000' });
 *     await cluster.addUser('alice', 'Alice');
 *     await Promise.all([a.start(), b.start()]);
 *     expect(await cluster.whereAre('doc')).toEqual(['A']);
 *   });
 */
import type { TestContext } from 'vitest';
import { KnockProcess } from './knockProcess.ts';
import { TestSchemas, newSchemaName, testDatabaseUrl } from './postgresSchemas.ts';
import { TestRedis } from './redisDatabase.ts';

export type RoomType = 'user' | 'conversation' | 'doc' | 'game';

export class TestCluster {
  private readonly processes: KnockProcess[] = [];

  private constructor(
    readonly redis: TestRedis,
    /** The PostgreSQL schema the processes share. */
    readonly schema: string,
    /** What to stop when the test is over, in the order it was started. */
    private readonly stops: Array<() => Promise<unknown>>,
  ) {}

  static async open(test: Pick<TestContext, 'onTestFailed' | 'onTestFinished'>, label: string): Promise<TestCluster> {
    const stops: Array<() => Promise<unknown>> = [];
    test.onTestFinished(async () => {
      const errors: unknown[] = [];
      for (const stop of stops.splice(0).reverse()) await stop().catch((err: unknown) => errors.push(err));
      if (errors.length > 0) throw new AggregateError(errors, 'could not stop everything the test started');
    });
    const schemas = new TestSchemas();
    stops.push(() => schemas.end());
    const schema = newSchemaName();
    stops.push(() => schemas.drop(schema));
    const redis = await TestRedis.claim();
    stops.push(() => redis.release());
    const cluster = new TestCluster(redis, schema, stops);
    test.onTestFailed(() => {
      for (const [i, p] of cluster.processes.entries()) console.error(`[${label}] process ${nameOf(i)} printed:\n${p.log}`);
    });
    return cluster;
  }

  /** A new process of the cluster (not started), at 127.0.0.1:<its port> unless `env` names another public address. */
  async add(env: Record<string, string> = {}): Promise<KnockProcess> {
    const knock = await KnockProcess.create({
      cluster: { databaseUrl: testDatabaseUrl, databaseSchema: this.schema, redisUrl: this.redis.url },
      env,
    });
    this.processes.push(knock);
    this.stops.push(() => knock.dispose());
    return knock;
  }

  /** Something else the test started, stopped before what was started earlier (a proxy in front of the processes). */
  stopAtEnd(stop: () => Promise<unknown>): void {
    this.stops.push(stop);
  }

  /** `knock user add` with the CLI, through the first process's configuration (it also applies the migrations). */
  async addUser(handle: string, displayName: string): Promise<void> {
    const first = this.processes[0];
    if (first === undefined) throw new Error('Add a process first.');
    await first.addUser(handle, displayName);
  }

  /** Which processes hold the rooms of one type, from Colyseus's own listing in Redis (each names its public address). */
  async whereAre(type: RoomType): Promise<string[]> {
    return (await this.redis.rooms(type)).map((room) => {
      const i = this.processes.findIndex((p) => p.publicAddress === room.publicAddress);
      if (i === -1) throw new Error(`A ${type} room at an unknown address: ${JSON.stringify(room)}`);
      return nameOf(i);
    });
  }
}

/** A, B, C… in the order the processes were added. */
function nameOf(index: number): string {
  return String.fromCharCode('A'.charCodeAt(0) + index);
}
