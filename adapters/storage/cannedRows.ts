/**
 * Canned responses (engine/ports/storage.ts CannedStorage, 010_canned.sql) as both SQL adapters store them: the row
 * shape, its mapping, and the checks made before any statement runs (the engine checks the same with protocol.ts's
 * schemas; the adapter does not trust its callers to have).
 */
import { KnockError } from '../../engine/errors.ts';
import type { CannedResponse } from '../../engine/ports/storage.ts';
import { CANNED_TEXT_CHARS, cannedShortcutSchema } from '../../engine/protocol.ts';
import { assertWellFormed } from './common.ts';

export const cannedColumns = 'company_id, shortcut, text, created_at, updated_at';

export interface CannedRow<Text> {
  company_id: string;
  shortcut: string;
  text: Text;
  created_at: number;
  updated_at: number;
}

/** Rows to records; `decode` turns the adapter's stored text into a string. */
export function cannedMapper<Text>(decode: (text: Text) => string): (row: CannedRow<Text>) => CannedResponse {
  return (r) => ({ companyId: r.company_id, shortcut: r.shortcut, text: decode(r.text), createdAt: r.created_at, updatedAt: r.updated_at });
}

export function checkCanned(shortcut: string, text: string): void {
  if (!cannedShortcutSchema.safeParse(shortcut).success) throw new KnockError('bad_request', 'This is not a shortcut.');
  if (text.length === 0 || text.length > CANNED_TEXT_CHARS) {
    throw new KnockError('bad_request', `A canned response is 1 to ${CANNED_TEXT_CHARS} characters.`);
  }
  assertWellFormed(text, 'The response');
}
