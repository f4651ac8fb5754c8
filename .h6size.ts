import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildClient } from './client/build.ts';
const outdir = await mkdtemp(path.join(os.tmpdir(), 'h6-bundle-'));
const built = await buildClient({ minify: true, outdir });
const names = [...built.initialScripts, built.files['app.css'] ?? '', 'index.html'];
console.log(names.map((n) => `${n} ${built.gzipBytes[n]}`).join('\n'));
console.log('total', names.reduce((n, name) => n + (built.gzipBytes[name] ?? 0), 0), 'limit', 150 * 1024);
