/**
 * Issue 21, TLS by itself, against a real ACME CA: Pebble (Let's Encrypt's test CA) on loopback resolves names
 * through Knock's own DNS server and validates HTTP-01 at Knock's plain HTTP listener. A certificate for the active
 * domain alice.test is issued, served by SNI (it verifies against Pebble's root), and renewed when made short-lived;
 * a pending domain, names that are no domain and a flood of handshakes for random names order nothing; HTTP-01
 * answers only stored challenges of domains in storage, everything else on plain HTTP goes to HTTPS.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KnockConfigInput } from '../../engine/config.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { preparePebble, type RunningPebble } from '../support/pebbleProcess.ts';

let knock: TestKnock;
let pebble: RunningPebble;
let httpsPort: number;
let directory: { directoryUrl: string; caFile: string };

/** A Knock with KNOCK_TLS=acme and the Pebble it orders from (resolving through Knock's DNS server). */
async function startWithPebble(overrides: Partial<KnockConfigInput> = {}): Promise<{ knock: TestKnock; pebble: RunningPebble }> {
  const prepared = await preparePebble();
  directory ??= { directoryUrl: prepared.directoryUrl, caFile: prepared.caFile };
  let started: TestKnock | undefined;
  try {
    started = await startKnock({
      tls: 'acme', httpsPort: 0, httpPort: 0, dnsPort: 0, dnsNameservers: ['ns1.knock.test'], publicIps: ['127.0.0.1'], dnsCacheMs: 0,
      acmeDirectory: prepared.directoryUrl, acmeCaFile: prepared.caFile,
      // The loop runs at start and then waits an hour: each test runs a pass itself (certificates.renewDue()).
      acmePollMs: 3600_000,
      ...overrides,
    });
    const running = await prepared.start({ httpPort: started.httpPort!, dnsPort: started.dnsPort! });
    // Whatever pass started with the server is over before any domain is added.
    await started.certificates!.renewDue();
    return { knock: started, pebble: running };
  } catch (err) {
    await started?.close();
    await prepared.discard();
    throw err;
  }
}

beforeAll(async () => {
  ({ knock, pebble } = await startWithPebble());
  httpsPort = Number(new URL(knock.url).port);
  const alice = await knock.accounts.add('alice', 'Alice', 'correct horse battery');
  await addDomain(knock, alice.id, 'alice.test', true);
  await addDomain(knock, alice.id, 'pending.test', false);
}, 60_000);

afterAll(async () => {
  await knock?.close();
  await pebble?.stop();
});

async function addDomain(knock: TestKnock, accountId: string, name: string, active: boolean): Promise<void> {
  await knock.storage.addDomain({ name, accountId, dkimSelector: 'knock1', dkimPublicKey: 'MIIB', dkimPrivateKey: 'unused', at: Date.now() });
  if (active) await knock.storage.recordDomainCheck(name, { active: true, error: null, at: Date.now() });
}

/** The certificate a TLS handshake asking for `servername` gets, and whether it verifies against Pebble's root. */
function handshake(servername: string, port = httpsPort): Promise<{ cert: tls.PeerCertificate; authorized: boolean; error: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca: [pebble.rootPem], rejectUnauthorized: false }, () => {
      const result = { cert: socket.getPeerCertificate(), authorized: socket.authorized, error: socket.authorizationError ? String(socket.authorizationError) : null };
      socket.end();
      resolve(result);
    });
    socket.once('error', reject);
  });
}

