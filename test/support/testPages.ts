/**
 * For browser tests without a Knock server: a page of test/support (messageListPage.tsx, composerPage.tsx) bundled
 * the way client/build.ts bundles the app, and the app's stylesheets as main.tsx imports them (docs.css styles the
 * document cards), to add to a blank page.
 *
 * @example
 *   const [script, stylesheet] = await Promise.all([bundleTestPage('messageListPage.tsx'), appStylesheet()]);
 *   await page.addStyleTag({ content: stylesheet });
 *   await page.addScriptTag({ content: script });
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export async function bundleTestPage(file: string): Promise<string> {
  const bundled = await build({
    entryPoints: [fileURLToPath(new URL(`./${file}`, import.meta.url))],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    logLevel: 'warning',
  });
  return bundled.outputFiles[0]?.text ?? '';
}

export async function appStylesheet(): Promise<string> {
  const sheets = ['styles.css', 'docs.css'].map((name) => readFile(new URL(`../../client/src/${name}`, import.meta.url), 'utf8'));
  return (await Promise.all(sheets)).join('\n');
}
