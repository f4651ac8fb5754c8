/**
 * Sessions that end without a word to the server (issue 13): the operator changes an owner's password with the CLI
 * (another process, writing only to the database), or a session expires, while the owner's devices are connected.
 * Their sockets must close within seconds as "logged out" (CloseCode.loggedOut), on SQLite and PostgreSQL alike;
 * visitors stay connected. Expired sessions are deleted from the database.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newSecret, secretHash } from '../../engine/auth.ts';
import { SESSION_COOKIE } from '../../engine/cookies.ts';
import { CloseCode } from '../../engine/errors.ts';
import { waitFor } from '../support/clients.ts';
import { Cast, NO_PINGS, testRateLimits } from '../support/cast.ts';
import { knockCli } from '../support/knockCli.ts';
import { eventually } from '../support/knockUi.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { TestSchemas, newSchemaName, testDatabaseUrl } from '../support/postgresSchemas.ts';

const CHECK_INTERVAL_MS = 500;
/** "Within seconds": a few check intervals, with room for a loaded machine. */
const CLOSES_WITHIN_MS = 5000;
const schemas = new TestSchemas();
afterAll(() => schemas.end());

interface Database {
  name: string;
  /** The server's settings for this database, the CLI's environment for the same, and how to remove it all. */
  open(): Promise<{ config: { dataDir?: string; databaseUrl?: string; databaseSchema?: string }; cliEnv: Record<string, string>; cleanup(): Promise<void> }>;
}

const databases: Database[] = [
  {
    name: 'SQLite',
    async open() {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'knock-session-end-'));
      return { config: { dataDir }, cliEnv: { KNOCK_DATA_DIR: dataDir }, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const databaseSchema = newSchemaName();
      return {
        config: { databaseUrl: testDatabaseUrl, databaseSchema },
        cliEnv: { DATABASE_URL: testDatabaseUrl, KNOCK_DATABASE_SCHEMA: databaseSchema },
        cleanup: () => schemas.drop(databaseSchema),
      };
    },
  },
];

for (const db of databases) {
  describe(`on ${db.name}`, () => {
    let knock: TestKnock;
    let cast: Cast;
    let cliEnv: Record<string, string>;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      const opened = await db.open();
      cliEnv = opened.cliEnv;
      cleanup = opened.cleanup;
      knock = await startKnock({
        ...opened.config,
        pingIntervalMs: NO_PINGS,
        rateLimits: testRateLimits(),
        sessionCheckIntervalMs: CHECK_INTERVAL_MS,
        sessionPurgeIntervalMs: 1000,
      });
      cast = new Cast(knock);
    });
    afterEach(() => cast.closeAll());
    afterAll(async () => {
      await knock?.close();
      await cleanup?.();
    });

    it('closes the owner\u2019s open sockets as logged out within seconds when the CLI changes the password', async () => {
      const { handle, person: alice } = await cast.owner('Alice');
      const { session: visitorChat, conversationId } = await cast.visitor().knock(handle, 'Vic');
      const console_ = alice.ownerSession(handle);
      const ownerChat = alice.conversation(conversationId);
      await waitFor(console_, (s) => s.connection === 'live', 'owner console live');
      await waitFor(ownerChat, (s) => s.connection === 'live', 'owner conversation live');
      await waitFor(visitorChat, (s) => s.connection === 'live', 'visitor live');

      const run = await knockCli(['user', 'passwd', handle, '--password-stdin'], cliEnv, 'a brand new password\n');
      expect(run).toMatchObject({ code: 0, stderr: '' });

      await waitFor(console_, (s) => s.connection === 'closed', 'owner console closed', CLOSES_WITHIN_MS);
      expect(console_.endReason).toMatchObject({ code: CloseCode.loggedOut });
      await waitFor(ownerChat, (s) => s.connection === 'closed', 'owner conversation closed', CLOSES_WITHIN_MS);
      // The visitor is not an owner session: still connected, and sees the owner go offline.
      const seen = await waitFor(visitorChat, (s) => !s.ownerOnline, 'visitor sees the owner offline', CLOSES_WITHIN_MS);
      expect(seen.connection).toBe('live');
    });

    it('closes the socket of a session that expires while it is open', async () => {
      const { handle } = await cast.owner('Bea');
      const account = (await knock.storage.getAccountByHandle(handle))!;
      const token = newSecret();
      const now = Date.now();
      await knock.storage.createSession({ tokenHash: secretHash(token), accountId: account.id, createdAt: now, expiresAt: now + 1500 });
      const device = cast.visitor();
      device.cookies.set(SESSION_COOKIE, token);
      const console_ = device.ownerSession(handle);
      await waitFor(console_, (s) => s.connection === 'live', 'owner console live');

      await waitFor(console_, (s) => s.connection === 'closed', 'owner console closed at expiry', 1500 + CLOSES_WITHIN_MS);
      expect(console_.endReason).toMatchObject({ code: CloseCode.loggedOut });
      expect(Date.now()).toBeGreaterThanOrEqual(now + 1500);
    });

    it('deletes expired sessions from the database', async () => {
      const { handle } = await cast.owner('Cid');
      const account = (await knock.storage.getAccountByHandle(handle))!;
      const now = Date.now();
      await knock.storage.createSession({ tokenHash: 'expired-session', accountId: account.id, createdAt: now - 10_000, expiresAt: now - 1 });
      await knock.storage.createSession({ tokenHash: 'current-session', accountId: account.id, createdAt: now, expiresAt: now + 3600_000 });

      // Asked at its creation time, a session still in the table would be found: null means deleted.
      await eventually(() => knock.storage.getSession('expired-session', now - 10_000), (found) => expect(found).toBeNull(), CLOSES_WITHIN_MS);
      expect(await knock.storage.getSession('current-session', now)).not.toBeNull();
    });
  });
}
