/**
 * Phone numbers as URLs (engine/ports/storage.ts PhoneStorage, issue 20) in PostgreSQL, on the adapter's pool
 * (011_phones.sql). Taking a number is one transaction: it leaves its holder, the account's earlier number goes, the
 * number is the account's. Two accounts taking one number at once: the second waits on the first's row lock (its
 * DELETE), then takes it from the first: the later claim wins, as it would one after the other.
 *
 * @example
 *   Object.assign(this, phoneMethods(new PostgresPhones(run, pool)));
 */
import type pg from 'pg';
import type { PhoneClaim, PhoneCodeCheck, PhoneNumber, PhoneStorage } from '../../../engine/ports/storage.ts';
import { judgeCode, type CodeRow } from '../channelRows.ts';
import { checkE164, claimCodeColumns, noPhoneAccount, phoneColumns, toPhoneClaim, toPhoneNumber, type ClaimRow, type PhoneRow } from '../phoneRows.ts';
import { SqlState, asStorageError, isViolation } from './databaseErrors.ts';
import type { RunStatement } from './inbox.ts';
import { poolTransaction } from './poolTransaction.ts';

export const phoneSql = {
  byNumber: `SELECT ${phoneColumns} FROM phone_numbers WHERE number = $1`,
  ofAccount: `SELECT ${phoneColumns} FROM phone_numbers WHERE account_id = $1`,
  list: `SELECT ${phoneColumns} FROM phone_numbers ORDER BY number`,
  // $1 account, $2 number, $3 code hash, $4 expires, $5 at.
  setClaim: `INSERT INTO phone_claims (account_id, number, code_hash, expires_at, tries, created_at) VALUES ($1, $2, $3, $4, 0, $5)
    ON CONFLICT (account_id) DO UPDATE SET number = excluded.number, code_hash = excluded.code_hash,
      expires_at = excluded.expires_at, tries = 0, created_at = excluded.created_at`,
  claimOf: 'SELECT account_id, number, expires_at FROM phone_claims WHERE account_id = $1',
  countTry: `UPDATE phone_claims SET tries = tries + 1 WHERE account_id = $1 RETURNING ${claimCodeColumns}`,
  // Only the code that was judged is spent (not one sent since).
  spend: 'DELETE FROM phone_claims WHERE account_id = $1 AND code_hash = $2',
  vacate: 'DELETE FROM phone_numbers WHERE number = $1 OR account_id = $2',
  insert: `INSERT INTO phone_numbers (${phoneColumns}) VALUES ($1, $2, $3) RETURNING ${phoneColumns}`,
  release: 'DELETE FROM phone_numbers WHERE account_id = $1',
} as const;

export class PostgresPhones implements PhoneStorage {
  constructor(
    private readonly run: RunStatement,
    /** For taking a number: several statements in one transaction. */
    private readonly pool: pg.Pool,
  ) {}

  async getPhoneNumber(number: string): Promise<PhoneNumber | null> {
    const row = (await this.run<PhoneRow>(phoneSql.byNumber, [number])).rows[0];
    return row ? toPhoneNumber(row) : null;
  }

  async phoneNumberOf(accountId: string): Promise<PhoneNumber | null> {
    const row = (await this.run<PhoneRow>(phoneSql.ofAccount, [accountId])).rows[0];
    return row ? toPhoneNumber(row) : null;
  }

  async listPhoneNumbers(): Promise<PhoneNumber[]> {
    return (await this.run<PhoneRow>(phoneSql.list, [])).rows.map(toPhoneNumber);
  }

  async setPhoneClaim(claim: { accountId: string; number: string; codeHash: string; expiresAt: number; at: number }): Promise<void> {
    checkE164(claim.number);
    await this.run(phoneSql.setClaim, [claim.accountId, claim.number, claim.codeHash, claim.expiresAt, claim.at], (err) =>
      isViolation(err, SqlState.foreignKeyViolation) ? noPhoneAccount() : undefined,
    );
  }

  async getPhoneClaim(accountId: string): Promise<PhoneClaim | null> {
    const row = (await this.run<ClaimRow>(phoneSql.claimOf, [accountId])).rows[0];
    return row ? toPhoneClaim(row) : null;
  }

  async checkPhoneClaim(accountId: string, codeHash: string, at: number, maxTries: number): Promise<PhoneCodeCheck> {
    // The try is counted in its own statement (committed even when the code is wrong).
    const code = (await this.run<CodeRow & { number: string }>(phoneSql.countTry, [accountId])).rows[0];
    if (!code) return { result: 'noCode' };
    const verdict = judgeCode(code, codeHash, at, maxTries);
    if (verdict !== 'verified') return { result: verdict };
    return this.transaction(async (client): Promise<PhoneCodeCheck> => {
      if (((await client.query(phoneSql.spend, [accountId, code.code_hash])).rowCount ?? 0) === 0) return { result: 'noCode' };
      return { result: 'verified', number: await take(client, accountId, code.number, at) };
    });
  }

  async assignPhoneNumber(accountId: string, number: string, at: number): Promise<PhoneNumber> {
    checkE164(number);
    return this.transaction((client) => take(client, accountId, number, at));
  }

  async releasePhoneNumber(accountId: string): Promise<boolean> {
    return ((await this.run(phoneSql.release, [accountId])).rowCount ?? 0) > 0;
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    try {
      return await poolTransaction(this.pool, work);
    } catch (err) {
      if (isViolation(err, SqlState.foreignKeyViolation)) throw noPhoneAccount();
      throw asStorageError(err);
    }
  }
}

/** Inside a transaction: the number leaves its holder, the account's earlier number goes, the number is the account's. */
async function take(client: pg.PoolClient, accountId: string, number: string, at: number): Promise<PhoneNumber> {
  await client.query(phoneSql.vacate, [number, accountId]);
  const row = (await client.query<PhoneRow>(phoneSql.insert, [number, accountId, at])).rows[0];
  if (!row) throw new Error('The phone number written is not stored.');
  return toPhoneNumber(row);
}
