/**
 * Two-factor sign-in over HTTP (issue 22, engine/secondFactor/): the login's second step, signing in with a passkey
 * alone, and Settings → Two-factor sign-in. Settings are the owner's own, at the console only (not a mail device, not
 * a company's operator acting for it: a second factor is a person's). Turning the app on or off and adding a passkey
 * (which signs in alone) need the password again, so a session left open somewhere can do none of them (turning an
 * app on would lock the owner out and give its recovery codes to whoever did). Every second-factor
 * answer counts against the client's address (rateLimits.secondFactorTriesPerIp) and, when wrong, against the account
 * (engine/secondFactor/secondFactor.ts). Checks first, then does (CONVENTIONS 7).
 *
 *   POST   /_/api/login/second-factor          loginSecondFactorBody -> { handle, displayName } and the session cookie
 *   POST   /_/api/login/passkey/options                              -> webAuthnOptions (any passkey of this server)
 *   POST   /_/api/login/passkey                passkeyAnswerBody     -> { handle, displayName } and the session cookie
 *   GET    /_/api/security/second-factor                             -> secondFactorAnswer
 *   POST   /_/api/security/second-factor/totp                        -> totpEnrolment (pending until its first code)
 *   POST   /_/api/security/second-factor/totp/confirm   totpConfirmBody    -> secondFactorChange (recovery codes, once)
 *   POST   /_/api/security/second-factor/totp/off       totpOffBody        -> secondFactorChange
 *   POST   /_/api/security/second-factor/recovery-codes secondFactorProof  -> secondFactorChange (new codes, once)
 *   POST   /_/api/security/second-factor/passkeys/options passwordBody     -> webAuthnOptions
 *   POST   /_/api/security/second-factor/passkeys       addPasskeyBody     -> secondFactorChange
 *   PUT    /_/api/security/second-factor/passkeys/<id>  { name }           -> secondFactorChange
 *   DELETE /_/api/security/second-factor/passkeys/<id>                     -> secondFactorChange
 *   POST   /_/api/security/second-factor/challenge                         -> webAuthnOptions (a passkey confirming the owner)
 */
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { auditContextOf, type AuditLog } from '../auditLog.ts';
import type { Auth } from '../auth.ts';
import type { Sessions } from '../sessions.ts';
import type { KnockConfig } from '../config.ts';
import { SESSION_COOKIE, serializeCookie } from '../cookies.ts';
import { KnockError } from '../errors.ts';
import type { LoginThrottle } from '../loginThrottle.ts';
import type { Clock } from '../ports/clock.ts';
import type { Account, RelyingParty, Storage } from '../ports/storage.ts';
import {
  addPasskeyBody,
  loginSecondFactorBody,
  passkeyAnswerBody,
  passwordBody,
  renamePasskeyBody,
  secondFactorProof,
  totpConfirmBody,
  totpOffBody,
  type SecondFactorLogin,
} from '../protocol.ts';
import { KeyedRateLimiter } from '../rateLimit.ts';
import type { LoginTickets, SignInMethod } from '../secondFactor/loginTickets.ts';
import { relyingPartyOf } from '../secondFactor/relyingParty.ts';
import type { SecondFactor } from '../secondFactor/secondFactor.ts';
import type { Passkeys } from '../secondFactor/passkeys.ts';
import type { RequestInfo } from './api.ts';
import { readJson, sendJson } from './io.ts';
import { Requesters } from './requesters.ts';
import { runMatched, safeDecode, type Handler } from './routing.ts';

const SETTINGS = '/_/api/security/second-factor';

export interface SecondFactorApiDeps {
  storage: Storage;
  auth: Auth;
  sessions: Pick<Sessions, 'signedIn'>;
  audit: Pick<AuditLog, 'record'>;
  secondFactor: SecondFactor;
  tickets: LoginTickets;
  passkeys: Passkeys;
  /** The console's login throttle (engine/http/api.ts's): a password typed here, a passkey sign-in, are logins. */
  logins: Pick<LoginThrottle, 'admit' | 'admitAddress'>;
  clock: Clock;
  config: Pick<KnockConfig, 'publicUrl' | 'trustProxy' | 'maxBodyBytes' | 'sessionTtlMs' | 'rateLimits'>;
  secureCookies: boolean;
}

