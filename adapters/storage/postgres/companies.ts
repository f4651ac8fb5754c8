/**
 * Live help for companies (engine/ports/storage.ts CompanyStorage, issue 19) in PostgreSQL, on the adapter's pool
 * (008_companies.sql): companies, operators, sites, operator invitations, page views. Every call is one statement,
 * so each is its own transaction: an upsert returns its row with the account's handle and name through a CTE, and
 * taking an invitation spends it and makes the operator in one statement (the row lock of the invitation makes a
 * second take wait, then find it spent).
 *
 * @example
 *   Object.assign(this, companyMethods(new PostgresCompanies(run)));
 */
import { KnockError } from '../../../engine/errors.ts';
import type {
  Account, Company, CompanyStorage, Operator, OperatorRole, OperatorStatus, PageView, Site,
} from '../../../engine/ports/storage.ts';
import {
  PURGE_BATCH, checkCapacity, checkOperator, checkOrigin, checkPageView, checkRole, checkStatus, companiesOfSelect, companyMappers,
  inviteConflict, noCompany, noCompanyOrAccount, operatorOrder, operatorSelect, operatorUpdate, pageViewColumns, pageViewConflict,
  raisedRole, siteColumns, toSite,
  type CompanyOfRow, type CompanyRow, type HistoryRow, type OperatorRow, type PageViewRow, type SiteRow,
} from '../companyRows.ts';
import { rowLimit } from '../common.ts';
import { SqlState, isViolation } from './databaseErrors.ts';
import type { RunStatement } from './inbox.ts';
import { decodeText, encodeText } from './queries.ts';

/**
 * A statement that writes an operator (`write`, an INSERT, after the CTEs `before` if any) and returns the new or
 * changed row with the account's handle and name, as one statement.
 */
function writingOperator(write: string, before = ''): string {
  return `WITH ${before}o AS (
      ${write}
      RETURNING company_id, account_id, role, status, capacity, added_at
    )
    ${operatorSelect('o', 'TRUE')}`;
}

export const companySql = {
  insertCompany: 'INSERT INTO companies (account_id, created_at) VALUES ($1, $2) ON CONFLICT (account_id) DO NOTHING',
  companyById: 'SELECT account_id, created_at FROM companies WHERE account_id = $1',
  // $1 company, $2 account, $3 role, $4 capacity, $5 at.
  upsertOperator: writingOperator(`INSERT INTO operators (company_id, account_id, role, capacity, added_at) VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT (company_id, account_id) DO UPDATE SET ${operatorUpdate}`),
  // $1 token hash, $2 account, $3 capacity of a new operator, $4 at. No row: unknown, spent or expired. If the
  // operator cannot be written (the account is gone), the statement fails and the invitation stays unspent.
  takeInvite: writingOperator(
    `INSERT INTO operators (company_id, account_id, role, capacity, added_at) SELECT company_id, $2, role, $3, $4 FROM invite
      ON CONFLICT (company_id, account_id) DO UPDATE SET ${raisedRole}`,
    `invite AS (
      UPDATE operator_invites SET used_at = $4 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $4
      RETURNING company_id, role
    ), `,
  ),
  removeOperator: 'DELETE FROM operators WHERE company_id = $1 AND account_id = $2',
  operatorsOf: `${operatorSelect('operators', 'o.company_id = $1')} ORDER BY ${operatorOrder}`,
  operator: operatorSelect('operators', 'o.company_id = $1 AND o.account_id = $2'),
  companiesOf: companiesOfSelect('$1'),
  setStatus: 'UPDATE operators SET status = $3 WHERE company_id = $1 AND account_id = $2',
  setCapacity: 'UPDATE operators SET capacity = $3 WHERE company_id = $1 AND account_id = $2',
  insertSite: 'INSERT INTO sites (company_id, origin, added_at) VALUES ($1, $2, $3) ON CONFLICT (company_id, origin) DO NOTHING',
  removeSite: 'DELETE FROM sites WHERE company_id = $1 AND origin = $2',
  sitesOf: `SELECT ${siteColumns} FROM sites WHERE company_id = $1 ORDER BY added_at, origin`,
  insertInvite: `INSERT INTO operator_invites (token_hash, company_id, role, created_by, expires_at, created_at)
    VALUES ($1, $2, $3, $4, $5, $6)`,
  insertPageView: `INSERT INTO page_views (${pageViewColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)`,
  endPageView: 'UPDATE page_views SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL',
  visitorHistory: 'SELECT COUNT(*) AS pages, MIN(started_at) AS first_seen_at FROM page_views WHERE company_id = $1 AND visitor_id = $2',
  pageViewsOf: `SELECT ${pageViewColumns} FROM page_views WHERE company_id = $1 AND visitor_id = $2 ORDER BY started_at DESC, id DESC LIMIT $3`,
  // A batch of the oldest (page_views_by_start), each deleted by its key.
  purgePageViews: `DELETE FROM page_views WHERE id IN (SELECT id FROM page_views WHERE started_at < $1 LIMIT ${PURGE_BATCH})`,
} as const;

