/**
 * Canned responses (engine/ports/storage.ts CannedStorage, issue 19) in PostgreSQL, on the adapter's pool
 * (010_canned.sql). Each call is one statement; the upsert returns its row. The text is stored as its UTF-8 bytes.
 *
 * @example
 *   Object.assign(this, cannedMethods(new PostgresCanned(run)));
 */
import type { CannedResponse, CannedStorage } from '../../../engine/ports/storage.ts';
import { cannedColumns, cannedMapper, checkCanned, type CannedRow } from '../cannedRows.ts';
import { noCompany } from '../companyRows.ts';
import { SqlState, isViolation } from './databaseErrors.ts';
import type { RunStatement } from './inbox.ts';
import { decodeText, encodeText } from './queries.ts';

export const cannedSql = {
  // $1 company, $2 shortcut, $3 text, $4 at. A replaced text keeps the response's created_at.
  upsert: `INSERT INTO canned_responses (${cannedColumns}) VALUES ($1, $2, $3, $4, $4)
    ON CONFLICT (company_id, shortcut) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at
    RETURNING ${cannedColumns}`,
  remove: 'DELETE FROM canned_responses WHERE company_id = $1 AND shortcut = $2',
  list: `SELECT ${cannedColumns} FROM canned_responses WHERE company_id = $1 ORDER BY shortcut`,
} as const;

const toCanned = cannedMapper(decodeText);

export class PostgresCanned implements CannedStorage {
  constructor(private readonly run: RunStatement) {}

  async setCannedResponse(companyId: string, shortcut: string, text: string, at: number): Promise<CannedResponse> {
    checkCanned(shortcut, text);
    const written = await this.run<CannedRow<Buffer>>(cannedSql.upsert, [companyId, shortcut, encodeText(text), at], (err) =>
      isViolation(err, SqlState.foreignKeyViolation) ? noCompany() : undefined,
    );
    const row = written.rows[0];
    if (!row) throw new Error('The canned response written is not stored.');
    return toCanned(row);
  }

  async removeCannedResponse(companyId: string, shortcut: string): Promise<boolean> {
    return ((await this.run(cannedSql.remove, [companyId, shortcut])).rowCount ?? 0) > 0;
  }

  async listCannedResponses(companyId: string): Promise<CannedResponse[]> {
    return (await this.run<CannedRow<Buffer>>(cannedSql.list, [companyId])).rows.map(toCanned);
  }
}
