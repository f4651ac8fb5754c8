/**
 * The sessions an owner sees and ends (issue 22, Settings → Sessions, `knock user sessions|logout`), and what every
 * sign-in does: Sessions.signedIn records it in the audit log (with 'device.new' the first time a browser is seen on
 * the account), then opens the session. The password login calls it; a second factor's check calls it in its place
 * once both factors passed, so nothing else ever opens a session after a sign-in.
 *
 * Ending a session closes its sockets at once: each ended session is announced on the Hub (`sessionEnded`) to the
 * account's rooms, and to those of the companies the person works for (their operator consoles). The CLI has no Hub:
 * its ends are seen by each process's session watch within KNOCK_SESSION_CHECK_INTERVAL_MS (engine/sessionWatch.ts).
 *
 * @example
 *   const sessions = new Sessions({ storage, auth, audit, hub, clock });
 *   const token = await sessions.signedIn(account, auditContextOf(req, config.trustProxy), 'password');
 *   const list = await sessions.list(account, secretHash(token)); // [{ id, device: 'Chrome 131 on Linux', current: true, ... }]
 *   await sessions.endAll(account, context, { keep: secretHash(token) });
 */
import type { SignInMethod as SecondFactorSignIn } from './secondFactor/loginTickets.ts';
import { deviceFamily, deviceName, type AuditContext, type AuditLog } from './auditLog.ts';
import type { Auth } from './auth.ts';
import { KnockError } from './errors.ts';
import type { Hub } from './hub.ts';
import type { Clock } from './ports/clock.ts';
import type { Account, Storage } from './ports/storage.ts';
import type { SessionView } from './protocol.ts';

/** How many of the account's latest audit entries are looked through for an earlier sign-in from the same browser. */
const DEVICE_HISTORY = 200;

/** How a sign-in proved who it was, as its audit entry says (`detail.method`). */
/** How a sign-in was proved: the password alone, sign-up, the password and a second factor, or a passkey alone. */
export type SignInMethod = 'password' | 'signup' | SecondFactorSignIn;

/**
 * Closes the sockets of ended sessions at once: each is announced (`sessionEnded`) at every URL where the account's
 * devices may be joined (its own, and the companies' it operates for).
 */
export function publishSessionsEnded(hub: Pick<Hub, 'publishPresence'>, handles: readonly string[], sessionHashes: readonly string[]): void {
  for (const sessionHash of sessionHashes) {
    for (const handle of handles) hub.publishPresence(handle, { type: 'sessionEnded', sessionHash });
  }
}

export interface SessionsOptions {
  storage: Pick<Storage, 'listSessions' | 'endSession' | 'endSessions' | 'listAudit' | 'companiesOf'>;
  auth: Pick<Auth, 'openSession'>;
  audit: Pick<AuditLog, 'record'>;
  hub: Pick<Hub, 'publishPresence'>;
  clock: Clock;
}

export class Sessions {
  constructor(private readonly options: SessionsOptions) {}

  /**
   * A sign-in that passed every check: records 'login' (and 'device.new' when this browser was never seen signing in
   * to the account), opens the session and gives its token for the cookie.
   */
  async signedIn(account: Account, context: AuditContext, method: SignInMethod): Promise<string> {
    const newDevice = await this.isNewDevice(account.id, context);
    await this.options.audit.record(account.id, 'login', context, { method });
    if (newDevice) await this.options.audit.record(account.id, 'device.new', context, { device: deviceName(context.userAgent) ?? 'an unknown browser' });
    return this.options.auth.openSession(account.id, context);
  }

  /** The account's live sessions, the most recently used first; `current` marks the one of `currentTokenHash`. */
  async list(account: Account, currentTokenHash: string | null): Promise<SessionView[]> {
    const sessions = await this.options.storage.listSessions(account.id, this.options.clock.now());
    return sessions.map((s) => ({
      id: s.id,
      device: deviceName(s.userAgent),
      ip: s.ip,
      createdAt: s.createdAt,
      lastSeenAt: s.lastSeenAt,
      current: s.tokenHash === currentTokenHash,
    }));
  }

  /** Ends one session of the account by its public id (not_found for an id of no session of this account). */
  async end(account: Account, id: string, context: AuditContext): Promise<void> {
    const ended = /^[A-Za-z0-9_-]{1,64}$/.test(id) ? await this.options.storage.endSession(account.id, id) : null;
    if (ended === null) throw new KnockError('not_found', 'This session has already ended.');
    await this.announceEnded(account, [ended]);
    await this.options.audit.record(account.id, 'session.ended', context);
  }

  /**
   * Ends every session of the account, but `keep` (a token hash) when given; resolves with how many ended. Records
   * 'sessions.ended' when any did, with `why` (what ended them) in its detail.
   */
  async endAll(account: Account, context: AuditContext, opts: { keep?: string | null; why: string }): Promise<number> {
    const ended = await this.options.storage.endSessions(account.id, opts.keep ?? null);
    await this.announce(account, ended, context, opts.why);
    return ended.length;
  }

  /** After sessions ended elsewhere (a password set through engine/accounts.ts): closes their sockets and records it. */
  async announce(account: Account, ended: readonly string[], context: AuditContext, why: string): Promise<void> {
    if (ended.length === 0) return;
    await this.announceEnded(account, ended);
    await this.options.audit.record(account.id, 'sessions.ended', context, { count: ended.length, why });
  }

  /** Closes the sockets of ended sessions at once, in the account's rooms and in those of its companies. */
  async announceEnded(account: Account, tokenHashes: readonly string[]): Promise<void> {
    if (tokenHashes.length === 0) return;
    const handles = [account.handle, ...(await this.options.storage.companiesOf(account.id)).map(({ company }) => company.handle)];
    publishSessionsEnded(this.options.hub, handles, tokenHashes);
  }

  /**
   * Whether no earlier sign-in of the account came from this browser and system (versions aside: deviceFamily). The
   * first sign-in of an account is no news: there is nothing to compare it with. One query over recent entries.
   */
  private async isNewDevice(accountId: string, context: AuditContext): Promise<boolean> {
    const logins = (await this.options.storage.listAudit(accountId, { limit: DEVICE_HISTORY })).filter((e) => e.kind === 'login');
    if (logins.length === 0) return false;
    const family = deviceFamily(context.userAgent);
    return !logins.some((e) => deviceFamily(e.userAgent) === family);
  }
}
