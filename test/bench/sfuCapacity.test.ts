/**
 * The SFU capacity bench (bench/sfuCapacity.ts) end to end in smoke mode, so it cannot rot: as a child process, the way
 * `node --import tsx bench/sfuCapacity.ts --smoke` runs, against the mediasoup worker `npm install` built and a real
 * Janus, two small conferences on each. No figure is asserted (this machine runs other tests beside it); what is
 * checked is that both SFUs really forwarded the members' streams to each other, and that the report says so.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SfuRun } from '../../bench/sfuCapacity.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const RUN_TIMEOUT_MS = 120_000;

let outDir = '';
let code: number | null = null;
let output = '';
let runs: SfuRun[] = [];

beforeAll(async () => {
  outDir = await mkdtemp(path.join(os.tmpdir(), 'knock-sfu-bench-'));
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'XDG_CACHE_HOME', 'MEDIASOUP_WORKER_BIN']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/sfuCapacity.ts', '--smoke', '--out', outDir], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  const file = (await readdir(outDir)).find((f) => f.startsWith('sfu-') && f.endsWith('.json'));
  if (file) runs = (JSON.parse(await readFile(path.join(outDir, file), 'utf8')) as { runs: SfuRun[] }).runs;
}, RUN_TIMEOUT_MS + 10_000);

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

describe('bench/sfuCapacity.ts --smoke', () => {
  it('exits 0 and reports mediasoup and Janus, one after the other', () => {
    expect(code, output).toBe(0);
    expect(runs.map((r) => r.sfu)).toEqual(['mediasoup', 'janus']);
  });

  it.each(['mediasoup', 'janus'])('%s forwards every member’s video and audio to every other member, SRTP included', (sfu) => {
    const run = runs.find((r) => r.sfu === sfu);
    expect(run, output).toBeDefined();
    expect(run!.steps.map((s) => [s.members, s.consumers])).toEqual([
      [3, 12],
      [4, 24],
    ]);
    for (const step of run!.steps) {
      // Most of what the members sent reached the others; a broken room, codec or port gives nothing at all.
      expect(step.window.expected, output).toBeGreaterThan(0);
      expect(step.window.received / step.window.expected, output).toBeGreaterThan(0.5);
      expect(step.sfuCores, output).toBeGreaterThan(0);
    }
  });
});
