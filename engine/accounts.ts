/**
 * Account management shared by sign-up and the operators' CLI: validation, hashing, and what a change implies
 * (a new password ends every session and logs out every mail device). Removing an account is engine/accountRemoval.ts.
 */
import { z } from 'zod';
import { NO_LOGIN_PASSWORD_HASH, hashPassword } from './auth.ts';
import { KnockError } from './errors.ts';
import type { Account, Storage } from './ports/storage.ts';
import type { Clock } from './ports/clock.ts';
import { describeIssues, displayNameSchema, handleSchema, passwordSchema } from './protocol.ts';

function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new KnockError('bad_request', describeIssues(parsed.error));
  return parsed.data;
}

export class Accounts {
  constructor(
    private readonly storage: Storage,
    private readonly clock: Clock,
  ) {}

  async add(handle: string, displayName: string, password: string): Promise<Account> {
    const h = parse(handleSchema, handle);
    const name = parse(displayNameSchema, displayName);
    const pw = parse(passwordSchema, password);
    if (await this.storage.getAccountByHandle(h)) throw new KnockError('conflict', `The handle "${h}" is taken.`);
    return this.storage.createAccount({ handle: h, displayName: name, passwordHash: await hashPassword(pw), at: this.clock.now() });
  }

  /**
   * An account nobody logs in as (a company, engine/companies.ts), under the same rules of handles and names as
   * `add`; its password hash is NO_LOGIN_PASSWORD_HASH, which no password verifies.
   */
  async addWithoutLogin(handle: string, displayName: string): Promise<Account> {
    const h = parse(handleSchema, handle);
    const name = parse(displayNameSchema, displayName);
    if (await this.storage.getAccountByHandle(h)) throw new KnockError('conflict', `The handle "${h}" is taken.`);
    return this.storage.createAccount({ handle: h, displayName: name, passwordHash: NO_LOGIN_PASSWORD_HASH, at: this.clock.now() });
  }

  /**
   * Sets the account's password. Every session ends but `keepTokenHash`'s (the browser that changed it, when given),
   * every mail device is logged out, and recovery links asked for before are void. Resolves with the account and the
   * token hashes of the sessions ended, whose sockets the caller closes (engine/sessions.ts announce).
   */
  async setPassword(handle: string, password: string, keepTokenHash: string | null = null): Promise<{ account: Account; ended: string[] }> {
    const pw = parse(passwordSchema, password);
    const account = await this.storage.getAccountByHandle(handle);
    if (!account) throw new KnockError('not_found', `There is no account "${handle}".`);
    await this.storage.setPasswordHash(handle, await hashPassword(pw));
    const ended = await this.storage.endSessions(account.id, keepTokenHash);
    await this.storage.voidPasswordResets(account.id);
    // Mail devices logged in with the old password too: a password changed after a leak must shut them out as well.
    for (const device of await this.storage.listDeviceTokens(account.id)) await this.storage.revokeDeviceToken(account.id, device.id);
    return { account, ended };
  }

  list(): Promise<Account[]> {
    return this.storage.listAccounts();
  }
}
