/**
 * Live help for companies (engine/ports/storage.ts CompanyStorage, issue 19) in SQLite, on SqliteStorage's connection
 * (008_companies.sql): companies, operators, sites, operator invitations, page views. A change that reads before it
 * writes runs in a BEGIN IMMEDIATE transaction, which holds the database's one write lock (across processes too).
 * Page views are written without waiting for their fsync (commitUnsynced): they come often, and a crash may lose the
 * last few of them, never anything else (the next synced commit makes them durable too).
 *
 * @example
 *   Object.assign(this, companyMethods(new SqliteCompanies(db, (write) => this.commitUnsynced(write))));
 */
import type Database from 'better-sqlite3';
import { KnockError } from '../../../engine/errors.ts';
import type {
  Account, Company, CompanyStorage, Operator, OperatorRole, OperatorStatus, PageView, Site,
} from '../../../engine/ports/storage.ts';
import {
  PURGE_BATCH, checkCapacity, checkNotSelf, checkOperator, checkOrigin, checkPageView, checkRole, checkStatus, companiesOfSelect,
  companyMappers, inviteConflict, noCompany, noCompanyOrAccount, operatorOrder, operatorSelect, operatorUpdate, pageViewColumns,
  pageViewConflict, raisedRole, siteColumns, toSite,
  type CompanyOfRow, type CompanyRow, type HistoryRow, type OperatorRow, type PageViewRow, type SiteRow,
} from '../companyRows.ts';
import { rowLimit } from '../common.ts';
import { isConstraint } from './constraints.ts';

/** Companies' statements (exported so tests can EXPLAIN the text the adapter runs). */
export const companySql = {
  insertCompany: 'INSERT INTO companies (account_id, created_at) VALUES (?, ?) ON CONFLICT (account_id) DO NOTHING',
  companyById: 'SELECT account_id, created_at FROM companies WHERE account_id = ?',
  upsertOperator: `INSERT INTO operators (company_id, account_id, role, capacity, added_at) VALUES (@companyId, @accountId, @role, @capacity, @at)
    ON CONFLICT (company_id, account_id) DO UPDATE SET ${operatorUpdate}`,
  // Taking an invitation: a new operator gets the capacity given, one already there keeps theirs (raisedRole).
  joinOperator: `INSERT INTO operators (company_id, account_id, role, capacity, added_at) VALUES (@companyId, @accountId, @role, @capacity, @at)
    ON CONFLICT (company_id, account_id) DO UPDATE SET ${raisedRole}`,
  removeOperator: 'DELETE FROM operators WHERE company_id = ? AND account_id = ?',
  operatorsOf: `${operatorSelect('operators', 'o.company_id = ?')} ORDER BY ${operatorOrder}`,
  operator: operatorSelect('operators', 'o.company_id = ? AND o.account_id = ?'),
  companiesOf: companiesOfSelect('?'),
  setStatus: 'UPDATE operators SET status = ? WHERE company_id = ? AND account_id = ?',
  setCapacity: 'UPDATE operators SET capacity = ? WHERE company_id = ? AND account_id = ?',
  insertSite: 'INSERT INTO sites (company_id, origin, added_at) VALUES (?, ?, ?) ON CONFLICT (company_id, origin) DO NOTHING',
  removeSite: 'DELETE FROM sites WHERE company_id = ? AND origin = ?',
  sitesOf: `SELECT ${siteColumns} FROM sites WHERE company_id = ? ORDER BY added_at, origin`,
  insertInvite: `INSERT INTO operator_invites (token_hash, company_id, role, created_by, expires_at, created_at)
    VALUES (@tokenHash, @companyId, @role, @createdBy, @expiresAt, @at)`,
  // Spends the invitation as it is read: a second take, or one at or after expires_at, changes nothing.
  takeInvite: `UPDATE operator_invites SET used_at = @at WHERE token_hash = @tokenHash AND used_at IS NULL AND expires_at > @at
    RETURNING company_id, role`,
  insertPageView: `INSERT INTO page_views (${pageViewColumns}) VALUES (@id, @companyId, @visitorId, @url, @title, @referrer, @startedAt, NULL)`,
  endPageView: 'UPDATE page_views SET ended_at = ? WHERE id = ? AND ended_at IS NULL',
  visitorHistory: `SELECT COUNT(*) AS pages, MIN(started_at) AS first_seen_at FROM page_views WHERE company_id = ? AND visitor_id = ?`,
  pageViewsOf: `SELECT ${pageViewColumns} FROM page_views WHERE company_id = ? AND visitor_id = ? ORDER BY started_at DESC, id DESC LIMIT ?`,
  // A batch of the oldest (page_views_by_start), each deleted by its key.
  purgePageViews: `DELETE FROM page_views WHERE id IN (SELECT id FROM page_views WHERE started_at < ? LIMIT ${PURGE_BATCH})`,
} as const;

