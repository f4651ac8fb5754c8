/**
 * How long a durable write waits on this machine: 4 KiB written and fdatasync'd, repeatedly, in a directory on the
 * same filesystem as Knock's data directory (os.tmpdir()). Knock on SQLite acknowledges a message once an
 * fdatasync of the WAL covers its commit (adapters/storage/sqlite/walSync.ts, in the thread pool); one sync covers
 * every commit made since the one before, so 1 / this latency bounds the syncs per second, not the messages.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Histogram } from '../lib/histogram.ts';
import type { StorageProbe } from '../results.ts';

export function probeStorage(count: number, maxMs: number): StorageProbe {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'knock-bench-fsync-'));
  const file = path.join(dir, 'probe');
  const latency = new Histogram();
  const fd = openSync(file, 'w');
  try {
    const block = Buffer.alloc(4096, 7);
    const start = performance.now();
    for (let i = 0; i < count && performance.now() - start < maxMs; i++) {
      const t = performance.now();
      writeSync(fd, block);
      fdatasyncSync(fd);
      latency.record(performance.now() - t);
    }
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  return { path: os.tmpdir(), fsyncs: latency.count, latency: latency.summary() };
}
