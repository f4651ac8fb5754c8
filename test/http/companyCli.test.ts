/**
 * `knock company`, `knock operator`, `knock site` and `knock canned` (issue 19; engine/companyCli.ts) as real child processes on a
 * temporary KNOCK_DATA_DIR, checked in the database and against a real server opened on the same directory. The
 * steps build on each other (vitest runs a file's tests in order); each command is a process of its own (about a
 * second), so each test runs a few.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStorage } from '../../adapters/storage/sqlite/SqliteStorage.ts';
import type { Storage } from '../../engine/ports/storage.ts';
import { post } from '../support/httpClient.ts';
import { knockCli, type CliRun } from '../support/knockCli.ts';
import { startKnock } from '../support/knockServer.ts';

let dir: string;
const cli = (args: string[], stdin = ''): Promise<CliRun> => knockCli(args, { KNOCK_DATA_DIR: dir }, stdin);
const PASSWORD = 'a long password here';

/** What the database holds now, read through a connection of its own. */
async function inDatabase<T>(read: (storage: Storage) => Promise<T>): Promise<T> {
  const storage = SqliteStorage.open({ file: path.join(dir, 'knock.db') });
  try {
    return await read(storage);
  } finally {
    await storage.close();
  }
}

const lines = (run: CliRun): string[][] => run.stdout.split('\n').filter(Boolean).map((l) => l.split('\t'));

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'knock-cli-companies-'));
  for (const [handle, name] of [['ann', 'Ann Admin'], ['bob', 'Bob Operator']]) {
    expect((await cli(['user', 'add', handle!, '--name', name!, '--password-stdin'], `${PASSWORD}\n`)).code).toBe(0);
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('knock company', () => {
  it('adds a company with its admin and its address for offline messages (verified), and lists it', async () => {
    const added = await cli(['company', 'add', 'acme', '--name', 'Acme Ltd', '--admin', 'ann', '--email', 'help@acme.example']);
    expect(added).toEqual({ code: 0, stdout: 'Added company acme (Acme Ltd), admin ann; offline messages go to help@acme.example.\n', stderr: '' });
    expect(lines(await cli(['company', 'list']))).toEqual([['acme', 'Acme Ltd', '1 operator', '0 sites']]);
    await inDatabase(async (s) => {
      const acme = (await s.getAccountByHandle('acme'))!;
      expect(await s.getAccountEmail(acme.id)).toMatchObject({ address: 'help@acme.example', verifiedAt: expect.any(Number) });
      expect((await s.listOperators(acme.id)).map((o) => [o.handle, o.role, o.capacity])).toEqual([['ann', 'admin', 3]]);
    });
  });

  it('refuses a taken handle, an unknown admin, a bad address or a missing option, with a message and exit code 1', async () => {
    expect(await cli(['company', 'add', 'bob', '--name', 'Bob Ltd', '--admin', 'ann'])).toEqual({
      code: 1, stdout: '', stderr: 'knock: The handle "bob" is taken.\n',
    });
    expect(await cli(['company', 'add', 'globex', '--name', 'Globex', '--admin', 'nobody'])).toMatchObject({
      code: 1, stderr: 'knock: There is no account "nobody" to be the admin.\n',
    });
    expect(await cli(['company', 'add', 'globex', '--name', 'Globex', '--admin', 'ann', '--email', 'help at globex'])).toMatchObject({
      code: 1, stderr: expect.stringContaining('email address'),
    });
    expect(await cli(['company', 'add', 'globex', '--name', 'Globex'])).toMatchObject({
      code: 1, stderr: 'knock: company add needs <handle>, --name "<name>" and --admin <handle>.\n',
    });
    expect(lines(await cli(['company', 'list'])).map((l) => l[0])).toEqual(['acme']);
  });

  it('lets nobody log in as the company on the server, while its admin logs in as before', async () => {
    const knock = await startKnock({ dataDir: dir });
    try {
      expect((await post(knock.url, '/_/api/login', { handle: 'acme', password: PASSWORD })).status).toBe(401);
      expect((await post(knock.url, '/_/api/login', { handle: 'acme', password: '!no-login' })).status).toBe(401);
      expect((await post(knock.url, '/_/api/login', { handle: 'ann', password: PASSWORD })).status).toBe(200);
    } finally {
      await knock.close();
    }
  });
});

describe('knock operator', () => {
  it('adds an operator with a capacity, makes them admin, and lists the team', async () => {
    expect((await cli(['operator', 'add', 'acme', 'bob', '--capacity', '2'])).stdout).toBe('bob is an operator of acme, 2 chats at once.\n');
    expect((await cli(['operator', 'add', 'acme', 'bob', '--role', 'admin', '--capacity', '1'])).stdout).toBe('bob is an admin of acme, 1 chat at once.\n');
    expect(lines(await cli(['operator', 'list', 'acme']))).toEqual([
      ['ann', 'Ann Admin', 'admin', 'online', '3 chats'],
      ['bob', 'Bob Operator', 'admin', 'online', '1 chat'],
    ]);
  });

  it('refuses a capacity or role that cannot be, a company as operator, and an unknown company', async () => {
    expect(await cli(['operator', 'add', 'acme', 'bob', '--capacity', 'lots'])).toMatchObject({
      code: 1, stderr: 'knock: --capacity is a whole number of chats at once, from 1 to 50.\n',
    });
    expect(await cli(['operator', 'add', 'acme', 'bob', '--capacity', '51'])).toMatchObject({ code: 1, stderr: expect.stringContaining('from 1 to 50') });
    expect(await cli(['operator', 'add', 'acme', 'bob', '--role', 'owner'])).toMatchObject({ code: 1, stderr: 'knock: --role is admin or operator.\n' });
    expect(await cli(['operator', 'add', 'acme', 'acme'])).toMatchObject({ code: 1, stderr: expect.stringContaining('is a company') });
    expect(await cli(['operator', 'list', 'ann'])).toMatchObject({ code: 1, stderr: 'knock: There is no company "ann".\n' });
  });

  it('removes an operator, but never the last admin', async () => {
    expect((await cli(['operator', 'remove', 'acme', 'ann'])).stdout).toBe('Removed ann from acme.\n');
    expect(await cli(['operator', 'remove', 'acme', 'ann'])).toMatchObject({ code: 1, stderr: 'knock: ann is not an operator of acme.\n' });
    expect(await cli(['operator', 'remove', 'acme', 'bob'])).toMatchObject({
      code: 1, stderr: 'knock: bob is the last admin of acme: make someone else admin before you remove them.\n',
    });
    expect(lines(await cli(['operator', 'list', 'acme'])).map((l) => l[0])).toEqual(['bob']);
  });
});

describe('knock site', () => {
  it('allows an origin as typed (stored as the browser writes it), once, lists and removes it', async () => {
    expect((await cli(['site', 'add', 'acme', 'https://Shop.Example/'])).stdout).toBe("acme's widget may now be embedded on https://shop.example.\n");
    expect((await cli(['site', 'add', 'acme', 'https://shop.example:443'])).stdout).toBe("https://shop.example was already one of acme's sites.\n");
    expect((await cli(['site', 'add', 'acme', 'http://localhost:8080'])).code).toBe(0);
    expect((await cli(['site', 'list', 'acme'])).stdout).toBe('https://shop.example\nhttp://localhost:8080\n');
    expect((await cli(['site', 'remove', 'acme', 'https://shop.example'])).stdout).toBe("Removed https://shop.example from acme's sites.\n");
    expect(await cli(['site', 'remove', 'acme', 'https://shop.example'])).toMatchObject({
      code: 1, stderr: "knock: https://shop.example is not one of acme's sites.\n",
    });
    expect((await cli(['site', 'list', 'acme'])).stdout).toBe('http://localhost:8080\n');
  });

  it('refuses a page instead of a site, another scheme, and a site of no company', async () => {
    expect(await cli(['site', 'add', 'acme', 'https://shop.example/checkout'])).toMatchObject({
      code: 1, stderr: expect.stringContaining('an allowed site is a whole origin, without a path'),
    });
    expect(await cli(['site', 'add', 'acme', 'ftp://shop.example'])).toMatchObject({ code: 1, stderr: expect.stringContaining('only http and https') });
    expect(await cli(['site', 'add', 'bob', 'https://shop.example'])).toMatchObject({ code: 1, stderr: 'knock: There is no company "bob".\n' });
    expect(lines(await cli(['company', 'list']))).toEqual([['acme', 'Acme Ltd', '1 operator', '1 site']]);
  });

  it('shows the company commands in the usage, and exits with code 2 for a group without a command', async () => {
    const run = await cli(['site']);
    expect(run.code).toBe(2);
    for (const line of ['knock company add <handle> --name', 'knock operator add <company> <handle>', 'knock site add|remove <company>']) {
      expect(run.stdout).toContain(line);
    }
  });
});

describe('knock canned', () => {
  it('adds a response (with or without the slash), replaces its text, lists them by shortcut and removes one', async () => {
    expect(await cli(['canned', 'add', 'acme', 'hello', 'Hello! How can we help?'])).toEqual({
      code: 0, stdout: "/hello in acme's console now inserts: Hello! How can we help?\n", stderr: '',
    });
    expect((await cli(['canned', 'add', 'acme', '/bye', 'Thanks for chatting.'])).code).toBe(0);
    expect((await cli(['canned', 'add', 'acme', 'hello', 'Hi there!\nHow can we help?'])).code).toBe(0);
    expect((await cli(['canned', 'list', 'acme'])).stdout).toBe('/bye\tThanks for chatting.\n/hello\tHi there! How can we help?\n');
    await inDatabase(async (s) => {
      const acme = (await s.getAccountByHandle('acme'))!;
      expect((await s.listCannedResponses(acme.id)).find((c) => c.shortcut === 'hello')?.text).toBe('Hi there!\nHow can we help?');
    });
    expect((await cli(['canned', 'remove', 'acme', 'bye'])).stdout).toBe("Removed /bye from acme's canned responses.\n");
    expect(await cli(['canned', 'remove', 'acme', 'bye'])).toMatchObject({ code: 1, stderr: 'knock: acme has no canned response /bye.\n' });
    expect((await cli(['canned', 'list', 'acme'])).stdout).toBe('/hello\tHi there! How can we help?\n');
  });

  it('refuses a bad shortcut, an oversized response, a missing response and a person instead of a company', async () => {
    expect(await cli(['canned', 'add', 'acme', 'Hello There', 'text'])).toMatchObject({ code: 1, stderr: expect.stringContaining('A shortcut is 1 to 32 characters') });
    expect(await cli(['canned', 'add', 'acme', 'long', 'x'.repeat(2001)])).toMatchObject({ code: 1, stderr: expect.stringContaining('too long') });
    expect(await cli(['canned', 'add', 'acme', 'empty'])).toMatchObject({ code: 1, stderr: expect.stringContaining('canned add needs') });
    expect(await cli(['canned', 'add', 'bob', 'hello', 'text'])).toMatchObject({ code: 1, stderr: 'knock: There is no company "bob".\n' });
    expect((await cli(['canned', 'list', 'acme'])).stdout).toBe('/hello\tHi there! How can we help?\n');
  });
});
