/**
 * `knock user sessions|logout|audit` and what `knock user passwd` records (issue 22), run as a real child process on
 * the data directory of a running server: the operator sees an owner's sessions and audit log, ends every session (the
 * owner's open console is logged out within the server's session check, the CLI having no way to tell it at once),
 * and a password set from the CLI is in the audit log and mailed to the owner by the running server. Bad input is
 * refused with a readable message and exit code 1.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../engine/cookies.ts';
import { CloseCode } from '../../engine/errors.ts';
import { Cast, NO_PINGS, testRateLimits } from '../support/cast.ts';
import { waitFor } from '../support/clients.ts';
import { post, setCookies } from '../support/httpClient.ts';
import { knockCli as runCli, type CliRun } from '../support/knockCli.ts';
import { startKnock, TEST_PASSWORD, type TestKnock } from '../support/knockServer.ts';
import { MailSink } from '../support/mailSink.ts';

const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const CHECK_INTERVAL_MS = 500;
/** Within the session check's interval, with room for a loaded machine. */
const CLOSES_WITHIN_MS = 5000;
const ADDRESS = 'alice.home@inbox.test';

let sink: MailSink;
let knock: TestKnock;
let cast: Cast;
const knockCli = (args: string[], stdin = ''): Promise<CliRun> => runCli(args, { KNOCK_DATA_DIR: knock.dataDir }, stdin);

beforeAll(async () => {
  sink = await MailSink.start();
  knock = await startKnock({
    mailDomain: 'example.test',
    smtpRelayUrl: sink.url,
    outboxRetryBaseMs: 50,
    outboxPollMs: 100,
    pingIntervalMs: NO_PINGS,
    rateLimits: testRateLimits(),
    sessionCheckIntervalMs: CHECK_INTERVAL_MS,
  });
  await knock.addUser('alice', 'Alice');
  const alice = (await knock.storage.getAccountByHandle('alice'))!;
  await knock.storage.setAccountEmail(alice.id, { address: ADDRESS, verifyTokenHash: 'cli-verify', at: Date.now() });
  await knock.storage.verifyAccountEmail('cli-verify', Date.now());
  cast = new Cast(knock);
});
afterEach(() => cast.closeAll());
afterAll(async () => {
  await knock?.close();
  await sink?.close();
});

/** Alice signed in from Chrome, as a Person holding that session. */
async function aliceInChrome(password = TEST_PASSWORD) {
  const res = await post(knock.url, '/_/api/login', { handle: 'alice', password }, { headers: { 'user-agent': CHROME } });
  expect(res.status).toBe(200);
  const person = cast.visitor();
  person.cookies.set(SESSION_COOKIE, setCookies(res).get(SESSION_COOKIE)!.value);
  return person;
}

const lines = (run: CliRun) => run.stdout.split('\n').filter(Boolean).map((line) => line.split('\t'));

describe('knock user sessions|logout|audit', () => {
  it('lists an owner\u2019s live sessions with their id, browser, address and times', async () => {
    await aliceInChrome();
    const run = await knockCli(['user', 'sessions', 'alice']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const [row] = lines(run);
    expect(row).toHaveLength(5);
    expect(row!.slice(1, 3)).toEqual(['Chrome 131 on Linux', '127.0.0.1']);
    expect(row![0]).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(row![3]).toMatch(/^signed in \d{4}-\d\d-\d\dT/);
    expect(row![4]).toMatch(/^last seen \d{4}-\d\d-\d\dT/);
  });

  it('logs an owner out everywhere: their open console closes within the server\u2019s session check, as logged out', async () => {
    const person = await aliceInChrome();
    const console_ = person.ownerSession('alice');
    await waitFor(console_, (s) => s.connection === 'live', 'console live');

    const run = await knockCli(['user', 'logout', 'alice']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^Ended \d+ sessions? of alice; their open pages are logged out within the servers' session check\.\n$/);
    await waitFor(console_, (s) => s.connection === 'closed', 'console closed', CLOSES_WITHIN_MS);
    expect(console_.endReason).toMatchObject({ code: CloseCode.loggedOut });
    expect((await knockCli(['user', 'sessions', 'alice'])).stdout).toBe('alice has no live session.\n');
    const alice = (await knock.storage.getAccountByHandle('alice'))!;
    expect((await knock.audit.page(alice.id)).entries[0]).toMatchObject({ kind: 'sessions.ended', ip: null, device: null, detail: { why: 'knock user logout' } });
  });

  it('prints the audit log newest first, as many entries as asked', async () => {
    await aliceInChrome();
    const run = await knockCli(['user', 'audit', 'alice', '--limit', '1']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const [row, ...more] = lines(run);
    expect(more).toEqual([]);
    expect(row!.slice(1)).toEqual(['login', '127.0.0.1', 'Chrome 131 on Linux', '{"method":"password"}']);
    expect(lines(await knockCli(['user', 'audit', 'alice'])).length).toBeGreaterThan(1);
  });

  it('refuses a bad limit and an unknown account with a readable message', async () => {
    expect(await knockCli(['user', 'audit', 'alice', '--limit', 'lots'])).toMatchObject({ code: 1, stderr: 'knock: --limit is a number from 1 to 10000.\n' });
    expect(await knockCli(['user', 'logout', 'nobody'])).toMatchObject({ code: 1, stderr: 'knock: There is no account "nobody".\n' });
    expect(await knockCli(['user', 'sessions'])).toMatchObject({ code: 1, stderr: 'knock: user sessions needs <handle>.\n' });
  });
});

describe('knock user passwd', () => {
  it('records the change in the audit log and has the running server mail the owner a notice', async () => {
    const run = await knockCli(['user', 'passwd', 'alice', '--password-stdin'], 'a password the operator set\n');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const alice = (await knock.storage.getAccountByHandle('alice'))!;
    expect((await knock.audit.page(alice.id)).entries[0]).toMatchObject({ kind: 'password.changed', ip: null, device: null });
    const notice = await sink.next((m) => m.envelope.to.includes(ADDRESS) && m.subject === 'Your Knock password was changed');
    expect(notice.parsed.text).toContain(`The password of ${knock.url}/alice was changed on `);
    expect(notice.parsed.text).toContain('from the server\u2019s command line (by its operator).');
    await aliceInChrome('a password the operator set');
  });
});
