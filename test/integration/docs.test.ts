/**
 * Co-edited documents through real DocRooms (real server, real colyseus.js sockets, the SDK's DocProvider): creating
 * one in a conversation, live editing and cursors, who may open it, and bad input (malformed, oversized, too fast,
 * someone else's cursor), each answered with a clear error while the room and the document stay intact.
 */
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { encodeAwarenessUpdate } from 'y-protocols/awareness';
import { writeSyncStep1, writeUpdate } from 'y-protocols/sync';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorPayload } from '../../engine/protocol.ts';
import { Person, waitFor } from '../support/clients.ts';
import { isCardOf, sharedDoc, textOf, until, type SharedDoc } from '../support/docFixture.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { RawRoom } from '../support/rawRoom.ts';
import { startProxy } from '../support/netProxy.ts';
import { memoryStore } from '../../client/src/sdk/browserStore.ts';
import { DocProvider } from '../../client/src/sdk/docProvider.ts';

const MAX_UPDATE = 8 * 1024;
const MAX_DOC = 48 * 1024;

let knock: TestKnock;
let shared: SharedDoc | undefined;
let handles = 0;

beforeAll(async () => {
  knock = await startKnock({
    docMaxUpdateBytes: MAX_UPDATE,
    docMaxBytes: MAX_DOC,
    rateLimits: { docMessages: { perWindow: 40, windowMs: 2000 } } as never,
  });
});
afterAll(() => knock?.close());
afterEach(async () => {
  await shared?.closeAll();
  shared = undefined;
});

async function newDoc(title = 'Trip plan'): Promise<SharedDoc> {
  shared = await sharedDoc(knock, `alice${++handles}`, title);
  return shared;
}

/** The error events a provider heard, in order. */
function errorsOf(p: { on(event: 'error', cb: (e: ErrorPayload) => void): () => void }): ErrorPayload[] {
  const seen: ErrorPayload[] = [];
  p.on('error', (e) => seen.push(e));
  return seen;
}

const syncFrame = (write: (e: encoding.Encoder) => void): Uint8Array => {
  const e = encoding.createEncoder();
  write(e);
  return encoding.toUint8Array(e);
};

