/**
 * Documents outlive their room and the server (issue 5, test 2): a restart keeps the content, on SQLite and on
 * PostgreSQL; compaction (periodic, and when the room closes) keeps the content identical and shrinks what is stored.
 */
import * as Y from 'yjs';
import { afterAll, describe, expect, it } from 'vitest';
import type { DocumentState } from '../../engine/ports/storage.ts';
import { sharedDoc, textOf, until } from '../support/docFixture.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { TestSchemas, newSchemaName, testDatabaseUrl } from '../support/postgresSchemas.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const schemas = new TestSchemas();
afterAll(() => schemas.end());

/** The content a stored state holds, read the way the DocRoom loads it. */
function contentOf(state: DocumentState): string {
  const doc = new Y.Doc();
  if (state.snapshot) Y.applyUpdate(doc, state.snapshot);
  for (const update of state.updates) Y.applyUpdate(doc, update);
  return doc.getText('text').toString();
}

const databases: Array<{ name: string; config: () => Promise<{ dataDir?: string; databaseUrl?: string; databaseSchema?: string; cleanup: () => Promise<void> }> }> = [
  {
    name: 'SQLite',
    async config() {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'knock-doc-restart-'));
      return { dataDir, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'PostgreSQL',
    async config() {
      const databaseSchema = newSchemaName();
      return { databaseUrl: testDatabaseUrl, databaseSchema, cleanup: () => schemas.drop(databaseSchema) };
    },
  },
];

describe('documents survive a restart', () => {
  for (const db of databases) {
    it(`keeps the content when the server restarts (${db.name})`, async () => {
      const { cleanup, ...where } = await db.config();
      let knock: TestKnock | undefined = await startKnock(where);
      try {
        const s = await sharedDoc(knock);
        const writer = s.open('visitor');
        await writer.whenSynced();
        writer.doc.getText('text').insert(0, 'Written before the restart. ');
        writer.doc.getText('text').insert(0, 'Title line. ');
        const expected = textOf(writer);
        const reader = s.open('owner');
        await until(() => textOf(reader), (t) => t === expected, 'the edits at the owner');
        await knock.close();
        knock = await startKnock(where);
        // Same ids, new server: open it again as a visitor would.
        const { DocProvider } = await import('../../client/src/sdk/docProvider.ts');
        const again = DocProvider.open({ endpoint: knock.url, docId: s.docId, token: s.token });
        await again.whenSynced();
        expect(textOf(again)).toBe(expected);
        await again.destroy();
        await s.closeAll();
      } finally {
        await knock?.close();
        await cleanup();
      }
    });
  }
});

describe('compaction', () => {
  it('on closing the room: one snapshot replaces the updates, the same content in fewer bytes', async () => {
    const knock = await startKnock({ docCompactUpdates: 100_000 });
    try {
      const s = await sharedDoc(knock);
      const writer = s.open('visitor');
      await writer.whenSynced();
      const text = writer.doc.getText('text');
      // 300 keystrokes, each its own update (as typing is), some deleting, in 6 bursts of 50. Each burst is stored
      // before the next is typed, so the document holds at least 6 separate writes whatever the machine's speed (a
      // pause of a few ms once let two bursts go out as one write on a loaded machine).
      for (let i = 0; i < 300; i++) {
        if (i % 7 === 6) text.delete(text.length - 1, 1);
        else text.insert(text.length, String.fromCharCode(97 + (i % 26)));
        if (i % 50 === 49) {
          const sofar = textOf(writer);
          await waitForState(knock, s.docId, (st) => contentOf(st) === sofar, `burst ${(i + 1) / 50} stored`);
        }
      }
      const expected = textOf(writer);
      const beforeState = await waitForState(knock, s.docId, (st) => contentOf(st) === expected, 'every update stored');
      expect(beforeState.snapshot).toBeNull();
      expect(beforeState.updates.length).toBeGreaterThan(5);

      await s.closeAll(); // the last member leaves: the room closes and compacts
      const after = await waitForState(knock, s.docId, (st) => st.snapshot !== null && st.updates.length === 0, 'the compaction at close');
      expect(contentOf(after)).toBe(expected);
      expect(after.bytes).toBeLessThan(beforeState.bytes);
    } finally {
      await knock.close();
    }
  });

  it('periodically while people edit: stored updates stay few, the content stays the same', async () => {
    const knock = await startKnock({ docCompactUpdates: 10 });
    try {
      const s = await sharedDoc(knock);
      const writer = s.open('owner');
      await writer.whenSynced();
      const text = writer.doc.getText('text');
      let most = 0;
      for (let i = 0; i < 60; i++) {
        text.insert(text.length, `${i} `);
        await new Promise((r) => setTimeout(r, 5));
        most = Math.max(most, (await knock.storage.loadDocumentState(s.docId)).updates.length);
      }
      const expected = textOf(writer);
      const state = await waitForState(knock, s.docId, (st) => contentOf(st) === expected, 'all stored');
      expect(state.snapshot).not.toBeNull();
      expect(most).toBeLessThanOrEqual(10);
      await s.closeAll();
    } finally {
      await knock.close();
    }
  });
});

async function waitForState(knock: TestKnock, docId: string, check: (s: DocumentState) => boolean, what: string): Promise<DocumentState> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const state = await knock.storage.loadDocumentState(docId);
    if (check(state)) return state;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}; ${state.updates.length} updates, snapshot ${state.snapshot?.byteLength ?? 'none'}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