export class SecondFactorApi {
  private readonly requesters: Requesters;
  private readonly answersPerIp: KeyedRateLimiter;

  constructor(private readonly deps: SecondFactorApiDeps) {
    this.requesters = new Requesters(deps);
    this.answersPerIp = new KeyedRateLimiter(deps.config.rateLimits.secondFactorTriesPerIp, deps.clock);
  }

  /** Routes the API above; false when no route matches. */
  route(r: RequestInfo, path: string): Promise<boolean> {
    return runMatched(this.match(r.req.method ?? 'GET', path, r));
  }

  /**
   * For engine/http/api.ts's login, after a right password: null when the account has no second factor (sign in now),
   * else the ticket and methods of the second step (no session yet).
   */
  due(account: Account, req: IncomingMessage): Promise<SecondFactorLogin | null> {
    return this.deps.tickets.ticketFor(account, this.relyingParty(req));
  }

  private match(method: string, path: string, r: RequestInfo): Handler | null {
    if (method === 'POST' && path === '/_/api/login/second-factor') return () => this.secondStep(r);
    if (method === 'POST' && path === '/_/api/login/passkey/options') return () => this.passkeyOptions(r);
    if (method === 'POST' && path === '/_/api/login/passkey') return () => this.passkeySignIn(r);
    if (!path.startsWith(SETTINGS)) return null;
    const rest = path.slice(SETTINGS.length);
    const m = rest.match(/^\/passkeys\/([^/]+)$/);
    if (m && method === 'PUT') return () => this.renamePasskey(r, safeDecode(m[1]!));
    if (m && method === 'DELETE') return () => this.removePasskey(r, safeDecode(m[1]!));
    if (method === 'GET' && rest === '') return async () => this.answer(r, await this.deps.secondFactor.state((await this.owner(r)).id));
    if (method !== 'POST') return null;
    const post: Record<string, () => Promise<void>> = {
      '/totp': () => this.enrolTotp(r),
      '/totp/confirm': () => this.confirmTotp(r),
      '/totp/off': () => this.turnOffTotp(r),
      '/recovery-codes': () => this.regenerateRecoveryCodes(r),
      '/passkeys/options': () => this.passkeyRegistrationOptions(r),
      '/passkeys': () => this.addPasskey(r),
      '/challenge': () => this.confirmationChallenge(r),
    };
    return post[rest] ?? null;
  }

  // --- signing in --------------------------------------------------------------------------------------------------
  private async secondStep(r: RequestInfo): Promise<void> {
    const body = await readJson(r.req, loginSecondFactorBody, this.deps.config.maxBodyBytes);
    this.answersPerIp.takeOrThrow(r.ip, 'Second-factor answers from your address');
    const { account, method } = await this.deps.tickets.complete(body, this.context(r));
    await this.signIn(r, account, method);
  }

  private async passkeyOptions(r: RequestInfo): Promise<void> {
    this.deps.logins.admitAddress(r.ip);
    this.answer(r, await this.deps.tickets.passkeyOptions(this.relyingParty(r.req)));
  }

  private async passkeySignIn(r: RequestInfo): Promise<void> {
    const body = await readJson(r.req, passkeyAnswerBody, this.deps.config.maxBodyBytes);
    this.deps.logins.admitAddress(r.ip);
    await this.signIn(r, await this.deps.tickets.passkeySignIn(body), 'passkey');
  }

  /**
   * The one place this API signs someone in: through Sessions.signedIn like every sign-in (the 'login' entry of the
   * audit log, 'device.new', a new session), then its cookie and the answer of a plain login.
   */
  private async signIn(r: RequestInfo, account: Account, method: SignInMethod): Promise<void> {
    const token = await this.deps.sessions.signedIn(account, this.context(r), method);
    const cookie = serializeCookie(SESSION_COOKIE, token, { maxAgeSeconds: Math.floor(this.deps.config.sessionTtlMs / 1000), secure: this.deps.secureCookies });
    sendJson(r.res, 200, { handle: account.handle, displayName: account.displayName }, { 'Set-Cookie': [cookie] });
  }

  // --- Settings → Two-factor sign-in --------------------------------------------------------------------------------
  private async enrolTotp(r: RequestInfo): Promise<void> {
    const account = await this.owner(r);
    this.answer(r, await this.deps.secondFactor.enrolTotp(account, this.relyingParty(r.req).id));
  }

