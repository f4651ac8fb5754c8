/**
 * The JSON API under /_/api/: profile of an IM URL, knocking (starting a conversation), sign-up, log in, log out.
 * Each handler checks (input, origin, rate limits, rights) before it does anything (CONVENTIONS 7).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Accounts } from '../accounts.ts';
import { siteListed } from '../companies.ts';
import { newSecret, secretHash, type Auth } from '../auth.ts';
import type { KnockConfig } from '../config.ts';
import { SESSION_COOKIE, parseCookies, serializeCookie, visitorCookieName } from '../cookies.ts';
import { KnockError } from '../errors.ts';
import type { ConversationLog } from '../conversationLog.ts';
import type { Hub } from '../hub.ts';
import { systemTimers, type Clock, type Timers } from '../ports/clock.ts';
import type { Account, StartedOn, Storage } from '../ports/storage.ts';
import { actsFor, standingFor, type Standing } from '../actingFor.ts';
import { KeyedRateLimiter } from '../rateLimit.ts';
import { LoginThrottle } from '../loginThrottle.ts';
import {
  handleSchema,
  knockBody,
  loginBody,
  resumeBody,
  signupBody,
  type KnockAnswer,
  type PageRef,
  type ProfileAnswer,
  type SecondFactorLogin,
  type VisitorConversation,
} from '../protocol.ts';
import { readJson, sendJson } from './io.ts';
import { auditContextOf, type AuditLog } from '../auditLog.ts';
import { runMatched, safeDecode } from './routing.ts';
import type { Sessions } from '../sessions.ts';
import type { VisitorBlocks } from '../visitorBlocks.ts';

const YEAR_S = 365 * 24 * 3600;

export interface ApiDeps {
  storage: Storage;
  auth: Auth;
  accounts: Accounts;
  /** Sign-ins, their failures and logouts go in the account's audit log (issue 22). */
  audit: AuditLog;
  /** What a successful sign-in does (records it, opens the session), and closing the sockets of a logout (issue 22). */
  sessions: Pick<Sessions, 'signedIn' | 'announceEnded'>;
  hub: Hub;
  /** A knock opens a conversation: its owner's console hears of it through the log, like of every change. */
  conversationLog: Pick<ConversationLog, 'publishSummary'>;
  clock: Clock;
  /** For the logins' slow-down; the system's when absent. */
  timers?: Timers;
  /** The login limits, shared with the mail devices' login (engine/http/mailApi.ts); made here when absent. */
  logins?: LoginThrottle;
  config: KnockConfig;
  secureCookies: boolean;
  /** Issue 22: a blocked visitor's knock is refused; where each visitor knocks from is recorded (as a keyed hash). */
  blocks: Pick<VisitorBlocks, 'checkVisitor' | 'isBlocked' | 'seen'>;
  /**
   * After a right password: the second step due (engine/http/secondFactorApi.ts `due`), or null when the account has
   * no second factor. Absent: no account has one.
   */
  secondFactorDue?: (account: Account, req: IncomingMessage) => Promise<SecondFactorLogin | null>;
}

export interface RequestInfo {
  req: IncomingMessage;
  res: ServerResponse;
  /** The client as per-address limits count it (engine/http/clientAddress.ts clientKeyOf: its IPv4, or its IPv6 /64). */
  ip: string;
  url: URL;
}

export class Api {
  private readonly knocksPerIp: KeyedRateLimiter;
  private readonly knocksPerTarget: KeyedRateLimiter;
  private readonly logins: LoginThrottle;
  private readonly signupsPerIp: KeyedRateLimiter;

  constructor(private readonly deps: ApiDeps) {
    const { rateLimits } = deps.config;
    this.knocksPerIp = new KeyedRateLimiter(rateLimits.knocksPerIp, deps.clock);
    this.knocksPerTarget = new KeyedRateLimiter(rateLimits.knocksPerTarget, deps.clock);
    this.logins = deps.logins ?? new LoginThrottle(rateLimits, deps.clock, deps.timers ?? systemTimers);
    this.signupsPerIp = new KeyedRateLimiter(rateLimits.signupsPerIp, deps.clock);
  }

  /** Routes /_/api/*; returns false when no route matches. Errors propagate to the server, which answers them. */
  route(r: RequestInfo, path: string): Promise<boolean> {
    return runMatched(this.match(r.req.method ?? 'GET', path, r));
  }

