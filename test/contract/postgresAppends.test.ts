/**
 * The PostgreSQL adapter's batched appends (adapters/storage/postgres/appends.ts): what one statement per batch must
 * answer each caller (new messages numbered in call order, retries and repeats with the original, a non-member
 * refused alone), what it stores (consecutive seqs, none taken by a refusal or a duplicate), and two processes (two
 * pools on one schema) appending to one conversation at once. The Storage contract itself runs in postgres.test.ts.
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppendResult, NewMessage } from '../../engine/ports/storage.ts';
import type { PostgresStorage } from '../../adapters/storage/postgres/PostgresStorage.ts';
import { sql } from '../../adapters/storage/postgres/queries.ts';
import { TestSchemas, newSchemaName, testDatabaseUrl } from '../support/postgresSchemas.ts';
import { T0, clientMsgId, fileRef, range, seedAccount, seedConversation, seedFile, seqsOf, type SeededConversation } from './storage/fixtures.ts';

const schemas = new TestSchemas();
// Every store a test opened is released (its schema dropped) after it; several may share a schema, as processes do.
afterEach(() => schemas.end());

/** A store on a schema of its own, or on `schema`, shared with other stores (other processes). */
const open = (opts: { schema?: string; poolSize?: number } = {}): Promise<PostgresStorage> => schemas.openStorage(opts);

