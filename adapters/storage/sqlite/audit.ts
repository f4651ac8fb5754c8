/**
 * The audit log (engine/ports/storage.ts AuditStorage, issue 22) in SQLite, on SqliteStorage's connection (015_audit.sql).
 *
 * @example
 *   Object.assign(this, auditMethods(new SqliteAudit(db)));
 */
import type Database from 'better-sqlite3';
import type { AuditRecord, AuditStorage } from '../../../engine/ports/storage.ts';
import { auditColumns, auditValues, toAuditRecord, type AuditRow } from '../auditRows.ts';

export class SqliteAudit implements AuditStorage {
  private readonly q;

  constructor(db: Database.Database) {
    this.q = {
      append: db.prepare<ReturnType<typeof auditValues>>(
        'INSERT INTO audit_log (account_id, at, kind, ip, user_agent, detail) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      newest: db.prepare<[string, number], AuditRow>(`SELECT ${auditColumns} FROM audit_log WHERE account_id = ? ORDER BY id DESC LIMIT ?`),
      before: db.prepare<[string, number, number], AuditRow>(
        `SELECT ${auditColumns} FROM audit_log WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
      ),
      purge: db.prepare<[number]>('DELETE FROM audit_log WHERE at < ?'),
    };
  }

  async appendAudit(entry: Omit<AuditRecord, 'id'>): Promise<void> {
    this.q.append.run(...auditValues(entry));
  }

  async listAudit(accountId: string, opts: { before?: number; limit: number }): Promise<AuditRecord[]> {
    const rows = opts.before === undefined ? this.q.newest.all(accountId, opts.limit) : this.q.before.all(accountId, opts.before, opts.limit);
    return rows.map(toAuditRecord);
  }

  async purgeAudit(before: number): Promise<number> {
    return this.q.purge.run(before).changes;
  }
}
