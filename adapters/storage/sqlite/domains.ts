/**
 * Own domains and their ACME challenges (engine/ports/storage.ts DomainStorage, issue 21) in SQLite, on
 * SqliteStorage's connection (013_domains.sql). Each call is one statement.
 *
 * @example
 *   Object.assign(this, domainMethods(new SqliteDomains(db)));
 */
import type Database from 'better-sqlite3';
import type { AcmeChallenge, Domain, DomainStorage, NewDomain } from '../../../engine/ports/storage.ts';
import {
  challengeColumns, checkChallenge, checkDomainName, domainColumns, domainTaken, noDomain, toChallenge, toDomain, type ChallengeRow, type DomainRow,
} from '../domainRows.ts';
import { noAccount } from '../channelRows.ts';
import { isConstraint } from './constraints.ts';

export const domainSql = {
  insert: `INSERT INTO domains (${domainColumns}, dkim_private_key)
    VALUES (@name, @accountId, 'pending', @at, NULL, NULL, NULL, @dkimSelector, @dkimPublicKey, @dkimPrivateKey) RETURNING ${domainColumns}`,
  byName: `SELECT ${domainColumns} FROM domains WHERE name = ?`,
  ofAccount: `SELECT ${domainColumns} FROM domains WHERE account_id = ? ORDER BY name`,
  all: `SELECT ${domainColumns} FROM domains ORDER BY name`,
  // Once active, a domain stays active: a resolver that fails for a moment must not take a live domain down.
  check: `UPDATE domains SET checked_at = @at, check_error = @error,
      state = CASE WHEN @active = 1 THEN 'active' ELSE state END,
      activated_at = CASE WHEN @active = 1 AND activated_at IS NULL THEN @at ELSE activated_at END
    WHERE name = @name RETURNING ${domainColumns}`,
  remove: 'DELETE FROM domains WHERE account_id = ? AND name = ?',
  dkimKey: 'SELECT dkim_selector, dkim_private_key FROM domains WHERE name = ?',
  putChallenge: `INSERT INTO acme_challenges (${challengeColumns}) VALUES (@kind, @name, @token, @value, @expiresAt)
    ON CONFLICT (kind, name, token) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
  challenges: `SELECT ${challengeColumns} FROM acme_challenges WHERE kind = ? AND name = ? AND expires_at > ? ORDER BY token`,
  challengeByToken: `SELECT ${challengeColumns} FROM acme_challenges WHERE kind = ? AND name = ? AND expires_at > ? AND token = ?`,
  removeChallenge: 'DELETE FROM acme_challenges WHERE kind = ? AND name = ? AND token = ?',
} as const;

export class SqliteDomains implements DomainStorage {
  private readonly q;

  constructor(db: Database.Database) {
    this.q = {
      insert: db.prepare<[NewDomain], DomainRow>(domainSql.insert),
      byName: db.prepare<[string], DomainRow>(domainSql.byName),
      ofAccount: db.prepare<[string], DomainRow>(domainSql.ofAccount),
      all: db.prepare<[], DomainRow>(domainSql.all),
      check: db.prepare<[{ name: string; active: number; error: string | null; at: number }], DomainRow>(domainSql.check),
      remove: db.prepare<[string, string]>(domainSql.remove),
      dkimKey: db.prepare<[string], { dkim_selector: string; dkim_private_key: string }>(domainSql.dkimKey),
      putChallenge: db.prepare<[AcmeChallenge]>(domainSql.putChallenge),
      challenges: db.prepare<[string, string, number], ChallengeRow>(domainSql.challenges),
      challengeByToken: db.prepare<[string, string, number, string], ChallengeRow>(domainSql.challengeByToken),
      removeChallenge: db.prepare<[string, string, string]>(domainSql.removeChallenge),
    };
  }

  async addDomain(input: NewDomain): Promise<Domain> {
    checkDomainName(input.name);
    try {
      const row = this.q.insert.get(input);
      if (!row) throw new Error('The domain written is not stored.');
      return toDomain(row);
    } catch (err) {
      if (isConstraint(err, 'PRIMARYKEY')) throw domainTaken(input.name);
      if (isConstraint(err, 'FOREIGNKEY')) throw noAccount();
      throw err;
    }
  }

  async getDomain(name: string): Promise<Domain | null> {
    const row = this.q.byName.get(name);
    return row ? toDomain(row) : null;
  }

  async domainsOf(accountId: string): Promise<Domain[]> {
    return this.q.ofAccount.all(accountId).map(toDomain);
  }

  async listDomains(): Promise<Domain[]> {
    return this.q.all.all().map(toDomain);
  }

  async recordDomainCheck(name: string, check: { active: boolean; error: string | null; at: number }): Promise<Domain | null> {
    const row = this.q.check.get({ name, active: check.active ? 1 : 0, error: check.error, at: check.at });
    return row ? toDomain(row) : null;
  }

  async removeDomain(accountId: string, name: string): Promise<boolean> {
    return this.q.remove.run(accountId, name).changes > 0;
  }

  async dkimKeyOf(name: string): Promise<{ selector: string; privateKey: string } | null> {
    const row = this.q.dkimKey.get(name);
    return row ? { selector: row.dkim_selector, privateKey: row.dkim_private_key } : null;
  }

  async putAcmeChallenge(challenge: AcmeChallenge): Promise<void> {
    checkChallenge(challenge);
    try {
      this.q.putChallenge.run(challenge);
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw noDomain();
      throw err;
    }
  }

  async acmeChallenges(kind: AcmeChallenge['kind'], name: string, now: number, token?: string): Promise<AcmeChallenge[]> {
    const rows = token === undefined ? this.q.challenges.all(kind, name, now) : this.q.challengeByToken.all(kind, name, now, token);
    return rows.map(toChallenge);
  }

  async removeAcmeChallenge(kind: AcmeChallenge['kind'], name: string, token: string): Promise<void> {
    this.q.removeChallenge.run(kind, name, token);
  }
}