  private match(method: string, path: string, r: RequestInfo): (() => Promise<void> | void) | null {
    let m: RegExpMatchArray | null;
    if (method === 'GET' && (m = path.match(/^\/_\/api\/profile\/([^/]+)$/))) return () => this.profile(r, safeDecode(m![1]!));
    if (method === 'POST' && (m = path.match(/^\/_\/api\/u\/([^/]+)\/knock$/))) return () => this.knock(r, safeDecode(m![1]!));
    if (method === 'POST' && (m = path.match(/^\/_\/api\/u\/([^/]+)\/resume$/))) return () => this.resume(r, safeDecode(m![1]!));
    if (method === 'POST' && path === '/_/api/login') return () => this.login(r);
    if (method === 'POST' && path === '/_/api/logout') return () => this.logout(r);
    if (method === 'GET' && path === '/_/api/signup') return () => sendJson(r.res, 200, { open: this.deps.config.signupOpen });
    if (method === 'POST' && path === '/_/api/signup') return () => this.signup(r);
    if (method === 'GET' && path === '/_/api/me') return () => this.me(r);
    return null;
  }

  /**
   * A GET: it reads, and never moves the browser into another conversation. (It once set the visitor cookie to the
   * `?resume=` token, so one click on an attacker's link put the victim in a conversation the attacker reads.)
   */
  private async profile(r: RequestInfo, handle: string): Promise<void> {
    const account = await this.accountAt(handle);
    const viewer = await this.viewer(r.req);
    const resume = r.url.searchParams.get('resume');
    const cookieToken = parseCookies(r.req.headers.cookie).get(visitorCookieName(account.handle));
    const conversation = cookieToken ? await this.visitorConversation(account, cookieToken) : null;
    const linked = !resume ? null : resume === cookieToken ? conversation : await this.visitorConversation(account, resume);
    // A cookie naming no conversation (removed, or garbage) is dropped: that loses nothing and adopts nothing. But the
    // cookie of a blocked visitor whose conversation was deleted stays: it is what keeps them refused (issue 22).
    const dropCookie = !conversation && cookieToken !== undefined && !(await this.isBlockedToken(account, cookieToken));
    const headers: Record<string, string[]> = { 'Set-Cookie': dropCookie ? [this.visitorCookie(account.handle, '', 0)] : [] };
    const standing = viewer ? await standingFor(this.deps.storage, viewer.id, account.id) : null;
    const answer: ProfileAnswer = {
      handle: account.handle,
      displayName: account.displayName,
      online: await this.deps.hub.isOnline(account.handle),
      viewer: viewer ? { handle: viewer.handle, displayName: viewer.displayName } : null,
      // A company's operators get its console at its URL (their API calls then name it: ACTING_ACCOUNT_HEADER).
      isOwner: standing !== null,
      conversation,
      linked,
      uploads: { maxFileBytes: this.deps.config.maxUploadBytes, maxFilesPerMessage: this.deps.config.maxFilesPerMessage },
      ...(await this.companyPart(account, standing)),
    };
    sendJson(r.res, 200, answer, headers);
  }

  /**
   * Issue 19: at a company's URL, the viewer's role in its team (null for everyone else); at the owner's own URL,
   * the companies they work for (their console links to them).
   */
  private async companyPart(account: Account, standing: Standing | null): Promise<Pick<ProfileAnswer, 'company' | 'companies'>> {
    const { storage } = this.deps;
    const [company, companies] = await Promise.all([
      storage.getCompany(account.id),
      standing?.kind === 'self' ? storage.companiesOf(account.id) : Promise.resolve([]),
    ]);
    return {
      // Absent on a person's URL (as from servers before companies).
      ...(company ? { company: { role: standing?.kind === 'operator' ? standing.role : null } } : {}),
      ...(standing?.kind === 'self' ? { companies: companies.map(({ company: c, role }) => ({ handle: c.handle, displayName: c.displayName, role })) } : {}),
    };
  }

