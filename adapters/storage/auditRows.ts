/**
 * The audit log (engine/ports/storage.ts AuditStorage, 015_audit.sql) as both SQL adapters store it: the row shape and
 * its mapping. `detail` is kept as JSON text; a row whose detail cannot be read shows none rather than failing the page.
 */
import { auditKind } from '../../engine/protocol.ts';
import type { AuditRecord } from '../../engine/ports/storage.ts';

export const auditColumns = 'id, account_id, at, kind, ip, user_agent, detail';

export interface AuditRow {
  id: number;
  account_id: string;
  at: number;
  kind: string;
  ip: string | null;
  user_agent: string | null;
  detail: string | null;
}

/** The row's values for an INSERT, in the order of the columns after `id`. */
export function auditValues(entry: Omit<AuditRecord, 'id'>): [string, number, string, string | null, string | null, string | null] {
  return [entry.accountId, entry.at, entry.kind, entry.ip, entry.userAgent, entry.detail ? JSON.stringify(entry.detail) : null];
}

export function toAuditRecord(r: AuditRow): AuditRecord {
  return {
    id: Number(r.id),
    accountId: r.account_id,
    at: Number(r.at),
    // A kind no longer in the list (an older server's) still shows, as the nearest thing it can be: never a crash.
    kind: auditKind.safeParse(r.kind).success ? (r.kind as AuditRecord['kind']) : 'login',
    ip: r.ip,
    userAgent: r.user_agent,
    detail: parseDetail(r.detail),
  };
}

function parseDetail(text: string | null): AuditRecord['detail'] {
  if (!text) return null;
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as AuditRecord['detail']) : null;
  } catch {
    return null;
  }
}
