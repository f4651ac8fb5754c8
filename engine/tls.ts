/**
 * TLS by itself (issue 21): with KNOCK_TLS=acme, Knock's pages, API and WebSockets are served over HTTPS on
 * httpsPort, each handshake given the certificate of the name it asks for (SNI) from storage, and a plain HTTP
 * listener on httpPort answers ACME HTTP-01 challenges and redirects everything else to HTTPS (308).
 *
 * Which certificate a handshake gets: the stored one when the name is an active domain that has one (the names are
 * re-read every `refreshMs`, so a certificate another process stored is served here too), else the default one
 * (KNOCK_TLS_CERT_FILE/KEY_FILE for the public host, or a self-signed one). A name that is no domain costs no read
 * and orders nothing: a flood of handshakes for random names only meets an in-memory set (Caddy's on-demand TLS
 * lesson). Certificates are ordered by the renewal loop alone (engine/certificates.ts), never by a handshake.
 *
 * @example
 *   const front = await TlsFront.open({ storage, clock, logger, config });
 *   const server = front.createServer(serverOptions, listener); // https.Server, SNI from storage
 *   const plain = front.createPlainServer(serverOptions);       // http.Server: challenges and redirects
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { webcrypto } from 'node:crypto';
import tls from 'node:tls';
import * as x509 from '@peculiar/x509';
import type { KnockConfig } from './config.ts';
import { hostName } from './hostName.ts';
import type { Logger } from './logger.ts';
import type { Clock } from './ports/clock.ts';
import type { CertificateStorage, ChannelStorage, DomainStorage } from './ports/storage.ts';

export type TlsConfig = Pick<KnockConfig, 'httpsPort' | 'publicUrl' | 'tlsCertFile' | 'tlsKeyFile' | 'acmePollMs' | 'headersTimeoutMs'>;

export interface TlsFrontDeps {
  storage: Pick<CertificateStorage, 'listCertificates' | 'getCertificate'> & Pick<DomainStorage, 'acmeChallenges'> & Pick<ChannelStorage, 'serverValue'>;
  clock: Clock;
  logger: Logger;
  config: TlsConfig;
}

interface Pem {
  cert: string;
  key: string;
}

const ACME_PATH = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]{1,256})$/;

export class TlsFront {
  /** Names with a stored certificate, and when it was stored (a newer one replaces what is kept below). */
  private stored = new Map<string, number>();
  private readonly contexts = new Map<string, { updatedAt: number; context: Promise<tls.SecureContext> }>();
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private httpsServer: https.Server | null = null;

  private constructor(
    private readonly deps: TlsFrontDeps,
    private readonly fallback: Pem,
  ) {}

  /** Reads the default certificate (files, or the self-signed one all processes share) and the stored names. */
  static async open(deps: TlsFrontDeps): Promise<TlsFront> {
    const front = new TlsFront(deps, await defaultCertificate(deps));
    await front.refresh();
    front.timer = setInterval(() => {
      front.refresh().catch((err: unknown) => deps.logger.warn({ err }, 'could not re-read the stored certificates'));
    }, deps.config.acmePollMs);
    front.timer.unref();
    return front;
  }

  /** The HTTPS server of pages, API and WebSockets (Colyseus's transport attaches to it as to a plain one). */
  createServer(options: http.ServerOptions, listener: http.RequestListener): https.Server {
    const server = https.createServer(
      {
        ...options,
        cert: this.fallback.cert,
        key: this.fallback.key,
        minVersion: 'TLSv1.2',
        // A handshake that does not finish is a held socket: bounded like a request's headers.
        handshakeTimeout: this.deps.config.headersTimeoutMs,
        SNICallback: (servername, done) => {
          this.contextFor(servername).then(
            (context) => done(null, context),
            (err: unknown) => {
              this.deps.logger.error({ err, servername }, 'a stored certificate could not be used: the default one is served');
              done(null, undefined);
            },
          );
        },
      },
      listener,
    );
    server.on('tlsClientError', (err) => this.deps.logger.debug({ err }, 'a TLS handshake failed'));
    this.httpsServer = server;
    return server;
  }

  /** The plain HTTP server: ACME HTTP-01 answers for domains in storage, 404 for other challenges, 308 to HTTPS for the rest. */
  createPlainServer(options: http.ServerOptions): http.Server {
    return http.createServer(options, (req, res) => {
      this.plain(req, res).catch((err: unknown) => {
        this.deps.logger.error({ err }, 'the plain HTTP listener failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end();
      });
    });
  }

  /** A certificate this process just stored is served at once (other processes see it within refreshMs). */
  forget(name: string): void {
    this.contexts.delete(name);
    this.refresh().catch((err: unknown) => this.deps.logger.warn({ err }, 'could not re-read the stored certificates'));
  }

  /** Re-reads which names have a certificate; names whose certificate changed are loaded again at their next handshake. */
  refresh(): Promise<void> {
    this.refreshing ??= this.deps.storage
      .listCertificates()
      .then((list) => {
        this.stored = new Map(list.filter((c) => c.issued).map((c) => [c.name, c.updatedAt]));
        for (const name of this.contexts.keys()) if (!this.stored.has(name)) this.contexts.delete(name);
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The context of a stored certificate for the name; undefined (the default one) for anything else. */
  async contextFor(servername: string): Promise<tls.SecureContext | undefined> {
    const name = hostName(servername);
    const updatedAt = name === null ? undefined : this.stored.get(name);
    if (name === null || updatedAt === undefined) return undefined;
    let kept = this.contexts.get(name);
    if (kept?.updatedAt !== updatedAt) {
      const context = this.deps.storage.getCertificate(name).then((c) => (c === null ? undefined : tls.createSecureContext({ cert: c.chainPem, key: c.keyPem })));
      kept = { updatedAt, context: context as Promise<tls.SecureContext> };
      this.contexts.set(name, kept);
      // A failed read is tried again at the next handshake, not kept.
      context.catch(() => this.contexts.get(name) === kept && this.contexts.delete(name));
    }
    return kept.context;
  }

  private async plain(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const name = hostName(req.headers.host);
    const path = (req.url ?? '/').split('?')[0]!;
    const challenge = ACME_PATH.exec(path);
    if (path.startsWith('/.well-known/acme-challenge/')) {
      // Only for names that are domains in storage: the challenge table holds nothing else (its rows need a domain).
      const found = challenge && name !== null && (req.method === 'GET' || req.method === 'HEAD')
        ? await this.deps.storage.acmeChallenges('http-01', name, this.deps.clock.now(), challenge[1])
        : [];
      const answer = found[0];
      if (!answer) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('No such challenge.\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : answer.value);
      return;
    }
    if (name === null) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('This server is reached by name, over HTTPS.\n');
      return;
    }
    // The port the HTTPS server took (httpsPort, or the one picked for port 0).
    const address = this.httpsServer?.address();
    const httpsPort = typeof address === 'object' && address ? address.port : this.deps.config.httpsPort;
    const port = httpsPort === 443 ? '' : `:${httpsPort}`;
    // Only the path goes along: an absolute-form request line (`GET http://elsewhere/`) names no other place to go.
    const target = req.url?.startsWith('/') ? req.url : '/';
    res.writeHead(308, { location: `https://${name}${port}${target}`, 'content-type': 'text/plain; charset=utf-8' }).end('Knock is served over HTTPS.\n');
  }
}

/**
 * The certificate of handshakes for names without one of their own: KNOCK_TLS_CERT_FILE/KEY_FILE, else a
 * self-signed one for the public host made by the first process and shared by all (browsers warn on it: set the files
 * for the public host, or reach Knock at an own domain).
 */
async function defaultCertificate(deps: TlsFrontDeps): Promise<Pem> {
  const { config, storage } = deps;
  if (config.tlsCertFile !== undefined && config.tlsKeyFile !== undefined) {
    return { cert: await readFile(config.tlsCertFile, 'utf8'), key: await readFile(config.tlsKeyFile, 'utf8') };
  }
  const host = config.publicUrl === undefined ? 'localhost' : new URL(config.publicUrl).hostname;
  const stored = await storage.serverValue(`tls.selfSigned:${host}`, JSON.stringify(await selfSigned(host)));
  return JSON.parse(stored) as Pem;
}

async function selfSigned(host: string): Promise<Pem> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = Date.now();
  const ip = /^[0-9.]+$/.test(host) || host.includes(':');
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex').replace(/^[89a-f]/, '1'),
      name: `CN=${host}`,
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + 10 * 365 * 24 * 3600_000),
      keys,
      signingAlgorithm: algorithm,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: ip ? 'ip' : 'dns', value: host }])],
    },
    webcrypto as unknown as Crypto,
  );
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return { cert: cert.toString('pem'), key: `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n` };
}
