/**
 * Settings → Domains over HTTP (issue 21, engine/domains.ts): the owner's own domains, the NS records to set for them,
 * and whether Knock sees them delegated yet. Who may: the owner at the console (a mail device token is refused); for
 * a company, its admins change them and its operators see them. Checks first, then does (CONVENTIONS 7).
 *
 *   GET    /_/api/domains                                  -> domainsAnswer
 *   POST   /_/api/domains                { domain }        -> 201 domainsAnswer (added, pending or active at once)
 *   POST   /_/api/domains/<name>/check                     -> domainsAnswer (looked at again now)
 *   DELETE /_/api/domains/<name>                           -> domainsAnswer
 */
import type { Auth } from '../auth.ts';
import type { RateLimitConfig } from '../config.ts';
import type { Domains } from '../domains.ts';
import { KnockError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { Account, Domain, Storage } from '../ports/storage.ts';
import { addDomainBody, type DomainsAnswer } from '../protocol.ts';
import { KeyedRateLimiter } from '../rateLimit.ts';
import type { RequestInfo } from './api.ts';
import { readJson, sendJson } from './io.ts';
import { Requesters } from './requesters.ts';
import { runMatched, safeDecode, type Handler } from './routing.ts';

/** A name and nothing else. */
const MAX_BODY_BYTES = 1024;
/** Domains an account adds in an hour: each makes an RSA key (CPU) and a DNS lookup. */
export const DOMAIN_ADDS_PER_ACCOUNT: RateLimitConfig = { perWindow: 20, windowMs: 3600_000 };
/** "Check now" presses per account: each is a DNS lookup through the check resolver. */
export const DOMAIN_CHECKS_PER_ACCOUNT: RateLimitConfig = { perWindow: 60, windowMs: 3600_000 };

export interface DomainsApiDeps {
  storage: Storage;
  auth: Auth;
  domains: Domains;
  clock: Clock;
}

export class DomainsApi {
  private readonly requesters: Requesters;
  private readonly adds: KeyedRateLimiter;
  private readonly checks: KeyedRateLimiter;

  constructor(private readonly deps: DomainsApiDeps) {
    this.requesters = new Requesters(deps);
    this.adds = new KeyedRateLimiter(DOMAIN_ADDS_PER_ACCOUNT, deps.clock);
    this.checks = new KeyedRateLimiter(DOMAIN_CHECKS_PER_ACCOUNT, deps.clock);
  }

  /** Routes the API above; false when no route matches. */
  route(r: RequestInfo, path: string): Promise<boolean> {
    return runMatched(this.match(r.req.method ?? 'GET', path, r));
  }

  private match(method: string, path: string, r: RequestInfo): Handler | null {
    if (path === '/_/api/domains') {
      if (method === 'GET') return async () => this.answer(r, await this.console(r, false));
      if (method === 'POST') return () => this.add(r);
    }
    const m = path.match(/^\/_\/api\/domains\/([^/]{1,300})(\/check)?$/);
    if (m) {
      const name = safeDecode(m[1]!);
      if (method === 'POST' && m[2] === '/check') return () => this.check(r, name);
      if (method === 'DELETE' && m[2] === undefined) return () => this.remove(r, name);
    }
    return null;
  }

  /** The owner at the console; changing a company's domains is for its admins. */
  private async console(r: RequestInfo, change = true): Promise<Account> {
    const owner = await this.requesters.requireOwner(r.req, {
      console: 'A mail device cannot change your domains: use the console.',
      ...(change ? { admin: 'change its domains' } : {}),
    });
    return owner.account;
  }

  private async add(r: RequestInfo): Promise<void> {
    const account = await this.console(r);
    const { domain } = await readJson(r.req, addDomainBody, MAX_BODY_BYTES);
    this.adds.takeOrThrow(account.id, 'Domains added');
    await this.deps.domains.add(account, domain);
    await this.answer(r, account, 201);
  }

  private async check(r: RequestInfo, name: string): Promise<void> {
    const account = await this.console(r);
    const domain = await this.deps.storage.getDomain(name);
    if (!domain || domain.accountId !== account.id) throw new KnockError('not_found', 'You have no such domain.');
    this.checks.takeOrThrow(account.id, 'Domain checks');
    await this.deps.domains.check(domain.name);
    await this.answer(r, account);
  }

  private async remove(r: RequestInfo, name: string): Promise<void> {
    const account = await this.console(r);
    await this.deps.domains.remove(account, name);
    await this.answer(r, account);
  }

  private async answer(r: RequestInfo, account: Account, status = 200): Promise<void> {
    const answer: DomainsAnswer = {
      domains: (await this.deps.domains.list(account)).map(recordOf),
      nameservers: [...this.deps.domains.nameservers],
    };
    sendJson(r.res, status, answer, { 'Cache-Control': 'no-store' });
  }
}

function recordOf(d: Domain): DomainsAnswer['domains'][number] {
  return { name: d.name, state: d.state, checkedAt: d.checkedAt, checkError: d.checkError, activatedAt: d.activatedAt };
}
