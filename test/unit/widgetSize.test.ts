/**
 * The widget a company embeds on its site stays small (issue 19: under 30 KB gzipped): a real build, real gzip. It is
 * one classic script under a fixed name (the sites' tags name /_/widget.js), carrying none of the app's libraries;
 * the chat loads only on click, and the monitor frame's page names a script the same build made.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient, type BuildResult } from '../../client/build.ts';

const WIDGET_LIMIT_BYTES = 30 * 1024;
let outdir: string;
let built: BuildResult;

beforeAll(async () => {
  outdir = await mkdtemp(path.join(os.tmpdir(), 'knock-widget-'));
  built = await buildClient({ minify: true, outdir });
}, 60_000);
afterAll(() => rm(outdir, { recursive: true, force: true }));

const read = (name: string) => readFile(path.join(outdir, name), 'utf8');

describe('the widget script', () => {
  it('is under 30 KB gzipped, under the fixed name widget.js', async () => {
    expect(built.files['widget.js']).toBe('widget.js');
    const gz = gzipSync(await readFile(path.join(outdir, 'widget.js')), { level: 9 }).length;
    expect(gz).toBe(built.gzipBytes['widget.js']);
    expect(gz).toBeLessThan(WIDGET_LIMIT_BYTES);
    console.log(`widget.js: ${(gz / 1024).toFixed(1)} KiB gzipped`);
  });

  it('is a self-contained classic script: no imports, no zod, no Colyseus, no Preact', async () => {
    const code = await read('widget.js');
    expect(code).not.toMatch(/\bimport\s*[({"']|\bexport\s*[{*]/);
    expect(code).not.toMatch(/colyseus|ZodError|preact/i);
  });
});

describe('the monitor frame', () => {
  it('has a page that names its script, which the same build made, and loads no stylesheet', async () => {
    const html = await read(built.files['frame.html']!);
    const scripts = [...html.matchAll(/<script[^>]*\bsrc="\/_\/assets\/([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts).toEqual([built.files['frame.js']]);
    expect(built.frameScripts).toContain(built.files['frame.js']);
    for (const name of built.frameScripts) expect(await read(name)).toBeTruthy();
    expect(html).not.toMatch(/<link|<style|\sstyle=|<script(?![^>]*\bsrc=)/i);
    const frameGz = built.frameScripts.reduce((n, name) => n + (built.gzipBytes[name] ?? 0), 0);
    console.log(`monitor frame: ${(frameGz / 1024).toFixed(1)} KiB gzipped (cached, shared with the chat frame)`);
  });
});
