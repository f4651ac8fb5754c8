/**
 * Settings → Company over HTTP (issue 19): a company's embed code, the sites allowed to embed it, its team, and each
 * operator's own status and capacity. Checks first, then does (CONVENTIONS 7); every change goes through the
 * Companies service (engine/companies.ts), as the CLI's do.
 *
 * Who may: the company's operators, at the console, acting for it (X-Knock-Account, engine/http/requesters.ts).
 * Reading is for every operator; changing the sites and the team is for its
 * admins; an operator sets their own status and capacity. Joining takes an invitation's token and a signed-in
 * person (their own session: the header is not looked at).
 *
 *   GET    /_/api/company                                    -> companyAnswer
 *   POST   /_/api/company/sites            addSiteBody       -> companyAnswer          (admins)
 *   DELETE /_/api/company/sites?origin=<origin>              -> companyAnswer          (admins)
 *   POST   /_/api/company/operators/invite { role? }         -> 201 operatorInviteAnswer (admins)
 *   DELETE /_/api/company/operators/<handle>                 -> companyAnswer          (admins)
 *   PUT    /_/api/company/me/status        { status }        -> companyAnswer          (operators)
 *   PUT    /_/api/company/me/capacity      { capacity }      -> companyAnswer          (operators)
 *   POST   /_/api/company/join             { token }         -> { handle, displayName, role } (a signed-in person)
 *   GET    /_/api/company/canned                             -> cannedAnswer           (operators)
 *   PUT    /_/api/company/canned/<shortcut> { text }         -> cannedAnswer           (admins)
 *   DELETE /_/api/company/canned/<shortcut>                  -> cannedAnswer           (admins)
 */
import { z } from 'zod';
import type { Hub } from '../hub.ts';
import type { Companies } from '../companies.ts';
import type { Auth } from '../auth.ts';
import { KnockError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { Account, Storage } from '../ports/storage.ts';
import {
  addSiteBody,
  cannedBody,
  cannedShortcutSchema,
  handleSchema,
  operatorCapacityBody,
  operatorStatusBody,
  siteOriginSchema,
  type CannedAnswer,
  type CompanyAnswer,
  type OperatorRecord,
  type operatorInviteAnswer,
} from '../protocol.ts';
import { KeyedRateLimiter } from '../rateLimit.ts';
import type { RateLimitConfig } from '../config.ts';
import type { RequestInfo } from './api.ts';
import { readJson, sendJson } from './io.ts';
import { runMatched, safeDecode, type Handler } from './routing.ts';
import { Requesters, type OwnerRequest } from './requesters.ts';

/** Every body of this API is a handful of fields: a few kilobytes is plenty, and all a stranger gets to send. */
const MAX_BODY_BYTES = 4 * 1024;
/** A canned response's body: its 2,000 characters (CANNED_TEXT_CHARS) escaped in JSON as \\uXXXX at worst, and the rest. */
const MAX_CANNED_BODY_BYTES = 16 * 1024;
const CONSOLE_ONLY = 'A mail device cannot change a company: use the console.';
const ADMIN_CHANGES = 'change its sites and its team';
const ADMIN_CANNED = 'change its canned responses';
/**
 * Invitations one company may make (each is a stored row and a link that makes an operator): plenty for a team, too
 * few to fill a table. A constant rather than a KNOCK_RATE_LIMITS entry: no server's operator has a reason to move it.
 */
const INVITES_PER_COMPANY: RateLimitConfig = { perWindow: 30, windowMs: 3600_000 };

const inviteBody = z.object({ role: z.enum(['admin', 'operator']).default('operator') });
const joinBody = z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, { message: 'token: This invitation link is not valid.' }) });

export interface CompanyApiDeps {
  storage: Storage;
  auth: Auth;
  companies: Companies;
  clock: Clock;
  /** The company's SiteRoom hears of team changes through it (routing, and whether anyone is available). */
  hub: Pick<Hub, 'publishOwner'>;
  /** Taking invitations, per address (a token is unguessable; this keeps guessing slow anyway): the logins' limit. */
  joinsPerIp: RateLimitConfig;
  /** KNOCK_PUBLIC_URL, if set: the address the embed code loads the widget from. */
  publicUrl: string | undefined;
  /** Without a public URL, the embed code names the host the admin reached the console at, over https when this is. */
  secure: boolean;
}

export class CompanyApi {
  private readonly requesters: Requesters;
  private readonly invitesPerCompany: KeyedRateLimiter;
  private readonly joinsPerIp: KeyedRateLimiter;

  constructor(private readonly deps: CompanyApiDeps) {
    this.requesters = new Requesters(deps);
    this.invitesPerCompany = new KeyedRateLimiter(INVITES_PER_COMPANY, deps.clock);
    this.joinsPerIp = new KeyedRateLimiter(deps.joinsPerIp, deps.clock);
  }

