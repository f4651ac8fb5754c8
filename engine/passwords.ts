/**
 * The owner's password (issue 22, OWASP ASVS 2.1 and 2.5): changing it (Settings → Password) and setting a new one by
 * a recovery link mailed to the account's verified address (`/_/reset#<token>`).
 *
 * - A change needs the current password, counted by the login throttle (engine/loginThrottle.ts) like a login, so it
 *   is no way around the login's limits. The new one follows sign-up's rules and differs from the current. Every
 *   other session ends at once; this browser's stays.
 * - Asking for a link answers the same, at once, whatever is typed: the lookup and the mail happen afterwards, one
 *   request at a time, so neither the answer nor its time tells whether an account or an address exists. At most
 *   `recoveriesPerAccount` links go to one account; a newer link voids the older ones; a link works once, 30 minutes.
 * - Using a link sets the password, ends every session (sockets closed at once) and never signs in: a second factor,
 *   where one is enrolled, is still asked at the next login. That is the hook for two-factor sign-in: recovery by
 *   email proves the mailbox, never the second factor.
 * - Each change is in the audit log and mailed to the verified address (engine/securityMail.ts).
 *
 * @example
 *   await passwords.change(account, { currentPassword, newPassword }, { context, keep: secretHash(token), client: ip });
 *   passwords.requestRecovery('alice@example.org', context); // returns at once; the mail follows
 *   await passwords.reset(token, 'a new long password', context); // { signedIn: false }
 */
