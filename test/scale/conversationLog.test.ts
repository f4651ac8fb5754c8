/**
 * The ConversationLog across processes (issue 15, "Done when" 2): an event appended from outside any room, as an
 * email, SMS or XMPP channel will append replies, while the visitor and the owner reach the conversation through two
 * different Knock processes on Redis and PostgreSQL. The writer here is a third process of the cluster, this test's
 * own: the same ConversationLog, PostgreSQL storage and Redis Hub a Knock process builds, with no room at all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openCoordination } from '../../adapters/presence/coordination.ts';
import { PostgresStorage } from '../../adapters/storage/postgres/PostgresStorage.ts';
import { ConversationLog } from '../../engine/conversationLog.ts';
import { Hub } from '../../engine/hub.ts';
import { createLogger } from '../../engine/logger.ts';
import { systemClock, systemTimers } from '../../engine/ports/clock.ts';
import type { ConversationSnapshot } from '../../client/src/sdk/types.ts';
import { Person, bodies, waitFor } from '../support/clients.ts';
import { testDatabaseUrl } from '../support/postgresSchemas.ts';
import { TestCluster } from '../support/testCluster.ts';

const people: Person[] = [];
afterEach(async () => {
  await Promise.all(people.splice(0).map((p) => p.closeAll()));
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** What each person checks: every message once, in order, stored, seqs 1..n. */
function expectExactly(snapshot: ConversationSnapshot, expected: string[], who: string): void {
  expect(bodies(snapshot), `${who}: every message once, in order`).toEqual(expected);
  expect(snapshot.messages.map((m) => m.seq), `${who}: seqs contiguous from 1`).toEqual(range(1, expected.length));
}

describe('an event written from outside any room, with the conversation open in two processes', () => {
  it('reaches the visitor and the owner once each, in the one seq order of the conversation', { timeout: 90_000 }, async (test) => {
    const cluster = await TestCluster.open(test, 'scale/conversationLog');
    const a = await cluster.add();
    const b = await cluster.add();
    await cluster.addUser('alice', 'Alice');
    await Promise.all([a.start(), b.start()]);

    // The writer: a process of the cluster with the log and nothing else.
    const logger = createLogger('silent');
    const storage = await PostgresStorage.open({ connectionString: testDatabaseUrl, schema: cluster.schema, poolSize: 2 });
    cluster.stopAtEnd(() => storage.close());
    const coordination = await openCoordination(cluster.redis.url, logger);
    cluster.stopAtEnd(async () => {
      coordination.presence.shutdown();
      await coordination.driver.shutdown();
    });
    const hub = new Hub(coordination.presence, { presenceTtlMs: 6000, shared: true, logger });
    const log = new ConversationLog({ storage, hub, clock: systemClock, timers: systemTimers, logger, summaryDelayMs: 50 });
    cluster.stopAtEnd(() => log.close());

    // The visitor reaches the cluster through B (the conversation's room is made there), the owner through A.
    const visitor = new Person(b.url);
    const owner = new Person(a.url);
    people.push(visitor, owner);
    await owner.login('alice');
    const { session: chat, conversationId } = await visitor.knock('alice', 'Vic');
    await waitFor(chat, (s) => s.connection === 'live', 'the visitor is in the conversation');
    const device = owner.conversation(conversationId);
    await waitFor(device, (s) => s.connection === 'live', "the owner's device is in the conversation");
    expect(await cluster.whereAre('conversation'), "the conversation's room").toEqual(['B']);
    const visitorId = chat.snapshot().me!.participantId;

    // The visitor types while replies come in "by SMS" from outside, interleaved.
    const expected: string[] = [];
    const outside: Array<Promise<unknown>> = [];
    for (let n = 1; n <= 10; n++) {
      chat.send(`typed ${n}`);
      expected.push(`typed ${n}`);
      await waitFor(chat, (s) => s.messages.filter((m) => m.seq !== null).length === expected.length, `typed ${n} stored`);
      const body = `by sms ${n}`;
      outside.push(log.append(conversationId, { senderId: visitorId, idempotencyKey: `sms:test-${n}`, body, event: { kind: 'text' } }));
      expected.push(body);
      await outside.at(-1);
    }
    // A note of the system's, and the same SMS delivered twice by the channel: stored once.
    await log.append(conversationId, { senderId: visitorId, idempotencyKey: 'system:test-note', body: 'Vic replied by SMS.', event: { kind: 'system' } });
    expected.push('Vic replied by SMS.');
    expect((await log.append(conversationId, { senderId: visitorId, idempotencyKey: 'sms:test-10', body: 'by sms 10', event: { kind: 'text' } })).duplicate).toBe(true);
    await Promise.all(outside);

    const done = (s: ConversationSnapshot) => s.messages.filter((m) => m.seq !== null).length >= expected.length;
    expectExactly(await waitFor(chat, done, 'the visitor has everything'), expected, 'the visitor');
    const seen = await waitFor(device, done, 'the owner has everything');
    expectExactly(seen, expected, 'the owner');
    expect(seen.messages.at(-1)?.event, 'the note arrives as a system event').toEqual({ kind: 'system' });
  });
});
