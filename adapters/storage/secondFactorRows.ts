/**
 * Two-factor sign-in (engine/ports/storage.ts SecondFactorStorage, 017_second_factor.sql) as both SQL adapters store
 * it: the statements, written once (every one is standard SQL both databases run alike: upserts with a WHERE,
 * RETURNING), the row shapes and their mapping. Statements name their values `$1`, `$2`... in order, each once, which
 * PostgreSQL takes as they are and SQLite as `?` (`forSqlite`).
 */
import { KnockError } from '../../engine/errors.ts';
import type { PasskeyRecord, RelyingParty, SecondFactorChallenge, SecondFactorChallengeKind, TotpRecord } from '../../engine/ports/storage.ts';
import { assertWellFormed } from './common.ts';

const totpColumns = 'account_id, secret, confirmed_at, last_step, created_at';
const passkeyColumns = 'id, account_id, credential_id, public_key, counter, transports, name, created_at, last_used_at';
const challengeColumns = 'id_hash, kind, account_id, challenge, relying_party, tries, expires_at, created_at';

export const secondFactorSql = {
  // A confirmed secret is never replaced: it is turned off first (with the password and a code).
  putPendingTotp: `INSERT INTO totp_secrets (${totpColumns}) VALUES ($1, $2, NULL, -1, $3)
    ON CONFLICT (account_id) DO UPDATE SET secret = excluded.secret, last_step = -1, created_at = excluded.created_at
    WHERE totp_secrets.confirmed_at IS NULL`,
  totpOf: `SELECT ${totpColumns} FROM totp_secrets WHERE account_id = $1`,
  // $1 step, $2 at, $3 account, $4 step, $5 pending (1) or confirmed (0).
  acceptStep: `UPDATE totp_secrets SET last_step = $1, confirmed_at = COALESCE(confirmed_at, $2)
    WHERE account_id = $3 AND last_step < $4 AND (CASE WHEN confirmed_at IS NULL THEN 1 ELSE 0 END) = $5`,
  removeTotp: 'DELETE FROM totp_secrets WHERE account_id = $1',
  removeCodes: 'DELETE FROM recovery_codes WHERE account_id = $1',
  insertCode: 'INSERT INTO recovery_codes (account_id, code_hash, created_at) VALUES ($1, $2, $3)',
  useCode: 'DELETE FROM recovery_codes WHERE account_id = $1 AND code_hash = $2',
  countCodes: 'SELECT COUNT(*) AS n FROM recovery_codes WHERE account_id = $1',
  insertPasskey: `INSERT INTO passkeys (${passkeyColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL) RETURNING ${passkeyColumns}`,
  passkeysOf: `SELECT ${passkeyColumns} FROM passkeys WHERE account_id = $1 ORDER BY created_at, id`,
  passkeyByCredential: `SELECT ${passkeyColumns} FROM passkeys WHERE credential_id = $1`,
  // $1 counter, $2 at, $3 id, $4 previous counter.
  usePasskey: 'UPDATE passkeys SET counter = $1, last_used_at = $2 WHERE id = $3 AND counter = $4',
  renamePasskey: `UPDATE passkeys SET name = $1 WHERE account_id = $2 AND id = $3 RETURNING ${passkeyColumns}`,
  removePasskey: `DELETE FROM passkeys WHERE account_id = $1 AND id = $2 RETURNING ${passkeyColumns}`,
  removePasskeys: 'DELETE FROM passkeys WHERE account_id = $1',
  purgeChallenges: 'DELETE FROM second_factor_challenges WHERE expires_at <= $1',
  insertChallenge: `INSERT INTO second_factor_challenges (${challengeColumns}) VALUES ($1, $2, $3, $4, $5, 0, $6, $7)`,
  challenge: `SELECT ${challengeColumns} FROM second_factor_challenges WHERE id_hash = $1 AND expires_at > $2`,
  countTry: 'UPDATE second_factor_challenges SET tries = tries + 1 WHERE id_hash = $1 AND expires_at > $2 RETURNING tries',
  takeChallenge: `DELETE FROM second_factor_challenges WHERE id_hash = $1 AND expires_at > $2 RETURNING ${challengeColumns}`,
  forgetFailures: 'DELETE FROM second_factor_failures WHERE account_id = $1 AND at < $2',
  insertFailure: 'INSERT INTO second_factor_failures (account_id, at) VALUES ($1, $2)',
  countFailures: 'SELECT COUNT(*) AS n FROM second_factor_failures WHERE account_id = $1 AND at >= $2',
  clearFailures: 'DELETE FROM second_factor_failures WHERE account_id = $1',
} as const;

