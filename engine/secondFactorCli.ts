/**
 * Settings → Two-factor sign-in for a server's operators (issue 22): `knock user 2fa <handle>` shows what an account
 * has on, and `--disable` turns it all off (the authenticator app, passkeys, recovery codes): the way back in for an
 * owner who lost their phone and their recovery codes, once the operator is sure it is them. It is written in the
 * account's audit log ('totp.disabled', by the operator).
 *
 * @example
 *   npx knock user 2fa alice             # authenticator app: on / recovery codes: 7 left / passkey <id> Laptop …
 *   npx knock user 2fa alice --disable   # alice signs in with her password alone again
 */
import { AuditLog, CLI_CONTEXT } from './auditLog.ts';
import type { RateLimitConfig } from './config.ts';
import { KnockError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { Clock } from './ports/clock.ts';
import type { Storage } from './ports/storage.ts';
import { Challenges } from './secondFactor/challenges.ts';
import { Passkeys } from './secondFactor/passkeys.ts';
import { SecondFactor } from './secondFactor/secondFactor.ts';

export const SECOND_FACTOR_USAGE = '  knock user 2fa <handle> [--disable]';

export interface SecondFactorCliDeps {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  tries: RateLimitConfig;
}

export async function secondFactorCommand(deps: SecondFactorCliDeps, handle: string | undefined, disable: boolean, out: NodeJS.WritableStream): Promise<number> {
  if (!handle) throw new KnockError('bad_request', `user 2fa needs <handle>.\n${SECOND_FACTOR_USAGE}`);
  const account = await deps.storage.getAccountByHandle(handle);
  if (!account) throw new KnockError('not_found', `There is no account "${handle}".`);
  const { storage, clock } = deps;
  const audit = new AuditLog({ storage, clock, logger: deps.logger });
  const challenges = new Challenges({ storage, clock });
  const secondFactor = new SecondFactor({ storage, clock, audit, challenges, passkeys: new Passkeys({ storage, clock, challenges }), tries: deps.tries });
  if (disable) {
    const off = await secondFactor.turnOffEverything(account, CLI_CONTEXT);
    if (!off.totp && off.passkeys === 0 && off.recoveryCodes === 0) {
      out.write(`${handle} has no two-factor sign-in: nothing to turn off.\n`);
      return 0;
    }
    const removed = [off.totp ? 'the authenticator app' : '', off.passkeys > 0 ? plural(off.passkeys, 'passkey') : '', plural(off.recoveryCodes, 'recovery code')].filter(Boolean);
    out.write(`Turned off two-factor sign-in of ${handle} (${removed.join(', ')} removed): ${handle} signs in with the password alone now.\n`);
    return 0;
  }
  const state = await secondFactor.state(account.id);
  out.write(`authenticator app: ${state.totp ? 'on' : 'off'}\nrecovery codes: ${state.recoveryCodesLeft} left\n`);
  for (const key of state.passkeys) {
    const used = key.lastUsedAt === null ? 'never used' : `last used ${new Date(key.lastUsedAt).toISOString()}`;
    out.write(`passkey\t${key.id}\t${key.name}\tadded ${new Date(key.createdAt).toISOString()}\t${used}\n`);
  }
  return 0;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
