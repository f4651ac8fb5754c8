/**
 * Builds the browser app: one content-hashed ES module and one stylesheet in `client/dist/`, plus `index.html`,
 * the single HTML shell the server sends for every page route. The shell holds no inline script or style, so it
 * works under the strict CSP (`script-src 'self'; style-src 'self'`).
 *
 * Live help (issue 19) adds two outputs: `widget.js`, the script companies embed on their sites (its own small
 * IIFE under a fixed name, since the sites' tags name `/_/widget.js`), and the widget's monitor frame, an entry of
 * the app's build (its chunks, Colyseus and the protocol, are the ones the chat frame loads too) named by its own
 * shell, `widget-frame.html`.
 *
 * The phone's browser is the app (issue 20): the build also writes the web app manifest, its icons, the offline page
 * and the service worker with the list of files it keeps (client/pwa.ts); the shell links the manifest.
 *
 * Run it as a script: `node --import tsx client/build.ts` (add `--dev` for an unminified build).
 *
 * @example
 *   const { files, gzipBytes } = await buildClient({ minify: true });
 *   files['app.js'];            // 'app-3KX2Q7ZL.js' (inside client/dist/, served as /_/assets/app-3KX2Q7ZL.js)
 *   gzipBytes['app-3KX2Q7ZL.js']; // 38_412
 *   gzipBytes['widget.js'];        // 3_100
 */
import { build, type Metafile, type Plugin } from 'esbuild';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { shellHeadLinks, writePwaFiles } from './pwa.ts';

const clientDir = path.dirname(fileURLToPath(import.meta.url));
/** Where the build goes unless told otherwise; resolved from this file, not from the working directory. */
export const defaultOutdir = path.join(clientDir, 'dist');
/** The URL prefix under which the server serves the files of `outdir`. */
export const assetsPrefix = '/_/assets/';

export interface BuildOptions {
  minify: boolean;
  /** Defaults to `client/dist/`. A relative path is taken from the working directory. */
  outdir?: string;
}

export interface BuildResult {
  /**
   * Logical name -> file name inside `outdir`: `app.js`, `app.css`, `index.html`, `chunk-N.js` for split chunks,
   * `widget.js`, and the monitor frame's `frame.js` and `frame.html`. Every file except the two shells and the widget
   * (served as `/_/widget.js`) is served under `/_/assets/`.
   */
  files: Record<string, string>;
  /** File name inside `outdir` -> its size gzipped (level 9), for the JS, CSS and HTML files. */
  gzipBytes: Record<string, number>;
  /** The scripts every page loads (entry and its static imports); the other chunks load on demand. */
  initialScripts: string[];
  /** The scripts the widget's monitor frame loads (its entry and the chunks it imports statically). */
  frameScripts: string[];
}

/** Hashed outputs of earlier builds; removed once the new ones are in place so `dist/` does not grow forever. */
const HASHED_OUTPUT = /^(app|chunk|frame)-[A-Z0-9]+\.(js|css)(\.map)?$/;

/**
 * `import { z } from 'zod'` (engine/protocol.ts) keeps the whole `z` namespace, and with it `z.locales`: error
 * messages in ~50 languages, 255 KiB minified (about 38 KiB gzipped), of which the browser uses only English (zod's
 * default, imported by zod directly from `locales/en.js`, not through this index). The bundle gets an index that
 * holds English alone. Nothing in Knock reads `z.locales` / `core.locales`.
 */
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /\/locales\/index\.js$/ }, (args) => {
      if (!/[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)) return undefined;
      return { path: path.join(path.dirname(args.importer), '..', 'locales', 'en.js'), namespace: 'zod-locales' };
    });
    pluginBuild.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: path.dirname(args.path),
      loader: 'js',
    }));
  },
};

const MAIN = path.join(clientDir, 'src', 'main.tsx');
const FRAME = path.join(clientDir, 'src', 'widget', 'frame.ts');
const WIDGET = path.join(clientDir, 'src', 'widget', 'widget.ts');
/** Fixed names: the embedding sites' tags name the widget, and the server finds the frame's shell by name. */
const WIDGET_FILE = 'widget.js';
const FRAME_HTML = 'widget-frame.html';

