/**
 * Own domains and their ACME challenges (engine/ports/storage.ts DomainStorage, issue 21) in PostgreSQL, on the
 * adapter's pool (013_domains.sql). Each call is one statement.
 *
 * @example
 *   Object.assign(this, domainMethods(new PostgresDomains(run)));
 */
import type { AcmeChallenge, Domain, DomainStorage, NewDomain } from '../../../engine/ports/storage.ts';
import {
  challengeColumns, checkChallenge, checkDomainName, domainColumns, domainTaken, noDomain, toChallenge, toDomain, type ChallengeRow, type DomainRow,
} from '../domainRows.ts';
import { noAccount } from '../channelRows.ts';
import { SqlState, isViolation } from './databaseErrors.ts';
import type { RunStatement } from './inbox.ts';

export const domainSql = {
  // $1 name, $2 account, $3 at, $4 selector, $5 public key, $6 private key.
  insert: `INSERT INTO domains (${domainColumns}, dkim_private_key) VALUES ($1, $2, 'pending', $3, NULL, NULL, NULL, $4, $5, $6)
    RETURNING ${domainColumns}`,
  byName: `SELECT ${domainColumns} FROM domains WHERE name = $1`,
  ofAccount: `SELECT ${domainColumns} FROM domains WHERE account_id = $1 ORDER BY name`,
  all: `SELECT ${domainColumns} FROM domains ORDER BY name`,
  // $1 name, $2 active, $3 error, $4 at. Once active, a domain stays active (a resolver's bad moment takes nothing down).
  check: `UPDATE domains SET checked_at = $4, check_error = $3,
      state = CASE WHEN $2 THEN 'active' ELSE state END,
      activated_at = CASE WHEN $2 AND activated_at IS NULL THEN $4 ELSE activated_at END
    WHERE name = $1 RETURNING ${domainColumns}`,
  remove: 'DELETE FROM domains WHERE account_id = $1 AND name = $2',
  dkimKey: 'SELECT dkim_selector, dkim_private_key FROM domains WHERE name = $1',
  putChallenge: `INSERT INTO acme_challenges (${challengeColumns}) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (kind, name, token) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
  challenges: `SELECT ${challengeColumns} FROM acme_challenges WHERE kind = $1 AND name = $2 AND expires_at > $3 ORDER BY token`,
  challengeByToken: `SELECT ${challengeColumns} FROM acme_challenges WHERE kind = $1 AND name = $2 AND expires_at > $3 AND token = $4`,
  removeChallenge: 'DELETE FROM acme_challenges WHERE kind = $1 AND name = $2 AND token = $3',
} as const;

export class PostgresDomains implements DomainStorage {
  constructor(private readonly run: RunStatement) {}

  async addDomain(input: NewDomain): Promise<Domain> {
    checkDomainName(input.name);
    const written = await this.run<DomainRow>(
      domainSql.insert,
      [input.name, input.accountId, input.at, input.dkimSelector, input.dkimPublicKey, input.dkimPrivateKey],
      (err) => (isViolation(err, SqlState.uniqueViolation) ? domainTaken(input.name) : isViolation(err, SqlState.foreignKeyViolation) ? noAccount() : undefined),
    );
    const row = written.rows[0];
    if (!row) throw new Error('The domain written is not stored.');
    return toDomain(row);
  }

  async getDomain(name: string): Promise<Domain | null> {
    const row = (await this.run<DomainRow>(domainSql.byName, [name])).rows[0];
    return row ? toDomain(row) : null;
  }

  async domainsOf(accountId: string): Promise<Domain[]> {
    return (await this.run<DomainRow>(domainSql.ofAccount, [accountId])).rows.map(toDomain);
  }

  async listDomains(): Promise<Domain[]> {
    return (await this.run<DomainRow>(domainSql.all, [])).rows.map(toDomain);
  }

  async recordDomainCheck(name: string, check: { active: boolean; error: string | null; at: number }): Promise<Domain | null> {
    const row = (await this.run<DomainRow>(domainSql.check, [name, check.active, check.error, check.at])).rows[0];
    return row ? toDomain(row) : null;
  }

  async removeDomain(accountId: string, name: string): Promise<boolean> {
    return ((await this.run(domainSql.remove, [accountId, name])).rowCount ?? 0) > 0;
  }

  async dkimKeyOf(name: string): Promise<{ selector: string; privateKey: string } | null> {
    const row = (await this.run<{ dkim_selector: string; dkim_private_key: string }>(domainSql.dkimKey, [name])).rows[0];
    return row ? { selector: row.dkim_selector, privateKey: row.dkim_private_key } : null;
  }

  async putAcmeChallenge(c: AcmeChallenge): Promise<void> {
    checkChallenge(c);
    await this.run(domainSql.putChallenge, [c.kind, c.name, c.token, c.value, c.expiresAt], (err) =>
      isViolation(err, SqlState.foreignKeyViolation) ? noDomain() : undefined,
    );
  }

  async acmeChallenges(kind: AcmeChallenge['kind'], name: string, now: number, token?: string): Promise<AcmeChallenge[]> {
    const result = token === undefined
      ? await this.run<ChallengeRow>(domainSql.challenges, [kind, name, now])
      : await this.run<ChallengeRow>(domainSql.challengeByToken, [kind, name, now, token]);
    return result.rows.map(toChallenge);
  }

  async removeAcmeChallenge(kind: AcmeChallenge['kind'], name: string, token: string): Promise<void> {
    await this.run(domainSql.removeChallenge, [kind, name, token]);
  }
}
