/**
 * Phone numbers as URLs (engine/ports/storage.ts PhoneStorage, 011_phones.sql) as both SQL adapters store them: the
 * row shape, its mapping, and the checks made before any statement runs (the engine parses numbers with
 * libphonenumber-js; the adapter still refuses anything that is not E.164, so no other spelling can be stored).
 */
import { KnockError } from '../../engine/errors.ts';
import type { PhoneClaim, PhoneNumber } from '../../engine/ports/storage.ts';

export const phoneColumns = 'number, account_id, claimed_at';
/** A claim's code as channelRows.ts judgeCode reads it. */
export const claimCodeColumns = 'code_hash, expires_at AS code_expires_at, tries AS code_tries, number';

export interface PhoneRow {
  number: string;
  account_id: string;
  claimed_at: number;
}

export interface ClaimRow {
  account_id: string;
  number: string;
  expires_at: number;
}

export const toPhoneNumber = (r: PhoneRow): PhoneNumber => ({ number: r.number, accountId: r.account_id, claimedAt: r.claimed_at });
export const toPhoneClaim = (r: ClaimRow): PhoneClaim => ({ accountId: r.account_id, number: r.number, expiresAt: r.expires_at });

const E164 = /^\+[1-9][0-9]{7,14}$/;

export function checkE164(number: string): void {
  if (!E164.test(number)) throw new KnockError('bad_request', 'A phone number is stored in E.164 form: + and 8 to 15 digits.');
}

export const noPhoneAccount = (): KnockError => new KnockError('not_found', 'There is no such account.');
