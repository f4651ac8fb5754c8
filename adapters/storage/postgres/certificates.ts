/**
 * Certificates of own domains (engine/ports/storage.ts CertificateStorage, issue 21) in PostgreSQL, on the adapter's
 * pool (014_certificates.sql). Each call is one statement: a claim is one upsert that only an active domain with no
 * live lease passes (the conflicting row is locked while its WHERE is judged), so two processes never order the same
 * name at once.
 *
 * @example
 *   Object.assign(this, certificateMethods(new PostgresCertificates(run)));
 */
import type { CertificateStatus, CertificateStorage, IssuedCertificate, StoredCertificate } from '../../../engine/ports/storage.ts';
import {
  MAX_CERTIFICATE_ERROR, certificateStatusColumns, toCertificateStatus, toStoredCertificate, type CertificateRow, type CertificateStatusRow,
} from '../certificateRows.ts';
import type { RunStatement } from './inbox.ts';

export const certificateSql = {
  // $1 now, $2 limit.
  due: `SELECT d.name, COALESCE(c.failures, 0) AS failures FROM domains d LEFT JOIN certificates c ON c.name = d.name
    WHERE d.state = 'active' AND (c.name IS NULL OR (c.renew_at <= $1 AND c.next_try_at <= $1 AND c.lease_until <= $1))
    ORDER BY COALESCE(GREATEST(c.renew_at, c.next_try_at), 0), d.name LIMIT $2`,
  // $1 name, $2 worker, $3 now, $4 until. The SELECT from domains is the rule "active domains only"; the WHERE is the lease.
  claim: `INSERT INTO certificates (name, lease_owner, lease_until, updated_at)
      SELECT name, $2, $4, $3 FROM domains WHERE name = $1 AND state = 'active'
    ON CONFLICT (name) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
      WHERE certificates.lease_until <= excluded.updated_at
    RETURNING name`,
  // $1 name, $2 worker, $3 chain, $4 key, $5 not before, $6 not after, $7 renew at, $8 at.
  store: `UPDATE certificates SET chain_pem = $3, key_pem = $4, not_before = $5, not_after = $6,
      renew_at = $7, failures = 0, next_try_at = 0, last_error = NULL, lease_owner = NULL, lease_until = 0, updated_at = $8
    WHERE name = $1 AND lease_owner = $2`,
  // $1 name, $2 worker, $3 error, $4 next try, $5 at.
  fail: `UPDATE certificates SET failures = failures + 1, next_try_at = $4, last_error = $3,
      lease_owner = NULL, lease_until = 0, updated_at = $5
    WHERE name = $1 AND lease_owner = $2`,
  get: `SELECT ${certificateStatusColumns}, chain_pem, key_pem FROM certificates WHERE name = $1 AND chain_pem IS NOT NULL`,
  list: `SELECT ${certificateStatusColumns} FROM certificates ORDER BY name`,
} as const;

export class PostgresCertificates implements CertificateStorage {
  constructor(private readonly run: RunStatement) {}

  async dueCertificates(now: number, limit: number): Promise<Array<{ name: string; failures: number }>> {
    return (await this.run<{ name: string; failures: number }>(certificateSql.due, [now, limit])).rows;
  }

  async claimCertificate(name: string, worker: string, now: number, until: number): Promise<boolean> {
    return (await this.run<{ name: string }>(certificateSql.claim, [name, worker, now, until])).rows.length > 0;
  }

  async storeCertificate(name: string, worker: string, issued: IssuedCertificate): Promise<boolean> {
    const { chainPem, keyPem, notBefore, notAfter, renewAt, at } = issued;
    return ((await this.run(certificateSql.store, [name, worker, chainPem, keyPem, notBefore, notAfter, renewAt, at])).rowCount ?? 0) > 0;
  }

  async recordCertificateFailure(name: string, worker: string, failure: { error: string; nextTryAt: number; at: number }): Promise<boolean> {
    const values = [name, worker, failure.error.slice(0, MAX_CERTIFICATE_ERROR), failure.nextTryAt, failure.at];
    return ((await this.run(certificateSql.fail, values)).rowCount ?? 0) > 0;
  }

  async getCertificate(name: string): Promise<StoredCertificate | null> {
    const row = (await this.run<CertificateRow>(certificateSql.get, [name])).rows[0];
    return row ? toStoredCertificate(row) : null;
  }

  async listCertificates(): Promise<CertificateStatus[]> {
    return (await this.run<CertificateStatusRow>(certificateSql.list, [])).rows.map(toCertificateStatus);
  }
}
