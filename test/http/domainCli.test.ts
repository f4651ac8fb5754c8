/**
 * `knock domain add|list|check|remove` (issue 21), run as a real child process on a temporary KNOCK_DATA_DIR, with the
 * resolver it checks delegations through played by test/support/worldDns.ts: what Settings → Domains does, from the
 * command line, with the NS records to set printed, and bad input refused with a readable message and exit code 1.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knockCli as runCli, type CliRun } from '../support/knockCli.ts';
import { WorldDns } from '../support/worldDns.ts';

let dataDir: string;
let world: WorldDns;
const knockCli = (args: string[], stdin = ''): Promise<CliRun> =>
  runCli(args, { KNOCK_DATA_DIR: dataDir, KNOCK_DNS_NAMESERVERS: 'ns1.knock.test,ns2.knock.test', KNOCK_PUBLIC_IPS: '127.0.0.1', KNOCK_DNS_CHECK_RESOLVER: world.address, KNOCK_MAIL_DOMAIN: 'knock.test' }, stdin);

beforeAll(async () => {
  world = await WorldDns.start();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'knock-domain-cli-'));
  expect((await knockCli(['user', 'add', 'alice', '--name', 'Alice', '--password-stdin'], 'a long enough password\n')).code).toBe(0);
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
  await world.close();
});

describe('knock domain', () => {
  it('adds a domain, prints the NS records to set, and says it waits for them', async () => {
    const run = await knockCli(['domain', 'add', 'alice', 'Alice.Example.']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(
      'Added alice.example for alice. At the registrar, set its name servers (NS records) to:\n' +
        '  alice.example. NS ns1.knock.test.\n  alice.example. NS ns2.knock.test.\n' +
        'alice.example is pending: No NS records for alice.example yet.\n',
    );
  });

  it('checks it again once delegated, and lists it as active', async () => {
    world.delegate('alice.example', ['ns1.knock.test', 'ns2.knock.test']);
    expect((await knockCli(['domain', 'check', 'alice.example'])).stdout).toBe('alice.example is active.\n');
    const list = await knockCli(['domain', 'list']);
    expect(list.stdout.split('\n').filter(Boolean).map((l) => l.split('\t').slice(0, 3))).toEqual([['alice.example', 'alice', 'active']]);
  });

  it('refuses a name that is taken, Knock\u2019s own, or no domain, and removes a domain', async () => {
    for (const [args, message] of [
      [['domain', 'add', 'alice', 'alice.example'], 'someone\u2019s domain already'.replace('\u2019', "'")],
      [['domain', 'add', 'alice', 'knock.test'], "this server's own name"],
      [['domain', 'add', 'alice', 'no domain'], 'Give a domain name'],
    ] as const) {
      const run = await knockCli([...args]);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr).toContain(message);
    }
    expect((await knockCli(['domain', 'remove', 'alice', 'alice.example'])).stdout).toBe('Removed alice.example from alice.\n');
    expect((await knockCli(['domain', 'list'])).stdout).toBe('');
  });
});
