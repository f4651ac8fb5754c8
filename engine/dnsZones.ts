/**
 * The DNS server's view of own domains (engine/ports/dnsZones.ts), read from DomainStorage and reused for `cacheMs`.
 *
 * The whole list of domains is read at once and kept, rather than one lookup per queried name: a flood of
 * random names (`x7f3.alice.example`, `q9.foreign.example`: the "random subdomain" attack) then costs the database
 * nothing, and there is no negative cache to grow. One read per `cacheMs` per process, however many queries; a
 * self-hosted Knock holds hundreds of domains, not millions. ACME challenge values are read per domain, only when
 * `_acme-challenge.<domain>` is asked, and kept as briefly. Concurrent readers share one read in flight.
 *
 * If storage fails, the last list read keeps being answered (for up to `maxStaleMs`) and the failure is logged once
 * per attempt: a database hiccup does not take every owner's domain off the Internet.
 *
 * @example
 *   const zones = new StoredDnsZones({ storage, clock, logger, cacheMs: 3000 });
 *   await zones.zoneOf('www.alice.example'); // { name: 'alice.example', serial: 1765000000, ... } when active
 */
import type { Logger } from './logger.ts';
import type { Clock } from './ports/clock.ts';
import type { DnsZoneFacts, DnsZoneSource } from './ports/dnsZones.ts';
import type { Domain, DomainStorage } from './ports/storage.ts';

export interface StoredDnsZonesOptions {
  storage: Pick<DomainStorage, 'listDomains' | 'acmeChallenges'>;
  clock: Clock;
  logger: Logger;
  /** config.dnsCacheMs: how long what was read is reused. 0: read for every query (tests, a single process). */
  cacheMs: number;
  /** How long a list read before a storage failure may still be answered. Default one hour. */
  maxStaleMs?: number;
}

interface Snapshot {
  zones: Map<string, DnsZoneFacts>;
  readAt: number;
}

/** Domains whose ACME values are kept at most; beyond it, the oldest go (names only come from active zones). */
const MAX_ACME_ENTRIES = 10_000;

export class StoredDnsZones implements DnsZoneSource {
  private snapshot: Snapshot | null = null;
  /** When the list is next read (after a failure, not before cacheMs either: a dead database is not hammered). */
  private nextReadAt = 0;
  private reading: Promise<Snapshot> | null = null;
  private readonly acme = new Map<string, { values: string[]; readAt: number }>();
  private readonly acmeReading = new Map<string, Promise<string[]>>();

  constructor(private readonly opts: StoredDnsZonesOptions) {}

  async zoneOf(name: string): Promise<DnsZoneFacts | null> {
    const { zones } = await this.current();
    // Longest suffix first: `chat.alice.example` may be a domain of its own inside `alice.example`.
    let rest = name;
    for (;;) {
      const zone = zones.get(rest);
      if (zone) return zone;
      const dot = rest.indexOf('.');
      if (dot < 0) return null;
      rest = rest.slice(dot + 1);
    }
  }

  async acmeValues(zone: string): Promise<string[]> {
    const now = this.opts.clock.now();
    const kept = this.acme.get(zone);
    if (kept && now - kept.readAt < this.opts.cacheMs) return kept.values;
    let reading = this.acmeReading.get(zone);
    if (!reading) {
      reading = this.opts.storage
        .acmeChallenges('dns-01', zone, now)
        .then((challenges) => {
          const values = challenges.map((c) => c.value);
          if (this.acme.size >= MAX_ACME_ENTRIES) this.acme.delete(this.acme.keys().next().value!);
          this.acme.delete(zone);
          this.acme.set(zone, { values, readAt: now });
          return values;
        })
        .finally(() => this.acmeReading.delete(zone));
      this.acmeReading.set(zone, reading);
    }
    return reading;
  }

  private async current(): Promise<Snapshot> {
    const now = this.opts.clock.now();
    if (this.snapshot && now < this.nextReadAt) return this.snapshot;
    this.reading ??= this.read(now).finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  private async read(now: number): Promise<Snapshot> {
    this.nextReadAt = now + this.opts.cacheMs;
    try {
      const domains = await this.opts.storage.listDomains();
      const zones = new Map<string, DnsZoneFacts>();
      for (const domain of domains) zones.set(domain.name, factsOf(domain));
      this.snapshot = { zones, readAt: now };
      return this.snapshot;
    } catch (err) {
      const maxStaleMs = this.opts.maxStaleMs ?? 3600_000;
      if (this.snapshot && now - this.snapshot.readAt <= maxStaleMs) {
        this.opts.logger.error({ err, staleMs: now - this.snapshot.readAt }, 'could not read the domains: answering with the last list read');
        return this.snapshot;
      }
      throw err;
    }
  }
}

function factsOf(domain: Domain): DnsZoneFacts {
  // Seconds since 1970 fit a serial (32 bits) until 2106, and grow when the domain is (re)activated.
  const since = domain.activatedAt ?? domain.createdAt;
  return { name: domain.name, pending: domain.state !== 'active', serial: Math.floor(since / 1000) >>> 0, dkimSelector: domain.dkimSelector, dkimPublicKey: domain.dkimPublicKey };
}
