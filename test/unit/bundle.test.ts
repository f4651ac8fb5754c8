/**
 * The visitor page stays light (DESIGN "no heavy framework on the visitor page"): what every page loads stays under
 * 150 KiB gzipped, and the document editor (Tiptap, ProseMirror, Yjs) is not part of it: it is a chunk of its own,
 * fetched by a dynamic import when a document opens.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient, type BuildResult } from '../../client/build.ts';

const LIMIT_BYTES = 150 * 1024;
let outdir: string;
let built: BuildResult;

beforeAll(async () => {
  outdir = await mkdtemp(path.join(os.tmpdir(), 'knock-bundle-'));
  built = await buildClient({ minify: true, outdir });
}, 60_000);
afterAll(() => rm(outdir, { recursive: true, force: true }));

const read = (name: string) => readFile(path.join(outdir, name), 'utf8');

describe('the browser bundle', () => {
  it('loads under 150 KiB gzipped on every page, stylesheet and shell included', () => {
    const names = [...built.initialScripts, built.files['app.css'] ?? '', 'index.html'];
    const total = names.reduce((n, name) => n + (built.gzipBytes[name] ?? 0), 0);
    expect(total).toBeLessThan(LIMIT_BYTES);
  });

  it('keeps the editor out of what every page loads, in a chunk fetched on demand', async () => {
    const scripts = Object.values(built.files).filter((f) => f.endsWith('.js'));
    const lazy = scripts.filter((f) => !built.initialScripts.includes(f));
    expect(lazy.length).toBeGreaterThan(0);
    for (const name of built.initialScripts) expect(await read(name)).not.toMatch(/ProseMirror|Yjs was already imported/);
    const editor = await Promise.all(lazy.map(read));
    expect(editor.some((code) => code.includes('ProseMirror') && code.includes('Yjs was already imported'))).toBe(true);
  });
});
