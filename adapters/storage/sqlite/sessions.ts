/**
 * Sessions an owner sees and ends, and password recovery links (engine/ports/storage.ts SessionRecoveryStorage,
 * issue 22) in SQLite, on SqliteStorage's connection (016_sessions_recovery.sql).
 *
 * @example
 *   Object.assign(this, sessionRecoveryMethods(new SqliteSessions(db)));
 */
import type Database from 'better-sqlite3';
import type { PasswordReset, SessionRecord, SessionRecoveryStorage } from '../../../engine/ports/storage.ts';
import { sessionColumns, type SessionRow } from '../rows.ts';
import { toSession } from './queries.ts';

export const sessionSql = {
  list: `SELECT ${sessionColumns} FROM sessions WHERE account_id = ? AND expires_at > ? ORDER BY last_seen_at DESC, created_at DESC, id`,
  touch: 'UPDATE sessions SET last_seen_at = ? WHERE token_hash = ? AND last_seen_at < ?',
  endOne: 'DELETE FROM sessions WHERE account_id = ? AND id = ? RETURNING token_hash',
  // `IS NOT NULL` is true of every row: no session kept.
  endAll: 'DELETE FROM sessions WHERE account_id = ? AND token_hash IS NOT ? RETURNING token_hash',
  voidResets: 'DELETE FROM password_resets WHERE account_id = ?',
  insertReset: 'INSERT INTO password_resets (token_hash, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)',
  takeReset: 'DELETE FROM password_resets WHERE token_hash = ? RETURNING account_id, expires_at',
  purgeResets: 'DELETE FROM password_resets WHERE expires_at <= ?',
  // A scan of one row per account with an address: recovery by address is rare and rate-limited.
  verifiedAccounts: 'SELECT account_id FROM account_emails WHERE lower(address) = lower(?) AND verified_at IS NOT NULL ORDER BY account_id LIMIT ?',
} as const;

export class SqliteSessions implements SessionRecoveryStorage {
  private readonly q;
  private readonly replaceReset: (reset: PasswordReset) => void;

  constructor(db: Database.Database) {
    this.q = {
      list: db.prepare<[string, number], SessionRow>(sessionSql.list),
      touch: db.prepare<[number, string, number]>(sessionSql.touch),
      endOne: db.prepare<[string, string], { token_hash: string }>(sessionSql.endOne),
      endAll: db.prepare<[string, string | null], { token_hash: string }>(sessionSql.endAll),
      voidResets: db.prepare<[string]>(sessionSql.voidResets),
      insertReset: db.prepare<[string, string, number, number]>(sessionSql.insertReset),
      takeReset: db.prepare<[string], { account_id: string; expires_at: number }>(sessionSql.takeReset),
      purgeResets: db.prepare<[number]>(sessionSql.purgeResets),
      verifiedAccounts: db.prepare<[string, number], { account_id: string }>(sessionSql.verifiedAccounts),
    };
    this.replaceReset = db.transaction((reset: PasswordReset) => {
      this.q.voidResets.run(reset.accountId);
      this.q.insertReset.run(reset.tokenHash, reset.accountId, reset.createdAt, reset.expiresAt);
    });
  }

  async listSessions(accountId: string, now: number): Promise<SessionRecord[]> {
    return this.q.list.all(accountId, now).map(toSession);
  }

  async touchSession(tokenHash: string, at: number): Promise<void> {
    this.q.touch.run(at, tokenHash, at);
  }

  async endSession(accountId: string, id: string): Promise<string | null> {
    return this.q.endOne.get(accountId, id)?.token_hash ?? null;
  }

  async endSessions(accountId: string, keepTokenHash?: string | null): Promise<string[]> {
    return this.q.endAll.all(accountId, keepTokenHash ?? null).map((row) => row.token_hash);
  }

  async createPasswordReset(reset: PasswordReset): Promise<void> {
    this.replaceReset(reset);
  }

  async takePasswordReset(tokenHash: string, now: number): Promise<string | null> {
    const row = this.q.takeReset.get(tokenHash);
    return row && row.expires_at > now ? row.account_id : null;
  }

  async voidPasswordResets(accountId: string): Promise<void> {
    this.q.voidResets.run(accountId);
  }

  async purgeExpiredPasswordResets(now: number): Promise<number> {
    return this.q.purgeResets.run(now).changes;
  }

  async verifiedEmailAccounts(address: string, limit: number): Promise<string[]> {
    return this.q.verifiedAccounts.all(address, limit).map((row) => row.account_id);
  }
}
