/**
 * A real Pebble (Let's Encrypt's test CA, Debian's `pebble`) for a test file, on 127.0.0.1 and free ports, stopped by
 * its PID. Made in two steps because Knock and Pebble each need the other's ports: `preparePebble()` picks Pebble's
 * ports and makes the certificate of its own HTTPS (a self-signed one: the Debian package ships no test CA), so Knock
 * can start with its directory URL and CA file; `start()` then runs Pebble with Knock's DNS server as its resolver and
 * Knock's plain HTTP port as the one it validates HTTP-01 at.
 *
 * @example
 *   const pebble = await preparePebble();
 *   const knock = await startKnock({ tls: 'acme', acmeDirectory: pebble.directoryUrl, acmeCaFile: pebble.caFile, ... });
 *   const running = await pebble.start({ httpPort: knock.httpPort!, dnsPort: knock.dnsPort! });
 *   running.orders(); // new-order requests Pebble has had
 *   await running.stop();
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { stopChild } from './childProcess.ts';
import { freePort } from './ports.ts';

const PEBBLE = '/usr/bin/pebble';

export interface PreparedPebble {
  directoryUrl: string;
  /** The certificate of Pebble's own HTTPS (what KNOCK_ACME_CA_FILE trusts). */
  caFile: string;
  start(options: { httpPort: number; dnsPort: number; validitySeconds?: number }): Promise<RunningPebble>;
  /** Removes the files when start() was never reached. */
  discard(): Promise<void>;
}

export interface RunningPebble {
  /** Pebble's issuing root (its management interface's /roots/0): what a served chain must verify against. */
  rootPem: string;
  /** How many new-order requests Pebble has handled. */
  orders(): number;
  log(): string;
  stop(): Promise<void>;
}

export async function preparePebble(): Promise<PreparedPebble> {
  if (!existsSync(PEBBLE)) {
    throw new Error(`Pebble is not installed (${PEBBLE}). Run, as root: apt-get install -y --no-install-recommends pebble (npm test's pretest does it).`);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'knock-pebble-'));
  const [port, managementPort] = [await freePort(), await freePort()];
  const caFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', caFile, '-days', '2',
    '-subj', '/CN=pebble', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  const discard = () => rm(dir, { recursive: true, force: true });
  return {
    directoryUrl: `https://127.0.0.1:${port}/dir`,
    caFile,
    discard,
    async start({ httpPort, dnsPort, validitySeconds }) {
      const config = path.join(dir, 'pebble.json');
      await writeFile(config, JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${port}`,
          managementListenAddress: `127.0.0.1:${managementPort}`,
          certificate: caFile,
          privateKey: keyFile,
          httpPort,
          tlsPort: await freePort(),
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
          ...(validitySeconds !== undefined ? { certificateValidityPeriod: validitySeconds } : {}),
        },
      }));
      const child = spawn(PEBBLE, ['-config', config, '-dnsserver', `127.0.0.1:${dnsPort}`], {
        // No random sleeps before validating, no rejected nonces, a fresh authorization for every order.
        env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let log = '';
      child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const stop = async () => {
        await stopChild(child, exited);
        await discard();
      };
      const ca = await readFile(caFile, 'utf8');
      const deadline = Date.now() + 10_000;
      let rootPem: string | null = null;
      while (rootPem === null) {
        rootPem = await get(`https://127.0.0.1:${managementPort}/roots/0`, ca).catch(() => null);
        if (rootPem !== null) break;
        if (child.exitCode !== null || Date.now() > deadline) {
          await stop();
          throw new Error(`Pebble did not start on 127.0.0.1:${port}\n${log.slice(-2000)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      let stopped: Promise<void> | null = null;
      return {
        rootPem,
        orders: () => log.split('\n').filter((line) => line.includes('POST /order-plz')).length,
        log: () => log,
        stop: () => (stopped ??= stop()),
      };
    },
  };
}

function get(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode}`))));
    }).on('error', reject);
  });
}
