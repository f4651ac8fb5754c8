/**
 * Recovery codes: ten single-use codes shown once when two-factor sign-in is turned on, for the day the phone is lost.
 * Each is 10 characters of an alphabet without look-alikes (`l`, `o`, `0`, `1`), 50 random bits, shown as two groups
 * (`k7mzq-4hw9p`); typed in any case, with or without the dash and spaces. Only a hash is stored: secretHash of the
 * code with the account's id, so one table of hashes serves no two accounts.
 *
 * @example
 *   const codes = newRecoveryCodes();                         // ['k7mzq-4hw9p', …] (10)
 *   const code = normalRecoveryCode(' K7MZQ 4HW9P ');         // 'k7mzq4hw9p' (null for what is no code)
 *   storage.useRecoveryCode(account.id, recoveryCodeHash(account.id, code));
 */
import { randomInt } from 'node:crypto';
import { secretHash } from '../auth.ts';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
const LENGTH = 10;

export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = Array.from({ length: LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    return `${chars.slice(0, LENGTH / 2)}-${chars.slice(LENGTH / 2)}`;
  });
}

/** A typed code in its one spelling; null when the text cannot be a code (then nothing is looked up). */
export function normalRecoveryCode(typed: string): string | null {
  const code = typed.toLowerCase().replace(/[\s-]/g, '');
  return code.length === LENGTH && [...code].every((c) => ALPHABET.includes(c)) ? code : null;
}

/** The stored hash of a code (a new one, or one normalRecoveryCode gave). */
export function recoveryCodeHash(accountId: string, code: string): string {
  return secretHash(`${accountId}\n${code.replace('-', '')}`);
}
