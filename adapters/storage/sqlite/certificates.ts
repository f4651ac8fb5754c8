/**
 * Certificates of own domains (engine/ports/storage.ts CertificateStorage, issue 21) in SQLite, on SqliteStorage's
 * connection (014_certificates.sql). Each call is one statement: a claim is one upsert that only an active domain
 * with no live lease passes, so two processes on one file never order the same name at once.
 *
 * @example
 *   Object.assign(this, certificateMethods(new SqliteCertificates(db)));
 */
import type Database from 'better-sqlite3';
import type { CertificateStatus, CertificateStorage, IssuedCertificate, StoredCertificate } from '../../../engine/ports/storage.ts';
import {
  MAX_CERTIFICATE_ERROR, certificateStatusColumns, toCertificateStatus, toStoredCertificate, type CertificateRow, type CertificateStatusRow,
} from '../certificateRows.ts';

export const certificateSql = {
  due: `SELECT d.name, COALESCE(c.failures, 0) AS failures FROM domains d LEFT JOIN certificates c ON c.name = d.name
    WHERE d.state = 'active' AND (c.name IS NULL OR (c.renew_at <= @now AND c.next_try_at <= @now AND c.lease_until <= @now))
    ORDER BY COALESCE(MAX(c.renew_at, c.next_try_at), 0), d.name LIMIT @limit`,
  // The SELECT from domains is the rule "active domains only"; the upsert's WHERE is the lease.
  claim: `INSERT INTO certificates (name, lease_owner, lease_until, updated_at)
      SELECT name, @worker, @until, @now FROM domains WHERE name = @name AND state = 'active'
    ON CONFLICT (name) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
      WHERE certificates.lease_until <= excluded.updated_at
    RETURNING name`,
  store: `UPDATE certificates SET chain_pem = @chainPem, key_pem = @keyPem, not_before = @notBefore, not_after = @notAfter,
      renew_at = @renewAt, failures = 0, next_try_at = 0, last_error = NULL, lease_owner = NULL, lease_until = 0, updated_at = @at
    WHERE name = @name AND lease_owner = @worker`,
  fail: `UPDATE certificates SET failures = failures + 1, next_try_at = @nextTryAt, last_error = @error,
      lease_owner = NULL, lease_until = 0, updated_at = @at
    WHERE name = @name AND lease_owner = @worker`,
  get: `SELECT ${certificateStatusColumns}, chain_pem, key_pem FROM certificates WHERE name = ? AND chain_pem IS NOT NULL`,
  list: `SELECT ${certificateStatusColumns} FROM certificates ORDER BY name`,
} as const;

export class SqliteCertificates implements CertificateStorage {
  private readonly q;

  constructor(db: Database.Database) {
    this.q = {
      due: db.prepare<[{ now: number; limit: number }], { name: string; failures: number }>(certificateSql.due),
      claim: db.prepare<[{ name: string; worker: string; now: number; until: number }], { name: string }>(certificateSql.claim),
      store: db.prepare<[IssuedCertificate & { name: string; worker: string }]>(certificateSql.store),
      fail: db.prepare<[{ name: string; worker: string; error: string; nextTryAt: number; at: number }]>(certificateSql.fail),
      get: db.prepare<[string], CertificateRow>(certificateSql.get),
      list: db.prepare<[], CertificateStatusRow>(certificateSql.list),
    };
  }

  async dueCertificates(now: number, limit: number): Promise<Array<{ name: string; failures: number }>> {
    return this.q.due.all({ now, limit });
  }

  async claimCertificate(name: string, worker: string, now: number, until: number): Promise<boolean> {
    return this.q.claim.get({ name, worker, now, until }) !== undefined;
  }

  async storeCertificate(name: string, worker: string, issued: IssuedCertificate): Promise<boolean> {
    const { chainPem, keyPem, notBefore, notAfter, renewAt, at } = issued;
    return this.q.store.run({ name, worker, chainPem, keyPem, notBefore, notAfter, renewAt, at }).changes > 0;
  }

  async recordCertificateFailure(name: string, worker: string, failure: { error: string; nextTryAt: number; at: number }): Promise<boolean> {
    return this.q.fail.run({ name, worker, ...failure, error: failure.error.slice(0, MAX_CERTIFICATE_ERROR) }).changes > 0;
  }

  async getCertificate(name: string): Promise<StoredCertificate | null> {
    const row = this.q.get.get(name);
    return row ? toStoredCertificate(row) : null;
  }

  async listCertificates(): Promise<CertificateStatus[]> {
    return this.q.list.all().map(toCertificateStatus);
  }
}