  private async knock(r: RequestInfo, handle: string): Promise<void> {
    const body = await readJson(r.req, knockBody, this.deps.config.maxBodyBytes);
    const account = await this.accountAt(handle);
    const viewer = await this.viewer(r.req);
    if (viewer && (await actsFor(this.deps.storage, viewer.id, account.id))) throw new KnockError('bad_request', 'This is your own URL: your visitors knock here.');
    const cookieToken = parseCookies(r.req.headers.cookie).get(visitorCookieName(account.handle));
    // A blocked visitor is refused, by their cookie or, with a fresh one, by their address (engine/visitorBlocks.ts).
    await this.deps.blocks.checkVisitor(account, { ...(cookieToken ? { tokenHash: secretHash(cookieToken) } : {}), addressKey: r.ip });
    const existing = cookieToken ? await this.visitorConversation(account, cookieToken) : null;
    if (existing) {
      await this.deps.blocks.seen(existing.id, r.ip);
      // Knocking twice (two tabs, a double click) continues the same conversation.
      return sendJson(r.res, 200, { conversationId: existing.id, token: existing.token, resumePath: existing.resumePath } satisfies KnockAnswer);
    }
    this.knocksPerIp.takeOrThrow(r.ip, 'New conversations from your address');
    this.knocksPerTarget.takeOrThrow(account.handle, `New conversations with /${account.handle}`);
    const token = newSecret();
    const isCompany = (await this.deps.storage.getCompany(account.id)) !== null;
    const { conversation } = await this.deps.storage.createConversation({
      ownerAccountId: account.id,
      tokenHash: secretHash(token),
      visitorName: body.name ?? '',
      visitorEmail: body.email ?? null,
      startedOn: isCompany && body.startedOn ? await this.startedOnSite(account, body.startedOn) : null,
      at: this.deps.clock.now(),
    });
    // A company's chat waits in its queue from the start, even while no room of the company runs to route it
    // (rooms/site/chatRouter.ts routes it as soon as one does).
    if (isCompany) await this.deps.storage.queueChat(conversation.id, account.id, this.deps.clock.now());
    await this.deps.blocks.seen(conversation.id, r.ip);
    await this.deps.conversationLog.publishSummary(conversation.id);
    const answer: KnockAnswer = { conversationId: conversation.id, token, resumePath: resumePath(account.handle, token) };
    sendJson(r.res, 201, answer, { 'Set-Cookie': [this.visitorCookie(account.handle, token)] });
  }

  /**
   * The visitor chose (on the page of a resume link) to continue that conversation in this browser: its token becomes
   * the visitor cookie, replacing whatever conversation the browser held with this owner. Only by this POST, which the
   * Origin check (server.ts) and JSON-only bodies keep other sites from making.
   */
  private async resume(r: RequestInfo, handle: string): Promise<void> {
    const body = await readJson(r.req, resumeBody, this.deps.config.maxBodyBytes);
    const account = await this.accountAt(handle);
    const viewer = await this.viewer(r.req);
    if (viewer && (await actsFor(this.deps.storage, viewer.id, account.id))) {
      throw new KnockError('bad_request', 'This is your own URL: your conversations are in your console.');
    }
    const conversation = await this.visitorConversation(account, body.token);
    if (!conversation) throw new KnockError('not_found', 'This conversation link is not valid (any more).');
    sendJson(r.res, 200, conversation satisfies VisitorConversation, { 'Set-Cookie': [this.visitorCookie(account.handle, body.token)] });
  }

  private async login(r: RequestInfo): Promise<void> {
    const body = await readJson(r.req, loginBody, this.deps.config.maxBodyBytes);
    await this.logins.admit(body.handle, r.ip);
    const context = auditContextOf(r.req, this.deps.config.trustProxy);
    const account = await this.deps.auth.checkPassword(body.handle, body.password).catch(async (err: unknown) => {
      // A wrong password for a real account is the owner's to see; an unknown handle has nobody to tell.
      const target = err instanceof KnockError && err.code === 'unauthorized' ? await this.deps.storage.getAccountByHandle(body.handle) : null;
      if (target) await this.deps.audit.record(target.id, 'login.failed', context);
      throw err;
    });
    // Issue 22: with a second factor the password opens no session; the answer is the ticket of the second step.
    const secondFactor = await this.deps.secondFactorDue?.(account, r.req);
    if (secondFactor) return sendJson(r.res, 200, { secondFactor });
    // Recorded ('login', 'device.new') and opened in one place, which the second step calls too (engine/sessions.ts).
    const token = await this.deps.sessions.signedIn(account, context, 'password');
    sendJson(r.res, 200, { handle: account.handle, displayName: account.displayName }, { 'Set-Cookie': [this.sessionCookie(token)] });
  }

  private async logout(r: RequestInfo): Promise<void> {
    const token = parseCookies(r.req.headers.cookie).get(SESSION_COOKIE);
    if (token) {
      const account = await this.deps.auth.accountOf(token);
      await this.deps.auth.logout(token);
      if (account) await this.deps.audit.record(account.id, 'logout', auditContextOf(r.req, this.deps.config.trustProxy));
      if (account) await this.deps.sessions.announceEnded(account, [secretHash(token)]);
    }
    // The browser's HTTP cache goes too: files downloaded in the console are cached privately for a day. Not
    // "storage" or "cookies": those would end the browser's push subscription (its service worker registration) and
    // its conversations with other owners as a visitor (their cookies and unsent messages). The page clears the
    // owner's own part of its storage and the service worker's copies itself (client/src/sdk/ownerTraces.ts).
    sendJson(r.res, 200, { ok: true }, { 'Set-Cookie': [this.sessionCookie('', 0)], 'Clear-Site-Data': '"cache"' });
  }