export type SecondFactorStatement = keyof typeof secondFactorSql;

/** A statement as SQLite takes it: `$1`, `$2`... (in order, each once, checked) become `?`. */
export function forSqlite(statement: string): string {
  let expected = 1;
  return statement.replace(/\$(\d+)/g, (_, n: string) => {
    if (Number(n) !== expected++) throw new Error(`A statement names its values out of order: ${statement}`);
    return '?';
  });
}

export interface TotpRow {
  account_id: string;
  secret: string;
  confirmed_at: number | null;
  last_step: number;
  created_at: number;
}

export interface PasskeyRow {
  id: string;
  account_id: string;
  credential_id: string;
  public_key: string;
  counter: number;
  transports: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

export interface ChallengeRow {
  id_hash: string;
  kind: string;
  account_id: string | null;
  challenge: string | null;
  relying_party: string | null;
  tries: number;
  expires_at: number;
  created_at: number;
}

export interface CountRow {
  n: number | string;
}

export const toTotp = (r: TotpRow): TotpRecord => ({
  accountId: r.account_id,
  secret: r.secret,
  confirmedAt: r.confirmed_at === null ? null : Number(r.confirmed_at),
  lastStep: Number(r.last_step),
  createdAt: Number(r.created_at),
});

export const toPasskey = (r: PasskeyRow): PasskeyRecord => ({
  id: r.id,
  accountId: r.account_id,
  credentialId: r.credential_id,
  publicKey: r.public_key,
  counter: Number(r.counter),
  transports: parseTransports(r.transports),
  name: r.name,
  createdAt: Number(r.created_at),
  lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
});

export const toChallenge = (r: ChallengeRow): SecondFactorChallenge => ({
  idHash: r.id_hash,
  kind: r.kind as SecondFactorChallengeKind,
  accountId: r.account_id,
  challenge: r.challenge,
  relyingParty: parseRelyingParty(r.relying_party),
  tries: Number(r.tries),
  expiresAt: Number(r.expires_at),
  createdAt: Number(r.created_at),
});

/** The values of `insertPasskey`, its name checked first. */
export function passkeyValues(id: string, input: Omit<PasskeyRecord, 'id' | 'lastUsedAt'>): unknown[] {
  assertWellFormed(input.name, 'The passkey name');
  return [id, input.accountId, input.credentialId, input.publicKey, input.counter, JSON.stringify(input.transports), input.name, input.createdAt];
}

/** The values of `insertChallenge`. */
export function challengeValues(c: Omit<SecondFactorChallenge, 'tries'>): unknown[] {
  return [c.idHash, c.kind, c.accountId, c.challenge, c.relyingParty ? JSON.stringify(c.relyingParty) : null, c.expiresAt, c.createdAt];
}

export const passkeyTaken = (): KnockError => new KnockError('conflict', 'This passkey is registered already.');
export const noSecondFactorAccount = (): KnockError => new KnockError('not_found', 'There is no such account.');
export const challengeTaken = (): KnockError => new KnockError('conflict', 'This challenge id is in use already.');

function parseTransports(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

/** Written by challengeValues only; a value that is not what it wrote reads as none (the answer then fails to verify). */
function parseRelyingParty(text: string | null): RelyingParty | null {
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as Partial<RelyingParty> | null;
    return typeof value?.id === 'string' && Array.isArray(value.origins) ? { id: value.id, origins: value.origins.filter((o) => typeof o === 'string') } : null;
  } catch {
    return null;
  }
}