/**
 * What a page loads before anything is opened: the entry script and the chunks it imports statically (not those
 * behind a dynamic import, like the document editor).
 */
export function initialScripts(metafile: Metafile, entry: string): string[] {
  const byBase = new Map(Object.entries(metafile.outputs).map(([p, o]) => [path.basename(p), o]));
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const imported of byBase.get(name)?.imports ?? []) if (imported.kind === 'import-statement') visit(path.basename(imported.path));
  };
  visit(entry);
  return [...seen];
}

export async function buildClient(opts: BuildOptions): Promise<BuildResult> {
  const outdir = opts.outdir === undefined ? defaultOutdir : path.resolve(opts.outdir);
  await mkdir(outdir, { recursive: true });

  const result = await build({
    absWorkingDir: clientDir,
    entryPoints: { app: MAIN, frame: FRAME },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    // The document editor (Tiptap, Yjs), the call screen with its media code and games (Phaser) are chunks of their
    // own, loaded by a dynamic import when a document opens, a call rings or starts, or a game opens.
    splitting: true,
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    assetNames: '[name]-[hash]',
    sourcemap: 'external',
    minify: opts.minify,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    define: { 'process.env.NODE_ENV': JSON.stringify(opts.minify ? 'production' : 'development') },
    metafile: true,
    write: true,
    plugins: [zodEnglishOnly],
    logLevel: 'warning',
  });

  const { js, css, frame, chunks } = entryOutputs(result.metafile);
  const files: Record<string, string> = { 'app.js': js };
  if (css !== undefined) files['app.css'] = css;
  chunks.forEach((chunk, i) => {
    files[`chunk-${i}.js`] = chunk;
  });
  files['frame.js'] = frame;
  await buildWidget(outdir, opts.minify);
  files['widget.js'] = WIDGET_FILE;

  // A running server may still hand out the previous shells: their assets survive one more build.
  const previous: string[] = [];
  for (const shell of ['index.html', FRAME_HTML]) previous.push(...(await readFile(path.join(outdir, shell), 'utf8').then(referencedAssets, () => [])));
  const initial = initialScripts(result.metafile, js);
  // Before the shell that links them: a page of the new shell finds the manifest, icons and worker of its build.
  await writePwaFiles(outdir, { stylesheet: css, scripts: initial });
  await writeShell(outdir, 'index.html', indexHtml({ script: js, stylesheet: css }));
  files['index.html'] = 'index.html';
  await writeShell(outdir, FRAME_HTML, frameHtml(frame));
  files['frame.html'] = FRAME_HTML;

  const current = Object.keys(result.metafile.outputs).map((p) => path.basename(p));
  const keep = new Set([...current, ...previous, ...previous.map((name) => `${name}.map`)]);
  await removeStaleOutputs(outdir, keep);

  const gzipBytes: Record<string, number> = {};
  for (const name of Object.values(files)) {
    const content = await readFile(path.join(outdir, name));
    gzipBytes[name] = gzipSync(content, { level: 9 }).length;
  }
  return { files, gzipBytes, initialScripts: initial, frameScripts: initialScripts(result.metafile, frame) };
}

/**
 * The widget: one IIFE (a classic script, as `<script async>` on any site loads it), minified, no source map (the
 * site's page would look for it next to /_/widget.js). It imports nothing of the app.
 */
async function buildWidget(outdir: string, minify: boolean): Promise<void> {
  await build({
    absWorkingDir: clientDir,
    entryPoints: [WIDGET],
    outfile: path.join(outdir, WIDGET_FILE),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2019',
    minify,
    legalComments: 'none',
    logLevel: 'warning',
  });
}

/** Written then renamed, so a server reading the shell mid-build never sees half a file. */
async function writeShell(outdir: string, name: string, html: string): Promise<void> {
  const htmlPath = path.join(outdir, name);
  await writeFile(`${htmlPath}.tmp`, html);
  await rename(`${htmlPath}.tmp`, htmlPath);
}

