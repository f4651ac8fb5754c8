/**
 * `knock user 2fa <handle> [--disable]` (issue 22), run as a real child process on a temporary KNOCK_DATA_DIR, with a
 * real server opened on the same directory for what only a browser does (turning on an app, adding a passkey): the CLI
 * shows what the account has on; --disable turns it all off so the password signs in alone again, and the account's
 * audit log says an operator did it; bad input is refused with a readable message and exit code 1.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../engine/cookies.ts';
import { secondFactorChange, totpEnrolment, webAuthnOptions } from '../../engine/protocol.ts';
import { Person } from '../support/clients.ts';
import { post, setCookies } from '../support/httpClient.ts';
import { knockCli as runCli, type CliRun } from '../support/knockCli.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { SoftAuthenticator, type CreationOptions } from '../support/softAuthenticator.ts';

const PASSWORD = 'a long enough password';
let dataDir: string;
const knockCli = (args: string[], stdin = ''): Promise<CliRun> => runCli(args, { KNOCK_DATA_DIR: dataDir }, stdin);

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'knock-2fa-cli-'));
  expect((await knockCli(['user', 'add', 'alice', '--name', 'Alice', '--password-stdin'], `${PASSWORD}\n`)).code).toBe(0);
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

/** A server on the CLI's data directory for the length of `work`. */
async function withServer<T>(work: (knock: TestKnock) => Promise<T>): Promise<T> {
  const knock = await startKnock({ dataDir });
  try {
    return await work(knock);
  } finally {
    await knock.close();
  }
}

describe('knock user 2fa', () => {
  it('shows an account without two-factor sign-in', async () => {
    expect(await knockCli(['user', '2fa', 'alice'])).toEqual({ code: 0, stdout: 'authenticator app: off\nrecovery codes: 0 left\n', stderr: '' });
  });

  it('shows the app, how many recovery codes are left and the passkeys', async () => {
    const passkeyId = await withServer(async (knock) => {
      const alice = new Person(knock.url);
      await alice.login('alice', PASSWORD);
      const { secret } = await alice.api.request('POST', '/_/api/security/second-factor/totp', {}, totpEnrolment);
      const code = new TOTP({ secret: Secret.fromBase32(secret) }).generate();
      await alice.api.request('POST', '/_/api/security/second-factor/totp/confirm', { code, password: PASSWORD }, secondFactorChange);
      const { challengeId, options } = await alice.api.request('POST', '/_/api/security/second-factor/passkeys/options', { password: PASSWORD }, webAuthnOptions);
      const response = new SoftAuthenticator(knock.url).register(options as unknown as CreationOptions);
      const added = await alice.api.request('POST', '/_/api/security/second-factor/passkeys', { challengeId, name: 'Laptop', response }, secondFactorChange);
      return added.state.passkeys[0]!.id;
    });
    const run = await knockCli(['user', '2fa', 'alice']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const [app, codes, passkey, ...rest] = run.stdout.split('\n');
    expect([app, codes, rest]).toEqual(['authenticator app: on', 'recovery codes: 10 left', ['']]);
    expect(passkey?.split('\t')).toEqual(['passkey', passkeyId, 'Laptop', expect.stringMatching(/^added \d{4}-\d\d-\d\dT/), 'never used']);
  });

  it('--disable turns everything off: the password signs in alone, and the audit log says an operator did it', async () => {
    const run = await knockCli(['user', '2fa', 'alice', '--disable']);
    expect(run).toEqual({
      code: 0,
      stdout: 'Turned off two-factor sign-in of alice (the authenticator app, 1 passkey, 10 recovery codes removed): alice signs in with the password alone now.\n',
      stderr: '',
    });
    expect((await knockCli(['user', '2fa', 'alice'])).stdout).toBe('authenticator app: off\nrecovery codes: 0 left\n');
    await withServer(async (knock) => {
      const login = await post(knock.url, '/_/api/login', { handle: 'alice', password: PASSWORD });
      expect(await login.json()).toEqual({ handle: 'alice', displayName: 'Alice' });
      expect(setCookies(login).has(SESSION_COOKIE)).toBe(true);
      const account = await knock.storage.getAccountByHandle('alice');
      const entries = (await knock.audit.page(account!.id)).entries;
      expect(entries.find((e) => e.kind === 'totp.disabled')).toMatchObject({ ip: null, detail: { by: 'operator', passkeys: 1 } });
    });
    expect((await knockCli(['user', '2fa', 'alice', '--disable'])).stdout).toBe('alice has no two-factor sign-in: nothing to turn off.\n');
  });

  it('refuses an unknown account and a missing handle with exit code 1', async () => {
    for (const [args, message] of [
      [['user', '2fa', 'nobody'], 'There is no account "nobody"'],
      [['user', '2fa', 'nobody', '--disable'], 'There is no account "nobody"'],
      [['user', '2fa'], 'user 2fa needs <handle>'],
    ] as const) {
      const run = await knockCli([...args]);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr).toContain(message);
    }
  });
});
