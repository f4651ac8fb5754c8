/**
 * Documents scale out like every room (DESIGN "DocRoom"): two Knock processes on one PostgreSQL schema and one Redis
 * database; the owner reaches process A, the visitor process B. Colyseus places the document's DocRoom in one of
 * them and sends both people's sockets there, so both edit the one Y.Doc; after both leave and the room closes,
 * either process loads the same content from PostgreSQL.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DocProvider } from '../../client/src/sdk/docProvider.ts';
import { Person, waitFor } from '../support/clients.ts';
import { isCardOf, textOf, until } from '../support/docFixture.ts';
import { KnockProcess } from '../support/knockProcess.ts';
import { TestSchemas, newSchemaName, testDatabaseUrl } from '../support/postgresSchemas.ts';
import { TestRedis } from '../support/redisDatabase.ts';

const schemas = new TestSchemas();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
afterAll(() => schemas.end());

describe('documents across two processes', () => {
  it('puts both people in one DocRoom whichever process they reach, and keeps the content in PostgreSQL', { timeout: 90_000 }, async () => {
    const schema = newSchemaName();
    cleanups.push(() => schemas.drop(schema));
    const redis = await TestRedis.claim();
    cleanups.push(() => redis.release());
    const env = { databaseUrl: testDatabaseUrl, databaseSchema: schema, redisUrl: redis.url };
    const a = await KnockProcess.create({ cluster: { ...env, publicPath: '/_/p1' } });
    cleanups.push(() => a.dispose());
    const b = await KnockProcess.create({ cluster: env });
    cleanups.push(() => b.dispose());
    await a.addUser('alice', 'Alice');
    await Promise.all([a.start(), b.start()]);

    const owner = new Person(a.url);
    const visitor = new Person(b.url);
    cleanups.push(() => owner.closeAll(), () => visitor.closeAll());
    await owner.login('alice');
    const { session, conversationId, token } = await visitor.knock('alice', 'Vic');
    await waitFor(session, (s) => s.connection === 'live', 'visitor live', 20_000);
    const created = new Promise<string>((resolve) => session.onDocCreated((doc) => resolve(doc.docId)));
    session.createDocument('Across processes');
    const docId = await created;
    await waitFor(owner.conversation(conversationId), (s) => s.messages.some(isCardOf(docId)), 'the card on A', 20_000);

    const providers: DocProvider[] = [];
    cleanups.push(() => Promise.all(providers.map((p) => p.destroy())));
    const open = (base: string, who: 'owner' | 'visitor'): DocProvider => {
      const p = DocProvider.open({ endpoint: base, docId, ...(who === 'visitor' ? { token } : { headers: owner.headers }) });
      providers.push(p);
      return p;
    };
    const onA = open(a.url, 'owner');
    const onB = open(b.url, 'visitor');
    await Promise.all([onA.whenSynced(), onB.whenSynced()]);
    const rooms = (await redis.rooms('doc')).filter((room) => (room as { docId?: string }).docId === docId);
    expect(rooms, 'one DocRoom for the document in the whole cluster').toHaveLength(1);

    onA.doc.getText('text').insert(0, 'From A. ');
    onB.doc.getText('text').insert(0, 'From B. ');
    await until(() => [textOf(onA), textOf(onB)], ([x, y]) => x === y && x!.includes('From A.') && x!.includes('From B.'), 'both edits on both', 10_000);
    const expected = textOf(onA);

    await Promise.all(providers.splice(0).map((p) => p.destroy()));
    for (const deadline = Date.now() + 10_000; (await redis.rooms('doc')).length > 0; ) {
      if (Date.now() > deadline) throw new Error('the DocRoom did not close after everyone left');
      await new Promise((r) => setTimeout(r, 50));
    }
    // Reopened through the other process, once the room has closed (and compacted into PostgreSQL).
    const later = open(b.url, 'owner');
    await later.whenSynced();
    await until(() => textOf(later), (t) => t === expected, 'the same content from the cluster', 10_000);
  });
});
