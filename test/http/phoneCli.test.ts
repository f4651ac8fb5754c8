/**
 * `knock phone set|remove|list` (issue 20), run as a real child process on a temporary KNOCK_DATA_DIR, and checked
 * against a real server opened on the same directory: the number the operator sets is the account's URL, in any
 * spelling typed; setting it for another account moves it; removing it makes it nobody's page; bad input is refused
 * with a readable message and exit code 1.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knockCli as runCli, type CliRun } from '../support/knockCli.ts';
import { startKnock } from '../support/knockServer.ts';

let dataDir: string;
const knockCli = (args: string[], stdin = ''): Promise<CliRun> => runCli(args, { KNOCK_DATA_DIR: dataDir }, stdin);

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'knock-phone-cli-'));
  for (const [handle, name] of [['alice', 'Alice'], ['bob', 'Bob']] as const) {
    expect((await knockCli(['user', 'add', handle, '--name', name, '--password-stdin'], 'a long enough password\n')).code).toBe(0);
  }
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

async function pageStatus(pathname: string): Promise<{ status: number; handle: string | null }> {
  const knock = await startKnock({ dataDir });
  try {
    const page = await fetch(`${knock.url}${pathname}`, { redirect: 'manual' });
    const profile = await fetch(`${knock.url}/_/api/profile/${encodeURIComponent(pathname.slice(1))}`);
    return { status: page.status, handle: profile.ok ? ((await profile.json()) as { handle: string }).handle : null };
  } finally {
    await knock.close();
  }
}

describe('knock phone', () => {
  it('sets a number typed in any spelling: /+15551234567 opens the account\u2019s page', async () => {
    const run = await knockCli(['phone', 'set', 'alice', '+1 (555) 123-4567']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe("+1 555 123 4567 is alice's number: /+15551234567\n");
    expect(await pageStatus('/+15551234567')).toEqual({ status: 200, handle: 'alice' });
  });

  it('moves the number when it is set for another account, and lists who holds which', async () => {
    const run = await knockCli(['phone', 'set', 'bob', '+15551234567']);
    expect(run.stdout).toBe("+1 555 123 4567 is bob's number (moved from alice): /+15551234567\n");
    const list = await knockCli(['phone', 'list']);
    expect(list.stdout.split('\n').filter(Boolean).map((line) => line.split('\t').slice(0, 3))).toEqual([['+15551234567', '+1 555 123 4567', 'bob']]);
    expect((await pageStatus('/+15551234567')).handle).toBe('bob');
  });

  it('removes a number: the URL is nobody\u2019s page again', async () => {
    expect((await knockCli(['phone', 'remove', 'bob'])).stdout).toBe('bob has no phone number now.\n');
    expect(await pageStatus('/+15551234567')).toEqual({ status: 404, handle: null });
    expect((await knockCli(['phone', 'list'])).stdout).toBe('');
  });

  it('refuses what is no number, an unknown account, and a remove of nothing, with exit code 1', async () => {
    for (const [args, message] of [
      [['phone', 'set', 'alice', '555-1234'], 'international form'],
      [['phone', 'set', 'nobody', '+15551234567'], 'There is no account "nobody"'],
      [['phone', 'remove', 'alice'], 'alice has no phone number'],
    ] as const) {
      const run = await knockCli([...args]);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr).toContain(message);
    }
  });
});
