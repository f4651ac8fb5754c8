/**
 * Orders a TLS certificate for one active own domain from an ACME CA (RFC 8555) with acme-client: Let's Encrypt in
 * production, Pebble in tests (README.md beside this file). The challenge is answered from storage, so whichever
 * process the CA reaches answers it: HTTP-01 by Knock's plain HTTP listener (engine/tls.ts), DNS-01 by Knock's DNS
 * server (adapters/dns). The ACME account key is made by the first process and shared by all (Storage.serverValue),
 * one per directory. Certificate keys are ECDSA P-256 (what browsers prefer; fast to make).
 *
 * @example
 *   const issuer = new AcmeIssuer({ storage, clock, logger, directoryUrl: 'https://127.0.0.1:14000/dir',
 *     email: 'ops@chat.example', challenge: 'http-01', caPem: readFileSync('pebble.pem', 'utf8'), dnsSettleMs: 3000 });
 *   const { chainPem, keyPem, notAfter } = await issuer.issue('alice.example');
 */
import https from 'node:https';
import * as acme from 'acme-client';
import type { CertificateIssuer, Issued } from '../../engine/certificates.ts';
import { KnockError } from '../../engine/errors.ts';
import type { Logger } from '../../engine/logger.ts';
import type { Clock } from '../../engine/ports/clock.ts';
import type { AcmeChallenge, ChannelStorage, DomainStorage } from '../../engine/ports/storage.ts';

/** How long a challenge stays answerable in storage: an order is done in seconds; a process that died leaves nothing for long. */
const CHALLENGE_TTL_MS = 3600_000;
/** The longest any one request to the CA may take. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface AcmeIssuerOptions {
  storage: Pick<DomainStorage, 'getDomain' | 'putAcmeChallenge' | 'removeAcmeChallenge'> & Pick<ChannelStorage, 'serverValue'>;
  clock: Clock;
  logger: Logger;
  directoryUrl: string;
  email?: string;
  challenge: AcmeChallenge['kind'];
  /** Extra CA certificates trusted for the directory's own HTTPS (Pebble's test CA); absent: the system's. */
  caPem?: string;
  /** DNS-01: how long the DNS server may still answer from what it read before the TXT value was stored (its cache). */
  dnsSettleMs: number;
}

export class AcmeIssuer implements CertificateIssuer {
  private client: Promise<acme.Client> | null = null;
  private readonly interceptor: number;

  constructor(private readonly opts: AcmeIssuerOptions) {
    // acme-client sends every request through one shared axios instance: bound the time of ours, and trust the extra
    // CA only for this directory's origin (never for anything else the process fetches).
    const origin = new URL(opts.directoryUrl).origin;
    const agent = opts.caPem === undefined ? undefined : new https.Agent({ ca: opts.caPem, keepAlive: false });
    this.interceptor = acme.axios.interceptors.request.use((config) => {
      if (config.url !== undefined && new URL(config.url, origin).origin === origin) {
        config.timeout = REQUEST_TIMEOUT_MS;
        if (agent) config.httpsAgent = agent;
      }
      return config;
    });
  }

  /** Orders and returns a certificate for `name`, which must be an active domain in storage. */
  async issue(name: string): Promise<Issued> {
    const domain = await this.opts.storage.getDomain(name);
    // The storage's claim already refused anything else; this keeps the adapter safe on its own.
    if (domain?.state !== 'active') throw new KnockError('bad_request', `${name} is no active domain: no certificate is ordered for it.`);
    const client = await this.account();
    const [keyPem, csr] = await acme.crypto.createCsr({ commonName: name, altNames: [name] }, await acme.crypto.createPrivateEcdsaKey('P-256'));
    const chainPem = await client.auto({
      csr,
      ...(this.opts.email !== undefined ? { email: this.opts.email } : {}),
      termsOfServiceAgreed: true,
      challengePriority: [this.opts.challenge],
      // acme-client's own check resolves and fetches from here, which proves nothing about what the CA sees.
      skipChallengeVerification: true,
      challengeCreateFn: (authz, challenge, keyAuthorization) => this.answer(name, authz.identifier.value, challenge.token, keyAuthorization),
      challengeRemoveFn: (authz, challenge) => this.opts.storage.removeAcmeChallenge(this.opts.challenge, authz.identifier.value, challenge.token),
    });
    const info = acme.crypto.readCertificateInfo(chainPem);
    return { chainPem, keyPem: keyPem.toString(), notBefore: info.notBefore.getTime(), notAfter: info.notAfter.getTime() };
  }

  close(): void {
    acme.axios.interceptors.request.eject(this.interceptor);
  }

  private async answer(ordered: string, name: string, token: string, value: string): Promise<void> {
    if (name !== ordered) throw new Error(`The CA asked to validate ${name} in an order for ${ordered}.`);
    const { storage, clock, challenge } = this.opts;
    await storage.putAcmeChallenge({ kind: challenge, name, token, value, expiresAt: clock.now() + CHALLENGE_TTL_MS });
    if (challenge === 'dns-01' && this.opts.dnsSettleMs > 0) await new Promise((resolve) => setTimeout(resolve, this.opts.dnsSettleMs));
  }

  /** The account, registered on first use with the key every process shares (the CA finds it again by its key). */
  private account(): Promise<acme.Client> {
    this.client ??= (async () => {
      const fresh = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
      const accountKey = await this.opts.storage.serverValue(`acme.account:${this.opts.directoryUrl}`, fresh);
      return new acme.Client({ directoryUrl: this.opts.directoryUrl, accountKey, backoffAttempts: 10, backoffMin: 1000, backoffMax: 10_000 });
    })().catch((err: unknown) => {
      this.client = null;
      throw err;
    });
    return this.client;
  }
}