interface OperatorInsert {
  companyId: string;
  accountId: string;
  role: OperatorRole;
  capacity: number;
  at: number;
}

interface InviteInsert {
  tokenHash: string;
  companyId: string;
  role: OperatorRole;
  createdBy: string;
  expiresAt: number;
  at: number;
}

type PageViewInsert = Omit<PageView, 'endedAt'>;

function prepareStatements(db: Database.Database) {
  return {
    insertCompany: db.prepare<[string, number]>(companySql.insertCompany),
    companyById: db.prepare<[string], CompanyRow>(companySql.companyById),
    upsertOperator: db.prepare<OperatorInsert>(companySql.upsertOperator),
    joinOperator: db.prepare<OperatorInsert>(companySql.joinOperator),
    removeOperator: db.prepare<[string, string]>(companySql.removeOperator),
    operatorsOf: db.prepare<[string], OperatorRow<string>>(companySql.operatorsOf),
    operator: db.prepare<[string, string], OperatorRow<string>>(companySql.operator),
    companiesOf: db.prepare<[string], CompanyOfRow<string>>(companySql.companiesOf),
    setStatus: db.prepare<[string, string, string]>(companySql.setStatus),
    setCapacity: db.prepare<[number, string, string]>(companySql.setCapacity),
    insertSite: db.prepare<[string, string, number]>(companySql.insertSite),
    removeSite: db.prepare<[string, string]>(companySql.removeSite),
    sitesOf: db.prepare<[string], SiteRow>(companySql.sitesOf),
    insertInvite: db.prepare<InviteInsert>(companySql.insertInvite),
    takeInvite: db.prepare<{ tokenHash: string; at: number }, { company_id: string; role: OperatorRole }>(companySql.takeInvite),
    insertPageView: db.prepare<PageViewInsert>(companySql.insertPageView),
    endPageView: db.prepare<[number, string]>(companySql.endPageView),
    visitorHistory: db.prepare<[string, string], HistoryRow>(companySql.visitorHistory),
    pageViewsOf: db.prepare<[string, string, number], PageViewRow<string>>(companySql.pageViewsOf),
    purgePageViews: db.prepare<[number]>(companySql.purgePageViews),
  };
}

/** Rows to records; TEXT columns arrive as strings, stored as given. */
const { toOperator, toPageView, toCompanyOf } = companyMappers((text: string) => text);

export class SqliteCompanies implements CompanyStorage {
  private readonly q: ReturnType<typeof prepareStatements>;

  constructor(
    private readonly db: Database.Database,
    /** Runs `write` (one statement or transaction) without waiting for its commit to reach the disk. */
    private readonly commitUnsynced: (write: () => void) => void,
  ) {
    this.q = prepareStatements(db);
  }

  // -- companies ----------------------------------------------------------------------------------------------------

  async makeCompany(accountId: string, at: number): Promise<boolean> {
    try {
      return this.q.insertCompany.run(accountId, at).changes > 0;
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw new KnockError('not_found', 'There is no such account.');
      throw err;
    }
  }

  async getCompany(accountId: string): Promise<Company | null> {
    const row = this.q.companyById.get(accountId);
    return row ? { accountId: row.account_id, createdAt: row.created_at } : null;
  }

  // -- operators ----------------------------------------------------------------------------------------------------

  async addOperator(input: OperatorInsert): Promise<Operator> {
    checkOperator(input);
    const add = this.db.transaction(() => this.writeOperator(() => this.q.upsertOperator.run(input), input.companyId, input.accountId));
    return add.immediate();
  }

  async removeOperator(companyId: string, accountId: string): Promise<boolean> {
    return this.q.removeOperator.run(companyId, accountId).changes > 0;
  }

  async listOperators(companyId: string): Promise<Operator[]> {
    return this.q.operatorsOf.all(companyId).map(toOperator);
  }