  /** Routes the API above; false when no route matches. Errors propagate to the server, which answers them. */
  route(r: RequestInfo, path: string): Promise<boolean> {
    return runMatched(this.match(r.req.method ?? 'GET', path, r));
  }

  private match(method: string, path: string, r: RequestInfo): Handler | null {
    let m: RegExpMatchArray | null;
    if (method === 'GET' && path === '/_/api/company') return () => this.show(r);
    if (method === 'POST' && path === '/_/api/company/sites') return () => this.addSite(r);
    if (method === 'DELETE' && path === '/_/api/company/sites') return () => this.removeSite(r);
    if (method === 'POST' && path === '/_/api/company/operators/invite') return () => this.invite(r);
    if (method === 'DELETE' && (m = path.match(/^\/_\/api\/company\/operators\/([^/]+)$/))) return () => this.removeOperator(r, m![1]!);
    if (method === 'PUT' && path === '/_/api/company/me/status') return () => this.setStatus(r);
    if (method === 'PUT' && path === '/_/api/company/me/capacity') return () => this.setCapacity(r);
    if (method === 'POST' && path === '/_/api/company/join') return () => this.join(r);
    if (method === 'GET' && path === '/_/api/company/canned') return () => this.listCanned(r);
    if (method === 'PUT' && (m = path.match(/^\/_\/api\/company\/canned\/([^/]+)$/))) return () => this.setCanned(r, m![1]!);
    if (method === 'DELETE' && (m = path.match(/^\/_\/api\/company\/canned\/([^/]+)$/))) return () => this.removeCanned(r, m![1]!);
    return null;
  }

  // --- reading --------------------------------------------------------------------------------------------------------
  private async show(r: RequestInfo): Promise<void> {
    const { account } = await this.companyOf(r, 'read');
    await this.answer(r, account);
  }

  private async answer(r: RequestInfo, company: Account, status = 200): Promise<void> {
    const [operators, sites] = await Promise.all([this.deps.storage.listOperators(company.id), this.deps.storage.listSites(company.id)]);
    const answer: CompanyAnswer = {
      operators: operators.map(
        (o): OperatorRecord => ({ handle: o.handle, displayName: o.displayName, role: o.role, status: o.status, capacity: o.capacity }),
      ),
      sites: sites.map((s) => s.origin),
      snippet: `<script src="${this.baseUrl(r)}/_/widget.js" data-knock="${company.handle}" async></script>`,
    };
    sendJson(r.res, status, answer);
  }

