/**
 * Certificates of own domains (engine/ports/storage.ts CertificateStorage, 014_certificates.sql) as both SQL adapters
 * store them: the row shapes and their mapping, and the statements' shared parts. Keys are read only by
 * getCertificate: the status columns never name them.
 */
import type { CertificateStatus, StoredCertificate } from '../../engine/ports/storage.ts';

export const certificateStatusColumns = 'name, chain_pem IS NOT NULL AS issued, not_before, not_after, renew_at, failures, next_try_at, last_error, updated_at';

export interface CertificateStatusRow {
  name: string;
  /** SQLite answers 0/1, PostgreSQL a boolean. */
  issued: number | boolean;
  not_before: number | null;
  not_after: number | null;
  renew_at: number;
  failures: number;
  next_try_at: number;
  last_error: string | null;
  updated_at: number;
}

export interface CertificateRow extends CertificateStatusRow {
  chain_pem: string;
  key_pem: string;
}

export const toCertificateStatus = (r: CertificateStatusRow): CertificateStatus => ({
  name: r.name,
  issued: Boolean(r.issued),
  notBefore: r.not_before,
  notAfter: r.not_after,
  renewAt: r.renew_at,
  failures: r.failures,
  nextTryAt: r.next_try_at,
  lastError: r.last_error,
  updatedAt: r.updated_at,
});

export const toStoredCertificate = (r: CertificateRow): StoredCertificate => ({ ...toCertificateStatus(r), chainPem: r.chain_pem, keyPem: r.key_pem });

/** The longest error kept (a CA's problem document can be long; the log has the rest). */
export const MAX_CERTIFICATE_ERROR = 1000;
