/**
 * Authenticator apps (TOTP, RFC 6238, as every app reads it: SHA-1, 6 digits, 30-second steps): a new secret, the
 * otpauth:// URI its QR code holds, and the time step a typed code belongs to. A code is accepted for the step before
 * and after the current one too (a phone's clock a little off, a code typed as it changes); which step it matched is
 * what replay protection keeps (engine/secondFactor/secondFactor.ts: never the same step twice).
 *
 * @example
 *   const secret = newTotpSecret();                           // 'JBSWY3DPEHPK3PXP…' (32 base32 characters)
 *   totpUri(secret, 'Knock (chat.example.com)', 'alice');     // 'otpauth://totp/Knock%20(chat.example.com):alice?…'
 *   matchingStep(secret, '492039', Date.now());               // 57_801_234, or null
 */
import { timingSafeEqual } from 'node:crypto';
import { HOTP, Secret, TOTP } from 'otpauth';

const PERIOD_S = 30;
const DIGITS = 6;
const ALGORITHM = 'SHA1';
/** Steps either side of the current one a code may belong to. */
const WINDOW = 1;

/** A new shared secret: 20 random bytes (RFC 4226's recommended 160 bits), in base32 as apps take it. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The URI an app scans: `issuer` names the server ("Knock (chat.example.com)"), `label` the account (its handle). */
export function totpUri(secret: string, issuer: string, label: string): string {
  return new TOTP({ issuer, label, secret: Secret.fromBase32(secret), algorithm: ALGORITHM, digits: DIGITS, period: PERIOD_S }).toString();
}

/** The time step of a moment (ms since the epoch). */
export function totpStep(now: number): number {
  return Math.floor(now / 1000 / PERIOD_S);
}

/** The code of a step (for tests and tools: the server only ever compares). */
export function totpCode(secret: string, step: number): string {
  return HOTP.generate({ secret: Secret.fromBase32(secret), algorithm: ALGORITHM, digits: DIGITS, counter: step });
}

/**
 * The latest step within the window around `now` whose code is `code`, or null. Every step of the window is compared,
 * each in constant time, so the time taken says nothing about which one (or whether one) matched.
 */
export function matchingStep(secret: string, code: string, now: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const typed = Buffer.from(code);
  const current = totpStep(now);
  let matched: number | null = null;
  for (let step = current - WINDOW; step <= current + WINDOW; step++) {
    if (timingSafeEqual(Buffer.from(totpCode(secret, step)), typed)) matched = step;
  }
  return matched;
}
