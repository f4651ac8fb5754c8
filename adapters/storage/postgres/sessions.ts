/**
 * Sessions an owner sees and ends, and password recovery links (engine/ports/storage.ts SessionRecoveryStorage,
 * issue 22) in PostgreSQL, on the adapter's pool (016_sessions_recovery.sql).
 *
 * @example
 *   Object.assign(this, sessionRecoveryMethods(new PostgresSessions(run)));
 */
import type { PasswordReset, SessionRecord, SessionRecoveryStorage } from '../../../engine/ports/storage.ts';
import { sessionColumns, type SessionRow } from '../rows.ts';
import type { RunStatement } from './inbox.ts';
import { toSession } from './queries.ts';

export const sessionSql = {
  list: `SELECT ${sessionColumns} FROM sessions WHERE account_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC, created_at DESC, id`,
  touch: 'UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1 AND last_seen_at < $2',
  endOne: 'DELETE FROM sessions WHERE account_id = $1 AND id = $2 RETURNING token_hash',
  endAll: 'DELETE FROM sessions WHERE account_id = $1 AND token_hash IS DISTINCT FROM $2 RETURNING token_hash',
  // One statement: the older links go with the newer one's insert, or neither does.
  replaceReset: `WITH voided AS (DELETE FROM password_resets WHERE account_id = $2)
    INSERT INTO password_resets (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
  voidResets: 'DELETE FROM password_resets WHERE account_id = $1',
  // The row lock of the DELETE gives the link to one of two takes at once; the other finds nothing.
  takeReset: 'DELETE FROM password_resets WHERE token_hash = $1 RETURNING account_id, expires_at',
  purgeResets: 'DELETE FROM password_resets WHERE expires_at <= $1',
  // A scan of one row per account with an address: recovery by address is rare and rate-limited.
  verifiedAccounts: `SELECT account_id FROM account_emails
    WHERE lower(convert_from(address, 'UTF8')) = lower($1) AND verified_at IS NOT NULL ORDER BY account_id LIMIT $2`,
} as const;

export class PostgresSessions implements SessionRecoveryStorage {
  constructor(private readonly run: RunStatement) {}

  async listSessions(accountId: string, now: number): Promise<SessionRecord[]> {
    return (await this.run<SessionRow>(sessionSql.list, [accountId, now])).rows.map(toSession);
  }

  async touchSession(tokenHash: string, at: number): Promise<void> {
    await this.run(sessionSql.touch, [tokenHash, at]);
  }

  async endSession(accountId: string, id: string): Promise<string | null> {
    return (await this.run<{ token_hash: string }>(sessionSql.endOne, [accountId, id])).rows[0]?.token_hash ?? null;
  }

  async endSessions(accountId: string, keepTokenHash?: string | null): Promise<string[]> {
    return (await this.run<{ token_hash: string }>(sessionSql.endAll, [accountId, keepTokenHash ?? null])).rows.map((row) => row.token_hash);
  }

  async createPasswordReset(reset: PasswordReset): Promise<void> {
    await this.run(sessionSql.replaceReset, [reset.tokenHash, reset.accountId, reset.createdAt, reset.expiresAt]);
  }

  async takePasswordReset(tokenHash: string, now: number): Promise<string | null> {
    const row = (await this.run<{ account_id: string; expires_at: number }>(sessionSql.takeReset, [tokenHash])).rows[0];
    return row && Number(row.expires_at) > now ? row.account_id : null;
  }

  async voidPasswordResets(accountId: string): Promise<void> {
    await this.run(sessionSql.voidResets, [accountId]);
  }

  async purgeExpiredPasswordResets(now: number): Promise<number> {
    return (await this.run(sessionSql.purgeResets, [now])).rowCount ?? 0;
  }

  async verifiedEmailAccounts(address: string, limit: number): Promise<string[]> {
    return (await this.run<{ account_id: string }>(sessionSql.verifiedAccounts, [address, limit])).rows.map((row) => row.account_id);
  }
}
