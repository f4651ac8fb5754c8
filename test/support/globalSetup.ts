/**
 * Builds, once before any test file runs, what `npm start` builds: the browser bundle (client/dist), so every server
 * under test serves the same assets, and the server's own bundle (engine/dist), which the tests that run Knock as a
 * separate process start, as `npm start` does, and which the `knock` command runs.
 */
import { buildClient } from '../../client/build.ts';
import { buildServer } from '../../engine/build.mjs';

export default async function setup(): Promise<void> {
  await Promise.all([buildClient({ minify: true }), buildServer()]);
}
