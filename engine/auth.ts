/**
 * Accounts' passwords and sessions. Passwords are hashed with argon2id (OWASP's parameters); a session is a random
 * token the browser keeps in an HttpOnly cookie and the server keeps only as a SHA-256 hash.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Account, Storage } from './ports/storage.ts';
import type { Clock } from './ports/clock.ts';
import { KnockError } from './errors.ts';

// OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1. Algorithm 2 is Argon2id (a const enum in the
// package's types, which isolated modules cannot import).
const argonOptions = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, argonOptions);
}

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

export class Auth {
  /** Verifying against this when the handle is unknown makes both answers take the same time. */
  private dummyHash: Promise<string> | null = null;

  constructor(
    private readonly storage: Storage,
    private readonly clock: Clock,
    private readonly sessionTtlMs: number,
  ) {}

  /** Checks the password and opens a session; the same error for an unknown handle and a wrong password. */
  async login(handle: string, password: string): Promise<{ token: string; account: Account }> {
    const account = await this.storage.getAccountByHandle(handle);
    this.dummyHash ??= hashPassword('not the password of anyone');
    const ok = await verifyPassword(account?.passwordHash ?? (await this.dummyHash), password);
    if (!account || !ok) throw new KnockError('unauthorized', 'Wrong handle or password.');
    return { token: await this.openSession(account.id), account };
  }

  async openSession(accountId: string): Promise<string> {
    const token = newSecret();
    const now = this.clock.now();
    await this.storage.createSession({
      tokenHash: secretHash(token),
      accountId,
      createdAt: now,
      expiresAt: now + this.sessionTtlMs,
    });
    return token;
  }

  /** The account a session token belongs to, or null when the token is unknown or expired. */
  async accountOf(token: string | undefined | null): Promise<Account | null> {
    if (!token || token.length > 128) return null;
    const session = await this.storage.getSession(secretHash(token), this.clock.now());
    return session ? this.storage.getAccountById(session.accountId) : null;
  }

  async logout(token: string): Promise<void> {
    await this.storage.deleteSession(secretHash(token));
  }
}