function entryOutputs(metafile: Metafile): { js: string; css: string | undefined; frame: string; chunks: string[] } {
  let js: string | undefined;
  let css: string | undefined;
  let frame: string | undefined;
  const chunks: string[] = [];
  for (const [outPath, output] of Object.entries(metafile.outputs)) {
    const base = path.basename(outPath);
    if (!base.endsWith('.js')) continue;
    // Modules loaded by a dynamic import (the document editor, the call screen) are entry points of their own in
    // the metafile: only main.tsx is the app.
    if (output.entryPoint !== undefined && path.resolve(clientDir, output.entryPoint) === MAIN) {
      js = base;
      if (output.cssBundle !== undefined) css = path.basename(output.cssBundle);
    } else if (output.entryPoint !== undefined && path.resolve(clientDir, output.entryPoint) === FRAME) {
      frame = base;
    } else {
      chunks.push(base);
    }
  }
  if (js === undefined || frame === undefined) throw new Error('The client build produced no entry script.');
  return { js, css, frame, chunks: chunks.sort() };
}

function indexHtml(assets: { script: string; stylesheet: string | undefined }): string {
  const stylesheet =
    assets.stylesheet === undefined ? '' : `\n<link rel="stylesheet" href="${assetsPrefix}${assets.stylesheet}">`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, interactive-widget=resizes-content">
<meta name="color-scheme" content="light dark">
<title>Knock</title>${stylesheet}
${shellHeadLinks()}
<script type="module" src="${assetsPrefix}${assets.script}"></script>
</head>
<body>
<div id="app"></div>
<noscript>Knock needs JavaScript to show this page. Please turn JavaScript on and reload.</noscript>
</body>
</html>
`;
}

/**
 * The monitor frame's page: its script and nothing else (no text, no style: it is never seen). `lang` and a title
 * only for the accessibility tree of the site that embeds it.
 */
function frameHtml(script: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Knock live help</title>
<script type="module" src="${assetsPrefix}${script}"></script>
</head>
<body></body>
</html>
`;
}

/** The asset file names an index.html refers to. */
function referencedAssets(html: string): string[] {
  const prefix = assetsPrefix.replace(/[/.]/g, '\\$&');
  return [...html.matchAll(new RegExp(`${prefix}([A-Za-z0-9._-]+)`, 'g'))].map((m) => m[1] ?? '');
}

async function removeStaleOutputs(outdir: string, keep: ReadonlySet<string>): Promise<void> {
  for (const name of await readdir(outdir)) {
    if (!HASHED_OUTPUT.test(name) || keep.has(name)) continue;
    await rm(path.join(outdir, name), { force: true });
  }
}

function formatKiB(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

const invokedAsScript = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedAsScript) {
  const minify = !process.argv.includes('--dev');
  const started = Date.now();
  const { files, gzipBytes, initialScripts: initial, frameScripts } = await buildClient({ minify });
  const lines = Object.entries(files).map(([logical, name]) => {
    const gz = gzipBytes[name];
    const when = name.endsWith('.js') && !initial.includes(name) && !frameScripts.includes(name) && name !== WIDGET_FILE ? ' (loaded on demand)' : '';
    return `  ${logical.padEnd(12)} ${name.padEnd(24)} ${gz === undefined ? '' : `${formatKiB(gz)} gzipped`}${when}`;
  });
  const initialGz = [...initial, files['app.css'] ?? '', 'index.html'].reduce((n, name) => n + (gzipBytes[name] ?? 0), 0);
  lines.push(`  every page loads ${formatKiB(initialGz)} gzipped (scripts, stylesheet and shell)`);
  const frameGz = [...frameScripts, FRAME_HTML].reduce((n, name) => n + (gzipBytes[name] ?? 0), 0);
  lines.push(`  the widget is ${formatKiB(gzipBytes[WIDGET_FILE] ?? 0)} gzipped; its monitor frame loads ${formatKiB(frameGz)} gzipped`);
  process.stdout.write(
    `Built the client into ${path.relative(process.cwd(), defaultOutdir) || '.'} in ${Date.now() - started} ms` +
      `${minify ? '' : ' (unminified)'}:\n${lines.join('\n')}\n`,
  );
}
