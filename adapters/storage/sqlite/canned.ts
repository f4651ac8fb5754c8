/**
 * Canned responses (engine/ports/storage.ts CannedStorage, issue 19) in SQLite, on SqliteStorage's connection
 * (010_canned.sql). Each call is one statement; the upsert returns its row.
 *
 * @example
 *   Object.assign(this, cannedMethods(new SqliteCanned(db)));
 */
import type Database from 'better-sqlite3';
import type { CannedResponse, CannedStorage } from '../../../engine/ports/storage.ts';
import { cannedColumns, cannedMapper, checkCanned, type CannedRow } from '../cannedRows.ts';
import { noCompany } from '../companyRows.ts';
import { isConstraint } from './constraints.ts';

/** Canned responses' statements (exported so tests can EXPLAIN the text the adapter runs). */
export const cannedSql = {
  // A replaced text keeps the response's created_at.
  upsert: `INSERT INTO canned_responses (${cannedColumns}) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (company_id, shortcut) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at
    RETURNING ${cannedColumns}`,
  remove: 'DELETE FROM canned_responses WHERE company_id = ? AND shortcut = ?',
  list: `SELECT ${cannedColumns} FROM canned_responses WHERE company_id = ? ORDER BY shortcut`,
} as const;

const toCanned = cannedMapper((text: string) => text);

export class SqliteCanned implements CannedStorage {
  private readonly q;

  constructor(db: Database.Database) {
    this.q = {
      upsert: db.prepare<[string, string, string, number, number], CannedRow<string>>(cannedSql.upsert),
      remove: db.prepare<[string, string]>(cannedSql.remove),
      list: db.prepare<[string], CannedRow<string>>(cannedSql.list),
    };
  }

  async setCannedResponse(companyId: string, shortcut: string, text: string, at: number): Promise<CannedResponse> {
    checkCanned(shortcut, text);
    try {
      const row = this.q.upsert.get(companyId, shortcut, text, at, at);
      if (!row) throw new Error('The canned response written is not stored.');
      return toCanned(row);
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw noCompany();
      throw err;
    }
  }

  async removeCannedResponse(companyId: string, shortcut: string): Promise<boolean> {
    return this.q.remove.run(companyId, shortcut).changes > 0;
  }

  async listCannedResponses(companyId: string): Promise<CannedResponse[]> {
    return this.q.list.all(companyId).map(toCanned);
  }
}
