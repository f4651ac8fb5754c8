/**
 * The operators' CLI (engine/bin/knock.mjs -> engine/cli.ts), run as a real child process on a temporary
 * KNOCK_DATA_DIR, and checked against a real server opened on the same directory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStorage } from '../../adapters/storage/sqlite/SqliteStorage.ts';
import { startKnock } from '../support/knockServer.ts';
import { post } from '../support/httpClient.ts';
import { knockCli as runCli, type CliRun } from '../support/knockCli.ts';

let dataDir: string;

/** Runs `knock ...args` on this file's data directory, `stdin` written to its standard input. */
function knockCli(args: string[], stdin = ''): Promise<CliRun> {
  return runCli(args, { KNOCK_DATA_DIR: dataDir }, stdin);
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'knock-cli-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

// The steps share one data directory and build on each other: add, list, refuse a duplicate, change the password,
// remove. Vitest runs the tests of a file in order.
describe('knock user', () => {
  const OLD = 'first long password';
  const NEW = 'second long password';

  it('adds an account with its name and the password read from stdin', async () => {
    const run = await knockCli(['user', 'add', 'bob', '--name', 'Bob B', '--password-stdin'], `${OLD}\n`);

    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe('Added bob (Bob B).\n');
  });

  it('lists the account', async () => {
    const run = await knockCli(['user', 'list']);

    expect(run.code).toBe(0);
    expect(run.stdout.split('\n').filter(Boolean).map((line) => line.split('\t').slice(0, 2))).toEqual([['bob', 'Bob B']]);
  });

  it('refuses to add the same handle again with a readable message and exit code 1', async () => {
    const run = await knockCli(['user', 'add', 'bob', '--name', 'Other Bob', '--password-stdin'], `${OLD}\n`);

    expect(run.code).toBe(1);
    expect(run.stderr).toBe('knock: The handle "bob" is taken.\n');
  });

  it('changes the password: the server accepts the new one and refuses the old one', async () => {
    const run = await knockCli(['user', 'passwd', 'bob', '--password-stdin'], `${NEW}\n`);
    expect(run.code).toBe(0);

    const knock = await startKnock({ dataDir });
    try {
      expect((await post(knock.url, '/_/api/login', { handle: 'bob', password: NEW })).status).toBe(200);
      expect((await post(knock.url, '/_/api/login', { handle: 'bob', password: OLD })).status).toBe(401);
    } finally {
      await knock.close();
    }
  });

  it('sets, shows and removes the owner\u2019s email address (Settings), and refuses a malformed one', async () => {
    const bad = await knockCli(['user', 'email', 'bob', 'not an address']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/email address/);
    const set = await knockCli(['user', 'email', 'bob', 'bob@inbox.test']);
    expect(set.code).toBe(0);
    expect((await knockCli(['user', 'email', 'bob'])).stdout).toBe('bob@inbox.test\tverified\n');
    const storage = SqliteStorage.open({ file: path.join(dataDir, 'knock.db') });
    try {
      const bob = (await storage.getAccountByHandle('bob'))!;
      expect(await storage.getAccountEmail(bob.id)).toMatchObject({ address: 'bob@inbox.test', verifiedAt: expect.any(Number) });
    } finally {
      await storage.close();
    }
    expect((await knockCli(['user', 'email', 'bob', '--remove'])).code).toBe(0);
    expect((await knockCli(['user', 'email', 'bob'])).stdout).toBe('No email address.\n');
  });

  it('lists the owner\u2019s mail devices and revokes one (Settings)', async () => {
    const storage = SqliteStorage.open({ file: path.join(dataDir, 'knock.db') });
    let deviceId: string;
    try {
      const bob = (await storage.getAccountByHandle('bob'))!;
      deviceId = (await storage.createDeviceToken({ accountId: bob.id, name: 'laptop mutt', tokenHash: 'cli-test-device', at: Date.now() })).id;
    } finally {
      await storage.close();
    }
    const listed = await knockCli(['user', 'devices', 'bob']);
    expect(listed.stdout).toContain(`${deviceId}\tlaptop mutt\t`);
    expect(listed.stdout).toContain('never used');
    expect((await knockCli(['user', 'devices', 'bob', '--revoke', deviceId])).code).toBe(0);
    expect((await knockCli(['user', 'devices', 'bob'])).stdout).toBe('');
    const again = await knockCli(['user', 'devices', 'bob', '--revoke', deviceId]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('has no device');
  });

  it('removes the account', async () => {
    const run = await knockCli(['user', 'remove', 'bob']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Removed bob/);

    const storage = SqliteStorage.open({ file: path.join(dataDir, 'knock.db') });
    try {
      expect(await storage.listAccounts()).toEqual([]);
    } finally {
      await storage.close();
    }
  });

  it('refuses a bad handle with a message that says what a handle is', async () => {
    const run = await knockCli(['user', 'add', 'Bad Handle!', '--name', 'X', '--password-stdin'], `${OLD}\n`);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^knock: A handle is 2 to 32 characters/);
  });

  it('refuses a short password read from stdin', async () => {
    const run = await knockCli(['user', 'add', 'carol', '--name', 'Carol', '--password-stdin'], 'short\n');

    expect(run.code).toBe(1);
    expect(run.stderr).toBe('knock: The password needs at least 8 characters.\n');
  });

  it('prints the usage and exits with code 2 when given no arguments', async () => {
    const run = await knockCli([]);

    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/^Usage:\n\s+knock user add/);
  });
});

