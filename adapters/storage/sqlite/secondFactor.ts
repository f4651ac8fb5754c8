/**
 * Two-factor sign-in (engine/ports/storage.ts SecondFactorStorage, issue 22) in SQLite, on SqliteStorage's connection
 * (017_second_factor.sql). The statements are secondFactorRows.ts's; replacing the recovery codes is one transaction.
 *
 * @example
 *   Object.assign(this, secondFactorMethods(new SqliteSecondFactor(db)));
 */
import type Database from 'better-sqlite3';
import type { PasskeyRecord, SecondFactorChallenge, SecondFactorStorage, TotpRecord } from '../../../engine/ports/storage.ts';
import { newId } from '../common.ts';
import {
  challengeTaken,
  challengeValues,
  forSqlite,
  noSecondFactorAccount,
  passkeyTaken,
  passkeyValues,
  secondFactorSql,
  toChallenge,
  toPasskey,
  toTotp,
  type ChallengeRow,
  type CountRow,
  type PasskeyRow,
  type SecondFactorStatement,
  type TotpRow,
} from '../secondFactorRows.ts';
import { isConstraint } from './constraints.ts';

export class SqliteSecondFactor implements SecondFactorStorage {
  private readonly q: Record<SecondFactorStatement, Database.Statement<unknown[]>>;

  constructor(private readonly db: Database.Database) {
    const entries = Object.entries(secondFactorSql).map(([name, text]) => [name, db.prepare<unknown[]>(forSqlite(text))]);
    this.q = Object.fromEntries(entries) as Record<SecondFactorStatement, Database.Statement<unknown[]>>;
  }

  async putPendingTotp(accountId: string, secret: string, at: number): Promise<boolean> {
    return this.write(() => this.q.putPendingTotp.run(accountId, secret, at).changes > 0);
  }

  async getTotp(accountId: string): Promise<TotpRecord | null> {
    const row = this.q.totpOf.get(accountId) as TotpRow | undefined;
    return row ? toTotp(row) : null;
  }

  async acceptTotpStep(accountId: string, step: number, opts: { pending: boolean; at: number }): Promise<boolean> {
    return this.q.acceptStep.run(step, opts.at, accountId, step, opts.pending ? 1 : 0).changes > 0;
  }

  async removeTotp(accountId: string): Promise<boolean> {
    return this.q.removeTotp.run(accountId).changes > 0;
  }

  async setRecoveryCodes(accountId: string, codeHashes: readonly string[], at: number): Promise<void> {
    const replace = this.db.transaction(() => {
      this.q.removeCodes.run(accountId);
      for (const hash of codeHashes) this.q.insertCode.run(accountId, hash, at);
    });
    this.write(() => replace.immediate());
  }

  async useRecoveryCode(accountId: string, codeHash: string): Promise<boolean> {
    return this.q.useCode.run(accountId, codeHash).changes > 0;
  }

  async countRecoveryCodes(accountId: string): Promise<number> {
    return Number((this.q.countCodes.get(accountId) as CountRow).n);
  }

  async addPasskey(input: Omit<PasskeyRecord, 'id' | 'lastUsedAt'>): Promise<PasskeyRecord> {
    const values = passkeyValues(newId(), input);
    return this.write(() => toPasskey(this.q.insertPasskey.get(...values) as PasskeyRow));
  }

  async listPasskeys(accountId: string): Promise<PasskeyRecord[]> {
    return (this.q.passkeysOf.all(accountId) as PasskeyRow[]).map(toPasskey);
  }

  async getPasskeyByCredential(credentialId: string): Promise<PasskeyRecord | null> {
    const row = this.q.passkeyByCredential.get(credentialId) as PasskeyRow | undefined;
    return row ? toPasskey(row) : null;
  }

  async usePasskey(id: string, use: { previous: number; counter: number; at: number }): Promise<boolean> {
    return this.q.usePasskey.run(use.counter, use.at, id, use.previous).changes > 0;
  }

  async renamePasskey(accountId: string, id: string, name: string): Promise<PasskeyRecord | null> {
    const row = this.q.renamePasskey.get(name, accountId, id) as PasskeyRow | undefined;
    return row ? toPasskey(row) : null;
  }

  async removePasskey(accountId: string, id: string): Promise<PasskeyRecord | null> {
    const row = this.q.removePasskey.get(accountId, id) as PasskeyRow | undefined;
    return row ? toPasskey(row) : null;
  }

  async removePasskeys(accountId: string): Promise<number> {
    return this.q.removePasskeys.run(accountId).changes;
  }

  async putSecondFactorChallenge(challenge: Omit<SecondFactorChallenge, 'tries'>, now: number): Promise<void> {
    this.q.purgeChallenges.run(now);
    this.write(() => this.q.insertChallenge.run(...challengeValues(challenge)));
  }

  async getSecondFactorChallenge(idHash: string, now: number): Promise<SecondFactorChallenge | null> {
    const row = this.q.challenge.get(idHash, now) as ChallengeRow | undefined;
    return row ? toChallenge(row) : null;
  }

  async countSecondFactorTry(idHash: string, now: number): Promise<number | null> {
    const row = this.q.countTry.get(idHash, now) as { tries: number } | undefined;
    return row ? Number(row.tries) : null;
  }

  async takeSecondFactorChallenge(idHash: string, now: number): Promise<SecondFactorChallenge | null> {
    const row = this.q.takeChallenge.get(idHash, now) as ChallengeRow | undefined;
    return row ? toChallenge(row) : null;
  }

  async recordSecondFactorFailure(accountId: string, at: number, forgetBefore: number): Promise<void> {
    this.q.forgetFailures.run(accountId, forgetBefore);
    this.write(() => this.q.insertFailure.run(accountId, at));
  }

  async secondFactorFailures(accountId: string, since: number): Promise<number> {
    return Number((this.q.countFailures.get(accountId, since) as CountRow).n);
  }

  async clearSecondFactorFailures(accountId: string): Promise<void> {
    this.q.clearFailures.run(accountId);
  }

  /** Runs a write, answering a broken constraint with the KnockError that says why. */
  private write<T>(work: () => T): T {
    try {
      return work();
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw noSecondFactorAccount();
      if (isConstraint(err, 'UNIQUE', 'passkeys.credential_id')) throw passkeyTaken();
      if (isConstraint(err, 'PRIMARYKEY', 'second_factor_challenges.id_hash')) throw challengeTaken();
      throw err;
    }
  }
}
