/**
 * Asking who is at the keyboard again before what cannot be undone (issue 22: "Delete account"): a stolen session
 * cookie, or a console left open, must not be enough. One function, so every such action asks the same: the password
 * now; the second factor (TOTP or a recovery code) once the account has one.
 *
 * Rate limits are the caller's (engine/loginThrottle.ts, before it calls this), as for a login.
 *
 * @example
 *   await confirmIdentity(account, { password: body.password, code: body.code }); // throws KnockError forbidden
 */
import { verifyPassword } from './auth.ts';
import { KnockError } from './errors.ts';
import type { Account } from './ports/storage.ts';

/** What the person typed to prove it is them. */
export interface IdentityProof {
  password: string;
  /** A TOTP code from their authenticator app. */
  code?: string;
  /** One of their recovery codes, in place of `code`. */
  recoveryCode?: string;
}

/** Resolves when `proof` is the account's; else throws KnockError `forbidden` with what was not right. */
export async function confirmIdentity(account: Account, proof: IdentityProof): Promise<void> {
  if (!(await verifyPassword(account.passwordHash, proof.password))) throw new KnockError('forbidden', 'That is not your password.');
  // The second factor, when the account has one, is checked here too (two-factor sign-in's confirmSecondFactor).
}
