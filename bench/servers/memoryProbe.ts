/**
 * Preloaded into every server the bench measures (`node --expose-gc --import ./bench/servers/memoryProbe.ts ...`):
 * on SIGUSR2 it runs a full garbage collection and writes `process.memoryUsage()` to BENCH_MEMORY_FILE, so the
 * controller reads memory after a GC without any hook in the server's own code. Without BENCH_MEMORY_FILE it does
 * nothing at all.
 */
import { renameSync, writeFileSync } from 'node:fs';

const file = process.env.BENCH_MEMORY_FILE;
if (file) {
  process.on('SIGUSR2', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    // Two passes: the first may only promote what the second frees.
    gc?.();
    gc?.();
    const usage = process.memoryUsage();
    // Written aside and renamed, so the controller never reads half a file.
    writeFileSync(`${file}.tmp`, JSON.stringify({ ...usage, gc: gc !== undefined, at: Date.now() }));
    renameSync(`${file}.tmp`, file);
  });
}