  private async confirmTotp(r: RequestInfo): Promise<void> {
    const account = await this.owner(r);
    const { code, password } = await this.read(r, totpConfirmBody);
    await this.checkPassword(r, account, password);
    this.answersPerIp.takeOrThrow(r.ip, 'Second-factor answers from your address');
    this.answer(r, await this.deps.secondFactor.confirmTotp(account, code, this.context(r)));
  }

  private async turnOffTotp(r: RequestInfo): Promise<void> {
    const account = await this.owner(r);
    const { password, ...proof } = await this.read(r, totpOffBody);
    await this.checkPassword(r, account, password);
    this.answersPerIp.takeOrThrow(r.ip, 'Second-factor answers from your address');
    this.answer(r, await this.deps.secondFactor.turnOffTotp(account, proof, this.context(r)));
  }

  private async regenerateRecoveryCodes(r: RequestInfo): Promise<void> {
    const account = await this.owner(r);
    const proof = await this.read(r, secondFactorProof);
    this.answersPerIp.takeOrThrow(r.ip, 'Second-factor answers from your address');
    this.answer(r, await this.deps.secondFactor.regenerateRecoveryCodes(account, proof, this.context(r)));
  }

  private async passkeyRegistrationOptions(r: RequestInfo): Promise<void> {
    const account = await this.owner(r);
    const { password } = await this.read(r, passwordBody);
    await this.checkPassword(r, account, password);
    this.answer(r, await this.deps.passkeys.registrationOptions(account, this.relyingParty(r.req)));
  }

  private async addPasskey(r: RequestInfo): Promise<void> {
    const account = await this.owner(r);
    const body = await this.read(r, addPasskeyBody);
    this.answer(r, await this.deps.secondFactor.addPasskey(account, body, this.context(r)));
  }

  private async renamePasskey(r: RequestInfo, id: string): Promise<void> {
    const account = await this.owner(r);
    const { name } = await this.read(r, renamePasskeyBody);
    this.answer(r, await this.deps.secondFactor.renamePasskey(account, id, name));
  }

  private async removePasskey(r: RequestInfo, id: string): Promise<void> {
    const account = await this.owner(r);
    this.answer(r, await this.deps.secondFactor.removePasskey(account, id, this.context(r)));
  }

  /** A challenge for one of the owner's passkeys, to confirm a Settings action with it (its id goes with the answer). */
  private async confirmationChallenge(r: RequestInfo): Promise<void> {
    const account = await this.owner(r);
    this.answersPerIp.takeOrThrow(r.ip, 'Second-factor answers from your address');
    if ((await this.deps.storage.listPasskeys(account.id)).length === 0) throw new KnockError('bad_request', 'You have no passkey: confirm with a code.');
    this.answer(r, await this.deps.passkeys.assertionOptions('passkey.confirm', account, this.relyingParty(r.req)));
  }

  // --- inside ------------------------------------------------------------------------------------------------------
  /** The person signed in at the console, for their own account. */
  private async owner(r: RequestInfo): Promise<Account> {
    const owner = await this.requesters.requireOwner(r.req, { console: 'A mail device cannot change two-factor sign-in: use the console.' });
    if (owner.operator) throw new KnockError('forbidden', 'Two-factor sign-in is your own account\u2019s: change it in your own console.');
    return owner.account;
  }

  /** The password again, under the console's login limits (a guess here is a guess at the login). */
  private async checkPassword(r: RequestInfo, account: Account, password: string): Promise<void> {
    await this.deps.logins.admit(account.handle, r.ip);
    await this.deps.auth.checkPassword(account.handle, password).catch((err: unknown) => {
      throw err instanceof KnockError && err.code === 'unauthorized' ? new KnockError('unauthorized', 'That is not your password.') : err;
    });
  }

  private read<S extends z.ZodType>(r: RequestInfo, schema: S): Promise<z.infer<S>> {
    return readJson(r.req, schema, this.deps.config.maxBodyBytes);
  }

  private relyingParty(req: IncomingMessage): RelyingParty {
    return relyingPartyOf(this.deps.config.publicUrl, req.headers.host);
  }

  private context(r: RequestInfo) {
    return auditContextOf(r.req, this.deps.config.trustProxy);
  }

  private answer(r: RequestInfo, answer: unknown): void {
    sendJson(r.res, 200, answer);
  }
}
