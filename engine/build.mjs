// Builds the server ahead of time: engine/main.ts (`npm start`) and engine/cli.ts (`npx knock`) bundled by esbuild
// into plain JavaScript in engine/dist/ (git-ignored), so production processes run no compiler and no module-loader
// hooks. Knock's own code (engine/, rooms/, adapters/, games/) is bundled; npm packages stay external and are loaded
// from node_modules by Node itself. Plain JavaScript, so it runs with nothing but Node and esbuild: `npm install`
// runs it (the `prepare` script), `npm start` runs it before starting (`prestart`), and the `knock` command runs it
// when the bundle is missing or older than a source it was built from (engine/bin/knock.mjs).
//
//   node engine/build.mjs            # builds engine/dist/main.mjs and engine/dist/cli.mjs
//
// Files read at run time next to a module (the browser app in client/dist/, SQL migrations, the SQLite checkpoint
// worker) are found through `import.meta.url`. In a bundle that is the bundle's address, so each source's
// `import.meta.url` is rewritten to its own original address, relative to the bundle: the bundle keeps working
// wherever the checkout is moved, and reads those files where they are in the repository.
import { build } from 'esbuild';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Where the bundles go; resolved from this file, not from the working directory. */
export const serverOutdir = path.join(root, 'engine', 'dist');
const ENTRIES = { main: 'engine/main.ts', cli: 'engine/cli.ts' };
/** Written beside the bundles: every source file they were built from, to tell when they are stale. */
const INPUTS_FILE = 'inputs.json';

/** Rewrites `import.meta.url` in Knock's own sources to the source file's address, relative to the bundle. */
const originalImportMetaUrl = {
  name: 'original-import-meta-url',
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const fromBundle = path.relative(serverOutdir, args.path).split(path.sep).join('/');
      const address = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
      return { contents: source.replaceAll('import.meta.url', address), loader: 'ts', resolveDir: path.dirname(args.path) };
    });
  },
};

/**
 * Bundles the server and the CLI into engine/dist/. Resolves with the bundles' paths.
 *
 * @example
 *   const { main } = await buildServer();   // '/…/engine/dist/main.mjs'
 */
export async function buildServer() {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ENTRIES,
    outdir: serverOutdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    // npm packages are loaded by Node from node_modules (native addons, workers and data files of their own).
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Two self-contained files (no shared chunks): a rebuild replaces exactly these, nothing goes stale beside them.
    sourcemap: 'linked',
    tsconfig: path.join(root, 'tsconfig.json'),
    plugins: [originalImportMetaUrl],
    metafile: true,
    logLevel: 'warning',
  });
  const inputs = Object.keys(result.metafile.inputs).filter((p) => !p.startsWith('node_modules/'));
  await writeFile(path.join(serverOutdir, INPUTS_FILE), `${JSON.stringify(inputs)}\n`);
  return { main: path.join(serverOutdir, 'main.mjs'), cli: path.join(serverOutdir, 'cli.mjs') };
}

/**
 * True when a bundle is missing or a source it was built from changed (or is gone) since: `git pull` without
 * `npm install`, or an install with scripts turned off.
 */
export async function serverBuildIsStale() {
  let built;
  let inputs;
  try {
    const [mainStat, cliStat] = await Promise.all(['main.mjs', 'cli.mjs'].map((f) => stat(path.join(serverOutdir, f))));
    built = Math.min(mainStat.mtimeMs, cliStat.mtimeMs);
    inputs = JSON.parse(await readFile(path.join(serverOutdir, INPUTS_FILE), 'utf8'));
  } catch {
    return true;
  }
  const times = await Promise.all(inputs.map((p) => stat(path.join(root, p)).then((s) => s.mtimeMs, () => Infinity)));
  return times.some((t) => t > built);
}

const invokedAsScript = process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (invokedAsScript) {
  const started = Date.now();
  const { main, cli } = await buildServer();
  process.stdout.write(`Built the server into ${path.relative(process.cwd(), serverOutdir) || '.'} in ${Date.now() - started} ms: ${path.basename(main)}, ${path.basename(cli)}\n`);
}
