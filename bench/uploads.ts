/**
 * File uploads through Knock (issue 16, "Done when" 5), against the disk they land on, in the same run:
 * - throughput: one file of `--mb` MiB uploaded over HTTP (multipart, as the browser sends it) into a conversation,
 *   against copying a file of the same size on the same disk (read and written through user space, then flushed,
 *   into KNOCK_DATA_DIR; the kernel's copy_file_range is reported beside it), best of `--runs`;
 * - memory: the server's resident memory while `--clients` clients each upload `--mb` MiB at once, against the
 *   same server idle just before (sampled every 20 ms from /proc).
 * Knock runs as `npm start` runs it (SQLite and blobs in a fresh data directory), pinned to the server CPU.
 *
 *   node --import tsx bench/uploads.ts [--mb 25] [--clients 10] [--runs 3] [--server-cpus 0]
 * Targets: throughput at least 50% of the copy's; memory grows by less than 64 MiB.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { pipeline } from 'node:stream/promises';
import os from 'node:os';
import path from 'node:path';
import { rssBytes } from './lib/procfs.ts';
import { installExitHooks, killAll } from './lib/processes.ts';
import { startServer } from './targets.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const MB = Number(arg('mb', '25'));
const CLIENTS = Number(arg('clients', '10'));
const RUNS = Number(arg('runs', '3'));
const SERVER_CPUS = arg('server-cpus', '0');
const BYTES = MB * 1024 * 1024;

async function main(): Promise<void> {
  installExitHooks();
  const payload = randomBytes(BYTES);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'knock-bench-uploads-'));
  const { server, seeded } = await startServer('knock', { cpus: SERVER_CPUS, seed: { own: { count: 1, sessions: true } } });
  const base = server.endpoints[0]!;
  const pid = server.procs[0]!.pid;
  try {
    const owner = seeded.own![0]!;
    // Each upload goes into a conversation of its own visitor (a knock), authorized by its token.
    const conversations = await Promise.all(
      Array.from({ length: Math.max(CLIENTS, 1) }, async () => {
        const res = await fetch(`${base}/_/api/u/${owner.handle}/knock`, { method: 'POST', headers: { 'content-type': 'application/json', origin: base }, body: '{}' });
        if (res.status !== 201) throw new Error(`knock failed: ${res.status} ${await res.text()}`);
        return (await res.json()) as { conversationId: string; token: string };
      }),
    );
    // The multipart body a browser sends, written straight to a socket (fetch's FormData costs the client more than
    // the server spends, which would measure the client).
    const upload = (c: { conversationId: string; token: string }) =>
      new Promise<void>((resolve, reject) => {
        const boundary = 'benchboundary0123456789';
        const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
        const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
        const req = http.request(`${base}/_/api/conversations/${c.conversationId}/files`, {
          method: 'POST',
          agent: false,
          headers: {
            origin: base,
            authorization: `Bearer ${c.token}`,
            'content-type': `multipart/form-data; boundary=${boundary}`,
            'content-length': head.length + payload.length + tail.length,
          },
        });
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`upload failed: ${res.statusCode} ${Buffer.concat(chunks).toString()}`))));
        });
        req.on('error', reject);
        req.write(head);
        for (let o = 0; o < payload.length; o += 256 * 1024) req.write(payload.subarray(o, o + 256 * 1024));
        req.end(tail);
      });

    // Throughput: Knock vs a copy on the same disk (the data directory's file system), best of RUNS each.
    const source = path.join(scratch, 'source.bin');
    await writeFile(source, payload);
    const dataDir = server.dataDir!;
    let bestUpload = Infinity;
    let bestCopy = Infinity;
    let bestKernelCopy = Infinity;
    for (let run = 0; run < RUNS; run++) {
      // Different bytes each run: content-addressed storage would otherwise keep the first copy and skip the write.
      payload.writeUInt32BE(run + 1, 0);
      let t = performance.now();
      await upload(conversations[0]!);
      bestUpload = Math.min(bestUpload, performance.now() - t);
      // The plain copy an upload is held against: the bytes read and written through user space, then flushed.
      t = performance.now();
      const target = path.join(dataDir, `copy-${run}.bin`);
      await pipeline(createReadStream(source), createWriteStream(target));
      const handle = await open(target, 'r+');
      await handle.sync();
      await handle.close();
      bestCopy = Math.min(bestCopy, performance.now() - t);
      // For reference: the kernel's own copy (copy_file_range, no bytes through user space).
      t = performance.now();
      await copyFile(source, `${target}.k`);
      const kernel = await open(`${target}.k`, 'r+');
      await kernel.sync();
      await kernel.close();
      bestKernelCopy = Math.min(bestKernelCopy, performance.now() - t);
    }
    const uploadMBs = MB / (bestUpload / 1000);
    const copyMBs = MB / (bestCopy / 1000);

    // Memory: CLIENTS uploads of MB MiB at once; the server's RSS against its idle RSS just before.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const idle = rssBytes(pid) ?? 0;
    let peak = idle;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssBytes(pid) ?? 0);
    }, 20);
    payload.writeUInt32BE(0xffff, 0);
    const t0 = performance.now();
    await Promise.all(conversations.slice(0, CLIENTS).map((c) => upload(c)));
    const concurrentMs = performance.now() - t0;
    clearInterval(sampler);
    const growthMiB = (peak - idle) / (1024 * 1024);

    const report = {
      fileMiB: MB,
      uploadMBps: Number(uploadMBs.toFixed(1)),
      copyMBps: Number(copyMBs.toFixed(1)),
      kernelCopyMBps: Number((MB / (bestKernelCopy / 1000)).toFixed(1)),
      uploadVsCopy: Number((uploadMBs / copyMBs).toFixed(2)),
      concurrent: { clients: CLIENTS, seconds: Number((concurrentMs / 1000).toFixed(2)), idleRssMiB: Number((idle / 1048576).toFixed(1)), peakRssMiB: Number((peak / 1048576).toFixed(1)), growthMiB: Number(growthMiB.toFixed(1)) },
      targets: { uploadVsCopyAtLeast: 0.5, growthMiBBelow: 64 },
    };
    console.log(JSON.stringify(report, null, 2));
    console.log(
      `upload ${report.uploadMBps} MB/s vs copy ${report.copyMBps} MB/s (${Math.round(report.uploadVsCopy * 100)}%, target >= 50%; kernel copy ${report.kernelCopyMBps} MB/s); ` +
        `${CLIENTS} x ${MB} MiB at once: RSS ${report.concurrent.idleRssMiB} -> ${report.concurrent.peakRssMiB} MiB (+${report.concurrent.growthMiB}, target < 64)`,
    );
  } finally {
    await server.stop();
    await rm(scratch, { recursive: true, force: true });
    killAll();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  killAll();
  process.exit(1);
});
