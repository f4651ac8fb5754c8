#!/usr/bin/env node
// The `knock` command: the operators' CLI (engine/cli.ts), run from its ahead-of-time build, engine/dist/cli.mjs,
// with no compiler at run time. `npm install` builds it (the `prepare` script). When that build is missing or older
// than a source it was made from (a `git pull` without `npm install`, an install with scripts turned off), it is
// built again here first (about a second), so the CLI never runs older code than the sources beside it.
import { buildServer, serverBuildIsStale } from '../build.mjs';

if (await serverBuildIsStale()) {
  process.stderr.write('knock: building the server (engine/dist)...\n');
  await buildServer();
}
// Imported after the check: the bundle may not have existed before it.
await import('../dist/cli.mjs');
