/**
 * Accounts and sessions for a bench run, written before the server starts (logging 20,000 owners in through the
 * API would cost 20,000 argon2 verifications, ~20 ms each). Every owner gets a session token the load processes put
 * in the `knock_session` cookie, exactly as a browser that logged in would.
 * - SQLite: the adapter creates the database and applies its migrations (SqliteStorage.open); the rows then go in
 *   with the adapter's own INSERT statements in one transaction (one fsync instead of one per row).
 * - PostgreSQL (the cluster scenario): through the Storage port, a few at a time.
 * One password hash is computed and reused: nobody logs in with a password during a run.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStorage } from '../adapters/storage/sqlite/SqliteStorage.ts';
import { sql } from '../adapters/storage/sqlite/queries.ts';
import { hashPassword, newSecret, secretHash } from '../engine/auth.ts';
import type { Storage } from '../engine/ports/storage.ts';

/** How many accounts of each group, and whether they are logged in (owners) or only have a URL. */
export type SeedPlan = Record<string, { count: number; sessions: boolean }>;

export interface SeededAccount {
  handle: string;
  /** The session token ('' for accounts nobody logs in to). */
  token: string;
}

export type Seeded = Record<string, SeededAccount[]>;

const SESSION_TTL_MS = 7 * 24 * 3600_000;
const PASSWORD = 'bench password, never used to log in';

/** Handles `<prefix><n>` (e.g. own12): valid handles, unique across groups as long as prefixes differ. */
function plannedAccounts(plan: SeedPlan): Array<{ group: string; handle: string; session: boolean }> {
  const out: Array<{ group: string; handle: string; session: boolean }> = [];
  for (const [group, { count, sessions }] of Object.entries(plan)) {
    for (let i = 0; i < count; i++) out.push({ group, handle: `${group}${i}`, session: sessions });
  }
  return out;
}

export async function seedSqlite(dataDir: string, plan: SeedPlan): Promise<Seeded> {
  const file = path.join(dataDir, 'knock.db');
  await SqliteStorage.open({ file }).close();
  const passwordHash = await hashPassword(PASSWORD);
  const db = new Database(file);
  const seeded: Seeded = Object.fromEntries(Object.keys(plan).map((g) => [g, []]));
  try {
    db.pragma('journal_mode = WAL');
    const insertAccount = db.prepare(sql.insertAccount);
    const insertSession = db.prepare(sql.insertSession);
    const now = Date.now();
    db.transaction(() => {
      for (const { group, handle, session } of plannedAccounts(plan)) {
        const id = randomBytes(16).toString('base64url');
        insertAccount.run(id, handle, `Bench ${handle}`, passwordHash, now);
        const token = session ? newSecret() : '';
        // The session's public id (Settings → Sessions), where it came from (nowhere: seeded), last seen now.
        if (session) insertSession.run(secretHash(token), id, now, now + SESSION_TTL_MS, randomBytes(12).toString('base64url'), null, null, now);
        seeded[group]!.push({ handle, token });
      }
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return seeded;
}

/** Through the Storage port (any adapter); `concurrency` writes in flight. */
export async function seedStorage(storage: Storage, plan: SeedPlan, concurrency = 16): Promise<Seeded> {
  const passwordHash = await hashPassword(PASSWORD);
  const seeded: Seeded = Object.fromEntries(Object.keys(plan).map((g) => [g, []]));
  const todo = plannedAccounts(plan);
  let next = 0;
  const now = Date.now();
  const worker = async () => {
    while (next < todo.length) {
      const { group, handle, session } = todo[next++]!;
      const account = await storage.createAccount({ handle, displayName: `Bench ${handle}`, passwordHash, at: now });
      const token = session ? newSecret() : '';
      if (session) await storage.createSession({ tokenHash: secretHash(token), accountId: account.id, createdAt: now, expiresAt: now + SESSION_TTL_MS });
      seeded[group]!.push({ handle, token });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  for (const list of Object.values(seeded)) list.sort((a, b) => a.handle.localeCompare(b.handle, 'en', { numeric: true }));
  return seeded;
}
