/**
 * Certificates of own domains (issue 21, "TLS by itself"): every process runs this loop; it looks for active domains
 * whose certificate is missing or due, takes a name's lease in storage (so one process at a time orders it), asks the
 * issuer (adapters/acme/acmeIssuer.ts) and stores the result for every process to serve.
 *
 * The schedule: a certificate is renewed `renewBeforeMs` (30 days) before it expires, as certbot does, but never
 * later than two thirds into its life (Caddy's rule), so a CA issuing short-lived certificates (Let's Encrypt's 6-day
 * ones, or Pebble made short) does not send Knock into a renewal at every poll. A failed order waits `retryMinMs`,
 * doubling with each failure up to `retryMaxMs`, with jitter so processes and domains spread out: Let's Encrypt
 * allows 5 failed validations per hostname per hour, and a domain that cannot be validated (its DNS moved away)
 * must not burn the account's limits. Only active domains are ever ordered: the storage's claim refuses anything else
 * (Caddy's on-demand TLS lesson: otherwise anyone pointing a name at Knock burns its rate limits).
 *
 * @example
 *   const certificates = new Certificates({ storage, issuer, clock, timers, logger, worker: 'host:1234',
 *     renewBeforeMs: 30 * DAY, retryMinMs: 15 * MINUTE, retryMaxMs: DAY, pollMs: 60_000, leaseMs: 600_000 });
 *   certificates.onIssued((name) => cache.forget(name));
 *   certificates.start();
 */
import type { Logger } from './logger.ts';
import type { Clock, Timers } from './ports/clock.ts';
import type { CertificateStorage } from './ports/storage.ts';

/** What an ACME CA issued for one name. */
export interface Issued {
  /** The leaf first, then its issuers (PEM). */
  chainPem: string;
  /** PKCS#8 PEM. */
  keyPem: string;
  notBefore: number;
  notAfter: number;
}

/** The port an ACME adapter implements: one certificate for one active domain's name. */
export interface CertificateIssuer {
  issue(name: string): Promise<Issued>;
  close(): void;
}

/**
 * When a certificate valid from `notBefore` to `notAfter` is renewed: `renewBeforeMs` before it expires, or two
 * thirds into its life if that comes first.
 *
 * @example
 *   renewalTime(t, t + 90 * DAY, 30 * DAY); // t + 60 days
 *   renewalTime(t, t + 6 * DAY, 30 * DAY);  // t + 4 days
 */
export function renewalTime(notBefore: number, notAfter: number, renewBeforeMs: number): number {
  const life = Math.max(0, notAfter - notBefore);
  return notAfter - Math.min(renewBeforeMs, Math.floor(life / 3));
}

/**
 * How long to wait after the `failures`-th failure in a row (1 for the first): `minMs` doubled each time, at most
 * `maxMs`, then jittered down by up to half ("equal jitter": never less than half the step, so backoff still grows).
 *
 * @example
 *   retryDelay(1, 15 * MINUTE, DAY, () => 0.5); // 11.25 minutes
 */
export function retryDelay(failures: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const step = Math.min(maxMs, minMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
  return Math.round(step / 2 + (step / 2) * random());
}

export interface CertificatesDeps {
  storage: CertificateStorage;
  issuer: CertificateIssuer;
  clock: Clock;
  timers: Timers;
  logger: Logger;
  /** Names this process's leases (several processes share the table). */
  worker: string;
  renewBeforeMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  pollMs: number;
  /** How long a lease holds: longer than any order takes; a process that died lets the name go after it. */
  leaseMs: number;
  random?: () => number;
}

/** Names ordered per pass: a pass is bounded, the next poll takes the rest. */
const BATCH = 10;

export class Certificates {
  private stopTimer: (() => void) | null = null;
  private running: Promise<number> | null = null;
  private closed = false;
  private readonly issuedListeners: Array<(name: string) => void> = [];

  constructor(private readonly deps: CertificatesDeps) {}

  /** Runs `listener` with the name of each certificate this process stored (the SNI cache forgets its old one). */
  onIssued(listener: (name: string) => void): void {
    this.issuedListeners.push(listener);
  }

  /** Orders what is due now, then every pollMs. */
  start(): void {
    this.tick();
  }

  /**
   * One pass: claims and orders every name due (at most a batch), one after another. Resolves to how many were
   * issued. A pass already under way is joined, not doubled.
   */
  renewDue(): Promise<number> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Stops the loop; an order under way finishes (its lease settles), bounded by the issuer's own timeouts. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopTimer?.();
    this.stopTimer = null;
    await this.running?.catch(() => undefined);
    this.deps.issuer.close();
  }

  private tick(): void {
    if (this.closed) return;
    this.renewDue()
      .catch((err: unknown) => this.deps.logger.error({ err }, 'could not look for certificates due'))
      .finally(() => {
        if (!this.closed) this.stopTimer = this.deps.timers.after(this.deps.pollMs, () => this.tick());
      });
  }

  private async pass(): Promise<number> {
    const { storage, clock } = this.deps;
    let issued = 0;
    for (const due of await storage.dueCertificates(clock.now(), BATCH)) {
      if (this.closed) break;
      const now = clock.now();
      if (!(await storage.claimCertificate(due.name, this.deps.worker, now, now + this.deps.leaseMs))) continue;
      if (await this.order(due.name, due.failures)) issued++;
    }
    return issued;
  }

  /** Orders one claimed name and settles its lease either way. */
  private async order(name: string, failures: number): Promise<boolean> {
    const { storage, clock, logger, worker } = this.deps;
    const started = clock.now();
    try {
      const cert = await this.deps.issuer.issue(name);
      const at = clock.now();
      const renewAt = renewalTime(cert.notBefore, cert.notAfter, this.deps.renewBeforeMs);
      if (!(await storage.storeCertificate(name, worker, { ...cert, renewAt, at }))) {
        logger.warn({ domain: name }, 'a certificate was issued after this process lost its lease: another process orders it');
        return false;
      }
      logger.info({ domain: name, notAfter: new Date(cert.notAfter).toISOString(), renewAt: new Date(renewAt).toISOString(), ms: at - started }, 'a certificate was issued');
      for (const listener of this.issuedListeners) {
        try {
          listener(name);
        } catch (err) {
          logger.error({ err, domain: name }, 'a listener of issued certificates failed');
        }
      }
      return true;
    } catch (err) {
      const at = clock.now();
      const delay = retryDelay(failures + 1, this.deps.retryMinMs, this.deps.retryMaxMs, this.deps.random);
      const error = err instanceof Error ? err.message : String(err);
      await storage.recordCertificateFailure(name, worker, { error, nextTryAt: at + delay, at });
      logger.warn({ err, domain: name, failures: failures + 1, nextTryAt: new Date(at + delay).toISOString() }, 'a certificate order failed');
      return false;
    }
  }
}