describe('PostgreSQL batched appends', () => {
  /** A text message of `senderId` to `conv`. */
  const text = (conv: SeededConversation, senderId: string, key: string, body: string, at = T0): NewMessage => ({
    conversationId: conv.conversation.id, senderId, clientMsgId: clientMsgId(key), body, event: { kind: 'text' }, at,
  });

  /** Every append started in the same turn of the event loop, so they wait for the same batch. */
  const burst = (storage: PostgresStorage, inputs: readonly NewMessage[]): Promise<Array<PromiseSettledResult<AppendResult>>> =>
    Promise.allSettled(inputs.map((input) => storage.appendMessage(input)));

  it('answers each append of one batch: new ones in call order, a retry and a repeat with the original, a non-member refused alone', async () => {
    const schema = newSchemaName();
    const s = await open({ schema });
    const ann = await seedAccount(s);
    const conv = await seedConversation(s, ann);
    const other = await seedConversation(s, ann);
    const stored = (await s.appendMessage(text(conv, conv.visitor.id, 'stored', 'stored first', T0 + 1))).message;

    const outcomes = await burst(s, [
      text(conv, conv.visitor.id, 'a', 'new a', T0 + 10),
      text(conv, conv.visitor.id, 'stored', 'a retry with other text', T0 + 11),
      text(conv, other.visitor.id, 'x', 'from another conversation', T0 + 12),
      text(conv, conv.owner.id, 'b', 'new b', T0 + 13),
      text(conv, conv.visitor.id, 'a', 'a repeat of a in the same batch', T0 + 14),
      text(conv, 'no-such-participant', 'y', 'from nobody', T0 + 15),
      text(conv, conv.visitor.id, 'c', 'new c', T0 + 16),
    ]);

    const answer = (i: number): AppendResult => {
      const outcome = outcomes[i];
      if (outcome?.status !== 'fulfilled') throw new Error(`append ${i} was refused: ${String(outcome?.status === 'rejected' ? outcome.reason : outcome)}`);
      return outcome.value;
    };
    expect(answer(0)).toEqual({ message: expect.objectContaining({ seq: 2, body: 'new a', senderRole: 'visitor', at: T0 + 10 }), duplicate: false });
    expect(answer(1)).toEqual({ message: stored, duplicate: true });
    expect(outcomes[2]).toMatchObject({ status: 'rejected', reason: { code: 'forbidden', message: 'The sender is not a member of this conversation.' } });
    expect(answer(3)).toEqual({ message: expect.objectContaining({ seq: 3, body: 'new b', senderRole: 'owner', senderName: 'Ann' }), duplicate: false });
    expect(answer(4)).toEqual({ message: answer(0).message, duplicate: true });
    expect(outcomes[5]).toMatchObject({ status: 'rejected', reason: { code: 'forbidden' } });
    expect(answer(6)).toEqual({ message: expect.objectContaining({ seq: 4, body: 'new c' }), duplicate: false });

    const history = await s.messagesAfter(conv.conversation.id, 0, 100);
    expect(history).toEqual([stored, answer(0).message, answer(3).message, answer(6).message]);
    expect(await s.getConversation(conv.conversation.id)).toMatchObject({ lastSeq: 4, updatedAt: T0 + 16 });
    expect((await s.getConversation(other.conversation.id))?.lastSeq).toBe(0);
    // The three new messages were written by one transaction: the batch's statement.
    const writers = await schemas.query<{ xmin: string }>(
      `SELECT DISTINCT xmin::text FROM "${schema}".messages WHERE conversation_id = $1 AND seq > 1`, [conv.conversation.id],
    );
    expect(writers).toHaveLength(1);
  });

  it('keeps call order across a message with files in the middle of a burst, attaching its files', async () => {
    const s = await open();
    const conv = await seedConversation(s, await seedAccount(s));
    const file = await seedFile(s, conv, conv.visitor, { name: 'middle.pdf' });
    const outcomes = await burst(s, [
      text(conv, conv.visitor.id, 'before', 'before'),
      { ...text(conv, conv.visitor.id, 'files', 'with a file'), event: { kind: 'file', files: [fileRef(file)] } },
      text(conv, conv.owner.id, 'after', 'after'),
      text(conv, conv.visitor.id, 'before', 'a repeat of the first'),
    ]);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? [o.value.message.seq, o.value.duplicate] : o.reason))).toEqual([
      [1, false], [2, false], [3, false], [1, true],
    ]);
    expect((await s.messagesAfter(conv.conversation.id, 0, 10)).map((m) => m.body)).toEqual(['before', 'with a file', 'after']);
    expect(await s.getFile(file.id)).toMatchObject({ messageSeq: 2 });
    expect((await s.getConversationSummary(conv.conversation.id))?.files).toBe(1);
  });

  it('refuses every append of a batch to a conversation that does not exist with not_found', async () => {
    const s = await open();
    const conv = await seedConversation(s, await seedAccount(s));
    const lost = { ...conv, conversation: { ...conv.conversation, id: 'no-such-conversation' } };
    const outcomes = await burst(s, range(1, 3).map((i) => text(lost, conv.visitor.id, `lost-${i}`, 'x')));
    for (const outcome of outcomes) expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'not_found' } });
    expect((await s.getConversation(conv.conversation.id))?.lastSeq).toBe(0);
  });

  it('refuses only the append the database cannot hold when its batch fails, on a pool of one connection', async () => {
    const s = await open({ poolSize: 1 });
    const ann = await seedAccount(s);
    const convs = [await seedConversation(s, ann), await seedConversation(s, ann)];
    // A NUL in a clientMsgId (TEXT cannot hold it) fails the whole statement: its batch is written one by one, on
    // the connection the batch already holds, while the other conversation waits for that connection.
    const outcomes = await Promise.all(convs.map((conv) => burst(s, [
      text(conv, conv.visitor.id, 'one', 'one'),
      { ...text(conv, conv.visitor.id, 'two', 'two'), clientMsgId: 'bad\u0000id' },
      text(conv, conv.owner.id, 'three', 'three'),
    ])));
    for (const [i, conv] of convs.entries()) {
      expect(outcomes[i]?.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(outcomes[i]?.[1]).toMatchObject({ reason: { code: 'bad_request' } });
      expect((await s.messagesAfter(conv.conversation.id, 0, 10)).map((m) => [m.seq, m.body])).toEqual([[1, 'one'], [2, 'three']]);
    }
  });

  it('stores every message once with seqs 1..N when two processes append bursts to one conversation at once, resending each other\u2019s', async () => {
    const schema = newSchemaName();
    const processes = [await open({ schema, poolSize: 3 }), await open({ schema, poolSize: 3 })];
    const conv = await seedConversation(processes[0]!, await seedAccount(processes[0]!));
    const rounds = 8;
    const perBurst = 40;
    const results: Array<{ key: string; result: AppendResult }> = [];
    for (let round = 0; round < rounds; round++) {
      // Each process sends a burst of its own messages and, mixed in, every other one of the other's (a client
      // resending to the other server): the same clientMsgIds race in two batches, one of which fails on the unique key.
      const sends = processes.flatMap((store, p) => range(1, perBurst).flatMap((i) => {
        const senders = i % 2 === 0 ? [p, 1 - p] : [p];
        return senders.map((owner) => {
          const key = `r${round}-p${owner}-${i}`;
          const sender = owner === 0 ? conv.visitor : conv.owner;
          return store.appendMessage(text(conv, sender.id, key, `message ${key}`, T0 + round)).then((result) => results.push({ key, result }));
        });
      }));
      await Promise.all(sends);
    }

    const stored = await processes[1]!.messagesAfter(conv.conversation.id, 0, 10_000);
    const keys = new Set(results.map((r) => r.key));
    expect(seqsOf(stored)).toEqual(range(1, keys.size));
    expect(new Set(stored.map((m) => `${m.senderId}/${m.clientMsgId}`)).size).toBe(keys.size);
    expect((await processes[0]!.getConversation(conv.conversation.id))?.lastSeq).toBe(keys.size);
    for (const key of keys) {
      const answers = results.filter((r) => r.key === key);
      expect(answers.filter((a) => !a.result.duplicate), key).toHaveLength(1);
      const original = stored.find((m) => m.clientMsgId === clientMsgId(key));
      for (const a of answers) expect(a.result.message, key).toEqual(original);
    }
  });

  it('is planned once, not per batch: after five batches the prepared statement keeps its generic plan, which looks up by key', async () => {
    const schema = newSchemaName();
    const s = await open({ schema });
    const conv = await seedConversation(s, await seedAccount(s));
    const client = new pg.Client({ connectionString: testDatabaseUrl, options: `-c search_path=${schema}` });
    await client.connect();
    try {
      // Batches of one, the size whose own plan would be cheapest if the planner could see it.
      for (const i of range(1, 8)) {
        await client.query({ name: 'append_batch', text: sql.appendBatch, values: [
          conv.conversation.id, [conv.visitor.id], [clientMsgId(`plan-${i}`)], [Buffer.from('hi')], [T0], ['text'], [null],
        ] });
      }
      const [use] = (await client.query<{ generic_plans: string; custom_plans: string }>(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'append_batch'",
      )).rows;
      expect(use).toEqual({ generic_plans: '3', custom_plans: '5' });
      // That plan was made with the tables nearly empty and is kept as they grow: it must not scan them.
      await client.query('SET plan_cache_mode = force_generic_plan');
      await client.query(`PREPARE explained AS ${sql.appendBatch}`);
      const plan = (await client.query<{ 'QUERY PLAN': string }>(
        "EXPLAIN EXECUTE explained('conversation', ARRAY['sender'], ARRAY['key'], ARRAY['\\x00'::bytea], ARRAY[1::bigint], ARRAY['text'], ARRAY[NULL::text])",
      )).rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toContain('Index Scan using participants_pkey on participants');
      expect(plan).toContain('Index Scan using messages_sender_client_msg_id_key on messages');
      expect(plan).not.toContain('Seq Scan');
    } finally {
      await client.end();
    }
    expect(seqsOf(await s.messagesAfter(conv.conversation.id, 0, 10))).toEqual(range(1, 8));
  });
});
