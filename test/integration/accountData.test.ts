/**
 * An account's own data (issue 22) on a real server: "Export my data" is a zip of the caller's own account and never
 * another's (not where two files share a blob either), with no secret in it, rate-limited and refused to a company's
 * operator or another site; "Delete account" asks the password and the handle again, refuses a company's last admin,
 * then leaves nothing of the account (storage read through its methods, the blob directory listed), closes its
 * sockets at once, and keeps the blob another account's file still uses. Deleting a conversation removes only the
 * blobs nobody else uses, and is audited.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blockVisitor } from '../../client/src/sdk/accountSafety.ts';
import type { FileRef } from '../../engine/protocol.ts';
import { newDeviceToken, secretHash } from '../../engine/auth.ts';
import { SESSION_COOKIE } from '../../engine/cookies.ts';
import { EXPORTS_PER_ACCOUNT } from '../../engine/http/accountDataApi.ts';
import { Cast, testRateLimits } from '../support/cast.ts';
import { Person, waitFor } from '../support/clients.ts';
import { setCookies } from '../support/httpClient.ts';
import { TEST_PASSWORD, startKnock, type TestKnock } from '../support/knockServer.ts';
import { sha256, uploadFile } from '../support/uploads.ts';
import { readZip } from '../support/zipReader.ts';

let knock: TestKnock;
let cast: Cast;

beforeAll(async () => {
  // Sockets of ended sessions are otherwise closed by the periodic check too: here only the Hub's word can close them.
  knock = await startKnock({ rateLimits: testRateLimits(), sessionCheckIntervalMs: 600_000 });
  cast = new Cast(knock);
});
afterEach(() => cast.closeAll());
afterAll(() => knock?.close());

const text = (s: string) => new TextEncoder().encode(s);

/** A visitor named `name` knocks on `handle`, writes `body`, and sends a file `fileName` holding `bytes`. */
async function visitorWithFile(handle: string, name: string, body: string, fileName: string, bytes: Uint8Array) {
  const visitor = cast.visitor();
  const { session, conversationId, token } = await visitor.knock(handle, name);
  const upload = await uploadFile(knock.url, conversationId, fileName, bytes, { token });
  expect(upload.status).toBe(201);
  const ref = (await upload.json()) as FileRef;
  session.send(body, [ref]);
  await waitFor(session, (s) => s.messages.some((m) => m.body === body && m.seq !== null), 'the message with its file stored');
  return { visitor, session, conversationId, ref };
}

