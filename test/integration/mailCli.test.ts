/**
 * `npx knock mail` (issue 17) as an owner runs it: the real CLI as a child process (engine/bin/knock.mjs) against a
 * real server, with its own config directory. Log in with the password on standard input; sync the conversations
 * into a Maildir whose files a mail parser reads (attachments too); a second sync adds nothing; Seen both ways; send
 * a new email with an attachment; log out. The steps build on each other (vitest runs a file's tests in order).
 */
import { mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import { secondFactorChange, totpEnrolment, type FileRef } from '../../engine/protocol.ts';
import { Cast, NO_PINGS } from '../support/cast.ts';
import { waitFor, type Person } from '../support/clients.ts';
import { knockCli, type CliRun } from '../support/knockCli.ts';
import { startKnock, TEST_PASSWORD, type TestKnock } from '../support/knockServer.ts';
import { MailSink } from '../support/mailSink.ts';
import { call, mailTestRateLimits } from '../support/mailApiClient.ts';
import { uploadFile } from '../support/uploads.ts';

let knock: TestKnock;
let sink: MailSink;
let cast: Cast;
let dir: string;
let env: Record<string, string>;
let handle: string;
let owner: Person;
let conversationId: string;
const maildir = () => path.join(dir, 'Mail', 'knock');

/** `knock mail ...args` as the owner runs it on their computer, `stdin` on its standard input. */
function mail(args: string[], stdin = ''): Promise<CliRun> {
  return knockCli(['mail', ...args], env, stdin);
}

/** The Maildir's message files (cur/), sorted. */
async function files(): Promise<string[]> {
  return (await readdir(path.join(maildir(), 'cur'))).sort();
}

async function ownerReadSeq(id: string): Promise<number> {
  return (await knock.storage.getParticipants(id)).find((p) => p.role === 'owner')!.readSeq;
}

beforeAll(async () => {
  sink = await MailSink.start();
  knock = await startKnock({ pingIntervalMs: NO_PINGS, rateLimits: mailTestRateLimits(), smtpRelayUrl: sink.url, outboxPollMs: 100 });
  cast = new Cast(knock);
  dir = await mkdtemp(path.join(os.tmpdir(), 'knock-mail-cli-'));
  env = { HOME: path.join(dir, 'home'), XDG_CONFIG_HOME: path.join(dir, 'config') };
  ({ handle, person: owner } = await cast.owner('Alice'));
  // Vic knocks and writes twice, the second time with a file.
  const visitor = cast.visitor();
  const knocked = await visitor.knock(handle, 'Vic');
  conversationId = knocked.conversationId;
  knocked.session.send('Is the boat still for sale?');
  const ref = (await (await uploadFile(knock.url, conversationId, 'boat.txt', Buffer.from('a fine boat'), { token: knocked.token })).json()) as FileRef;
  knocked.session.send('Here is what I know of it', [ref]);
  await waitFor(knocked.session, (s) => s.messages.filter((m) => m.seq !== null).length === 2, 'both messages stored');
});
afterAll(async () => {
  await cast.closeAll();
  await knock.close();
  await sink.close();
  await rm(dir, { recursive: true, force: true });
});

describe('knock mail', () => {
  it('refuses a wrong password with the server\u2019s words on one line, exit code 1, and keeps no login', async () => {
    const run = await mail(['login', `${knock.url}/${handle}`, '--password-stdin'], 'not the password\n');
    expect(run).toMatchObject({ code: 1, stdout: '', stderr: 'knock: Wrong handle or password.\n' });
    await expect(stat(path.join(env.XDG_CONFIG_HOME!, 'knock', 'mail.json'))).rejects.toThrow();
  });

  it('logs in with the IM URL and the password from standard input, and keeps the token readable by its owner only', async () => {
    const run = await mail(['login', `${knock.url}/${handle}`, '--password-stdin', '--name', 'test laptop'], `${TEST_PASSWORD}\n`);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Logged in as ${handle} at ${knock.url}; your address is ${handle}@`));

    const file = path.join(env.XDG_CONFIG_HOME!, 'knock', 'mail.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(file, 'utf8')) as { url: string; handle: string; token: string; id: string };
    expect(saved).toMatchObject({ url: knock.url, handle, token: expect.stringMatching(/^knd_/) });
    const settings = (await (await call(knock.url, 'GET', '/_/api/settings', { headers: owner.headers })).json()) as { devices: { id: string; name: string }[] };
    expect(settings.devices).toEqual([expect.objectContaining({ id: saved.id, name: 'test laptop' })]);
  });

  it('syncs the conversations into a Maildir a mail client reads, attachments and all', async () => {
    const run = await mail(['sync', maildir()]);
    expect(run).toMatchObject({ code: 0, stderr: '', stdout: '2 new, 0 marked read here, 0 marked read there\n' });

    expect(await files()).toEqual([`${conversationId}.1.knock:2,`, `${conversationId}.2.knock:2,`]);
    expect(await readdir(path.join(maildir(), 'new'))).toEqual([]);
    expect(await readdir(path.join(maildir(), 'tmp'))).toEqual([]);
    const [first, second] = await Promise.all((await files()).map(async (f) => simpleParser(await readFile(path.join(maildir(), 'cur', f)))));
    expect(first!.text?.trim()).toBe('Is the boat still for sale?');
    expect(second!.text?.trim()).toBe('Here is what I know of it');
    expect(second!.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([['boat.txt', 'a fine boat']]);
  });

  it('adds nothing on a second sync', async () => {
    const before = await files();
    const run = await mail(['sync', maildir()]);
    expect(run).toMatchObject({ code: 0, stdout: '0 new, 0 marked read here, 0 marked read there\n' });
    expect(await files()).toEqual(before);
  });

  it('raises the owner\u2019s read mark when the mail client marks a message Seen', async () => {
    const cur = path.join(maildir(), 'cur');
    await rename(path.join(cur, `${conversationId}.1.knock:2,`), path.join(cur, `${conversationId}.1.knock:2,S`));
    expect(await ownerReadSeq(conversationId)).toBe(0);

    const run = await mail(['sync', maildir()]);
    expect(run).toMatchObject({ code: 0, stdout: '0 new, 0 marked read here, 1 marked read there\n' });
    expect(await ownerReadSeq(conversationId)).toBe(1);
  });

  it('marks a message Seen here when the owner read it in the console', async () => {
    const read = await call(knock.url, 'POST', `/_/api/conversations/${conversationId}/read`, { headers: { ...owner.headers, origin: knock.url } }, { seq: 2 });
    expect(read.status).toBe(200);

    const run = await mail(['sync', maildir()]);
    expect(run).toMatchObject({ code: 0, stdout: '0 new, 1 marked read here, 0 marked read there\n' });
    expect(await files()).toEqual([`${conversationId}.1.knock:2,S`, `${conversationId}.2.knock:2,S`]);
  });

  it('sends a new email with an attachment: stored in a new email conversation, and synced back as the owner\u2019s, Seen', async () => {
    const attachment = path.join(dir, 'quote.txt');
    await writeFile(attachment, 'Quote: 4000 EUR');
    const run = await mail(['send', '--to', 'bob@example.com', '--subject', 'Your quote', '--attach', attachment], 'Dear Bob,\nhere is the quote.\n');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const id = run.stdout.trim();

    expect(await knock.storage.getConversation(id)).toMatchObject({ kind: 'email', subject: 'Your quote', visitorEmail: 'bob@example.com', ownerHandle: handle });
    const [message] = await knock.storage.messagesAfter(id, 0, 10);
    expect(message).toMatchObject({ senderRole: 'owner', body: 'Dear Bob,\nhere is the quote.', event: { kind: 'file', files: [expect.objectContaining({ name: 'quote.txt', size: 15 })] } });
    // And it went out through the relay, with its attachment.
    const out = await sink.next((m) => m.envelope.to.includes('bob@example.com'));
    expect(out.subject).toBe('Your quote');
    expect(out.parsed.text).toContain('Dear Bob,\nhere is the quote.');
    expect(out.parsed.attachments.map((a) => [a.filename, a.content.toString('utf8')])).toEqual([['quote.txt', 'Quote: 4000 EUR']]);

    const sync = await mail(['sync', maildir()]);
    expect(sync.stdout).toBe('1 new, 0 marked read here, 0 marked read there\n');
    expect(await files()).toContain(`${id}.1.knock:2,S`);
    const sent = await simpleParser(await readFile(path.join(maildir(), 'cur', `${id}.1.knock:2,S`)));
    expect(sent.subject).toBe('Your quote');
    expect(sent.attachments.map((a) => a.filename)).toEqual(['quote.txt']);
  });

  it('says what is wrong on one line with a non-zero exit code', async () => {
    const runs = [
      await mail(['sync']),
      await mail(['send', '--subject', 'no recipient'], 'text'),
      await mail(['send', '--to', 'bob@example.com', '--subject', 'Nothing'], ''),
      await mail(['send', '--to', 'bob@example.com', '--subject', 'Hi', '--attach', path.join(dir, 'missing.pdf')], 'text'),
      await mail(['send', '--to', 'not an address', '--subject', 'Hi'], 'text'),
      await mail(['login', 'https://knock.example/'], ''),
    ];
    for (const run of runs) {
      expect(run.code, run.stderr).not.toBe(0);
      expect(run.stderr).toMatch(/^knock: [^\n]+\n$/);
    }
    expect(runs[4]!.stderr).toBe('knock: to: This does not look like an email address.\n');
  });

  it('logs out: the token is revoked on the server and forgotten here', async () => {
    const file = path.join(env.XDG_CONFIG_HOME!, 'knock', 'mail.json');
    const { token } = JSON.parse(await readFile(file, 'utf8')) as { token: string };

    const run = await mail(['logout']);
    expect(run.code).toBe(0);
    await expect(stat(file)).rejects.toThrow();
    expect((await call(knock.url, 'GET', '/_/api/settings', { token })).status).toBe(401);
    const after = await mail(['sync', maildir()]);
    expect(after).toMatchObject({ code: 1, stderr: 'knock: Not logged in: run `npx knock mail login <your Knock URL>` first.\n' });
  });

  it('logs in with --code when the account has two-factor sign-in, and not without it (issue 22)', async () => {
    const { handle: bea, person } = await cast.owner('Bea');
    const { secret } = await person.api.request('POST', '/_/api/security/second-factor/totp', {}, totpEnrolment);
    const codeAt = (steps: number) => new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + steps * 30_000 });
    await person.api.request('POST', '/_/api/security/second-factor/totp/confirm', { code: codeAt(0), password: TEST_PASSWORD }, secondFactorChange);
    const bare = await mail(['login', `${knock.url}/${bea}`, '--password-stdin'], `${TEST_PASSWORD}\n`);
    expect(bare).toMatchObject({ code: 1, stdout: '' });
    expect(bare.stderr).toBe('knock: This account has two-factor sign-in: log in with --code and a code of your authenticator app (or a recovery code).\n');
    const run = await mail(['login', `${knock.url}/${bea}`, '--password-stdin', '--code', codeAt(1)], `${TEST_PASSWORD}\n`);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(new RegExp(`^Logged in as ${bea} at `));
  });
});