  async getOperator(companyId: string, accountId: string): Promise<Operator | null> {
    const row = this.q.operator.get(companyId, accountId);
    return row ? toOperator(row) : null;
  }

  async companiesOf(accountId: string): Promise<Array<{ company: Account; role: OperatorRole }>> {
    return this.q.companiesOf.all(accountId).map(toCompanyOf);
  }

  async setOperatorStatus(companyId: string, accountId: string, status: OperatorStatus): Promise<boolean> {
    checkStatus(status);
    return this.q.setStatus.run(status, companyId, accountId).changes > 0;
  }

  async setOperatorCapacity(companyId: string, accountId: string, capacity: number): Promise<boolean> {
    checkCapacity(capacity);
    return this.q.setCapacity.run(capacity, companyId, accountId).changes > 0;
  }

  // -- sites --------------------------------------------------------------------------------------------------------

  async addSite(companyId: string, origin: string, at: number): Promise<boolean> {
    checkOrigin(origin);
    try {
      return this.q.insertSite.run(companyId, origin, at).changes > 0;
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw noCompany();
      throw err;
    }
  }

  async removeSite(companyId: string, origin: string): Promise<boolean> {
    return this.q.removeSite.run(companyId, origin).changes > 0;
  }

  async listSites(companyId: string): Promise<Site[]> {
    return this.q.sitesOf.all(companyId).map(toSite);
  }

  // -- invitations --------------------------------------------------------------------------------------------------

  async createOperatorInvite(input: InviteInsert): Promise<void> {
    checkRole(input.role);
    try {
      this.q.insertInvite.run(input);
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw noCompanyOrAccount();
      if (isConstraint(err, 'PRIMARYKEY') || isConstraint(err, 'UNIQUE')) throw inviteConflict();
      throw err;
    }
  }

  /** One IMMEDIATE transaction: the invitation is spent only if the account becomes (or stays) an operator. */
  async takeOperatorInvite(tokenHash: string, accountId: string, capacity: number, at: number): Promise<Operator | null> {
    checkCapacity(capacity);
    const take = this.db.transaction((): Operator | null => {
      const invite = this.q.takeInvite.get({ tokenHash, at });
      if (!invite) return null;
      checkNotSelf(invite.company_id, accountId);
      const join = { companyId: invite.company_id, accountId, role: invite.role, capacity, at };
      return this.writeOperator(() => this.q.joinOperator.run(join), join.companyId, accountId);
    });
    return take.immediate();
  }

  // -- page views ---------------------------------------------------------------------------------------------------

  async recordPageView(view: PageViewInsert): Promise<void> {
    checkPageView(view);
    const { id, companyId, visitorId, url, title, referrer, startedAt } = view;
    try {
      this.commitUnsynced(() => this.q.insertPageView.run({ id, companyId, visitorId, url, title, referrer, startedAt }));
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw noCompany();
      if (isConstraint(err, 'PRIMARYKEY') || isConstraint(err, 'UNIQUE')) throw pageViewConflict();
      throw err;
    }
  }

  async endPageView(id: string, at: number): Promise<boolean> {
    let ended = false;
    this.commitUnsynced(() => {
      ended = this.q.endPageView.run(at, id).changes > 0;
    });
    return ended;
  }

  async visitorHistory(companyId: string, visitorId: string): Promise<{ pages: number; firstSeenAt: number | null }> {
    const row = this.q.visitorHistory.get(companyId, visitorId);
    return { pages: row?.pages ?? 0, firstSeenAt: row?.first_seen_at ?? null };
  }

  async pageViewsOf(companyId: string, visitorId: string, limit: number): Promise<PageView[]> {
    return this.q.pageViewsOf.all(companyId, visitorId, rowLimit(limit)).map(toPageView);
  }

  /** Batch after batch (PURGE_BATCH), each its own transaction, giving the event loop back in between. */
  async purgePageViews(before: number): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = this.q.purgePageViews.run(before).changes;
      total += deleted;
      if (deleted < PURGE_BATCH) return total;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Runs the write of an operator, then reads it back with the account's handle and name. */
  private writeOperator(write: () => void, companyId: string, accountId: string): Operator {
    try {
      write();
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw noCompanyOrAccount();
      throw err;
    }
    const row = this.q.operator.get(companyId, accountId);
    if (!row) throw new Error('The operator written is not stored.');
    return toOperator(row);
  }
}
