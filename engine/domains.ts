/**
 * Own domains (issue 21, DESIGN "Companies, phones, domains"): an owner adds `alice.example` in Settings → Domains (or
 * `npx knock domain add`), Knock shows the NS records to set at the registrar (its name servers,
 * `KNOCK_DNS_NAMESERVERS`), and checks, through a resolver (`KNOCK_DNS_CHECK_RESOLVER`, else the system's), until
 * the domain is delegated to them; then the domain is active. Until then nothing is issued or served for it (Caddy's
 * on-demand TLS lesson: otherwise anyone pointing a name at Knock burns its ACME rate limits).
 *
 * A domain gets its own DKIM key when it is added (RSA 2048: what every receiver checks), so its mail can be signed
 * as soon as it is active; the DNS server publishes the public half.
 *
 * @example
 *   const domains = new Domains({ storage, clock, logger, nameservers: ['ns1.knock.example', 'ns2.knock.example'],
 *     resolveNs: resolverNs('127.0.0.1:5353'), reserved: ['knock.example'] });
 *   await domains.add(alice, 'Alice.Example.');   // 'alice.example', pending
 *   await domains.check('alice.example');         // active once its NS records name Knock's name servers
 */
import { generateKeyPair } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { domainToASCII } from 'node:url';
import { promisify } from 'node:util';
import { mailDomainOf, type KnockConfig } from './config.ts';
import { KnockError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { Clock } from './ports/clock.ts';
import type { Account, Domain, Storage } from './ports/storage.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

/** The DKIM selector of keys Knock makes for domains. */
export const DOMAIN_DKIM_SELECTOR = 'knock1';
/** Domains per account: a person's or a company's few names, not a registrar's. */
export const MAX_DOMAINS_PER_ACCOUNT = 10;

/**
 * A domain as typed (`Alice.Example.`, `ünïcode.example`, `https://chat.acme.example/`) in the one form Knock keeps:
 * lower-case ASCII (`xn--` for internationalized labels), no trailing dot. Null when it is no domain name of two
 * labels or more.
 */
export function normalizeDomain(typed: string): string | null {
  let text = typed.trim().toLowerCase();
  // People paste URLs: take the host.
  if (/^https?:\/\//.test(text)) {
    try {
      text = new URL(text).hostname;
    } catch {
      return null;
    }
  }
  text = text.replace(/\.$/, '');
  if (text.length === 0 || text.length > 253 || text.includes('..')) return null;
  const ascii = domainToASCII(text);
  if (!ascii) return null;
  const labels = ascii.split('.');
  if (labels.length < 2 || !labels.every((l) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(l))) return null;
  // A top-level label is never all digits: an IPv4 address is no domain.
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return null;
  return ascii;
}

/** The server's own names (its mail domain and its public URL's host): nobody's domain, nor anything under them. */
export function ownNames(config: Pick<KnockConfig, 'mailDomain' | 'publicUrl'>): string[] {
  return [mailDomainOf(config), ...(config.publicUrl === undefined ? [] : [new URL(config.publicUrl).hostname.toLowerCase()])];
}

/** Host names compared as DNS compares them: case and the root dot do not matter. */
const sameHost = (a: string, b: string): boolean => a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '');

/** The NS records of a name as a resolver sees them. Rejects with the resolver's error (ENOTFOUND, ENODATA, ...). */
export type NsLookup = (name: string) => Promise<string[]>;

/** `resolveNs` through one resolver (`host:port`, or the system's when absent), bounded in time. */
export function resolverNs(server: string | undefined, timeoutMs = 5000): NsLookup {
  const resolver = new Resolver({ timeout: Math.max(500, Math.floor(timeoutMs / 2)), tries: 2 });
  if (server !== undefined) resolver.setServers([server]);
  return (name) => resolver.resolveNs(name);
}

export interface DomainsDeps {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  /** Knock's name servers (KNOCK_DNS_NAMESERVERS); empty: domains cannot be added on this server. */
  nameservers: readonly string[];
  resolveNs: NsLookup;
  /** Names nobody may add, nor any name under them: Knock's own host and mail domain. */
  reserved: readonly string[];
  /** Told when a domain of this process became active or went (the served hosts are read again). */
  onChange?: () => Promise<void> | void;
}

export class Domains {
  constructor(private readonly deps: DomainsDeps) {}

