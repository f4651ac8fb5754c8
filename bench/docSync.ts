/**
 * Documents (issue 5): how long a second browser takes to show a 1 MB document, and how long one keystroke takes to
 * reach another client. Knock runs as `npm start` runs it (engine/main.ts, SQLite in a fresh data directory, default
 * document limits), in a process of its own; the clients are the SDK's DocProvider (colyseus.js) and Debian's
 * Chromium through playwright-core, on 127.0.0.1.
 *
 *   node --import tsx bench/docSync.ts                 # 10 page loads, 300 keystrokes
 *   node --import tsx bench/docSync.ts --loads 3 --keys 50 --size-mb 0.2
 *
 * 1. Load: the document is filled to `--size-mb` (text in paragraphs, as the editor stores it, in updates under the
 *    update limit) by a first client that stays connected (the room is warm, as when someone is working in it).
 *    Each of `--loads` runs opens a new browser context (cold cache, a new person) at the visitor's resume link with
 *    the document in the address (`/<handle>/c/<token>#doc=<id>`), and times from navigation to the moment the
 *    editor shows the document's last paragraph. Median, min and max are printed.
 *    The same is timed for an SDK client (DocProvider in Node: join, sync, no page and no rendering).
 * 2. Keystroke latency: two clients on the document; one inserts one character, the clock stops when the other's
 *    Y.Doc has applied it; the roles alternate. Median and p99 over `--keys` keystrokes, one at a time.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import * as Y from 'yjs';
import { buildClient } from '../client/build.ts';
import { createApi } from '../client/src/sdk/api.ts';
import { memoryStore } from '../client/src/sdk/browserStore.ts';
import { ConversationSession } from '../client/src/sdk/conversationSession.ts';
import { DocProvider } from '../client/src/sdk/docProvider.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : fallback;
};
const LOADS = option('loads', 10);
const KEYS = option('keys', 300);
const SIZE_BYTES = Math.round(option('size-mb', 1) * 1024 * 1024);
const PARAGRAPH_CHARS = 500;
const END_MARK = 'END-OF-DOCUMENT';
const CHROMIUM = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((p) => existsSync(p));
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function main(): Promise<void> {
  await buildClient({ minify: true }); // what `npm start` serves
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'knock-bench-docs-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = { ...process.env, PORT: String(port), HOST: '127.0.0.1', KNOCK_DATA_DIR: dataDir, KNOCK_LOG_LEVEL: 'warn', KNOCK_SMTP_PORT: '-1' };
  const added = spawnSync(process.execPath, [path.join(root, 'engine/bin/knock.mjs'), 'user', 'add', 'alice', '--name', 'Alice', '--password-stdin'], { env, input: 'a long bench password\n' });
  if (added.status !== 0) throw new Error(`could not add the account: ${added.stderr.toString()}`);
  const server = startServer(env);
  const providers: DocProvider[] = [];
  try {
    await waitHealthy(base);
    const api = createApi({ base, cookies: new Map() });
    const knock = await api.knock('alice', 'Vic');
    const conversation = ConversationSession.open({ endpoint: base, conversationId: knock.conversationId, token: knock.token, store: memoryStore() });
    const docId = await new Promise<string>((resolve, reject) => {
      const off = conversation.onDocCreated((doc) => {
        off();
        resolve(doc.docId);
      });
      const started = Date.now();
      const tryCreate = (): void => {
        if (conversation.createDocument('Bench document')) return;
        if (Date.now() - started > 10_000) reject(new Error('the conversation never connected'));
        else setTimeout(tryCreate, 50);
      };
      tryCreate();
    });
    const open = (): DocProvider => {
      const p = DocProvider.open({ endpoint: base, docId, token: knock.token });
      providers.push(p);
      return p;
    };

    // 1. A document of SIZE_BYTES, written by a client that stays.
    const author = open();
    await author.whenSynced();
    const written = await fill(author.doc, SIZE_BYTES);
    const stored = open();
    await stored.whenSynced();
    await until(() => stored.doc.getXmlFragment('default').length >= written.paragraphs, 60_000, 'the document at a second client');
    const stateBytes = Y.encodeStateAsUpdate(stored.doc).byteLength;
    await stored.destroy();

    // The same without a browser: an SDK client joins and holds the whole document (no page, no rendering).
    const sdkLoads: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      const started = performance.now();
      const reader = open();
      await reader.whenSynced();
      sdkLoads.push(performance.now() - started);
      if (reader.doc.getXmlFragment('default').length < written.paragraphs) throw new Error('a reader synced without the whole document');
      await reader.destroy();
    }

    const loads = await browserLoads(`${base}${knock.resumePath}#doc=${docId}`, LOADS, () => Y.encodeStateAsUpdate(author.doc).byteLength);

    // 2. One keystroke, one client to the other.
    const a = open();
    const b = open();
    await Promise.all([a.whenSynced(), b.whenSynced()]);
    const latencies = await keystrokes(a, b, KEYS);

    await conversation.close();
    const report = {
      document: { paragraphs: written.paragraphs, textBytes: written.bytes, yjsStateBytes: stateBytes },
      secondBrowserShowsDocumentMs: summary(loads),
      secondSdkClientHoldsDocumentMs: summary(sdkLoads),
      keystrokeSyncMs: summary(latencies),
      command: `node --import tsx bench/docSync.ts ${args.join(' ')}`.trim(),
      machine: { cpus: os.cpus().length, node: process.version },
    };
    console.log(JSON.stringify(report, null, 2));
  } finally {
    await Promise.all(providers.map((p) => p.destroy()));
    await stopServer(server);
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Paragraphs of PARAGRAPH_CHARS characters until `bytes` of text, in transactions of ~64 KB (under the update limit). */
async function fill(doc: Y.Doc, bytes: number): Promise<{ paragraphs: number; bytes: number }> {
  const fragment = doc.getXmlFragment('default');
  const count = Math.max(1, Math.ceil(bytes / PARAGRAPH_CHARS));
  const perUpdate = Math.max(1, Math.floor((64 * 1024) / PARAGRAPH_CHARS));
  let text = 0;
  for (let i = 0; i < count; i += perUpdate) {
    const batch: Y.XmlElement[] = [];
    for (let j = i; j < Math.min(count, i + perUpdate); j++) {
      const words = j === count - 1 ? END_MARK : `Paragraph ${j}: `.padEnd(PARAGRAPH_CHARS, 'lorem ipsum dolor sit amet ');
      const paragraph = new Y.XmlElement('paragraph');
      paragraph.insert(0, [new Y.XmlText(words)]);
      batch.push(paragraph);
      text += words.length;
    }
    fragment.insert(fragment.length, batch);
    await new Promise((r) => setTimeout(r, 5)); // under the rate limit, as a person pasting in pieces would be
  }
  return { paragraphs: count, bytes: text };
}

