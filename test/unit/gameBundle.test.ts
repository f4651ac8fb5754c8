/**
 * The page stays light with games in it (issue 6): Phaser is in a chunk the app imports only dynamically (when a
 * game opens), and what a visitor's page loads up front (the app, the chunks it imports statically, the stylesheet)
 * stays under 150 KiB gzipped.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, expect, it } from 'vitest';
import { buildClient } from '../../client/build.ts';

const VISITOR_BUDGET_BYTES = 150 * 1024;
let outdir = '';
afterAll(() => (outdir ? rm(outdir, { recursive: true, force: true }) : undefined));

it('loads Phaser only when a game opens, and keeps the page under 150 KiB gzipped', async () => {
  outdir = await mkdtemp(path.join(os.tmpdir(), 'knock-bundle-'));
  const { files, initialScripts } = await buildClient({ minify: true, outdir });
  const gz = async (name: string) => gzipSync(await readFile(path.join(outdir, name)), { level: 9 }).length;
  const read = (name: string) => readFile(path.join(outdir, name), 'utf8');
  const app = await read(files['app.js']!);
  const dynamicChunks = [...app.matchAll(/import\(\s*"\.\/(chunk-[A-Z0-9]+\.js)"\s*\)/g)].map((m) => m[1]!);
  const withPhaser = [];
  for (const chunk of dynamicChunks) if (/Phaser v\d|phaser\.io/.test(await read(chunk))) withPhaser.push(chunk);
  expect(withPhaser).toHaveLength(1);
  expect(initialScripts).not.toContain(withPhaser[0]);
  for (const script of initialScripts) expect(await read(script)).not.toMatch(/Phaser v\d|phaser\.io/);
  const upFront = [files['app.css']!, ...initialScripts];
  const total = (await Promise.all(upFront.map(gz))).reduce((a, b) => a + b, 0);
  expect(total).toBeLessThan(VISITOR_BUDGET_BYTES);
  console.log(`page up front: ${(total / 1024).toFixed(1)} KiB gz; games chunk: ${((await gz(withPhaser[0]!)) / 1024).toFixed(1)} KiB gz`);
});