  private async signup(r: RequestInfo): Promise<void> {
    if (!this.deps.config.signupOpen) throw new KnockError('signup_closed', 'Sign-up is closed on this server. Ask its operator for an account.');
    const body = await readJson(r.req, signupBody, this.deps.config.maxBodyBytes);
    this.signupsPerIp.takeOrThrow(r.ip, 'Sign-ups from your address');
    const account = await this.deps.accounts.add(body.handle, body.displayName, body.password);
    const token = await this.deps.sessions.signedIn(account, auditContextOf(r.req, this.deps.config.trustProxy), 'signup');
    sendJson(r.res, 201, { handle: account.handle, displayName: account.displayName }, { 'Set-Cookie': [this.sessionCookie(token)] });
  }

  private async me(r: RequestInfo): Promise<void> {
    const viewer = await this.viewer(r.req);
    sendJson(r.res, 200, { account: viewer ? { handle: viewer.handle, displayName: viewer.displayName } : null });
  }

  /**
   * The page a widget's chat was opened on, kept when the knock is on a company whose sites include the page's origin.
   * Anything else is dropped, not refused: the chat matters more than where it started, and the page may be any.
   */
  /** The page a company's chat started on, kept only when it is one of the company's sites. */
  private async startedOnSite(company: Account, page: PageRef): Promise<StartedOn | null> {
    return (await siteListed(this.deps.storage, company.id, new URL(page.url).origin)) ? { url: page.url, title: page.title } : null;
  }

  // --- helpers of this API ------------------------------------------------------------------------------------------
  /** The account at `/<handle>`, or at a phone URL `/+15551234567` (issue 20: the number's account; E.164 only). */
  private async accountAt(handle: string): Promise<Account> {
    const account = handle.startsWith('+') ? await this.accountAtNumber(handle) : await this.accountAtHandle(handle);
    if (!account) throw new KnockError('not_found', `There is nobody at /${handle.slice(0, 64)}.`);
    return account;
  }

  private async accountAtHandle(handle: string): Promise<Account | null> {
    const valid = handleSchema.safeParse(handle);
    return valid.success ? this.deps.storage.getAccountByHandle(valid.data) : null;
  }

  private async accountAtNumber(number: string): Promise<Account | null> {
    const claimed = /^\+[1-9][0-9]{7,14}$/.test(number) ? await this.deps.storage.getPhoneNumber(number) : null;
    return claimed ? this.deps.storage.getAccountById(claimed.accountId) : null;
  }

  /** Whether a visitor cookie's token is one a block of the account holds (its conversation may be gone). */
  private async isBlockedToken(account: Account, token: string): Promise<boolean> {
    return token.length >= 16 && token.length <= 128 && (await this.deps.blocks.isBlocked(account.id, { tokenHash: secretHash(token) }));
  }

  private viewer(req: IncomingMessage): Promise<Account | null> {
    return this.deps.auth.accountOf(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
  }

  private async visitorConversation(account: Account, token: string): Promise<VisitorConversation | null> {
    if (token.length < 16 || token.length > 128) return null;
    const conversation = await this.deps.storage.getConversationByTokenHash(secretHash(token));
    if (!conversation || conversation.ownerAccountId !== account.id) return null;
    const visitor = (await this.deps.storage.getParticipants(conversation.id)).find((p) => p.role === 'visitor');
    return { id: conversation.id, token, resumePath: resumePath(account.handle, token), visitorName: visitor?.name ?? '' };
  }

  private sessionCookie(token: string, maxAgeSeconds = Math.floor(this.deps.config.sessionTtlMs / 1000)): string {
    return serializeCookie(SESSION_COOKIE, token, { maxAgeSeconds, secure: this.deps.secureCookies });
  }

  private visitorCookie(handle: string, token: string, maxAgeSeconds = YEAR_S): string {
    return serializeCookie(visitorCookieName(handle), token, { maxAgeSeconds, secure: this.deps.secureCookies });
  }
}

export function resumePath(handle: string, token: string): string {
  return `/${handle}/c/${token}`;
}
