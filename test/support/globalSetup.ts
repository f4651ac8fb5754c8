/**
 * Before any test file runs: builds the browser bundle once, so every server under test serves the same assets; and
 * finds (or starts) the PostgreSQL and Redis of the run (test/support/throwawayServices.ts), handing their addresses
 * to every test file through KNOCK_TEST_DATABASE_URL / KNOCK_TEST_REDIS_URL. The teardown stops what it started.
 */
import { buildClient } from '../../client/build.ts';
import { testServices } from './throwawayServices.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const [services] = await Promise.all([testServices(), buildClient({ minify: true })]);
  process.env.KNOCK_TEST_DATABASE_URL = services.databaseUrl;
  process.env.KNOCK_TEST_REDIS_URL = services.redisUrl;
  console.log(`[knock tests] ${services.describe()}`);
  return () => services.stop();
}
