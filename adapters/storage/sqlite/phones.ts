/**
 * Phone numbers as URLs (engine/ports/storage.ts PhoneStorage, issue 20) in SQLite, on SqliteStorage's connection
 * (011_phones.sql). Taking a number is one immediate transaction: it leaves its holder, the account's earlier number
 * goes, the number is the account's.
 *
 * @example
 *   Object.assign(this, phoneMethods(new SqlitePhones(db)));
 */
import type Database from 'better-sqlite3';
import type { PhoneClaim, PhoneCodeCheck, PhoneNumber, PhoneStorage } from '../../../engine/ports/storage.ts';
import { judgeCode, type CodeRow } from '../channelRows.ts';
import { checkE164, claimCodeColumns, noPhoneAccount, phoneColumns, toPhoneClaim, toPhoneNumber, type ClaimRow, type PhoneRow } from '../phoneRows.ts';
import { isConstraint } from './constraints.ts';

export const phoneSql = {
  byNumber: `SELECT ${phoneColumns} FROM phone_numbers WHERE number = ?`,
  ofAccount: `SELECT ${phoneColumns} FROM phone_numbers WHERE account_id = ?`,
  list: `SELECT ${phoneColumns} FROM phone_numbers ORDER BY number`,
  setClaim: `INSERT INTO phone_claims (account_id, number, code_hash, expires_at, tries, created_at) VALUES (?, ?, ?, ?, 0, ?)
    ON CONFLICT (account_id) DO UPDATE SET number = excluded.number, code_hash = excluded.code_hash,
      expires_at = excluded.expires_at, tries = 0, created_at = excluded.created_at`,
  claimOf: 'SELECT account_id, number, expires_at FROM phone_claims WHERE account_id = ?',
  countTry: `UPDATE phone_claims SET tries = tries + 1 WHERE account_id = ? RETURNING ${claimCodeColumns}`,
  // Only the code that was judged is spent (not one sent since).
  spend: 'DELETE FROM phone_claims WHERE account_id = ? AND code_hash = ?',
  vacate: 'DELETE FROM phone_numbers WHERE number = ? OR account_id = ?',
  insert: `INSERT INTO phone_numbers (${phoneColumns}) VALUES (?, ?, ?) RETURNING ${phoneColumns}`,
  release: 'DELETE FROM phone_numbers WHERE account_id = ?',
} as const;

export class SqlitePhones implements PhoneStorage {
  private readonly q;

  constructor(private readonly db: Database.Database) {
    this.q = {
      byNumber: db.prepare<[string], PhoneRow>(phoneSql.byNumber),
      ofAccount: db.prepare<[string], PhoneRow>(phoneSql.ofAccount),
      list: db.prepare<[], PhoneRow>(phoneSql.list),
      setClaim: db.prepare<[string, string, string, number, number]>(phoneSql.setClaim),
      claimOf: db.prepare<[string], ClaimRow>(phoneSql.claimOf),
      countTry: db.prepare<[string], CodeRow & { number: string }>(phoneSql.countTry),
      spend: db.prepare<[string, string]>(phoneSql.spend),
      vacate: db.prepare<[string, string]>(phoneSql.vacate),
      insert: db.prepare<[string, string, number], PhoneRow>(phoneSql.insert),
      release: db.prepare<[string]>(phoneSql.release),
    };
  }

  async getPhoneNumber(number: string): Promise<PhoneNumber | null> {
    const row = this.q.byNumber.get(number);
    return row ? toPhoneNumber(row) : null;
  }

  async phoneNumberOf(accountId: string): Promise<PhoneNumber | null> {
    const row = this.q.ofAccount.get(accountId);
    return row ? toPhoneNumber(row) : null;
  }

  async listPhoneNumbers(): Promise<PhoneNumber[]> {
    return this.q.list.all().map(toPhoneNumber);
  }

  async setPhoneClaim(claim: { accountId: string; number: string; codeHash: string; expiresAt: number; at: number }): Promise<void> {
    checkE164(claim.number);
    try {
      this.q.setClaim.run(claim.accountId, claim.number, claim.codeHash, claim.expiresAt, claim.at);
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw noPhoneAccount();
      throw err;
    }
  }

  async getPhoneClaim(accountId: string): Promise<PhoneClaim | null> {
    const row = this.q.claimOf.get(accountId);
    return row ? toPhoneClaim(row) : null;
  }

  async checkPhoneClaim(accountId: string, codeHash: string, at: number, maxTries: number): Promise<PhoneCodeCheck> {
    const check = this.db.transaction((): PhoneCodeCheck => {
      const code = this.q.countTry.get(accountId);
      if (!code) return { result: 'noCode' };
      const verdict = judgeCode(code, codeHash, at, maxTries);
      if (verdict !== 'verified') return { result: verdict };
      if (this.q.spend.run(accountId, code.code_hash).changes === 0) return { result: 'noCode' };
      return { result: 'verified', number: this.take(accountId, code.number, at) };
    });
    return check.immediate();
  }

  async assignPhoneNumber(accountId: string, number: string, at: number): Promise<PhoneNumber> {
    checkE164(number);
    try {
      return this.db.transaction(() => this.take(accountId, number, at)).immediate();
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw noPhoneAccount();
      throw err;
    }
  }

  async releasePhoneNumber(accountId: string): Promise<boolean> {
    return this.q.release.run(accountId).changes > 0;
  }

  /** Inside a transaction: the number leaves its holder, the account's earlier number goes, the number is the account's. */
  private take(accountId: string, number: string, at: number): PhoneNumber {
    this.q.vacate.run(number, accountId);
    const row = this.q.insert.get(number, accountId, at);
    if (!row) throw new Error('The phone number written is not stored.');
    return toPhoneNumber(row);
  }
}
