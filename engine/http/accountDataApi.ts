/**
 * An account's own data over HTTP (issue 22): Settings → "Export my data" and "Delete account". Both are the signed-in
 * person's, for their own account only: never a company's (an operator acting for one is refused), never by a mail
 * device token. Checks first, then does (CONVENTIONS 7).
 *
 *   GET  /_/api/account/export                                  -> 200 application/zip (engine/accountExport.ts)
 *   POST /_/api/account/delete  { password, handle, code?, ... } -> 200, the session cookie cleared
 *
 * The export is rate-limited per account (each reads everything the account has); a request another site makes the
 * browser send (a link, a frame: Sec-Fetch-Site cross-site) is refused before it counts. Deleting asks the password
 * again (engine/identityCheck.ts), throttled like a login, and the handle typed again.
 */
import { pipeline } from 'node:stream/promises';
import type { AccountExport } from '../accountExport.ts';
import type { AccountRemoval } from '../accountRemoval.ts';
import { auditContextOf, type AuditLog } from '../auditLog.ts';
import type { Auth } from '../auth.ts';
import type { RateLimitConfig } from '../config.ts';
import { SESSION_COOKIE, serializeCookie } from '../cookies.ts';
import { KnockError } from '../errors.ts';
import { confirmIdentity } from '../identityCheck.ts';
import type { SecondFactor } from '../secondFactor/secondFactor.ts';
import type { Logger } from '../logger.ts';
import type { LoginThrottle } from '../loginThrottle.ts';
import type { Clock } from '../ports/clock.ts';
import type { Account, Storage } from '../ports/storage.ts';
import { deleteAccountBody } from '../protocol.ts';
import { KeyedRateLimiter } from '../rateLimit.ts';
import type { RequestInfo } from './api.ts';
import { readJson, sendJson } from './io.ts';
import { Requesters } from './requesters.ts';
import { runMatched, type Handler } from './routing.ts';

/** Exports per account: each reads every message and file of the account. */
export const EXPORTS_PER_ACCOUNT: RateLimitConfig = { perWindow: 3, windowMs: 3600_000 };
/** A password, a code, a handle. */
const MAX_BODY_BYTES = 2048;

export interface AccountDataApiDeps {
  storage: Storage;
  auth: Auth;
  exporter: AccountExport;
  removal: AccountRemoval;
  /** Deleting an account with a second factor asks for it too (engine/identityCheck.ts). */
  secondFactor: Pick<SecondFactor, 'confirmSecondFactor'>;
  audit: Pick<AuditLog, 'record'>;
  /** The password asked before a deletion is guessed no faster than at the login. */
  logins: Pick<LoginThrottle, 'admit'>;
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn'>;
  trustProxy: number;
  secureCookies: boolean;
}

export class AccountDataApi {
  private readonly requesters: Requesters;
  private readonly exports: KeyedRateLimiter;

  constructor(private readonly deps: AccountDataApiDeps) {
    this.requesters = new Requesters(deps);
    this.exports = new KeyedRateLimiter(EXPORTS_PER_ACCOUNT, deps.clock);
  }

  /** Routes the API above; false when no route matches. */
  route(r: RequestInfo, path: string): Promise<boolean> {
    return runMatched(this.match(r.req.method ?? 'GET', path, r));
  }

  private match(method: string, path: string, r: RequestInfo): Handler | null {
    if (method === 'GET' && path === '/_/api/account/export') return () => this.export(r);
    if (method === 'POST' && path === '/_/api/account/delete') return () => this.remove(r);
    return null;
  }

  private async export(r: RequestInfo): Promise<void> {
    if (r.req.headers['sec-fetch-site'] === 'cross-site') throw new KnockError('forbidden', 'Export your data from your own console.');
    const account = await this.ownAccount(r, 'export');
    this.exports.takeOrThrow(account.id, 'Exports of your data');
    await this.deps.audit.record(account.id, 'data.exported', auditContextOf(r.req, this.deps.trustProxy));
    const zip = this.deps.exporter.zip(account);
    r.res.writeHead(200, {
      'Content-Type': 'application/zip',
      'Content-Disposition': `attachment; filename="${this.deps.exporter.fileName(account)}"`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    // A failure half-way (logged by the exporter) cuts the download: the browser says it failed, never a short zip.
    await pipeline(zip, r.res).catch(() => r.res.destroy());
  }

  private async remove(r: RequestInfo): Promise<void> {
    const account = await this.ownAccount(r, 'delete');
    const body = await readJson(r.req, deleteAccountBody, MAX_BODY_BYTES);
    await this.deps.logins.admit(account.handle, r.ip);
    if (body.handle.trim().toLowerCase() !== account.handle) throw new KnockError('bad_request', `Type your handle, ${account.handle}, to confirm.`);
    await this.deps.removal.checkRemovable(account);
    await confirmIdentity(
      account,
      {
        password: body.password,
        ...(body.code !== undefined ? { code: body.code } : {}),
        ...(body.recoveryCode !== undefined ? { recoveryCode: body.recoveryCode } : {}),
      },
      this.deps.secondFactor,
      auditContextOf(r.req, this.deps.trustProxy),
    );
    const removed = await this.deps.removal.remove(account);
    this.deps.logger.info({ handle: account.handle, ...removed }, 'an account was deleted by its owner');
    sendJson(r.res, 200, { ok: true }, {
      'Set-Cookie': serializeCookie(SESSION_COOKIE, '', { maxAgeSeconds: 0, secure: this.deps.secureCookies }),
      'Clear-Site-Data': '"cache"',
    });
  }

  /** The signed-in person's own account at the console: not a company's, not by a mail device. */
  private async ownAccount(r: RequestInfo, what: 'export' | 'delete'): Promise<Account> {
    const owner = await this.requesters.requireOwner(r.req, { console: `A mail device cannot ${what} your account: use the console.` });
    if (owner.operator) {
      throw new KnockError('forbidden', `You act for /${owner.account.handle} here: ${what === 'export' ? 'export your data' : 'delete your account'} from your own console.`);
    }
    return owner.account;
  }
}
