/**
 * Own domains (engine/ports/storage.ts DomainStorage, 013_domains.sql) as both SQL adapters store them: the row
 * shapes, their mapping, and the checks made before any statement runs (the engine normalizes names with
 * engine/domains.ts; the adapter still refuses anything that is not a lower-case ASCII host name, so no other spelling
 * of a name can be stored beside it).
 */
import { KnockError } from '../../engine/errors.ts';
import type { AcmeChallenge, Domain } from '../../engine/ports/storage.ts';

export const domainColumns = 'name, account_id, state, created_at, checked_at, check_error, activated_at, dkim_selector, dkim_public_key';
export const challengeColumns = 'kind, name, token, value, expires_at';

export interface DomainRow {
  name: string;
  account_id: string;
  state: 'pending' | 'active';
  created_at: number;
  checked_at: number | null;
  check_error: string | null;
  activated_at: number | null;
  dkim_selector: string;
  dkim_public_key: string;
}

export interface ChallengeRow {
  kind: AcmeChallenge['kind'];
  name: string;
  token: string;
  value: string;
  expires_at: number;
}

export const toDomain = (r: DomainRow): Domain => ({
  name: r.name,
  accountId: r.account_id,
  state: r.state,
  createdAt: r.created_at,
  checkedAt: r.checked_at,
  checkError: r.check_error,
  activatedAt: r.activated_at,
  dkimSelector: r.dkim_selector,
  dkimPublicKey: r.dkim_public_key,
});

export const toChallenge = (r: ChallengeRow): AcmeChallenge => ({ kind: r.kind, name: r.name, token: r.token, value: r.value, expiresAt: r.expires_at });

/** A lower-case host name of two labels or more: letters, digits and inner hyphens, 63 per label, 253 in all. */
const HOST_NAME = /^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function checkDomainName(name: string): void {
  if (!HOST_NAME.test(name)) throw new KnockError('bad_request', `${JSON.stringify(name.slice(0, 64))} is not a domain name (lower case, no trailing dot).`);
}

export function checkChallenge(c: AcmeChallenge): void {
  checkDomainName(c.name);
  if (c.kind !== 'dns-01' && c.kind !== 'http-01') throw new KnockError('bad_request', 'An ACME challenge is dns-01 or http-01.');
  if (!/^[A-Za-z0-9_-]{1,256}$/.test(c.token)) throw new KnockError('bad_request', 'An ACME token is base64url.');
  if (!/^[A-Za-z0-9_.-]{1,512}$/.test(c.value)) throw new KnockError('bad_request', 'An ACME challenge value is base64url (a key authorization has one dot).');
}

export const domainTaken = (name: string): KnockError => new KnockError('conflict', `${name} is someone's domain already.`);
export const noDomain = (): KnockError => new KnockError('not_found', 'There is no such domain.');
