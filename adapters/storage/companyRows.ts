/**
 * Live help for companies (issue 19) as both SQL adapters store it (008_companies.sql): the rows of companies,
 * operators, sites and page views, their records, the checks on what a caller passes in, and the statements both run
 * word for word but for their placeholders. Like rows.ts, generic in how a column of text arrives (`T`: a string in
 * SQLite, a Buffer of UTF-8 in PostgreSQL).
 *
 * @example
 *   const { toOperator, toPageView } = companyMappers(decodeText);
 *   checkOperator(input); // bad_request before any statement runs
 */
import { KnockError } from '../../engine/errors.ts';
import type { Account, Operator, OperatorRole, OperatorStatus, PageView, Site } from '../../engine/ports/storage.ts';
import { siteOriginSchema } from '../../engine/protocol.ts';
import { assertWellFormed } from './common.ts';
import { rowMappers, type AccountRow } from './rows.ts';

export interface CompanyRow {
  account_id: string;
  created_at: number;
}

export interface OperatorRow<T> {
  company_id: string;
  account_id: string;
  handle: string;
  display_name: T;
  role: string;
  status: string;
  capacity: number;
  added_at: number;
}

export interface SiteRow {
  company_id: string;
  origin: string;
  added_at: number;
}

export interface PageViewRow<T> {
  id: string;
  company_id: string;
  visitor_id: string;
  url: T;
  title: T;
  referrer: T;
  started_at: number;
  ended_at: number | null;
}

/** A company an account works for (companiesOf): the company's account row and the account's role. */
export type CompanyOfRow<T> = AccountRow<T> & { role: string };

/** `visitorHistory`'s row; COUNT arrives as a number in both adapters (PostgreSQL's BIGINT parser). */
export interface HistoryRow {
  pages: number;
  first_seen_at: number | null;
}

/**
 * An operator's row as every read returns it, with the operator's own handle and display name (joined in). `source`
 * is the operators table or a CTE of its rows (an upsert's RETURNING, in PostgreSQL), aliased `o`.
 */
export function operatorSelect(source: string, where: string): string {
  return `SELECT o.company_id, o.account_id, a.handle, a.display_name, o.role, o.status, o.capacity, o.added_at
    FROM ${source} o JOIN accounts a ON a.id = o.account_id
    WHERE ${where}`;
}

/** Oldest first (the port's order); the handle only breaks a tie of the same millisecond. */
export const operatorOrder = 'o.added_at, a.handle';

/** The companies an account works for, by the company's handle. */
export function companiesOfSelect(accountParam: string): string {
  return `SELECT a.id, a.handle, a.display_name, a.password_hash, a.created_at, o.role
    FROM operators o JOIN accounts a ON a.id = o.company_id
    WHERE o.account_id = ${accountParam}
    ORDER BY a.handle`;
}

export const siteColumns = 'company_id, origin, added_at';
export const pageViewColumns = 'id, company_id, visitor_id, url, title, referrer, started_at, ended_at';

/**
 * What an upsert of an operator sets when the operator is there already (addOperator): the role and capacity given;
 * status and added_at stay. `excluded` reads the same in both databases.
 */
export const operatorUpdate = 'role = excluded.role, capacity = excluded.capacity';

/**
 * What taking an invitation sets when the account is an operator already: the role is raised to the invitation's
 * (an operator invited as admin becomes one; an admin invited as operator stays admin); capacity and status stay.
 */
export const raisedRole = "role = CASE WHEN excluded.role = 'admin' THEN 'admin' ELSE operators.role END";

/**
 * Page views deleted per statement by purgePageViews: a retention run may have millions to delete, and one statement
 * for all would hold SQLite's write lock (or a PostgreSQL transaction's row locks) for as long; between batches,
 * page views of visitors on the sites go on being written.
 */
export const PURGE_BATCH = 5000;

const roles: readonly OperatorRole[] = ['admin', 'operator'];
const statuses: readonly OperatorStatus[] = ['online', 'away'];