import { newSecret, secretHash, verifyPassword } from './auth.ts';
import type { Accounts } from './accounts.ts';
import type { AuditContext, AuditLog } from './auditLog.ts';
import { KnockError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { LoginThrottle } from './loginThrottle.ts';
import type { Clock } from './ports/clock.ts';
import type { Account, NewOutboxJob, Storage } from './ports/storage.ts';
import { handleSchema, type ResetPasswordAnswer } from './protocol.ts';
import type { KeyedRateLimiter } from './rateLimit.ts';
import { passwordNoticeJob, recoveryLinkJob, type PasswordEvent } from './securityMail.ts';
import type { Sessions } from './sessions.ts';

/** How long a recovery link works. */
export const RECOVERY_LINK_TTL_MS = 30 * 60_000;
/** How many accounts one address's recovery reaches at most (one person rarely holds more on one server). */
const ACCOUNTS_PER_ADDRESS = 10;
/**
 * Recovery requests waiting for their lookup at most: beyond, new ones are dropped (and logged). The per-address limit
 * keeps one client far below it; this bounds the memory many clients together could make it take.
 */
const MAX_WAITING_RECOVERIES = 1000;
/** The one answer to every bad, used or expired link. */
export const LINK_EXPIRED = 'This link has expired or was already used. Ask for a new one.';

export interface PasswordsOptions {
  storage: Pick<Storage, 'getAccountByHandle' | 'getAccountById' | 'getAccountEmail' | 'verifiedEmailAccounts' | 'createPasswordReset' | 'takePasswordReset'>;
  accounts: Pick<Accounts, 'setPassword'>;
  sessions: Pick<Sessions, 'announce'>;
  audit: Pick<AuditLog, 'record'>;
  /** The login's throttle: a wrong current password counts as a failed login. */
  logins: Pick<LoginThrottle, 'admit'>;
  /** Recovery links mailed per account (config rateLimits.recoveriesPerAccount). */
  recoveriesPerAccount: Pick<KeyedRateLimiter, 'take'>;
  /** Queues a mail (the outbox's enqueue). */
  enqueue: (job: NewOutboxJob) => Promise<unknown>;
  clock: Clock;
  logger: Pick<Logger, 'error' | 'warn'>;
}

export class Passwords {
  /** The recovery requests not looked up yet, done one after the other. */
  private queue: Promise<void> = Promise.resolve();
  private waiting = 0;

  constructor(private readonly options: PasswordsOptions) {}

  /**
   * Changes the account's password after checking the current one (`client`: the address the throttle counts). Ends
   * every other session (`keep`: this browser's token hash); resolves with how many ended.
   */
  async change(account: Account, input: { currentPassword: string; newPassword: string }, at: { context: AuditContext; keep: string; client: string }): Promise<number> {
    const { audit, logins } = this.options;
    await logins.admit(account.handle, at.client);
    if (!(await verifyPassword(account.passwordHash, input.currentPassword))) {
      await audit.record(account.id, 'login.failed', at.context, { during: 'password change' });
      throw new KnockError('forbidden', 'Your current password is not this one. Nothing was changed.');
    }
    if (input.newPassword === input.currentPassword) throw new KnockError('bad_request', 'The new password is your current one: choose another.');
    const { ended } = await this.options.accounts.setPassword(account.handle, input.newPassword, at.keep);
    await this.changed(account, 'password.changed', at.context, ended);
    return ended.length;
  }

  /**
   * Asks for a recovery link for `handleOrEmail`: a handle, or an address verified on one or more accounts. Returns at
   * once, the same whatever it names; the link is mailed afterwards when there is an account to mail it to.
   */
  requestRecovery(handleOrEmail: string, context: AuditContext): void {
    if (this.waiting >= MAX_WAITING_RECOVERIES) {
      this.options.logger.warn({ waiting: this.waiting }, 'too many password recoveries waiting: one was dropped');
      return;
    }
    this.waiting += 1;
    this.queue = this.queue
      .then(() => this.recover(handleOrEmail, context))
      .catch((err: unknown) => this.options.logger.error({ err }, 'could not send a password recovery link'))
      .finally(() => (this.waiting -= 1));
  }

  /** Resolves once every recovery asked for so far is done (for a clean stop). */
  idle(): Promise<void> {
    return this.queue;
  }

  /** Sets a new password by a recovery link's token. Never signs in (see the module's comment). */
  async reset(token: string, newPassword: string, context: AuditContext): Promise<ResetPasswordAnswer> {
    const wellFormed = /^[A-Za-z0-9_-]{16,128}$/.test(token);
    const accountId = wellFormed ? await this.options.storage.takePasswordReset(secretHash(token), this.options.clock.now()) : null;
    const account = accountId === null ? null : await this.options.storage.getAccountById(accountId);
    if (!account) throw new KnockError('not_found', LINK_EXPIRED);
    const { ended } = await this.options.accounts.setPassword(account.handle, newPassword);
    await this.changed(account, 'password.recovered', context, ended);
    return { signedIn: false, handle: account.handle };
  }

  /** After a password was set: sockets closed, audit entries, the notice mailed. */
  async changed(account: Account, event: PasswordEvent, context: AuditContext, ended: readonly string[]): Promise<void> {
    await this.options.sessions.announce(account, ended, context, event);
    await this.options.audit.record(account.id, event, context);
    await this.options.enqueue(passwordNoticeJob({ account, event, context, at: this.options.clock.now() }));
  }

  private async recover(handleOrEmail: string, context: AuditContext): Promise<void> {
    for (const accountId of await this.accountsNamed(handleOrEmail)) {
      if (!this.options.recoveriesPerAccount.take(accountId).ok) continue;
      const email = await this.options.storage.getAccountEmail(accountId);
      if (!email || email.verifiedAt === null) continue;
      const token = newSecret();
      const now = this.options.clock.now();
      const expiresAt = now + RECOVERY_LINK_TTL_MS;
      await this.options.storage.createPasswordReset({ tokenHash: secretHash(token), accountId, createdAt: now, expiresAt });
      await this.options.enqueue(recoveryLinkJob({ accountId, token, expiresAt, at: now }));
      await this.options.audit.record(accountId, 'password.recovery_requested', context);
    }
  }

  /** The accounts a typed handle or address names: the handle's, or those whose verified address it is. */
  private async accountsNamed(typed: string): Promise<string[]> {
    if (typed.includes('@')) return this.options.storage.verifiedEmailAccounts(typed, ACCOUNTS_PER_ADDRESS);
    const handle = handleSchema.safeParse(typed.replace(/^\//, '').toLowerCase());
    const account = handle.success ? await this.options.storage.getAccountByHandle(handle.data) : null;
    return account ? [account.id] : [];
  }
}
