/**
 * `knock block list|remove`, `knock user export` and `knock user remove` (issue 22), run as real child processes on a
 * running server's KNOCK_DATA_DIR: the block listed is the one the owner made in the console and, removed, lets the
 * visitor write again; the export is the zip Settings downloads; a removed account leaves no blob another account does
 * not use; a company's last admin is refused. Bad input gets a readable message and exit code 1.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockVisitor } from '../../client/src/sdk/accountSafety.ts';
import type { FileRef } from '../../engine/protocol.ts';
import { Person, waitFor } from '../support/clients.ts';
import { knockCli as runCli, type CliRun } from '../support/knockCli.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { sha256, uploadFile } from '../support/uploads.ts';
import { readZip } from '../support/zipReader.ts';

let dataDir: string;
let knock: TestKnock;
const people: Person[] = [];
const knockCli = (args: string[], stdin = ''): Promise<CliRun> => runCli(args, { KNOCK_DATA_DIR: dataDir }, stdin);

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'knock-block-cli-'));
  knock = await startKnock({ dataDir });
  for (const [handle, name] of [['alice', 'Alice'], ['bob', 'Bob']] as const) await knock.addUser(handle, name);
});
afterAll(async () => {
  await Promise.all(people.map((p) => p.closeAll()));
  await knock?.close();
  await rm(dataDir, { recursive: true, force: true });
});

function person(): Person {
  const p = new Person(knock.url);
  people.push(p);
  return p;
}

/** A visitor named `name` writes `body` to `handle`, with a file holding `bytes` when given. */
async function visit(handle: string, name: string, body: string, bytes?: Uint8Array) {
  const visitor = person();
  const { session, conversationId, token } = await visitor.knock(handle, name);
  const files: FileRef[] = [];
  if (bytes) files.push((await (await uploadFile(knock.url, conversationId, `${name}.txt`, bytes, { token })).json()) as FileRef);
  session.send(body, files);
  await waitFor(session, (s) => s.messages.some((m) => m.body === body && m.seq !== null), 'stored');
  return { session, conversationId };
}

async function blobIds(): Promise<string[]> {
  const entries = await readdir(path.join(dataDir, 'blobs'), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && /^[0-9a-f]{64}$/.test(e.name)).map((e) => e.name);
}

describe('knock block', () => {
  it('lists the owner\u2019s blocks, and removes one: the visitor writes again, and the removal is audited', async () => {
    const alice = person();
    await alice.login('alice');
    const { session, conversationId } = await visit('alice', 'Mallory', 'hello');
    const block = (await blockVisitor(alice.api, conversationId)).block!;

    const list = await knockCli(['block', 'list', 'alice']);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    const [row] = list.stdout.trim().split('\n').map((line) => line.split('\t'));
    expect(row?.slice(0, 2)).toEqual([block.id, 'Mallory']);
    expect(row?.[3]).toMatch(/^address until \d{4}-/);
    expect(row?.[4]).toBe('alice');

    const removed = await knockCli(['block', 'remove', 'alice', block.id]);
    expect(removed).toMatchObject({ code: 0, stdout: 'Unblocked Mallory for alice.\n' });
    expect((await knockCli(['block', 'list', 'alice'])).stdout).toBe('');
    session.send('back again');
    await waitFor(session, (s) => s.messages.some((m) => m.body === 'back again' && m.seq !== null), 'the visitor writes again');
    const account = (await knock.storage.getAccountByHandle('alice'))!;
    expect((await knock.storage.listAudit(account.id, { limit: 1 }))[0]).toMatchObject({ kind: 'visitor.unblocked', ip: null, detail: { visitor: 'Mallory' } });
  });

  it('refuses an unknown block, another owner\u2019s block, an unknown account and a missing argument with exit code 1', async () => {
    const alice = person();
    await alice.login('alice');
    const { conversationId } = await visit('alice', 'Eve', 'hi');
    const block = (await blockVisitor(alice.api, conversationId)).block!;
    for (const [args, message] of [
      [['block', 'remove', 'alice', 'no-such-block'], 'alice has no block "no-such-block".'],
      [['block', 'remove', 'bob', block.id], `bob has no block "${block.id}".`],
      [['block', 'list', 'nobody'], 'There is no account "nobody".'],
      [['block', 'remove', 'alice'], 'block remove needs <handle> <block id>'],
    ] as const) {
      const run = await knockCli([...args]);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr).toContain(message);
    }
    expect((await knockCli(['block', 'list', 'alice'])).stdout).toContain(block.id);
  });
});

describe('knock user export and remove', () => {
  it('exports an account to a zip, and never over an existing file', async () => {
    await visit('bob', 'Vera', 'a message for Bob', new TextEncoder().encode('Bob got this file'));
    const out = path.join(dataDir, 'bob.zip');
    const run = await knockCli(['user', 'export', 'bob', '--out', out]);
    expect(run).toMatchObject({ code: 0, stdout: `Exported bob to ${out}.\n`, stderr: '' });
    const entries = readZip(await readFile(out));
    expect(JSON.parse(entries.get('account.json')!.toString())).toMatchObject({ handle: 'bob', displayName: 'Bob' });
    const conversations = [...entries.keys()].filter((name) => name.startsWith('conversations/'));
    expect(conversations).toHaveLength(1);
    expect(entries.get(conversations[0]!)!.toString()).toContain('a message for Bob');
    expect([...entries.keys()].some((name) => name.startsWith('files/') && name.endsWith('-Vera.txt'))).toBe(true);
    expect(entries.get('audit.json')!.toString()).toContain('data.exported');

    const again = await knockCli(['user', 'export', 'bob', '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`knock: ${out} exists already: give another --out.\n`);
    expect((await knockCli(['user', 'export', 'bob'])).stderr).toBe('knock: user export needs --out <file.zip>.\n');
  });

  it('removes an account with its blobs, but keeps a blob another account\u2019s file uses', async () => {
    await knock.addUser('carol', 'Carol');
    const shared = new TextEncoder().encode('both Carol and Bob have these bytes');
    const own = new TextEncoder().encode('only Carol has these bytes');
    await visit('carol', 'Walt', 'for Carol', own);
    await visit('carol', 'Xena', 'also for Carol', shared);
    await visit('bob', 'Yves', 'for Bob', shared);
    expect(await blobIds()).toEqual(expect.arrayContaining([sha256(own), sha256(shared)]));

    const run = await knockCli(['user', 'remove', 'carol']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('Removed carol and all of its conversations (2) and files (1 deleted).\n');
    expect(await knock.storage.getAccountByHandle('carol')).toBeNull();
    const blobs = await blobIds();
    expect(blobs).not.toContain(sha256(own));
    expect(blobs).toContain(sha256(shared));
  });

  it('refuses to remove a company\u2019s last admin', async () => {
    await knock.addUser('dora', 'Dora');
    await knock.companies.add({ handle: 'doraco', name: 'Dora Co', adminHandle: 'dora' });
    const run = await knockCli(['user', 'remove', 'dora']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('You are the last admin of /doraco');
    expect(await knock.storage.getAccountByHandle('dora')).not.toBeNull();
  });
});