async function browserLoads(url: string, runs: number, stateBytes: () => number): Promise<number[]> {
  if (CHROMIUM === undefined) throw new Error('Chromium is missing: apt-get install -y chromium');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const times: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const started = performance.now();
      await page.goto(url);
      await page.waitForFunction(
        (mark) => document.querySelector('[aria-label="Document"]')?.lastElementChild?.textContent?.includes(mark) === true,
        END_MARK,
        { timeout: 60_000, polling: 'raf' },
      );
      times.push(performance.now() - started);
      await context.close();
      if (process.env.KNOCK_BENCH_VERBOSE) console.error(`load ${i + 1}: ${Math.round(times.at(-1)!)} ms, document state ${stateBytes()} bytes`);
    }
  } finally {
    await browser.close();
  }
  return times;
}

async function keystrokes(a: DocProvider, b: DocProvider, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
    const arrived = new Promise<number>((resolve) => {
      const onUpdate = (_u: Uint8Array, origin: unknown): void => {
        if (origin !== to) return; // applied from the server
        to.doc.off('update', onUpdate);
        resolve(performance.now());
      };
      to.doc.on('update', onUpdate);
    });
    const sent = performance.now();
    from.doc.getText('keys').insert(0, 'k');
    times.push((await withTimeout(arrived, 5000)) - sent);
    await new Promise((r) => setTimeout(r, 20)); // one keystroke at a time, a fast typist's pace
  }
  return times;
}

function summary(values: number[]): { n: number; median: number; p99: number; min: number; max: number } {
  const sorted = [...values].sort((x, y) => x - y);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  const round = (x: number): number => Math.round(x * 10) / 10;
  return { n: sorted.length, median: round(at(0.5)), p99: round(at(0.99)), min: round(sorted[0] ?? NaN), max: round(sorted.at(-1) ?? NaN) };
}

function startServer(env: NodeJS.ProcessEnv): ChildProcess {
  // The server on CPU 0 when taskset is there, the clients (this process, Chromium) wherever the OS puts them.
  const node = [process.execPath, '--import', 'tsx', path.join(root, 'engine/main.ts')];
  const pinned = spawnSync('taskset', ['-V']).status === 0;
  const [cmd, ...rest] = pinned ? ['taskset', '-c', '0', ...node] : node;
  const child = spawn(cmd!, rest, { env, cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  return child;
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await withTimeout(exited, 10_000).catch(() => child.kill('SIGKILL'));
}

async function waitHealthy(base: string): Promise<void> {
  await until(async () => (await fetch(`${base}/_/health`).catch(() => null))?.status === 200, 60_000, 'the server to be ready');
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))]);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

await main();