function plainGet(path: string, host: string | undefined, method = 'GET'): Promise<{ status: number; body: string; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: knock.httpPort!, path, method, setHost: false, headers: host === undefined ? {} : { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, location: res.headers.location }));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('ACME certificates against Pebble', () => {
  it('issues a certificate for an active domain and serves it by SNI, verified by the CA root', async () => {
    const ordersBefore = pebble.orders();
    const started = performance.now();
    expect(await knock.certificates!.renewDue()).toBe(1);
    const ms = performance.now() - started;
    // For the note: the time to issue one certificate against Pebble on loopback.
    console.log(`[acme] a certificate for alice.test was issued against Pebble in ${ms.toFixed(0)} ms`);
    expect(pebble.orders()).toBe(ordersBefore + 1);
    const stored = await knock.storage.getCertificate('alice.test');
    expect(stored).toMatchObject({ name: 'alice.test', issued: true, failures: 0, lastError: null });
    const served = await handshake('alice.test');
    expect(served.error).toBeNull();
    expect(served.authorized).toBe(true);
    expect(served.cert.subjectaltname).toBe('DNS:alice.test');
    // Any spelling of the name a client sends (case, a root dot) is the same name.
    expect((await handshake('ALICE.test.')).cert.serialNumber).toBe(served.cert.serialNumber);
    // The issuer's challenge is gone once the order is done.
    expect(await knock.storage.acmeChallenges('http-01', 'alice.test', Date.now())).toEqual([]);
  }, 30_000);

  it('renews a certificate made short-lived, and serves the new one', async () => {
    const before = await knock.storage.getCertificate('alice.test');
    expect(before).not.toBeNull();
    const oldSerial = (await handshake('alice.test')).cert.serialNumber;
    // Make it expire in a day: it is due now (as a 90-day certificate is 30 days before its end).
    const now = Date.now();
    expect(await knock.storage.claimCertificate('alice.test', 'test', now, now + 60_000)).toBe(true);
    await knock.storage.storeCertificate('alice.test', 'test', { chainPem: before!.chainPem, keyPem: before!.keyPem, notBefore: before!.notBefore!, notAfter: now + 24 * 3600_000, renewAt: now, at: now });
    const ordersBefore = pebble.orders();
    expect(await knock.certificates!.renewDue()).toBe(1);
    expect(pebble.orders()).toBe(ordersBefore + 1);
    const after = await knock.storage.getCertificate('alice.test');
    expect(after!.chainPem).not.toBe(before!.chainPem);
    expect(after!.renewAt).toBeGreaterThan(now + 24 * 3600_000);
    const served = await handshake('alice.test');
    expect(served.authorized).toBe(true);
    expect(served.cert.serialNumber).not.toBe(oldSerial);
    // Not due again: a second pass orders nothing.
    expect(await knock.certificates!.renewDue()).toBe(0);
    expect(pebble.orders()).toBe(ordersBefore + 1);
  }, 30_000);

  it('shares certificates between processes: one orders a renewal, the other serves it', async () => {
    // A second process on the same database, polling fast; no DNS server of its own (the first one's answers).
    const second = await startKnock({ dataDir: knock.dataDir, tls: 'acme', httpsPort: 0, httpPort: 0, ...directory, acmePollMs: 100 });
    try {
      const secondPort = Number(new URL(second.url).port);
      const current = await handshake('alice.test');
      expect((await handshake('alice.test', secondPort)).cert.serialNumber).toBe(current.cert.serialNumber);
      const stored = await knock.storage.getCertificate('alice.test');
      const now = Date.now();
      expect(await knock.storage.claimCertificate('alice.test', 'test', now, now + 60_000)).toBe(true);
      await knock.storage.storeCertificate('alice.test', 'test', { chainPem: stored!.chainPem, keyPem: stored!.keyPem, notBefore: stored!.notBefore!, notAfter: stored!.notAfter!, renewAt: now, at: now });
      const ordersBefore = pebble.orders();
      // Both processes go for it (the first now, the second at its next poll): one order between them.
      await knock.certificates!.renewDue();
      const deadline = Date.now() + 10_000;
      let served = await handshake('alice.test', secondPort);
      while (served.cert.serialNumber === current.cert.serialNumber && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        served = await handshake('alice.test', secondPort);
      }
      const renewed = new X509Certificate((await knock.storage.getCertificate('alice.test'))!.chainPem);
      expect(served.authorized).toBe(true);
      expect(served.cert.serialNumber).toBe(renewed.serialNumber);
      await second.certificates!.renewDue();
      expect(pebble.orders()).toBe(ordersBefore + 1);
    } finally {
      await second.close();
    }
  }, 30_000);

  it('orders nothing for a pending domain, a name that is no domain, or a flood of handshakes for random names', async () => {
    const ordersBefore = pebble.orders();
    const names = ['pending.test', 'nobody.test', 'localhost', ...Array.from({ length: 100 }, () => `${randomBytes(6).toString('hex')}.example`)];
    const served = await Promise.all(names.map((name) => handshake(name)));
    for (const [i, result] of served.entries()) {
      // The default certificate (self-signed for the public host), which no client trusts for these names.
      expect(result.authorized, names[i]).toBe(false);
      expect(result.cert.subjectaltname, names[i]).toBe('DNS:localhost');
    }
    expect(await knock.certificates!.renewDue()).toBe(0);
    expect(pebble.orders()).toBe(ordersBefore);
    expect((await knock.storage.listCertificates()).map((c) => c.name)).toEqual(['alice.test']);
  }, 30_000);

  it('answers HTTP-01 only with a live stored challenge of a domain in storage; anything else is 404', async () => {
    await knock.storage.putAcmeChallenge({ kind: 'http-01', name: 'alice.test', token: 'tok_123-ABC', value: 'tok_123-ABC.thumbprint', expiresAt: Date.now() + 60_000 });
    expect(await plainGet('/.well-known/acme-challenge/tok_123-ABC', 'alice.test')).toMatchObject({ status: 200, body: 'tok_123-ABC.thumbprint' });
    expect(await plainGet('/.well-known/acme-challenge/tok_123-ABC', 'ALICE.TEST:80')).toMatchObject({ status: 200, body: 'tok_123-ABC.thumbprint' });
    expect((await plainGet('/.well-known/acme-challenge/tok_123-ABC', 'alice.test', 'HEAD')).status).toBe(200);
    // Another name, a name that is no domain, no Host, another token, a hostile token, a POST: nothing.
    for (const [path, host, method] of [
      ['/.well-known/acme-challenge/tok_123-ABC', 'pending.test', 'GET'],
      ['/.well-known/acme-challenge/tok_123-ABC', 'nobody.test', 'GET'],
      ['/.well-known/acme-challenge/other', 'alice.test', 'GET'],
      ['/.well-known/acme-challenge/../../etc/passwd', 'alice.test', 'GET'],
      ['/.well-known/acme-challenge/tok_123-ABC.x', 'alice.test', 'GET'],
      [`/.well-known/acme-challenge/${'a'.repeat(5000)}`, 'alice.test', 'GET'],
      ['/.well-known/acme-challenge/', 'alice.test', 'GET'],
      ['/.well-known/acme-challenge/tok_123-ABC', 'alice.test', 'POST'],
    ] as const) {
      expect((await plainGet(path, host, method)).status, `${method} ${host} ${path.slice(0, 60)}`).toBe(404);
    }
    // No Host at all: Node refuses the request itself.
    expect((await plainGet('/.well-known/acme-challenge/tok_123-ABC', undefined)).status).toBe(400);
    await knock.storage.removeAcmeChallenge('http-01', 'alice.test', 'tok_123-ABC');
    expect((await plainGet('/.well-known/acme-challenge/tok_123-ABC', 'alice.test')).status).toBe(404);
  });

  it('redirects everything else on plain HTTP to HTTPS, keeping the path but never another place', async () => {
    expect(await plainGet('/alice?x=1', 'alice.test')).toMatchObject({ status: 308, location: `https://alice.test:${httpsPort}/alice?x=1` });
    expect((await plainGet('/', 'Alice.Test:80')).location).toBe(`https://alice.test:${httpsPort}/`);
    expect((await plainGet('http://evil.example/steal', 'alice.test')).location).toBe(`https://alice.test:${httpsPort}/`);
    expect((await plainGet('/', 'evil.example/x')).status).toBe(400);
    expect((await plainGet('/', undefined)).status).toBe(400);
  });

  it('serves pages and the API over HTTPS, with HSTS and Secure cookies', async () => {
    const request = (path: string, method: string, body?: string) =>
      new Promise<{ res: http.IncomingMessage; text: string }>((resolve, reject) => {
        const req = https.request(
          {
            host: '127.0.0.1', port: httpsPort, path, method, servername: 'alice.test', ca: [pebble.rootPem],
            headers: { host: `alice.test:${httpsPort}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve({ res, text }));
          },
        );
        req.once('error', reject);
        req.end(body);
      });
    const page = await request('/alice', 'GET');
    expect(page.res.statusCode).toBe(200);
    expect(page.res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    const login = await request('/_/api/login', 'POST', JSON.stringify({ handle: 'alice', password: 'correct horse battery' }));
    expect(login.res.statusCode).toBe(200);
    const cookies = login.res.headers['set-cookie'] ?? [];
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) expect(cookie).toMatch(/;\s*Secure/i);
  });
});

describe('DNS-01 through Knock\u2019s own DNS server', () => {
  let dnsKnock: TestKnock;
  let dnsPebble: RunningPebble;
  beforeAll(async () => {
    // No plain HTTP listener at all: the CA can only validate through the TXT record Knock's DNS server answers.
    ({ knock: dnsKnock, pebble: dnsPebble } = await startWithPebble({ acmeChallenge: 'dns-01', httpPort: -1 }));
  }, 60_000);
  afterAll(async () => {
    await dnsKnock?.close();
    await dnsPebble?.stop();
  });

  it('issues a certificate for an active domain with a TXT record at _acme-challenge, gone once it is done', async () => {
    expect(dnsKnock.httpPort).toBeNull();
    const bob = await dnsKnock.accounts.add('bob', 'Bob', 'correct horse battery');
    await addDomain(dnsKnock, bob.id, 'bob.test', true);
    expect(await dnsKnock.certificates!.renewDue()).toBe(1);
    expect(dnsPebble.orders()).toBe(1);
    const stored = await dnsKnock.storage.getCertificate('bob.test');
    // The chain: the leaf for bob.test, signed by Pebble's intermediate, signed by its root.
    const [leaf, intermediate] = stored!.chainPem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)!.map((pem) => new X509Certificate(pem));
    expect(leaf!.subjectAltName).toBe('DNS:bob.test');
    expect(leaf!.verify(intermediate!.publicKey)).toBe(true);
    expect(intermediate!.verify(new X509Certificate(dnsPebble.rootPem).publicKey)).toBe(true);
    expect(await dnsKnock.storage.acmeChallenges('dns-01', 'bob.test', Date.now())).toEqual([]);
  }, 30_000);
});
