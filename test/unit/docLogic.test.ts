/**
 * DocLogic driven directly (CONVENTIONS 1): relaying between connections, what is stored and when it is compacted,
 * a storage failure that loses nothing, and cursors that go with their connection. A real in-memory SQLite store.
 */
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { writeSyncStep1, writeUpdate } from 'y-protocols/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStorage } from '../../adapters/storage/sqlite/SqliteStorage.ts';
import { createLogger } from '../../engine/logger.ts';
import type { DocumentRecord, Storage } from '../../engine/ports/storage.ts';
import type { DocServerMessages } from '../../engine/protocol.ts';
import { TokenBucket } from '../../engine/rateLimit.ts';
import { DocLogic, type DocPeer } from '../../rooms/doc/docLogic.ts';
import { ManualClock, RecordingTransport, T0, roomyRate } from '../support/roomHarness.ts';

type TestDocPeer = DocPeer & { transport: RecordingTransport<DocServerMessages> };

let storage: SqliteStorage;
let doc: DocumentRecord;
const clock = new ManualClock();

beforeEach(async () => {
  storage = SqliteStorage.open({ file: ':memory:' });
  const account = await storage.createAccount({ handle: 'alice', displayName: 'Alice', passwordHash: 'x', at: T0 });
  const { conversation, owner } = await storage.createConversation({ ownerAccountId: account.id, tokenHash: 'th', visitorName: 'Vic', at: T0 });
  doc = await storage.createDocument({ conversationId: conversation.id, createdBy: owner.id, title: 'Notes', at: T0 });
});
afterEach(() => storage.close());

function peer(id: string, name = id): TestDocPeer {
  return {
    id,
    identity: { role: 'visitor', participantId: `p-${id}`, accountId: null, sessionHash: null, name },
    transport: new RecordingTransport<DocServerMessages>(),
    bucket: new TokenBucket(roomyRate, clock),
  };
}

const load = (s: Storage = storage, compactUpdates = 1000) =>
  DocLogic.load({ storage: s, clock, logger: createLogger('silent'), limits: { maxUpdateBytes: 64 * 1024, maxDocBytes: 1024 * 1024, compactUpdates } }, doc);

/** A sync `update` message carrying `text` inserted at the start of a client's own Y.Doc. */
function edit(client: Y.Doc, text: string): Uint8Array {
  let update: Uint8Array | null = null;
  const grab = (u: Uint8Array) => {
    update = u;
  };
  client.on('update', grab);
  client.getText('text').insert(0, text);
  client.off('update', grab);
  const e = encoding.createEncoder();
  writeUpdate(e, update!);
  return encoding.toUint8Array(e);
}

async function settle(logic: DocLogic): Promise<void> {
  // Stores what is pending (dispose waits for every write) without a sleep.
  await logic.dispose();
}

describe('DocLogic', () => {
  it('relays an update to the other connections, not back to its sender, and answers step 1 with step 2 and its own step 1', async () => {
    const logic = await load();
    const a = peer('a');
    const b = peer('b');
    logic.join(a);
    logic.join(b);
    expect(a.transport.types()).toEqual(['welcome']);
    logic.receive(a, 'sync', edit(new Y.Doc(), 'hello'));
    expect(b.transport.of('sync')).toHaveLength(1);
    expect(a.transport.of('sync')).toHaveLength(0);
    const e = encoding.createEncoder();
    writeSyncStep1(e, new Y.Doc());
    logic.receive(b, 'sync', encoding.toUint8Array(e));
    const answers = b.transport.of('sync').slice(1);
    expect(answers.map((m) => m[0])).toEqual([1, 0]); // step 2, then step 1
    expect(logic.ydoc.getText('text').toString()).toBe('hello');
    // A full sync encodes the whole document: a second one right away waits its turn.
    logic.receive(b, 'sync', encoding.toUint8Array(e));
    expect(b.transport.of('error')).toEqual([expect.objectContaining({ code: 'rate_limited', ref: 'sync' })]);
    clock.advance(500);
    logic.receive(b, 'sync', encoding.toUint8Array(e));
    expect(b.transport.of('sync')).toHaveLength(5);
    await settle(logic);
  });

  it('stores every change, compacts every compactUpdates stores and at dispose, and reloads the same content', async () => {
    const logic = await load(storage, 5);
    const a = peer('a');
    logic.join(a);
    const client = new Y.Doc();
    for (let i = 0; i < 12; i++) {
      logic.receive(a, 'sync', edit(client, `${i},`));
      await new Promise((r) => setImmediate(r)); // one stored write per change
    }
    const midway = await storage.loadDocumentState(doc.id);
    expect(midway.snapshot).not.toBeNull();
    expect(midway.updates.length).toBeLessThan(5);
    await logic.dispose();
    const after = await storage.loadDocumentState(doc.id);
    expect(after.updates).toEqual([]);
    const again = await load();
    expect(again.ydoc.getText('text').toString()).toBe(client.getText('text').toString());
    await again.dispose();
  });

  it('loses nothing when storing a change fails: the next compaction stores the whole document', async () => {
    let failNext = true;
    const flaky: Storage = new Proxy(storage, {
      get(target, key, receiver) {
        if (key === 'appendDocumentUpdate') {
          return async (...args: Parameters<Storage['appendDocumentUpdate']>) => {
            if (failNext) {
              failNext = false;
              throw new Error('disk full');
            }
            return target.appendDocumentUpdate(...args);
          };
        }
        const value = Reflect.get(target, key, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const logic = await load(flaky);
    const a = peer('a');
    logic.join(a);
    logic.receive(a, 'sync', edit(new Y.Doc(), 'kept'));
    await settle(logic);
    const reloaded = await load();
    expect(reloaded.ydoc.getText('text').toString()).toBe('kept');
    await reloaded.dispose();
  });

  it('takes a connection’s cursor away when it leaves, for everyone else', async () => {
    const logic = await load();
    const a = peer('a', 'Ann');
    const b = peer('b', 'Bea');
    logic.join(a);
    logic.join(b);
    const { Awareness, encodeAwarenessUpdate } = await import('y-protocols/awareness');
    const client = new Y.Doc();
    const awareness = new Awareness(client);
    awareness.setLocalStateField('user', { name: 'Someone else', color: '#112233' });
    logic.receive(a, 'awareness', encodeAwarenessUpdate(awareness, [client.clientID]));
    expect(logic.awareness.getStates().get(client.clientID)).toEqual({ user: { name: 'Ann', color: '#112233' } });
    expect(b.transport.of('awareness')).toHaveLength(1);
    logic.leave('a');
    expect(logic.awareness.getStates().has(client.clientID)).toBe(false);
    expect(b.transport.of('awareness')).toHaveLength(2);
    awareness.destroy();
    await settle(logic);
  });
});
