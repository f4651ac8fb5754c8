/**
 * What makes the browser app an installable app on a phone (issue 20), written by the build next to the shell:
 * the web app manifest, its icons (client/pwaIcons.ts), the offline page, and the service worker with the list of
 * files it keeps for offline use (client/src/serviceWorker.js, prefixed with that list). The server serves them at
 * fixed addresses (engine/http/pwaRoutes.ts says which and why).
 *
 * @example
 *   await writePwaFiles(outdir, { stylesheet: 'app-X.css', scripts: ['app-Y.js', 'chunk-Z.js'] });
 *   // outdir/manifest.webmanifest, icon-192.png, icon-512.png, icon-maskable-512.png, offline.html, sw.js
 */
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { iconPng, type IconPurpose } from './pwaIcons.ts';

/**
 * The fixed names inside the build's output directory. engine/http/pwaRoutes.ts serves them and names them again
 * (engine/ never imports client/); test/http/pwaRoutes.test.ts checks the two agree.
 */
export const PWA_FILES = {
  manifest: 'manifest.webmanifest',
  offline: 'offline.html',
  worker: 'sw.js',
} as const;

/** Where the server serves them. */
export const PWA_URLS = {
  manifest: '/_/manifest.webmanifest',
  offline: '/_/offline',
  assets: '/_/assets/',
} as const;

export const ICONS: readonly { file: string; size: number; purpose: IconPurpose }[] = [
  { file: 'icon-192.png', size: 192, purpose: 'any' },
  { file: 'icon-512.png', size: 512, purpose: 'any' },
  { file: 'icon-maskable-512.png', size: 512, purpose: 'maskable' },
];

/** `--bg` and `--surface` of client/src/styles.css, light and dark: the splash screen and the browser's bar match the page. */
export const THEME = { background: '#f3f4f6', light: '#ffffff', dark: '#171a20' } as const;

const WORKER_SOURCE = fileURLToPath(new URL('./src/serviceWorker.js', import.meta.url));

/** The manifest (W3C Web App Manifest): one app for the whole origin, opened at the start page. */
export function webManifest(): object {
  return {
    name: 'Knock',
    short_name: 'Knock',
    description: 'Talk to people and companies at their Knock address.',
    id: '/',
    start_url: '/',
    scope: '/',
    display: 'standalone',
    background_color: THEME.background,
    theme_color: THEME.light,
    icons: ICONS.map(({ file, size, purpose }) => ({ src: `${PWA_URLS.assets}${file}`, sizes: `${size}x${size}`, type: 'image/png', purpose })),
  };
}

/** The lines of the shell's <head> that link the manifest, the icons and the browser bar's colour. */
export function shellHeadLinks(): string {
  return [
    `<link rel="manifest" href="${PWA_URLS.manifest}">`,
    `<link rel="icon" type="image/png" sizes="192x192" href="${PWA_URLS.assets}icon-192.png">`,
    `<link rel="apple-touch-icon" href="${PWA_URLS.assets}icon-192.png">`,
    `<meta name="theme-color" media="(prefers-color-scheme: light)" content="${THEME.light}">`,
    `<meta name="theme-color" media="(prefers-color-scheme: dark)" content="${THEME.dark}">`,
  ].join('\n');
}

/**
 * Writes the manifest, icons, offline page and service worker into `outdir`. `scripts` and `stylesheet` are what
 * every page loads: the worker keeps them, the shell and the offline page, so the app opens without a network.
 */
export async function writePwaFiles(outdir: string, initial: { stylesheet: string | undefined; scripts: readonly string[] }): Promise<string[]> {
  const written: string[] = [];
  const put = async (name: string, content: string | Buffer): Promise<void> => {
    // Written then renamed, like the shells: a running server never serves half a file.
    await writeFile(path.join(outdir, `${name}.tmp`), content);
    await rename(path.join(outdir, `${name}.tmp`), path.join(outdir, name));
    written.push(name);
  };
  for (const icon of ICONS) await put(icon.file, iconPng(icon.size, icon.purpose));
  await put(PWA_FILES.manifest, `${JSON.stringify(webManifest(), null, 2)}\n`);
  await put(PWA_FILES.offline, offlineHtml(initial.stylesheet));

  const assets = [...(initial.stylesheet === undefined ? [] : [initial.stylesheet]), ...initial.scripts, ...ICONS.map((i) => i.file)];
  const precache = ['/', PWA_URLS.offline, PWA_URLS.manifest, ...assets.map((name) => `${PWA_URLS.assets}${name}`)];
  // The version names the worker's cache; it changes with every build whose files change, and so does the worker's
  // text, which is how the browser notices a new worker, installs it and drops the old cache.
  const source = await readFile(WORKER_SOURCE, 'utf8');
  const version = createHash('sha256').update(JSON.stringify(precache)).update(source).digest('hex').slice(0, 12);
  await put(PWA_FILES.worker, `self.KNOCK_SHELL = ${JSON.stringify({ version, precache })};\n${source}`);
  return written;
}

/**
 * The page the service worker shows when a page cannot load (offline, and not kept on this device). No script:
 * what it says must be true without the app. "Try again" reloads the address the person asked for.
 */
function offlineHtml(stylesheet: string | undefined): string {
  const link = stylesheet === undefined ? '' : `\n<link rel="stylesheet" href="${PWA_URLS.assets}${stylesheet}">`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>You are offline · Knock</title>${link}
${shellHeadLinks()}
</head>
<body>
<main class="page page--narrow">
<h1>You are offline</h1>
<p>This device has no connection to Knock right now, so this page cannot load.</p>
<h2>What still works</h2>
<ul>
<li>Knock pages already open keep what they show, and reconnect by themselves when the network is back.</li>
<li>Messages you write while offline stay on this device, marked “Sending…”, and are sent once you are back online.</li>
</ul>
<p><a class="button button--primary" href="">Try again</a></p>
</main>
</body>
</html>
`;
}
