/**
 * Account safety over HTTP (issue 22): Settings → Sessions, Password and Audit log, and password recovery by email.
 * The Settings calls are the signed-in person's own, by the console's session cookie only: not a mail device's token
 * (a stolen laptop config must not change the password or read the log), and not for a company (its operators each
 * keep their own account safe; a console acting for one is refused rather than given the person's own). Recovery is
 * anyone's, rate-limited per address, and answers alike whatever it is asked. Checks first, then does (CONVENTIONS 7).
 *
 *   GET    /_/api/security/sessions                                   -> sessionsAnswer (the caller's is `current`)
 *   DELETE /_/api/security/sessions/<id>                              -> sessionsAnswer (one ended; 404 if not the caller's)
 *   POST   /_/api/security/logout-everywhere                          -> sessionsEndedAnswer, the cookie cleared
 *   POST   /_/api/security/password  changePasswordBody              -> sessionsEndedAnswer (the others ended)
 *   GET    /_/api/security/audit?before=<id>                          -> auditAnswer
 *   POST   /_/api/password/recover   recoverPasswordBody             -> 202 { ok: true }, always
 *   POST   /_/api/password/reset     resetPasswordBody               -> resetPasswordAnswer ({ signedIn: false })
 */
import { auditContextOf, type AuditLog } from '../auditLog.ts';
import type { Auth } from '../auth.ts';
import type { RateLimitConfig } from '../config.ts';
import { SESSION_COOKIE, parseCookies, serializeCookie } from '../cookies.ts';
import { KnockError } from '../errors.ts';
import type { Passwords } from '../passwords.ts';
import type { Clock } from '../ports/clock.ts';
import type { Account } from '../ports/storage.ts';
import { ACTING_ACCOUNT_HEADER, changePasswordBody, recoverPasswordBody, resetPasswordBody, type SessionsAnswer } from '../protocol.ts';
import { KeyedRateLimiter } from '../rateLimit.ts';
import type { Sessions } from '../sessions.ts';
import type { RequestInfo } from './api.ts';
import { readJson, sendJson } from './io.ts';
import { runMatched, safeDecode, type Handler } from './routing.ts';

/** Two passwords, a token and a password, or an address: never more. */
const MAX_BODY_BYTES = 4096;
const NO_STORE = { 'Cache-Control': 'no-store' };

export interface SecurityApiDeps {
  auth: Pick<Auth, 'sessionOf'>;
  sessions: Sessions;
  passwords: Passwords;
  audit: Pick<AuditLog, 'page'>;
  clock: Clock;
  /** Recovery links asked for, and used, per client address (config rateLimits.recoveriesPerIp). */
  recoveriesPerIp: RateLimitConfig;
  /** Reverse proxies believed (config.trustProxy): the audit log's addresses. */
  trustProxy: number;
  secureCookies: boolean;
}

/** The person at the console: their account and the hash of this browser's session token. */
interface Person {
  account: Account;
  tokenHash: string;
}

export class SecurityApi {
  private readonly recoveries: KeyedRateLimiter;
  private readonly resets: KeyedRateLimiter;

  constructor(private readonly deps: SecurityApiDeps) {
    this.recoveries = new KeyedRateLimiter(deps.recoveriesPerIp, deps.clock);
    this.resets = new KeyedRateLimiter(deps.recoveriesPerIp, deps.clock);
  }

  /** Routes the API above; false when no route matches. */
  route(r: RequestInfo, path: string): Promise<boolean> {
    return runMatched(this.match(r.req.method ?? 'GET', path, r));
  }

