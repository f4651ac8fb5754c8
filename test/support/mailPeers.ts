/**
 * What a mail server meets, for the email channel's tests: swaks (a real SMTP client, apt), DNS records served to
 * mailauth through its resolver option (SPF, DKIM keys, DMARC policies of made-up domains), a self-signed TLS pair
 * (openssl, as RECIPES.md says) and DKIM keys.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SwaksResult {
  exitCode: number;
  /** swaks' transcript: `<-` lines are the server's, `->` ours (`<**` a refusal). */
  transcript: string;
}

/** Runs swaks against 127.0.0.1:`port`; a refused mail is a result (its exit code), not a rejection. */
export async function swaks(port: number, args: string[]): Promise<SwaksResult> {
  try {
    const { stdout, stderr } = await run('swaks', ['--server', '127.0.0.1', '--port', String(port), '--helo', 'client.sender.test', ...args], {
      timeout: 20_000,
    });
    return { exitCode: 0, transcript: stdout + stderr };
  } catch (err) {
    const failed = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw err;
    return { exitCode: failed.code, transcript: (failed.stdout ?? '') + (failed.stderr ?? '') };
  }
}

/** mailauth's resolver over fixed TXT records (name -> strings); any other question finds nothing (ENOTFOUND). */
export function txtResolver(records: Record<string, string[]>): (name: string, rrtype: string) => Promise<string[][]> {
  return async (name, rrtype) => {
    const found = rrtype === 'TXT' ? records[name.toLowerCase()] : undefined;
    if (found) return found.map((text) => [text]);
    throw Object.assign(new Error(`query${rrtype} ENOTFOUND ${name}`), { code: 'ENOTFOUND', hostname: name });
  };
}

/** A self-signed certificate for localhost and 127.0.0.1, written into `dir`. */
export async function selfSignedPair(dir: string): Promise<{ certFile: string; keyFile: string; cert: string }> {
  const certFile = path.join(dir, 'smtp-cert.pem');
  const keyFile = path.join(dir, 'smtp-key.pem');
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', keyFile, '-out', certFile,
  ]);
  return { certFile, keyFile, cert: await readFile(certFile, 'utf8') };
}

/** An RSA pair for DKIM: the private key (PEM) and the public key as a DKIM record's `p=` (base64 SPKI). */
export function dkimKeys(): { privateKeyPem: string; publicKeyBase64: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyBase64: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}
