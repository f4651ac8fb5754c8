/**
 * Knock's one change to mediasoup's worker sources (workerPatches.mjs): without it the worker, linked to Debian's
 * OpenSSL (built with kernel TLS), dies at a browser's DTLS handshake. It must apply to the mediasoup npm installed,
 * exactly once, and refuse any other source rather than build a worker without it.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyWorkerPatches } from './workerPatches.mjs';

const DTLS = path.join('src', 'RTC', 'DtlsTransport.cpp');
const installed = path.join(path.dirname(createRequire(import.meta.url).resolve('mediasoup/package.json')), 'worker', DTLS);
const fs = { readFileSync, writeFileSync };
let scratch: string | null = null;

function workerCopy(text?: string): string {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'knock-worker-'));
  cpSync(installed, path.join(scratch, DTLS), { recursive: true });
  if (text !== undefined) writeFileSync(path.join(scratch, DTLS), text);
  return scratch;
}

afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = null;
});

describe('the worker patch', () => {
  it("makes mediasoup's outgoing DTLS BIO answer the kernel TLS queries with the memory BIO's own answer", () => {
    const dir = workerCopy();
    applyWorkerPatches(dir, fs);
    const patched = readFileSync(path.join(dir, DTLS), 'utf8');
    const callback = patched.slice(patched.indexOf('inline static long onSslBioOut('), patched.indexOf('return resultOfcallback;'));
    expect(callback).toContain('int argi,');
    expect(callback).toMatch(/operationType == \(BIO_CB_CTRL \| BIO_CB_RETURN\) &&\s+\(argi == BIO_CTRL_GET_KTLS_SEND \|\| argi == BIO_CTRL_GET_KTLS_RECV\)\)\s+\{\s+resultOfcallback = static_cast<long>\(ret\);/);
  });

  it('refuses a DtlsTransport it was not written for (another mediasoup version), leaving it untouched', () => {
    const other = readFileSync(installed, 'utf8').replace('int /*argi*/,', 'int argi,');
    const dir = workerCopy(other);
    expect(() => applyWorkerPatches(dir, fs)).toThrow(/DtlsTransport\.cpp is not the one Knock's patch was written for \(found 0 times\)/);
    expect(readFileSync(path.join(dir, DTLS), 'utf8')).toBe(other);
  });
});
