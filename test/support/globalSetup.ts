/** Builds the browser bundle once before any test file runs, so every server under test serves the same assets. */
import { buildClient } from '../../client/build.ts';

export default async function setup(): Promise<void> {
  await buildClient({ minify: true });
}