// The owner's inbox from the command line, on a running server's data directory: what the console's buttons do.
describe('knock conversation', () => {
  it('lists, searches, archives and deletes an owner’s conversations beside a running server', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'knock-cli-conv-'));
    const knock = await startKnock({ dataDir: dir });
    try {
      await knock.addUser('dora', 'Dora');
      const knockAs = async (name: string) => {
        const res = await post(knock.url, '/_/api/u/dora/knock', { name });
        return ((await res.json()) as { conversationId: string }).conversationId;
      };
      const vera = await knockAs('Vera');
      const bruno = await knockAs('Bruno');
      const cli = (args: string[]) => runCli(args, { KNOCK_DATA_DIR: dir });

      const all = await cli(['conversation', 'list', 'dora']);
      expect(all.code, all.stderr).toBe(0);
      expect(all.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]).sort()).toEqual([vera, bruno].sort());
      const found = await cli(['conversation', 'list', 'dora', '--search', 'bru']);
      expect(found.stdout.split('\t')[0]).toBe(bruno);

      expect((await cli(['conversation', 'archive', vera])).stdout).toBe(`Archived ${vera}.\n`);
      expect((await cli(['conversation', 'list', 'dora'])).stdout).not.toContain(vera);
      expect((await cli(['conversation', 'list', 'dora', '--filter', 'archived'])).stdout).toContain(vera);

      expect((await cli(['conversation', 'delete', bruno])).stdout).toBe(`Deleted ${bruno}, its messages and files.\n`);
      expect(await knock.storage.getConversation(bruno)).toBeNull();
      const again = await cli(['conversation', 'delete', bruno]);
      expect(again).toMatchObject({ code: 1, stderr: `knock: There is no conversation "${bruno}".\n` });
      const badFilter = await cli(['conversation', 'list', 'dora', '--filter', 'everything']);
      expect(badFilter).toMatchObject({ code: 1, stderr: 'knock: --filter is all, unread, files or archived.\n' });
    } finally {
      await knock.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// Settings → Channels from the command line (issue 18): what an operator does for an owner. Each command is a
// process of its own (about a second each), so each test here runs a few.
describe('knock channel and knock forwarding', () => {
  let dir: string;
  const cli = (args: string[]) => runCli(args, { KNOCK_DATA_DIR: dir });
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'knock-cli-channels-'));
    expect((await runCli(['user', 'add', 'cleo', '--name', 'Cleo', '--password-stdin'], { KNOCK_DATA_DIR: dir }, 'a long password here\n')).code).toBe(0);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('adds channels (verified, each after the last), lists them, and refuses what is no channel', async () => {
    const xmpp = await cli(['channel', 'add', 'cleo', 'xmpp', 'Cleo@Jabber.Example']);
    expect(xmpp.stdout).toMatch(/^Added \S+: xmpp cleo@jabber\.example \(verified\), tried at once after a knock\.\n$/);
    const hook = await cli(['channel', 'add', 'cleo', 'webhook', 'https://bot.example/knock']);
    expect(hook.stdout).toMatch(/tried 2 min after a knock\.\nSigning secret \(shown once\): whsec_[A-Za-z0-9_-]{43}\n$/);
    const listed = (await cli(['channel', 'list', 'cleo'])).stdout.trim().split('\n').map((l) => l.split('\t').slice(1));
    expect(listed).toEqual([
      ['xmpp', 'cleo@jabber.example', 'verified', 'at once'],
      ['webhook', 'https://bot.example/knock', 'verified', '2 min'],
    ]);
    expect(await cli(['channel', 'add', 'cleo', 'sms', '555-1234'])).toMatchObject({ code: 1, stderr: expect.stringContaining('international form') });
    expect(await cli(['channel', 'add', 'cleo', 'push', 'x'])).toMatchObject({ code: 1, stderr: expect.stringContaining('Notify me on this device') });
  });

  it('times, orders and removes them', async () => {
    const ids = (await cli(['channel', 'list', 'cleo'])).stdout.trim().split('\n').map((l) => l.split('\t')[0]!);
    const [xmppId, hookId] = ids;
    expect((await cli(['channel', 'delay', 'cleo', hookId!, '10'])).stdout).toBe(`${hookId} is tried 10 min after a knock.\n`);
    expect((await cli(['channel', 'order', 'cleo', hookId!, xmppId!])).stdout).toBe(`Order of cleo: ${hookId}, ${xmppId}.\n`);
    expect(await cli(['channel', 'order', 'cleo', hookId!])).toMatchObject({ code: 1, stderr: expect.stringContaining('every channel id of cleo once') });
    expect((await cli(['channel', 'remove', 'cleo', xmppId!])).stdout).toBe(`Removed ${xmppId}.\n`);
    expect(await cli(['channel', 'remove', 'cleo', xmppId!])).toMatchObject({ code: 1, stderr: `knock: cleo has no channel "${xmppId}".\n` });
  });

  it('pauses and resumes forwarding, sets quiet hours in a time zone, and refuses a zone or hour that is none', async () => {
    const set = await cli(['forwarding', 'cleo', '--pause', '--quiet', '22:00-07:00', '--time-zone', 'Europe/Berlin', '--away-counts', 'yes']);
    expect(set.stdout).toBe('cleo: forwarding paused, quiet 22:00-07:00 (Europe/Berlin), XMPP away counts.\n');
    expect((await cli(['forwarding', 'cleo', '--resume', '--no-quiet'])).stdout).toBe('cleo: forwarding on, no quiet hours (Europe/Berlin), XMPP away counts.\n');
    expect(await cli(['forwarding', 'cleo', '--time-zone', 'Mars/Olympus'])).toMatchObject({ code: 1, stderr: expect.stringContaining('time zone') });
    expect(await cli(['forwarding', 'cleo', '--quiet', '25:00-07:00'])).toMatchObject({ code: 1, stderr: expect.stringContaining('HH:MM-HH:MM') });
  });
});