  get nameservers(): readonly string[] {
    return this.deps.nameservers;
  }

  /** Adds a pending domain with its DKIM key, and checks its delegation at once (it may be set already). */
  async add(account: Account, typed: string): Promise<Domain> {
    if (this.deps.nameservers.length === 0) {
      throw new KnockError('bad_request', 'This server has no name servers set (KNOCK_DNS_NAMESERVERS), so domains cannot be added here.');
    }
    const name = normalizeDomain(typed);
    if (name === null) throw new KnockError('bad_request', 'domain: Give a domain name, like alice.example or chat.acme.example.');
    if (this.deps.reserved.some((r) => sameHost(name, r) || name.endsWith(`.${r.toLowerCase().replace(/\.$/, '')}`))) {
      throw new KnockError('bad_request', `${name} is this server's own name: it cannot be anyone's domain.`);
    }
    if ((await this.deps.storage.domainsOf(account.id)).length >= MAX_DOMAINS_PER_ACCOUNT) {
      throw new KnockError('bad_request', `You have ${MAX_DOMAINS_PER_ACCOUNT} domains already: remove one first.`);
    }
    // Refused before the key is made (a key costs a few hundred milliseconds of CPU).
    if (await this.deps.storage.getDomain(name)) throw new KnockError('conflict', `${name} is someone's domain already.`);
    const { publicKey, privateKey } = await generateKeyPairAsync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const domain = await this.deps.storage.addDomain({
      name,
      accountId: account.id,
      dkimSelector: DOMAIN_DKIM_SELECTOR,
      dkimPublicKey: publicKey.toString('base64'),
      dkimPrivateKey: privateKey,
      at: this.deps.clock.now(),
    });
    this.deps.logger.info({ accountId: account.id, domain: name }, 'a domain was added');
    return (await this.check(name)) ?? domain;
  }

  /** The account's domains. */
  list(account: Account): Promise<Domain[]> {
    return this.deps.storage.domainsOf(account.id);
  }

  async remove(account: Account, typed: string): Promise<void> {
    const name = normalizeDomain(typed);
    if (name === null || !(await this.deps.storage.removeDomain(account.id, name))) throw new KnockError('not_found', 'You have no such domain.');
    this.deps.logger.info({ accountId: account.id, domain: name }, 'a domain was removed');
    await this.deps.onChange?.();
  }

  /**
   * Looks at the domain's delegation now and records what was seen: active when its NS records, as the resolver sees
   * them, are Knock's name servers and nothing else (a name server of someone else's would answer for it too).
   */
  async check(name: string): Promise<Domain | null> {
    const seen = await this.delegation(name);
    const before = await this.deps.storage.getDomain(name);
    const after = await this.deps.storage.recordDomainCheck(name, { active: seen.ok, error: seen.ok ? null : seen.why, at: this.deps.clock.now() });
    if (after?.state === 'active' && before?.state !== 'active') {
      this.deps.logger.info({ domain: name }, 'a domain is active');
      await this.deps.onChange?.();
    }
    return after;
  }

  /** Checks every pending domain (the periodic check of a process); errors of one do not stop the others. */
  async checkPending(): Promise<number> {
    let activated = 0;
    for (const domain of await this.deps.storage.listDomains()) {
      if (domain.state !== 'pending') continue;
      const checked = await this.check(domain.name).catch((err: unknown) => {
        this.deps.logger.warn({ err, domain: domain.name }, 'could not check a domain');
        return null;
      });
      if (checked?.state === 'active') activated++;
    }
    return activated;
  }

  private async delegation(name: string): Promise<{ ok: true } | { ok: false; why: string }> {
    let records: string[];
    try {
      records = await this.deps.resolveNs(name);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA') return { ok: false, why: `No NS records for ${name} yet.` };
      return { ok: false, why: `The DNS lookup of ${name} failed (${code ?? String(err)}); it is tried again.` };
    }
    const ours = this.deps.nameservers;
    const foreign = records.filter((r) => !ours.some((n) => sameHost(n, r)));
    if (records.length === 0) return { ok: false, why: `No NS records for ${name} yet.` };
    if (foreign.length > 0) return { ok: false, why: `${name} is delegated to ${foreign.join(', ')}, not only to ${ours.join(', ')}.` };
    return { ok: true };
  }
}