async function exportOf(person: Person, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${knock.url}/_/api/account/export`, { headers: { ...person.headers, ...headers } });
}

/** Every blob in the server's file store, by id (LocalBlobs keeps them under blobs/ab/cd/<id>). */
async function storedBlobs(): Promise<string[]> {
  const dir = path.join(knock.dataDir, 'blobs');
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && /^[0-9a-f]{64}$/.test(e.name)).map((e) => e.name);
}

describe('Export my data', () => {
  it('is a zip of the account\u2019s own profile, conversations, files and audit log, and nothing of another account sharing a blob', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const { handle: bobHandle } = await cast.owner('Bob');
    const shared = text('the very same bytes in both accounts');
    const mine = await visitorWithFile(handle, 'Vera', 'notes for Alice', 'alice-notes.txt', shared);
    const theirs = await visitorWithFile(bobHandle, 'Secretive Sam', 'a private word for Bob', 'bobs-hidden-name.txt', shared);
    await knock.storage.setAccountEmail((await knock.storage.getAccountByHandle(handle))!.id, { address: 'alice@inbox.test', verifyTokenHash: 'verify-hash-secret', at: Date.now() });

    const res = await exportOf(alice);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toMatch(new RegExp(`^attachment; filename="knock-${handle}-\\d{4}-\\d{2}-\\d{2}\\.zip"$`));
    const entries = readZip(Buffer.from(await res.arrayBuffer()));
    expect([...entries.keys()].sort()).toEqual(
      ['README.txt', 'account.json', 'audit.json', `conversations/${mine.conversationId}.json`, `files/${mine.conversationId}/${mine.ref.id}-alice-notes.txt`].sort(),
    );
    expect(sha256(entries.get(`files/${mine.conversationId}/${mine.ref.id}-alice-notes.txt`)!)).toBe(sha256(shared));

    const account = JSON.parse(entries.get('account.json')!.toString()) as Record<string, unknown>;
    expect(account).toMatchObject({ handle, displayName: 'Alice', email: { address: 'alice@inbox.test', verified: false } });
    const conversation = JSON.parse(entries.get(`conversations/${mine.conversationId}.json`)!.toString()) as { participants: unknown[]; messages: Array<{ body: string; from: string }> };
    expect(conversation.participants).toEqual([{ role: 'owner', name: 'Alice' }, { role: 'visitor', name: 'Vera' }]);
    expect(conversation.messages.map((m) => [m.from, m.body])).toEqual([['Vera', 'notes for Alice']]);
    const audit = JSON.parse(entries.get('audit.json')!.toString()) as Array<{ kind: string }>;
    expect(audit.map((e) => e.kind)).toContain('data.exported');
    expect(entries.get('README.txt')!.toString()).toContain('account.json');

    // Nothing of Bob's: not his handle, his visitor, his message, his name for the shared bytes, his conversation.
    const everything = [...entries].map(([name, data]) => `${name}\n${data.toString('utf8')}`).join('\n');
    for (const foreign of [bobHandle, 'Secretive Sam', 'a private word for Bob', 'bobs-hidden-name', theirs.conversationId, theirs.ref.id]) {
      expect(everything).not.toContain(foreign);
    }
    // No secret: no password hash, no token hash, no key.
    const alicesHash = (await knock.storage.getAccountByHandle(handle))!.passwordHash;
    expect(everything).not.toContain(alicesHash);
    expect(everything).not.toContain('verify-hash-secret');
    expect(JSON.stringify(account)).not.toMatch(/hash|secret|token|password/i);
  });

  it('is refused without a session, to a mail device, to a company\u2019s operator acting for it, and when another site asks', async () => {
    const { handle: adminHandle, person: admin } = await cast.owner('Ann');
    const companyHandle = `acme-export-${process.pid}`;
    await knock.companies.add({ handle: companyHandle, name: 'Acme', adminHandle });
    expect((await fetch(`${knock.url}/_/api/account/export`)).status).toBe(401);
    const acting = await exportOf(admin, { 'x-knock-account': companyHandle });
    expect(acting.status).toBe(403);
    expect(((await acting.json()) as { error: { message: string } }).error.message).toContain('from your own console');
    expect((await exportOf(admin, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const deviceToken = newDeviceToken();
    await knock.storage.createDeviceToken({ accountId: (await knock.storage.getAccountByHandle(adminHandle))!.id, name: 'laptop', tokenHash: secretHash(deviceToken), at: Date.now() });
    const bearer = await fetch(`${knock.url}/_/api/account/export`, { headers: { authorization: `Bearer ${deviceToken}` } });
    expect(bearer.status).toBe(403);
    expect(((await bearer.json()) as { error: { message: string } }).error.message).toBe('A mail device cannot export your account: use the console.');
    // None of those counted against the account's exports.
    expect((await exportOf(admin)).status).toBe(200);
  });

  it(`allows ${EXPORTS_PER_ACCOUNT.perWindow} exports an hour per account`, async () => {
    const { person: alice } = await cast.owner('Alice');
    for (let i = 0; i < EXPORTS_PER_ACCOUNT.perWindow; i++) {
      const res = await exportOf(alice);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const over = await exportOf(alice);
    expect(over.status).toBe(429);
    expect(((await over.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
  });
});

describe('Delete account', () => {
  const remove = (person: Person, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${knock.url}/_/api/account/delete`, { method: 'POST', headers: { 'content-type': 'application/json', ...person.headers, ...headers }, body: JSON.stringify(body) });

  it('asks the password and the handle again, and changes nothing when either is wrong', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const wrongPassword = await remove(alice, { password: 'not the password', handle });
    expect(wrongPassword.status).toBe(403);
    expect(((await wrongPassword.json()) as { error: { message: string } }).error.message).toBe('That is not your password.');
    const wrongHandle = await remove(alice, { password: TEST_PASSWORD, handle: 'someone-else' });
    expect(wrongHandle.status).toBe(400);
    expect(((await wrongHandle.json()) as { error: { message: string } }).error.message).toBe(`Type your handle, ${handle}, to confirm.`);
    expect(await knock.storage.getAccountByHandle(handle)).not.toBeNull();
    expect((await fetch(`${knock.url}/_/api/me`, { headers: alice.headers }).then((r) => r.json())) as unknown).toMatchObject({ account: { handle } });
  });

  it('counts guesses of the password as login attempts: past the limit they are refused', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    // The owner's own login (cast.owner) was the first attempt for this handle from this address.
    const limit = testRateLimits().loginsPerHandleAndIp.perWindow;
    const statuses: number[] = [];
    for (let i = 0; i < limit; i++) statuses.push((await remove(alice, { password: `guess ${i}`, handle })).status);
    expect(statuses).toEqual([...Array<number>(limit - 1).fill(403), 429]);
    // The right password too, while over it: nothing is deleted.
    expect((await remove(alice, { password: TEST_PASSWORD, handle })).status).toBe(429);
    expect(await knock.storage.getAccountByHandle(handle)).not.toBeNull();
  });

  it('removes everything of the account, closes its sockets at once, clears the cookie, and keeps a blob another account uses', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const { handle: bobHandle, person: bob } = await cast.owner('Bob');
    const { handle: annHandle } = await cast.owner('Ann');
    const account = (await knock.storage.getAccountByHandle(handle))!;
    const sharedBytes = text('shared between Alice and Bob');
    const ownBytes = text('only ever sent to Alice');
    const own = await visitorWithFile(handle, 'Vera', 'only mine', 'own.txt', ownBytes);
    const sharedInAlice = await visitorWithFile(handle, 'Walt', 'shared bytes', 'copy.txt', sharedBytes);
    const bobs = await visitorWithFile(bobHandle, 'Xena', 'for Bob', 'original.txt', sharedBytes);
    // What else an account has: an address, a phone number, a domain, a channel, a company place, a block, audit entries.
    const now = Date.now();
    await knock.storage.setAccountEmail(account.id, { address: 'alice@inbox.test', verifyTokenHash: `v-${now}`, at: now });
    await knock.storage.assignPhoneNumber(account.id, '+15550001111', now);
    await knock.storage.addDomain({ name: `alice-${process.pid}.test`, accountId: account.id, dkimSelector: 'k1', dkimPublicKey: 'MIIB', dkimPrivateKey: 'unused', at: now });
    await knock.storage.addChannel({ accountId: account.id, kind: 'email', address: 'alice@elsewhere.test', secret: null, delayMs: 0, verified: true, at: now });
    const companyHandle = `acme-del-${process.pid}`;
    await knock.companies.add({ handle: companyHandle, name: 'Acme', adminHandle: annHandle });
    await knock.companies.addOperator(companyHandle, handle, { role: 'admin' });
    await blockVisitor(alice.api, own.conversationId);
    const console = alice.ownerSession(handle);
    await waitFor(console, (s) => s.connection === 'live', 'the owner console connected');
    const blobsBefore = await storedBlobs();
    expect(blobsBefore).toEqual(expect.arrayContaining([sha256(ownBytes), sha256(sharedBytes)]));

    const res = await remove(alice, { password: TEST_PASSWORD, handle });
    expect(res.status).toBe(200);
    expect(setCookies(res).get(SESSION_COOKIE)).toMatchObject({ value: '' });
    expect(res.headers.get('clear-site-data')).toBe('"cache"');
    // Sockets: the owner's console is logged out, the visitors' conversations are gone (no periodic check here).
    await waitFor(console, (s) => s.connection === 'closed', 'the console closed', 3000);
    for (const { session } of [own, sharedInAlice]) await waitFor(session, (s) => s.connection === 'closed', 'the visitor\u2019s conversation closed', 3000);

    // Nothing of it remains.
    const s = knock.storage;
    expect(await s.getAccountByHandle(handle)).toBeNull();
    expect(await s.getAccountById(account.id)).toBeNull();
    expect(await s.conversationIdsOf(account.id)).toEqual([]);
    for (const id of [own.conversationId, sharedInAlice.conversationId]) {
      expect(await s.getConversation(id)).toBeNull();
      expect(await s.messagesAfter(id, 0, 10)).toEqual([]);
      expect(await s.filesOf(id)).toEqual([]);
    }
    expect(await s.getFile(own.ref.id)).toBeNull();
    expect(await s.sessionHashesOf(account.id)).toEqual([]);
    expect(await s.getAccountEmail(account.id)).toBeNull();
    expect(await s.phoneNumberOf(account.id)).toBeNull();
    expect(await s.domainsOf(account.id)).toEqual([]);
    expect(await s.listChannels(account.id)).toEqual([]);
    expect(await s.companiesOf(account.id)).toEqual([]);
    expect((await s.listOperators((await s.getAccountByHandle(companyHandle))!.id)).map((o) => o.handle)).toEqual([annHandle]);
    expect(await s.listVisitorBlocks(account.id)).toEqual([]);
    expect(await s.listAudit(account.id, { limit: 10 })).toEqual([]);
    const blobsAfter = await storedBlobs();
    expect(blobsAfter).not.toContain(sha256(ownBytes));
    expect(blobsAfter).toContain(sha256(sharedBytes));
    // Bob's file still downloads, whole.
    const download = await fetch(`${knock.url}/_/files/${bobs.ref.id}/original.txt`, { headers: bob.headers });
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(sharedBytes));
    // The handle is nobody's; the old password opens nothing.
    expect((await fetch(`${knock.url}/_/api/profile/${handle}`)).status).toBe(404);
    expect((await fetch(`${knock.url}/_/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handle, password: TEST_PASSWORD }) })).status).toBe(401);
  });

  it('refuses a company\u2019s last admin with a clear error, and lets them go once someone else is admin', async () => {
    const { handle: annHandle, person: ann } = await cast.owner('Ann');
    const { handle: benHandle } = await cast.owner('Ben');
    const companyHandle = `acme-last-${process.pid}`;
    await knock.companies.add({ handle: companyHandle, name: 'Acme', adminHandle: annHandle });
    const refused = await remove(ann, { password: TEST_PASSWORD, handle: annHandle });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe(
      `You are the last admin of /${companyHandle}: make someone else its admin (or have the company removed) before you delete your account.`,
    );
    expect(await knock.storage.getAccountByHandle(annHandle)).not.toBeNull();
    // Acting for the company is not deleting one's own account.
    expect((await remove(ann, { password: TEST_PASSWORD, handle: annHandle }, { 'x-knock-account': companyHandle })).status).toBe(403);

    await knock.companies.addOperator(companyHandle, benHandle, { role: 'admin' });
    expect((await remove(ann, { password: TEST_PASSWORD, handle: annHandle })).status).toBe(200);
    expect(await knock.storage.getAccountByHandle(annHandle)).toBeNull();
  });
});

describe('Delete conversation', () => {
  it('removes the blobs of its files that no other file uses, keeps the one another account\u2019s file uses, and is audited', async () => {
    const { handle, person: alice } = await cast.owner('Alice');
    const { handle: bobHandle, person: bob } = await cast.owner('Bob');
    const sharedBytes = text('a file both accounts got');
    const ownBytes = text('a file only this conversation had');
    const doomed = await visitorWithFile(handle, 'Vera', 'first', 'shared.txt', sharedBytes);
    doomed.session.send('second');
    const upload = await uploadFile(knock.url, doomed.conversationId, 'own.txt', ownBytes, { headers: doomed.visitor.headers });
    const ownRef = (await upload.json()) as FileRef;
    doomed.session.send('with my own file', [ownRef]);
    await waitFor(doomed.session, (s) => s.messages.filter((m) => m.seq !== null).length === 3, 'three messages stored');
    const bobs = await visitorWithFile(bobHandle, 'Xena', 'for Bob', 'same.txt', sharedBytes);

    const res = await fetch(`${knock.url}/_/api/conversations/${doomed.conversationId}`, { method: 'DELETE', headers: alice.headers });
    expect(res.status).toBe(204);
    const blobs = await storedBlobs();
    expect(blobs).not.toContain(sha256(ownBytes));
    expect(blobs).toContain(sha256(sharedBytes));
    const download = await fetch(`${knock.url}/_/files/${bobs.ref.id}/same.txt`, { headers: bob.headers });
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(sharedBytes));
    const account = (await knock.storage.getAccountByHandle(handle))!;
    expect((await knock.storage.listAudit(account.id, { limit: 5 })).map((e) => [e.kind, e.detail])).toContainEqual(['conversation.deleted', { with: 'Vera' }]);
  });
});

describe('Log out', () => {
  it('tells the browser to drop its HTTP cache (files seen in the console) but not its storage or cookies', async () => {
    const { person: alice } = await cast.owner('Alice');
    const res = await fetch(`${knock.url}/_/api/logout`, { method: 'POST', headers: { 'content-type': 'application/json', ...alice.headers }, body: '{}' });
    expect(res.status).toBe(200);
    // Not "storage" (the push subscription's service worker) nor "cookies" (the browser's conversations as a visitor).
    expect(res.headers.get('clear-site-data')).toBe('"cache"');
  });
});