  /**
   * Where visitors' browsers load the widget from: the public URL, else the host this request came to (the console's
   * own address, which the admin reached, so the sites' visitors can too). A Host that is no host name is not echoed.
   */
  private baseUrl(r: RequestInfo): string {
    if (this.deps.publicUrl !== undefined) return this.deps.publicUrl.replace(/\/$/, '');
    const host = r.req.headers.host ?? '';
    return /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host) ? `${this.deps.secure ? 'https' : 'http'}://${host}` : '';
  }

  // --- the sites ------------------------------------------------------------------------------------------------------
  private async addSite(r: RequestInfo): Promise<void> {
    const { account } = await this.companyOf(r, 'admin');
    const { origin } = await readJson(r.req, addSiteBody, MAX_BODY_BYTES);
    await this.deps.companies.addSite(account.handle, origin);
    await this.answer(r, account);
  }

  private async removeSite(r: RequestInfo): Promise<void> {
    const { account } = await this.companyOf(r, 'admin');
    const parsed = siteOriginSchema.safeParse(r.url.searchParams.get('origin') ?? '');
    if (!parsed.success) throw new KnockError('bad_request', `origin: ${parsed.error.issues[0]?.message ?? 'not an origin'}`);
    if (!(await this.deps.companies.removeSite(account.handle, parsed.data))) throw new KnockError('not_found', `${parsed.data} is not one of the allowed sites.`);
    await this.answer(r, account);
  }

  // --- the team -------------------------------------------------------------------------------------------------------
  private async invite(r: RequestInfo): Promise<void> {
    const owner = await this.companyOf(r, 'admin');
    const { role } = await readJson(r.req, inviteBody, MAX_BODY_BYTES);
    this.invitesPerCompany.takeOrThrow(owner.account.id, 'Invitations from this company');
    const { token, expiresAt } = await this.deps.companies.invite(owner.account.handle, (owner.operator?.account ?? owner.account).id, role);
    const answer: z.infer<typeof operatorInviteAnswer> = { link: `/_/join/${token}`, expiresAt };
    sendJson(r.res, 201, answer);
  }

  private async removeOperator(r: RequestInfo, handleParam: string): Promise<void> {
    const { account } = await this.companyOf(r, 'admin');
    const handle = handleSchema.safeParse(safeDecode(handleParam));
    if (!handle.success || !(await this.deps.companies.removeOperator(account.handle, handle.data))) {
      throw new KnockError('not_found', `/${handleParam.slice(0, 64)} is not in this company's team.`);
    }
    this.deps.hub.publishOwner(account.handle, { type: 'team' });
    await this.answer(r, account);
  }

  /** A signed-in person takes an invitation and joins the team (their own session: no acting for anyone here). */
  private async join(r: RequestInfo): Promise<void> {
    const person = await this.requesters.person(r.req);
    if (!person) throw new KnockError('unauthorized', 'Log in with your own account first, then open the invitation again.');
    this.joinsPerIp.takeOrThrow(r.ip, 'Invitations taken from your address');
    const { token } = await readJson(r.req, joinBody, MAX_BODY_BYTES);
    const operator = await this.deps.companies.acceptInvite(token, person.id);
    const company = operator ? await this.deps.storage.getAccountById(operator.companyId) : null;
    if (!operator || !company) throw new KnockError('not_found', 'This invitation link is not valid (any more): ask the company\u2019s admin for a new one.');
    this.deps.hub.publishOwner(company.handle, { type: 'team' });
    sendJson(r.res, 200, { handle: company.handle, displayName: company.displayName, role: operator.role });
  }

  // --- canned responses ----------------------------------------------------------------------------------------------
  private async listCanned(r: RequestInfo): Promise<void> {
    const { account } = await this.companyOf(r, 'read');
    await this.answerCanned(r, account);
  }

  private async setCanned(r: RequestInfo, shortcutParam: string): Promise<void> {
    const { account } = await this.companyOf(r, 'admin', ADMIN_CANNED);
    const shortcut = this.shortcutOf(shortcutParam);
    const { text } = await readJson(r.req, cannedBody, MAX_CANNED_BODY_BYTES);
    await this.deps.companies.setCanned(account.handle, shortcut, text);
    await this.answerCanned(r, account);
  }

  private async removeCanned(r: RequestInfo, shortcutParam: string): Promise<void> {
    const { account } = await this.companyOf(r, 'admin', ADMIN_CANNED);
    const shortcut = this.shortcutOf(shortcutParam);
    if (!(await this.deps.companies.removeCanned(account.handle, shortcut))) throw new KnockError('not_found', `There is no canned response /${shortcut}.`);
    await this.answerCanned(r, account);
  }

  private shortcutOf(param: string): string {
    const parsed = cannedShortcutSchema.safeParse(safeDecode(param));
    if (!parsed.success) throw new KnockError('bad_request', parsed.error.issues[0]?.message ?? 'This is not a shortcut.');
    return parsed.data;
  }

  private async answerCanned(r: RequestInfo, company: Account): Promise<void> {
    const responses = await this.deps.storage.listCannedResponses(company.id);
    const answer: CannedAnswer = { responses: responses.map((c) => ({ shortcut: c.shortcut, text: c.text })) };
    sendJson(r.res, 200, answer);
  }

  // --- the operator's own ---------------------------------------------------------------------------------------------
  // Companies (engine/companies.ts) has no call for these: an operator's own status and capacity need no checks
  // beyond the body's (they touch nobody else's row), so storage is asked directly.
  private async setStatus(r: RequestInfo): Promise<void> {
    const { account, operator } = await this.operatorOf(r);
    const { status } = await readJson(r.req, operatorStatusBody, MAX_BODY_BYTES);
    await this.deps.storage.setOperatorStatus(account.id, operator.id, status);
    this.deps.hub.publishOwner(account.handle, { type: 'team' });
    await this.answer(r, account);
  }

  private async setCapacity(r: RequestInfo): Promise<void> {
    const { account, operator } = await this.operatorOf(r);
    const { capacity } = await readJson(r.req, operatorCapacityBody, MAX_BODY_BYTES);
    await this.deps.storage.setOperatorCapacity(account.id, operator.id, capacity);
    this.deps.hub.publishOwner(account.handle, { type: 'team' });
    await this.answer(r, account);
  }

  // --- who is asking --------------------------------------------------------------------------------------------------
  /** The company the request acts for, by an operator (`admin`: one of its admins) or the company's own account. */
  private async companyOf(r: RequestInfo, need: 'read' | 'admin', change = ADMIN_CHANGES): Promise<OwnerRequest> {
    const owner = await this.requesters.requireOwner(r.req, { console: CONSOLE_ONLY, ...(need === 'admin' ? { admin: change } : {}) });
    if (!(await this.deps.storage.getCompany(owner.account.id))) throw new KnockError('not_found', `/${owner.account.handle} is not a company.`);
    return owner;
  }

  /** A company's operator acting for it: their own status and capacity are theirs to set. */
  private async operatorOf(r: RequestInfo): Promise<{ account: Account; operator: Account }> {
    const owner = await this.companyOf(r, 'read');
    if (!owner.operator) throw new KnockError('bad_request', 'Only operators have a status and a capacity: open the company as one of them.');
    return { account: owner.account, operator: owner.operator.account };
  }
}