/** The CHECK constraints guarantee this; the check keeps the type honest without a cast. */
function asRole(value: string): OperatorRole {
  const role = roles.find((r) => r === value);
  if (role === undefined) throw new Error(`Unknown operator role in the database: ${value}`);
  return role;
}

function asStatus(value: string): OperatorStatus {
  const status = statuses.find((s) => s === value);
  if (status === undefined) throw new Error(`Unknown operator status in the database: ${value}`);
  return status;
}

export function toSite(r: SiteRow): Site {
  return { companyId: r.company_id, origin: r.origin, addedAt: r.added_at };
}

export interface CompanyMappers<T> {
  toOperator(r: OperatorRow<T>): Operator;
  toPageView(r: PageViewRow<T>): PageView;
  toCompanyOf(r: CompanyOfRow<T>): { company: Account; role: OperatorRole };
}

/** The row-to-record mappers of an adapter whose text columns arrive as `T` (see rows.ts rowMappers). */
export function companyMappers<T>(decodeText: (stored: T) => string): CompanyMappers<T> {
  const { toAccount } = rowMappers(decodeText);
  return {
    toOperator: (r) => ({
      companyId: r.company_id, accountId: r.account_id, handle: r.handle, displayName: decodeText(r.display_name), role: asRole(r.role),
      status: asStatus(r.status), capacity: r.capacity, addedAt: r.added_at,
    }),
    toPageView: (r) => ({
      id: r.id, companyId: r.company_id, visitorId: r.visitor_id, url: decodeText(r.url), title: decodeText(r.title),
      referrer: decodeText(r.referrer), startedAt: r.started_at, endedAt: r.ended_at,
    }),
    toCompanyOf: (r) => ({ company: toAccount(r), role: asRole(r.role) }),
  };
}

// -- checks (bad_request before any statement runs) ----------------------------------------------------------------

export function checkRole(role: OperatorRole): void {
  if (!roles.includes(role)) throw new KnockError('bad_request', 'An operator\u2019s role is admin or operator.');
}

export function checkStatus(status: OperatorStatus): void {
  if (!statuses.includes(status)) throw new KnockError('bad_request', 'An operator\u2019s status is online or away.');
}

export function checkCapacity(capacity: number): void {
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new KnockError('bad_request', 'An operator\u2019s capacity is a whole number of chats, 1 or more.');
  }
}

/** An operator as addOperator and takeOperatorInvite take it: a known role, a capacity, and not the company itself. */
export function checkOperator(input: { companyId: string; accountId: string; role: OperatorRole; capacity: number }): void {
  checkRole(input.role);
  checkCapacity(input.capacity);
  checkNotSelf(input.companyId, input.accountId);
}

export function checkNotSelf(companyId: string, accountId: string): void {
  if (companyId === accountId) throw new KnockError('bad_request', 'A company cannot be its own operator.');
}

/**
 * Only an origin (scheme, host, port: protocol.ts siteOriginSchema) is stored: the list is written into the
 * Content-Security-Policy header of the widget's frames, where anything else could add a directive.
 */
export function checkOrigin(origin: string): void {
  const parsed = siteOriginSchema.safeParse(origin);
  if (!parsed.success) throw new KnockError('bad_request', parsed.error.issues[0]?.message ?? 'This is not a site origin.');
}

export function checkPageView(view: Omit<PageView, 'endedAt'>): void {
  assertWellFormed(view.url, 'The page address');
  assertWellFormed(view.title, 'The page title');
  assertWellFormed(view.referrer, 'The referrer');
  assertWellFormed(view.visitorId, 'The visitor id');
}

export const noCompany = (): KnockError => new KnockError('not_found', 'There is no such company.');
export const noCompanyOrAccount = (): KnockError => new KnockError('not_found', 'There is no such company or account.');
export const pageViewConflict = (): KnockError => new KnockError('conflict', 'This page view id is already in use.');
export const inviteConflict = (): KnockError => new KnockError('conflict', 'This invitation token is already in use.');
