/**
 * The audit log (engine/ports/storage.ts AuditStorage, issue 22) in PostgreSQL, on the adapter's pool (015_audit.sql).
 *
 * @example
 *   Object.assign(this, auditMethods(new PostgresAudit(run)));
 */
import type { AuditRecord, AuditStorage } from '../../../engine/ports/storage.ts';
import { auditColumns, auditValues, toAuditRecord, type AuditRow } from '../auditRows.ts';
import type { RunStatement } from './inbox.ts';

export class PostgresAudit implements AuditStorage {
  constructor(private readonly run: RunStatement) {}

  async appendAudit(entry: Omit<AuditRecord, 'id'>): Promise<void> {
    await this.run('INSERT INTO audit_log (account_id, at, kind, ip, user_agent, detail) VALUES ($1, $2, $3, $4, $5, $6)', auditValues(entry));
  }

  async listAudit(accountId: string, opts: { before?: number; limit: number }): Promise<AuditRecord[]> {
    const { rows } =
      opts.before === undefined
        ? await this.run<AuditRow>(`SELECT ${auditColumns} FROM audit_log WHERE account_id = $1 ORDER BY id DESC LIMIT $2`, [accountId, opts.limit])
        : await this.run<AuditRow>(`SELECT ${auditColumns} FROM audit_log WHERE account_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, [
            accountId,
            opts.before,
            opts.limit,
          ]);
    return rows.map(toAuditRecord);
  }

  async purgeAudit(before: number): Promise<number> {
    return (await this.run('DELETE FROM audit_log WHERE at < $1', [before])).rowCount ?? 0;
  }
}