describe('documents in a conversation', () => {
  it('posts a card with the title to both sides, and carries edits both ways live', async () => {
    const s = await newDoc('Trip plan');
    const card = s.ownerConversation.snapshot().messages.find(isCardOf(s.docId));
    expect(card?.body).toBe('Trip plan');
    await waitFor(s.visitorConversation, (snap) => snap.messages.some(isCardOf(s.docId)), 'card at the visitor');

    const owner = s.open('owner');
    const visitor = s.open('visitor');
    await Promise.all([owner.whenSynced(), visitor.whenSynced()]);
    expect(owner.welcome?.doc).toEqual({ id: s.docId, conversationId: s.conversationId, title: 'Trip plan' });
    expect(visitor.welcome?.me).toMatchObject({ role: 'visitor', name: 'Vic' });

    visitor.doc.getText('text').insert(0, 'Day 1: museum. ');
    await until(() => textOf(owner), (t) => t === 'Day 1: museum. ', 'the visitor’s edit at the owner');
    owner.doc.getText('text').insert(textOf(owner).length, 'Day 2: sea.');
    await until(() => textOf(visitor), (t) => t === 'Day 1: museum. Day 2: sea.', 'the owner’s edit at the visitor');
  });

  it('shows each person’s cursor under the name the conversation knows, whatever name a client claims', async () => {
    const s = await newDoc();
    const owner = s.open('owner');
    const visitor = s.open('visitor');
    await Promise.all([owner.whenSynced(), visitor.whenSynced()]);
    visitor.awareness.setLocalStateField('user', { name: 'Alice (not really)', color: '#ff0000' });
    const seen = await until(
      () => owner.awareness.getStates().get(visitor.doc.clientID) as { user?: { name: string; color: string } } | undefined,
      (state) => state?.user !== undefined,
      'the visitor’s cursor at the owner',
    );
    expect(seen?.user).toEqual({ name: 'Vic', color: '#ff0000' });
    // A late joiner sees the cursors already there; one who leaves takes theirs away.
    const late = s.open('owner');
    await until(() => late.awareness.getStates().has(visitor.doc.clientID), Boolean, 'cursor at the late joiner');
    await visitor.destroy();
    await until(() => owner.awareness.getStates().has(visitor.doc.clientID), (has) => !has, 'cursor gone after leaving');
  });

  it('refuses whoever is not in the conversation: another visitor, no credentials, an unknown document', async () => {
    const s = await newDoc();
    const stranger = new Person(knock.url);
    const other = await stranger.knock(`alice${handles}`, 'Eve');
    try {
      await expect(RawRoom.join(knock.url, 'doc', { docId: s.docId, token: other.token })).rejects.toMatchObject({ code: 'forbidden' });
      await expect(RawRoom.join(knock.url, 'doc', { docId: s.docId })).rejects.toMatchObject({ code: 'unauthorized' });
      await expect(RawRoom.join(knock.url, 'doc', { docId: 'no-such-doc', token: s.token })).rejects.toMatchObject({ code: 'not_found' });
      await expect(RawRoom.join(knock.url, 'doc', { docId: s.docId, token: 'x'.repeat(40) })).rejects.toMatchObject({ code: 'forbidden' });
      // The stranger's provider ends with the refusal and never hears the document or anyone's cursor.
      const member = s.open('visitor');
      await member.whenSynced();
      member.doc.getText('text').insert(0, 'secret');
      member.awareness.setLocalStateField('user', { name: 'Vic', color: '#00ff00' });
      const eve = DocProvider.open({ endpoint: knock.url, docId: s.docId, token: other.token });
      const ended = await new Promise<ErrorPayload>((resolve) => eve.on('error', resolve));
      expect(ended.code).toBe('forbidden');
      expect(textOf(eve)).toBe('');
      expect(eve.awareness.getStates().size).toBe(1); // only its own
      await eve.destroy();
    } finally {
      await stranger.closeAll();
    }
  });

  it('keeps edits made offline in the browser\u2019s copy, so a closed tab loses nothing: the next visit sends them', async () => {
    const s = await newDoc();
    const proxy = await startProxy(knock.url);
    try {
      const owner = s.open('owner');
      await owner.whenSynced();
      const store = memoryStore(); // the browser's localStorage
      const first = DocProvider.open({ endpoint: proxy.url, docId: s.docId, token: s.token, cache: store });
      await first.whenSynced();
      proxy.setReachable(false);
      await until(() => first.status, (st) => st !== 'connected', 'the visitor offline');
      first.doc.getText('text').insert(0, 'typed on the plane');
      await first.destroy(); // the tab closes while still offline
      expect(textOf(owner)).toBe('');
      proxy.setReachable(true);
      const next = DocProvider.open({ endpoint: proxy.url, docId: s.docId, token: s.token, cache: store });
      expect(textOf(next)).toBe('typed on the plane'); // from the copy, before the server answered
      await until(() => textOf(owner), (t) => t === 'typed on the plane', 'the offline edit at the owner');
      await next.destroy();
    } finally {
      await proxy.close();
    }
  });

  it('closes the documents of an owner who logs out, and only theirs', async () => {
    const s = await newDoc();
    const owner = s.open('owner');
    const visitor = s.open('visitor');
    await Promise.all([owner.whenSynced(), visitor.whenSynced()]);
    const ended = new Promise<ErrorPayload>((resolve) => owner.on('error', resolve));
    await s.owner.api.logout();
    expect((await ended).code).toBe('4001');
    expect(owner.status).toBe('disconnected');
    visitor.doc.getText('text').insert(0, 'still here');
    const fresh = s.open('visitor');
    await until(() => textOf(fresh), (t) => t === 'still here', 'the visitor goes on');
  });

  it('refuses an update over the size limit with too_large; the others and the document are unaffected', async () => {
    const s = await newDoc();
    const owner = s.open('owner');
    const visitor = s.open('visitor');
    await Promise.all([owner.whenSynced(), visitor.whenSynced()]);
    const errors = errorsOf(visitor);
    visitor.doc.getText('text').insert(0, 'x'.repeat(MAX_UPDATE + 100));
    const refused = await until(() => errors, (e) => e.length > 0, 'the refusal');
    expect(refused[0]).toMatchObject({ code: 'too_large' });
    expect(refused[0]?.message).toMatch(/too large/);
    owner.doc.getText('text').insert(0, 'still fine');
    const fresh = s.open('owner');
    await fresh.whenSynced();
    await until(() => textOf(fresh), (t) => t === 'still fine', 'the owner’s edit, without the refused one');
    expect(textOf(owner)).toBe('still fine');
  });

  it('refuses updates once the document is full, with a message saying so', async () => {
    const s = await newDoc();
    const owner = s.open('owner');
    await owner.whenSynced();
    const errors = errorsOf(owner);
    const chunk = 'y'.repeat(6 * 1024);
    for (let i = 0; i < 10 && errors.length === 0; i++) {
      owner.doc.getText('text').insert(0, chunk);
      await new Promise((r) => setTimeout(r, 30));
    }
    const full = await until(() => errors, (e) => e.length > 0, 'the document-full refusal');
    expect(full[0]).toMatchObject({ code: 'too_large' });
    expect(full[0]?.message).toMatch(/document is full/);
    const stored = await knock.storage.loadDocumentState(s.docId);
    expect(stored.bytes).toBeLessThanOrEqual(MAX_DOC);
  });

  it('answers malformed input with bad_request and someone else’s cursor with forbidden, the room staying usable', async () => {
    const s = await newDoc();
    const owner = s.open('owner');
    await owner.whenSynced();
    owner.doc.getText('text').insert(0, 'kept');
    owner.awareness.setLocalStateField('user', { name: 'Alice', color: '#123456' });
    await until(() => owner.awareness.getStates().size, (n) => n === 1, 'owner cursor');
    const raw = await RawRoom.join(knock.url, 'doc', { docId: s.docId, token: s.token });
    try {
      const errors = (): Array<{ code: string; ref?: string; message: string }> => raw.snapshot().of('error');
      raw.send('sync', 'not bytes');
      raw.send('sync', new Uint8Array([7, 1, 0])); // unknown sync kind
      raw.send('sync', new Uint8Array([2, 5, 1, 2])); // an update whose length runs past the end
      raw.send('sync', syncFrame((e) => writeUpdate(e, new Uint8Array([1, 200, 200, 200, 7, 9, 9])))); // garbage update
      raw.send('awareness', new Uint8Array([1, 2, 3]));
      // Someone else's cursor: the owner's awareness id, with a newer clock.
      const fake = new Y.Doc();
      fake.clientID = owner.doc.clientID;
      const { Awareness } = await import('y-protocols/awareness');
      const spoof = new Awareness(fake);
      for (let i = 0; i < 5; i++) spoof.setLocalStateField('user', { name: 'Alice', color: '#000000' });
      raw.send('awareness', encodeAwarenessUpdate(spoof, [fake.clientID]));
      spoof.destroy();
      raw.send('nonsense', {});
      await waitFor(raw, (snap) => snap.of('error').length >= 7, 'seven errors');
      // Unknown types are answered at decoding, the others by their handlers: compare without order.
      expect(errors().map((e) => e.code).sort()).toEqual(['bad_request', 'bad_request', 'bad_request', 'bad_request', 'bad_request', 'forbidden', 'unknown_type']);
      expect(errors().find((e) => e.code === 'forbidden')?.message).toBe('This cursor belongs to someone else.');
      expect(errors().map((e) => e.message)).toEqual(expect.arrayContaining([
        'must be binary (y-protocols bytes).',
        'Unknown sync message kind 7.',
        'The sync message could not be decoded.',
        'The document update could not be decoded.',
        'The cursor update could not be decoded.',
      ]));
      // Still joined and served: a proper step 1 gets the document.
      const probe = new Y.Doc();
      raw.send('sync', syncFrame((e) => writeSyncStep1(e, probe)));
      await waitFor(raw, (snap) => snap.of('sync').length >= 2, 'the answer to step 1');
      expect(raw.snapshot().closedWith).toBeNull();
      const fresh = s.open('visitor');
      await fresh.whenSynced();
      expect(textOf(fresh)).toBe('kept');
      const ownerCursor = await until(() => fresh.awareness.getStates().get(owner.doc.clientID) as { user?: { name: string } }, (st) => st?.user !== undefined, 'owner cursor intact');
      expect(ownerCursor.user?.name).toBe('Alice');
    } finally {
      await raw.leave();
    }
  });

  it('slows a flood down with rate_limited, and the provider then resends what was refused: nothing is lost', async () => {
    const s = await newDoc();
    const owner = s.open('owner');
    const visitor = s.open('visitor');
    await Promise.all([owner.whenSynced(), visitor.whenSynced()]);
    const errors = errorsOf(visitor);
    const text = visitor.doc.getText('text');
    for (let i = 0; i < 80; i++) text.insert(text.length, `${i % 10}`);
    await until(() => errors, (e) => e.some((x) => x.code === 'rate_limited'), 'rate_limited');
    const expected = textOf(visitor);
    expect(expected).toHaveLength(80);
    await until(() => textOf(owner), (t) => t === expected, 'every keystroke at the owner after the pause', 10_000);
  });
});
