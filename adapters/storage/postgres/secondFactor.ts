/**
 * Two-factor sign-in (engine/ports/storage.ts SecondFactorStorage, issue 22) in PostgreSQL, on the adapter's pool
 * (017_second_factor.sql). The statements are secondFactorRows.ts's; replacing the recovery codes is one transaction.
 *
 * @example
 *   Object.assign(this, secondFactorMethods(new PostgresSecondFactor(run, pool)));
 */
import type pg from 'pg';
import type { KnockError } from '../../../engine/errors.ts';
import type { PasskeyRecord, SecondFactorChallenge, SecondFactorStorage, TotpRecord } from '../../../engine/ports/storage.ts';
import { newId } from '../common.ts';
import {
  challengeTaken,
  challengeValues,
  noSecondFactorAccount,
  passkeyTaken,
  passkeyValues,
  secondFactorSql as sql,
  toChallenge,
  toPasskey,
  toTotp,
  type ChallengeRow,
  type CountRow,
  type PasskeyRow,
  type TotpRow,
} from '../secondFactorRows.ts';
import { SqlState, asStorageError, isViolation } from './databaseErrors.ts';
import type { RunStatement } from './inbox.ts';
import { poolTransaction } from './poolTransaction.ts';

/** The violations a write of this module can meet, as the KnockErrors the port promises. */
function refine(err: unknown): KnockError | undefined {
  if (isViolation(err, SqlState.foreignKeyViolation)) return noSecondFactorAccount();
  if (isViolation(err, SqlState.uniqueViolation, 'passkeys_credential_id_key')) return passkeyTaken();
  if (isViolation(err, SqlState.uniqueViolation, 'second_factor_challenges_pkey')) return challengeTaken();
  return undefined;
}

export class PostgresSecondFactor implements SecondFactorStorage {
  constructor(
    private readonly run: RunStatement,
    /** For replacing the recovery codes: several statements in one transaction. */
    private readonly pool: pg.Pool,
  ) {}

  async putPendingTotp(accountId: string, secret: string, at: number): Promise<boolean> {
    return ((await this.run(sql.putPendingTotp, [accountId, secret, at], refine)).rowCount ?? 0) > 0;
  }

  async getTotp(accountId: string): Promise<TotpRecord | null> {
    const row = (await this.run<TotpRow>(sql.totpOf, [accountId])).rows[0];
    return row ? toTotp(row) : null;
  }

  async acceptTotpStep(accountId: string, step: number, opts: { pending: boolean; at: number }): Promise<boolean> {
    return ((await this.run(sql.acceptStep, [step, opts.at, accountId, step, opts.pending ? 1 : 0])).rowCount ?? 0) > 0;
  }

  async removeTotp(accountId: string): Promise<boolean> {
    return ((await this.run(sql.removeTotp, [accountId])).rowCount ?? 0) > 0;
  }

  async setRecoveryCodes(accountId: string, codeHashes: readonly string[], at: number): Promise<void> {
    try {
      await poolTransaction(this.pool, async (client) => {
        await client.query(sql.removeCodes, [accountId]);
        for (const hash of codeHashes) await client.query(sql.insertCode, [accountId, hash, at]);
      });
    } catch (err) {
      throw refine(err) ?? asStorageError(err);
    }
  }

  async useRecoveryCode(accountId: string, codeHash: string): Promise<boolean> {
    return ((await this.run(sql.useCode, [accountId, codeHash])).rowCount ?? 0) > 0;
  }

  async countRecoveryCodes(accountId: string): Promise<number> {
    return Number((await this.run<CountRow>(sql.countCodes, [accountId])).rows[0]?.n ?? 0);
  }

  async addPasskey(input: Omit<PasskeyRecord, 'id' | 'lastUsedAt'>): Promise<PasskeyRecord> {
    const row = (await this.run<PasskeyRow>(sql.insertPasskey, passkeyValues(newId(), input), refine)).rows[0];
    if (!row) throw new Error('The passkey written is not stored.');
    return toPasskey(row);
  }

  async listPasskeys(accountId: string): Promise<PasskeyRecord[]> {
    return (await this.run<PasskeyRow>(sql.passkeysOf, [accountId])).rows.map(toPasskey);
  }

  async getPasskeyByCredential(credentialId: string): Promise<PasskeyRecord | null> {
    const row = (await this.run<PasskeyRow>(sql.passkeyByCredential, [credentialId])).rows[0];
    return row ? toPasskey(row) : null;
  }

  async usePasskey(id: string, use: { previous: number; counter: number; at: number }): Promise<boolean> {
    return ((await this.run(sql.usePasskey, [use.counter, use.at, id, use.previous])).rowCount ?? 0) > 0;
  }

  async renamePasskey(accountId: string, id: string, name: string): Promise<PasskeyRecord | null> {
    const row = (await this.run<PasskeyRow>(sql.renamePasskey, [name, accountId, id])).rows[0];
    return row ? toPasskey(row) : null;
  }

  async removePasskey(accountId: string, id: string): Promise<PasskeyRecord | null> {
    const row = (await this.run<PasskeyRow>(sql.removePasskey, [accountId, id])).rows[0];
    return row ? toPasskey(row) : null;
  }

  async removePasskeys(accountId: string): Promise<number> {
    return (await this.run(sql.removePasskeys, [accountId])).rowCount ?? 0;
  }

  async putSecondFactorChallenge(challenge: Omit<SecondFactorChallenge, 'tries'>, now: number): Promise<void> {
    await this.run(sql.purgeChallenges, [now]);
    await this.run(sql.insertChallenge, challengeValues(challenge), refine);
  }

  async getSecondFactorChallenge(idHash: string, now: number): Promise<SecondFactorChallenge | null> {
    const row = (await this.run<ChallengeRow>(sql.challenge, [idHash, now])).rows[0];
    return row ? toChallenge(row) : null;
  }

  async countSecondFactorTry(idHash: string, now: number): Promise<number | null> {
    const row = (await this.run<{ tries: number }>(sql.countTry, [idHash, now])).rows[0];
    return row ? Number(row.tries) : null;
  }

  async takeSecondFactorChallenge(idHash: string, now: number): Promise<SecondFactorChallenge | null> {
    const row = (await this.run<ChallengeRow>(sql.takeChallenge, [idHash, now])).rows[0];
    return row ? toChallenge(row) : null;
  }

  async recordSecondFactorFailure(accountId: string, at: number, forgetBefore: number): Promise<void> {
    await this.run(sql.forgetFailures, [accountId, forgetBefore]);
    await this.run(sql.insertFailure, [accountId, at], refine);
  }

  async secondFactorFailures(accountId: string, since: number): Promise<number> {
    return Number((await this.run<CountRow>(sql.countFailures, [accountId, since])).rows[0]?.n ?? 0);
  }

  async clearSecondFactorFailures(accountId: string): Promise<void> {
    await this.run(sql.clearFailures, [accountId]);
  }
}
