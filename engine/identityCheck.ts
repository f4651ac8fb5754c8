/**
 * Asking who is at the keyboard again before what cannot be undone (issue 22: "Delete account"): a stolen session
 * cookie, or a console left open, must not be enough. One function, so every such action asks the same: the password
 * now; the second factor (TOTP or a recovery code) once the account has one.
 *
 * Rate limits are the caller's (engine/loginThrottle.ts, before it calls this), as for a login.
 *
 * @example
 *   await confirmIdentity(account, { password: body.password, code: body.code }, secondFactor, context); // throws KnockError
 */
import type { AuditContext } from './auditLog.ts';
import { verifyPassword } from './auth.ts';
import { KnockError } from './errors.ts';
import type { Account } from './ports/storage.ts';
import type { SecondFactor } from './secondFactor/secondFactor.ts';

/** What a code typed in the dialog is: six digits are the app's, anything else is taken for a recovery code. */
const APP_CODE = /^\d{6}$/;

/** What the person typed to prove it is them. */
export interface IdentityProof {
  password: string;
  /** A TOTP code from their authenticator app. */
  code?: string;
  /** One of their recovery codes, in place of `code`. */
  recoveryCode?: string;
}

/**
 * Resolves when `proof` is the account's; else throws a KnockError with what was not right. A missing or wrong second
 * factor carries `data.secondFactor: true`, so the dialog asks for a code (and keeps asking while it is wrong).
 */
export async function confirmIdentity(
  account: Account,
  proof: IdentityProof,
  secondFactor: Pick<SecondFactor, 'confirmSecondFactor'>,
  context: AuditContext,
): Promise<void> {
  if (!(await verifyPassword(account.passwordHash, proof.password))) throw new KnockError('forbidden', 'That is not your password.');
  const code = proof.code?.replace(/\s+/g, '');
  const typed = code === undefined || code === '' ? {} : APP_CODE.test(code) ? { code } : { recoveryCode: proof.code!.trim() };
  const given = proof.recoveryCode !== undefined ? { recoveryCode: proof.recoveryCode } : typed;
  try {
    await secondFactor.confirmSecondFactor(account.id, given, context);
  } catch (err) {
    if (err instanceof KnockError && (err.code === 'unauthorized' || err.code === 'bad_request')) {
      throw new KnockError(err.code, err.message, { ...err.data, secondFactor: true });
    }
    throw err;
  }
}