/** Rows to records, BYTEA text decoded. */
const { toOperator, toPageView, toCompanyOf } = companyMappers(decodeText);

/** A foreign key of an operator's row: the company or the account is not there (or went meanwhile). */
const missingCompanyOrAccount = (err: unknown): KnockError | undefined =>
  isViolation(err, SqlState.foreignKeyViolation) ? noCompanyOrAccount() : undefined;

export class PostgresCompanies implements CompanyStorage {
  constructor(private readonly run: RunStatement) {}

  // -- companies ----------------------------------------------------------------------------------------------------

  async makeCompany(accountId: string, at: number): Promise<boolean> {
    const made = await this.run(companySql.insertCompany, [accountId, at], (err) =>
      isViolation(err, SqlState.foreignKeyViolation) ? new KnockError('not_found', 'There is no such account.') : undefined,
    );
    return (made.rowCount ?? 0) > 0;
  }

  async getCompany(accountId: string): Promise<Company | null> {
    const row = (await this.run<CompanyRow>(companySql.companyById, [accountId])).rows[0];
    return row ? { accountId: row.account_id, createdAt: row.created_at } : null;
  }

  // -- operators ----------------------------------------------------------------------------------------------------

  async addOperator(input: { companyId: string; accountId: string; role: OperatorRole; capacity: number; at: number }): Promise<Operator> {
    checkOperator(input);
    const written = await this.run<OperatorRow<Buffer>>(
      companySql.upsertOperator, [input.companyId, input.accountId, input.role, input.capacity, input.at], missingCompanyOrAccount,
    );
    const row = written.rows[0];
    if (!row) throw new KnockError('internal', 'The operator written is not stored.');
    return toOperator(row);
  }

  async removeOperator(companyId: string, accountId: string): Promise<boolean> {
    return ((await this.run(companySql.removeOperator, [companyId, accountId])).rowCount ?? 0) > 0;
  }

  async listOperators(companyId: string): Promise<Operator[]> {
    return (await this.run<OperatorRow<Buffer>>(companySql.operatorsOf, [companyId])).rows.map(toOperator);
  }

  async getOperator(companyId: string, accountId: string): Promise<Operator | null> {
    const row = (await this.run<OperatorRow<Buffer>>(companySql.operator, [companyId, accountId])).rows[0];
    return row ? toOperator(row) : null;
  }

  async companiesOf(accountId: string): Promise<Array<{ company: Account; role: OperatorRole }>> {
    return (await this.run<CompanyOfRow<Buffer>>(companySql.companiesOf, [accountId])).rows.map(toCompanyOf);
  }

  async setOperatorStatus(companyId: string, accountId: string, status: OperatorStatus): Promise<boolean> {
    checkStatus(status);
    return ((await this.run(companySql.setStatus, [companyId, accountId, status])).rowCount ?? 0) > 0;
  }

