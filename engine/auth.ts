/**
 * Accounts' passwords, sessions and mail devices. Passwords are hashed with argon2id (OWASP's parameters); a session
 * is a random token the browser keeps in an HttpOnly cookie, a mail device's token (`npx knock mail login`) a random
 * token it sends as `Authorization: Bearer knd_...`; the server keeps either only as a SHA-256 hash.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Account, DeviceToken, SessionRecord, Storage } from './ports/storage.ts';
import type { AuditContext } from './auditLog.ts';
import type { Clock } from './ports/clock.ts';
import { KnockError } from './errors.ts';

/**
 * A session's last use is written at most this often (Settings → Sessions' "last seen"): every API call and socket
 * checks its session, and a write per request would cost more than the check.
 */
export const LAST_SEEN_EVERY_MS = 5 * 60_000;

// OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1. Algorithm 2 is Argon2id (a const enum in the
// package's types, which isolated modules cannot import).
const argonOptions = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, argonOptions);
}

/**
 * The stored password hash of an account nobody logs in as (a company: its operators log in with their own accounts).
 * Not a PHC string, so argon2's verify throws on it and verifyPassword says false for every password; no hash
 * hashPassword makes starts with "!". `knock user passwd` still gives such an account a password, deliberately.
 */
export const NO_LOGIN_PASSWORD_HASH = '!no-login';

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false; // a malformed stored hash never logs anyone in
  }
}

/** A random secret for cookies and links: 32 bytes, base64url. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** How secrets are stored: only their hash, so a leaked database opens no session and no conversation. */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/**
 * A mail device's token: `knd_` and 32 random bytes in base64url (47 characters). A conversation token, also sent as
 * a bearer token, is 43 characters, so the two are never taken for each other (not even one starting with `knd_`).
 */
const DEVICE_TOKEN = /^knd_[A-Za-z0-9_-]{43}$/;

export function isDeviceToken(token: string): boolean {
  return DEVICE_TOKEN.test(token);
}

/** A new mail device token. */
export function newDeviceToken(): string {
  return `knd_${newSecret()}`;
}

export class Auth {
  /** Verifying against this when the handle is unknown makes both answers take the same time. */
  private dummyHash: Promise<string> | null = null;

  constructor(
    private readonly storage: Storage,
    private readonly clock: Clock,
    private readonly sessionTtlMs: number,
  ) {}

  /**
   * The account, if the password is its own; else the same `unauthorized` error, in the same time, whether the handle
   * exists or not. Rate limits are the caller's (engine/loginThrottle.ts), before it calls this.
   */
  async checkPassword(handle: string, password: string): Promise<Account> {
    const account = await this.storage.getAccountByHandle(handle);
    this.dummyHash ??= hashPassword('not the password of anyone');
    const ok = await verifyPassword(account?.passwordHash ?? (await this.dummyHash), password);
    if (!account || !ok) throw new KnockError('unauthorized', 'Wrong handle or password.');
    return account;
  }

  /** A new mail device of the account: its token, given once (only its hash is kept), and its record. */
  async openDevice(accountId: string, name: string): Promise<{ token: string; device: DeviceToken }> {
    const token = newDeviceToken();
    const device = await this.storage.createDeviceToken({ accountId, name, tokenHash: secretHash(token), at: this.clock.now() });
    return { token, device };
  }

  /** The mail device a token belongs to (marked used now) and its account; null when unknown, revoked or malformed. */
  async deviceOf(token: string | undefined | null): Promise<{ account: Account; device: DeviceToken } | null> {
    if (!token || !isDeviceToken(token)) return null;
    const device = await this.storage.useDeviceToken(secretHash(token), this.clock.now());
    const account = device ? await this.storage.getAccountById(device.accountId) : null;
    return device && account ? { account, device } : null;
  }

  /**
   * Opens a session of the account and gives its token (the cookie's value; only its hash is kept), recording where it
   * was opened from. Sign-ins go through Sessions.signedIn (engine/sessions.ts), which records them and calls this.
   */
  async openSession(accountId: string, context: AuditContext): Promise<string> {
    const token = newSecret();
    const now = this.clock.now();
    await this.storage.createSession({
      tokenHash: secretHash(token),
      accountId,
      createdAt: now,
      expiresAt: now + this.sessionTtlMs,
      ip: context.ip,
      userAgent: context.userAgent,
    });
    return token;
  }

  /** The account a session token belongs to, or null when the token is unknown or expired. */
  async accountOf(token: string | undefined | null): Promise<Account | null> {
    return (await this.sessionOf(token))?.account ?? null;
  }

  /**
   * The session of a token and its account, or null when the token is unknown or expired. Marks the session used now
   * when its last use is older than LAST_SEEN_EVERY_MS: one write per session every few minutes, not one per request.
   */
  async sessionOf(token: string | undefined | null): Promise<{ account: Account; session: SessionRecord } | null> {
    if (!token || token.length > 128) return null;
    const now = this.clock.now();
    const session = await this.storage.getSession(secretHash(token), now);
    if (!session) return null;
    if (now - session.lastSeenAt >= LAST_SEEN_EVERY_MS) await this.storage.touchSession(session.tokenHash, now);
    const account = await this.storage.getAccountById(session.accountId);
    return account ? { account, session } : null;
  }

  async logout(token: string): Promise<void> {
    await this.storage.deleteSession(secretHash(token));
  }
}