  private match(method: string, path: string, r: RequestInfo): Handler | null {
    if (path === '/_/api/security/sessions' && method === 'GET') return async () => this.sendSessions(r, await this.person(r));
    const m = path.match(/^\/_\/api\/security\/sessions\/([^/]{1,200})$/);
    if (m && method === 'DELETE') return () => this.endSession(r, safeDecode(m[1]!));
    if (method === 'POST' && path === '/_/api/security/logout-everywhere') return () => this.logoutEverywhere(r);
    if (method === 'POST' && path === '/_/api/security/password') return () => this.changePassword(r);
    if (method === 'GET' && path === '/_/api/security/audit') return () => this.auditPage(r);
    if (method === 'POST' && path === '/_/api/password/recover') return () => this.recover(r);
    if (method === 'POST' && path === '/_/api/password/reset') return () => this.reset(r);
    return null;
  }

  /** The person signed in at this browser, acting for nobody else. */
  private async person(r: RequestInfo): Promise<Person> {
    const token = parseCookies(r.req.headers.cookie).get(SESSION_COOKIE);
    const found = await this.deps.auth.sessionOf(token);
    if (!found) throw new KnockError('unauthorized', 'Please log in.');
    const acting = r.req.headers[ACTING_ACCOUNT_HEADER];
    if (acting !== undefined && acting !== found.account.handle) {
      throw new KnockError('forbidden', 'Your password, sessions and audit log are your own: open them from your own console.');
    }
    return { account: found.account, tokenHash: found.session.tokenHash };
  }

  private context(r: RequestInfo) {
    return auditContextOf(r.req, this.deps.trustProxy);
  }

  private async sendSessions(r: RequestInfo, person: Person): Promise<void> {
    const answer: SessionsAnswer = { sessions: await this.deps.sessions.list(person.account, person.tokenHash) };
    sendJson(r.res, 200, answer, NO_STORE);
  }

  private async endSession(r: RequestInfo, id: string): Promise<void> {
    const person = await this.person(r);
    await this.deps.sessions.end(person.account, id, this.context(r));
    await this.sendSessions(r, person);
  }

  private async logoutEverywhere(r: RequestInfo): Promise<void> {
    const person = await this.person(r);
    const ended = await this.deps.sessions.endAll(person.account, this.context(r), { why: 'log out everywhere' });
    const cleared = serializeCookie(SESSION_COOKIE, '', { maxAgeSeconds: 0, secure: this.deps.secureCookies });
    sendJson(r.res, 200, { ended }, { ...NO_STORE, 'Set-Cookie': [cleared] });
  }

  private async changePassword(r: RequestInfo): Promise<void> {
    const person = await this.person(r);
    const body = await readJson(r.req, changePasswordBody, MAX_BODY_BYTES);
    const ended = await this.deps.passwords.change(person.account, body, { context: this.context(r), keep: person.tokenHash, client: r.ip });
    sendJson(r.res, 200, { ended }, NO_STORE);
  }

  private async auditPage(r: RequestInfo): Promise<void> {
    const person = await this.person(r);
    const before = r.url.searchParams.get('before');
    if (before !== null && !/^[1-9][0-9]{0,15}$/.test(before)) throw new KnockError('bad_request', '`before` is the id of an entry of the log.');
    sendJson(r.res, 200, await this.deps.audit.page(person.account.id, before === null ? undefined : Number(before)), NO_STORE);
  }

  /** The same answer at once, whatever is asked for (engine/passwords.ts); only the address's limit can refuse. */
  private async recover(r: RequestInfo): Promise<void> {
    const { handleOrEmail } = await readJson(r.req, recoverPasswordBody, MAX_BODY_BYTES);
    this.recoveries.takeOrThrow(r.ip, 'Recovery links asked for from your address');
    this.deps.passwords.requestRecovery(handleOrEmail, this.context(r));
    sendJson(r.res, 202, { ok: true }, NO_STORE);
  }

  private async reset(r: RequestInfo): Promise<void> {
    const body = await readJson(r.req, resetPasswordBody, MAX_BODY_BYTES);
    this.resets.takeOrThrow(r.ip, 'Recovery links used from your address');
    sendJson(r.res, 200, await this.deps.passwords.reset(body.token, body.newPassword, this.context(r)), NO_STORE);
  }
}