  async setOperatorCapacity(companyId: string, accountId: string, capacity: number): Promise<boolean> {
    checkCapacity(capacity);
    return ((await this.run(companySql.setCapacity, [companyId, accountId, capacity])).rowCount ?? 0) > 0;
  }

  // -- sites --------------------------------------------------------------------------------------------------------

  async addSite(companyId: string, origin: string, at: number): Promise<boolean> {
    checkOrigin(origin);
    const added = await this.run(companySql.insertSite, [companyId, origin, at], (err) =>
      isViolation(err, SqlState.foreignKeyViolation) ? noCompany() : undefined,
    );
    return (added.rowCount ?? 0) > 0;
  }

  async removeSite(companyId: string, origin: string): Promise<boolean> {
    return ((await this.run(companySql.removeSite, [companyId, origin])).rowCount ?? 0) > 0;
  }

  async listSites(companyId: string): Promise<Site[]> {
    return (await this.run<SiteRow>(companySql.sitesOf, [companyId])).rows.map(toSite);
  }

  // -- invitations --------------------------------------------------------------------------------------------------

  async createOperatorInvite(input: {
    tokenHash: string; companyId: string; role: OperatorRole; createdBy: string; expiresAt: number; at: number;
  }): Promise<void> {
    checkRole(input.role);
    await this.run(
      companySql.insertInvite,
      [input.tokenHash, input.companyId, input.role, input.createdBy, input.expiresAt, input.at],
      (err) => {
        if (isViolation(err, SqlState.foreignKeyViolation)) return noCompanyOrAccount();
        if (isViolation(err, SqlState.uniqueViolation, 'operator_invites_pkey')) return inviteConflict();
        return undefined;
      },
    );
  }

  async takeOperatorInvite(tokenHash: string, accountId: string, capacity: number, at: number): Promise<Operator | null> {
    checkCapacity(capacity);
    const taken = await this.run<OperatorRow<Buffer>>(companySql.takeInvite, [tokenHash, accountId, capacity, at], (err) => {
      // The invitation's company is the account itself (nothing else breaks this check): the statement is undone.
      if (isViolation(err, SqlState.checkViolation, 'operators_not_self_check')) {
        return new KnockError('bad_request', 'A company cannot be its own operator.');
      }
      return missingCompanyOrAccount(err);
    });
    const row = taken.rows[0];
    return row ? toOperator(row) : null;
  }

  // -- page views ---------------------------------------------------------------------------------------------------

  async recordPageView(view: Omit<PageView, 'endedAt'>): Promise<void> {
    checkPageView(view);
    await this.run(
      companySql.insertPageView,
      [view.id, view.companyId, view.visitorId, encodeText(view.url), encodeText(view.title), encodeText(view.referrer), view.startedAt],
      (err) => {
        if (isViolation(err, SqlState.foreignKeyViolation)) return noCompany();
        if (isViolation(err, SqlState.uniqueViolation, 'page_views_pkey')) return pageViewConflict();
        return undefined;
      },
    );
  }

  async endPageView(id: string, at: number): Promise<boolean> {
    return ((await this.run(companySql.endPageView, [id, at])).rowCount ?? 0) > 0;
  }

  async visitorHistory(companyId: string, visitorId: string): Promise<{ pages: number; firstSeenAt: number | null }> {
    const row = (await this.run<HistoryRow>(companySql.visitorHistory, [companyId, visitorId])).rows[0];
    return { pages: row?.pages ?? 0, firstSeenAt: row?.first_seen_at ?? null };
  }

  async pageViewsOf(companyId: string, visitorId: string, limit: number): Promise<PageView[]> {
    return (await this.run<PageViewRow<Buffer>>(companySql.pageViewsOf, [companyId, visitorId, rowLimit(limit)])).rows.map(toPageView);
  }

  /** Batch after batch (PURGE_BATCH), each its own statement and transaction. */
  async purgePageViews(before: number): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = (await this.run(companySql.purgePageViews, [before])).rowCount ?? 0;
      total += deleted;
      if (deleted < PURGE_BATCH) return total;
    }
  }
}
