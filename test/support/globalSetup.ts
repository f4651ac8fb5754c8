/**
 * Before any test file runs: builds what `npm start` builds, the browser bundle (client/dist), so every server under
 * test serves the same assets, and the server's own bundle (engine/dist), which the tests that run Knock as a separate
 * process start, as `npm start` does, and which the `knock` command runs; and finds (or starts) the PostgreSQL and
 * Redis of the run (test/support/throwawayServices.ts), handing their addresses to every test file through
 * KNOCK_TEST_DATABASE_URL / KNOCK_TEST_REDIS_URL. The teardown stops what it started.
 */
import { buildClient } from '../../client/build.ts';
import { buildServer } from '../../engine/build.mjs';
import { testServices } from './throwawayServices.ts';

export default async function setup(): Promise<() => Promise<void>> {
  // Vitest runs this once per project (test/vitest.config.ts has several): the first builds and finds the services,
  // the others find them in the environment it set.
  if (process.env.KNOCK_TEST_SETUP_DONE === '1') return async () => undefined;
  const [services] = await Promise.all([testServices(), buildClient({ minify: true }), buildServer()]);
  process.env.KNOCK_TEST_DATABASE_URL = services.databaseUrl;
  process.env.KNOCK_TEST_REDIS_URL = services.redisUrl;
  process.env.KNOCK_TEST_SETUP_DONE = '1';
  console.log(`[knock tests] ${services.describe()}`);
  return () => services.stop();
}
