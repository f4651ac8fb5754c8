/**
 * The PostgreSQL adapter: the Storage contract, each test in a fresh schema of the machine's PostgreSQL
 * (`KNOCK_TEST_DATABASE_URL` to use another), then what only PostgreSQL has: several processes (pools) on one
 * database, schemas, the migration lock, BYTEA text, query plans.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KnockError } from '../../engine/errors.ts';
import type { OutboxJob } from '../../engine/ports/storage.ts';
import { PostgresStorage } from '../../adapters/storage/postgres/PostgresStorage.ts';
import { applyMigrations, defaultMigrationsDir } from '../../adapters/storage/postgres/migrate.ts';
import { channelSql } from '../../adapters/storage/postgres/channels.ts';
import { companySql } from '../../adapters/storage/postgres/companies.ts';
import { routingSql } from '../../adapters/storage/postgres/routing.ts';
import { mailSql } from '../../adapters/storage/postgres/mail.ts';
import { outboxSql } from '../../adapters/storage/postgres/outbox.ts';
import { inboxSqlOf, searchSqlOf, sql } from '../../adapters/storage/postgres/queries.ts';
import { loadMigrations } from '../../adapters/storage/sqlite/migrate.ts';
import { TestSchemas, newSchemaName, testDatabaseUrl } from '../support/postgresSchemas.ts';
import { storageContract } from './storage.contract.ts';
import { T0, range, seedAccount, seedConversation, seedFile, sendFiles, seqsOf } from './storage/fixtures.ts';
import { expectDataKeptOnReopen } from './storage/reopen.ts';
import { LEGACY_SCHEMA_VERSION, expectLegacyRecordsTyped, type OlderDatabase } from './storage/legacyEvents.ts';
import { PRE_INBOX_SCHEMA_VERSION, expectOlderInboxSearchable } from './storage/legacyInbox.ts';
import { PRE_MAIL_SCHEMA_VERSION, expectOlderConversationsChats } from './storage/legacyMail.ts';
import { PRE_CHANNELS_SCHEMA_VERSION, expectOlderOutboxKept } from './storage/legacyOutbox.ts';
import { PRE_COMPANIES_SCHEMA_VERSION, expectOlderAccountsBecomeCompanies } from './storage/legacyCompanies.ts';
import { PRE_SESSION_IDS_SCHEMA_VERSION, expectOlderSessionsGetIds } from './storage/legacySessions.ts';
import { migrationsUpTo } from '../support/olderSchema.ts';

const schemas = new TestSchemas();
afterAll(() => schemas.end());

storageContract('PostgreSQL', () => schemas.openStorage(), (storage) => schemas.release(storage));

const knownVersions = loadMigrations(defaultMigrationsDir).map((m) => m.version);

describe('PostgreSQL adapter', () => {
  const opened: PostgresStorage[] = [];
  /** Stores opened by one test; several may share a schema, as several Knock processes share a database. */
  const open = async (opts: { schema?: string; poolSize?: number } = {}): Promise<PostgresStorage> => {
    const storage = await schemas.openStorage(opts);
    opened.push(storage);
    return storage;
  };

  afterEach(async () => {
    for (const storage of opened.splice(0)) await schemas.release(storage);
  });

  it('applies each migration once when several processes open the same new schema at once', async () => {
    const schema = newSchemaName();
    const stores = await Promise.all(range(1, 4).map(() => open({ schema, poolSize: 2 })));
    const recorded = await schemas.query<{ version: number }>(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
    expect(recorded.map((r) => r.version)).toEqual(knownVersions);
    // All of them work on the one schema: what one writes, the others read.
    const ann = await seedAccount(stores[0] as PostgresStorage);
    for (const store of stores) expect(await store.getAccountByHandle('ann')).toEqual(ann);
  });

  it('applies no migration again when a schema is reopened', async () => {
    const schema = newSchemaName();
    await (await open({ schema })).close();
    const read = (): Promise<unknown[]> =>
      schemas.query(`SELECT version, applied_at FROM "${schema}".schema_migrations ORDER BY version`);
    const first = await read();
    expect(first).toHaveLength(knownVersions.length);
    await open({ schema });
    expect(await read()).toEqual(first);
  });

  it('keeps data when a schema is reopened, and continues its seqs', async () => {
    const schema = newSchemaName();
    await expectDataKeptOnReopen(await open({ schema }), () => open({ schema }), 'Ann \u0000 😀');
  });

  /** A schema at `version`, reached with plain SQL, then opened with the current code. */
  async function olderSchema(version: number, check: (older: OlderDatabase) => Promise<void>): Promise<void> {
    const schema = newSchemaName();
    const dir = mkdtempSync(join(tmpdir(), 'knock-pg-older-'));
    const pool = new pg.Pool({ connectionString: testDatabaseUrl, max: 1, options: `-c search_path=${schema}` });
    let storeOpened = false;
    try {
      await applyMigrations(pool, schema, migrationsUpTo(defaultMigrationsDir, version, dir));
      await check({
        exec: async (statements) => {
          await pool.query(statements);
        },
        open: async () => {
          storeOpened = true;
          await pool.end();
          return open({ schema }); // released, and its schema dropped, in afterEach
        },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      if (!storeOpened) {
        await pool.end();
        await schemas.drop(schema);
      }
    }
  }

  it('types the call, document and game records of a schema written before events were typed', async () => {
    await olderSchema(LEGACY_SCHEMA_VERSION, expectLegacyRecordsTyped);
  });

  it('indexes for search the messages and visitors of a schema written before the inbox of issue 16', async () => {
    await olderSchema(PRE_INBOX_SCHEMA_VERSION, expectOlderInboxSearchable);
  });

  it('opens the conversations of a schema written before email as chats, searchable as before, deleted without a trace', async () => {
    await olderSchema(PRE_MAIL_SCHEMA_VERSION, expectOlderConversationsChats);
  });

  it('keeps the outbox of a schema written before forwarding, and gives it the cancelled state', async () => {
    await olderSchema(PRE_CHANNELS_SCHEMA_VERSION, expectOlderOutboxKept);
  });

  it('opens the conversations of a schema written before live help as started on no page, and makes its accounts companies', async () => {
    await olderSchema(PRE_COMPANIES_SCHEMA_VERSION, expectOlderAccountsBecomeCompanies);
  });

  it('keeps the sessions of a schema written before issue 22 signed in, each given a public id of its own', async () => {
    await olderSchema(PRE_SESSION_IDS_SCHEMA_VERSION, expectOlderSessionsGetIds);
  });

  it('attaches a file once when two processes send it in two messages at once: the other is refused, taking no seq', async () => {
    const schema = newSchemaName();
    const a = await open({ schema, poolSize: 2 });
    const b = await open({ schema, poolSize: 2 });
    const conv = await seedConversation(a, await seedAccount(a));
    for (let round = 0; round < 10; round++) {
      const file = await seedFile(a, conv, conv.visitor, { name: `race-${round}.pdf` });
      const outcomes = await Promise.allSettled([a, b].map((store, i) => sendFiles(store, conv, conv.visitor, [file], {
        clientMsgId: `race-${round}-${i}`,
      })));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      expect(outcomes.find((o) => o.status === 'rejected')).toMatchObject({ reason: { code: 'bad_request' } });
      expect((await b.getFile(file.id))?.messageSeq).toBe(round + 1);
    }
    expect(seqsOf(await a.messagesAfter(conv.conversation.id, 0, 100))).toEqual(range(1, 10));
    expect((await a.getConversationSummary(conv.conversation.id))?.files).toBe(10);
  });

  it('folds accents with the unaccent extension, installed where dropping a schema cannot take it', async () => {
    const [extension] = await schemas.query<{ schema: string }>(
      "SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'unaccent'",
    );
    expect(extension?.schema).not.toMatch(/^knock_test_/);
    const s = await open();
    const ann = await seedAccount(s);
    const conv = await seedConversation(s, ann, { visitorName: 'Zoë' });
    await sendFiles(s, conv, conv.visitor, [await seedFile(s, conv, conv.visitor, { name: 'Crème-brûlée.pdf' })]);
    expect((await s.listConversations(ann.id, { limit: 5, query: 'ZOE creme BRULEE' })).map((c) => c.visitorName)).toEqual(['Zoë']);
  });

  it('warns at open when search cannot ignore accents (a schema made without unaccent), and says nothing otherwise', async () => {
    const schema = newSchemaName();
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push((JSON.parse(line) as { msg: string }).msg) });
    await (await open({ schema })).close();
    await (await PostgresStorage.open({ connectionString: testDatabaseUrl, schema, logger })).close();
    expect(warnings).toEqual([]);
    await schemas.query(`ALTER TEXT SEARCH CONFIGURATION "${schema}".knock_search ALTER MAPPING FOR word, numword, hword, numhword, hword_part, hword_numpart WITH simple`);
    await (await PostgresStorage.open({ connectionString: testDatabaseUrl, schema, logger })).close();
    expect(warnings).toEqual([expect.stringContaining('search ignores case but not accents')]);
  });

  it('keeps seqs contiguous and sends idempotent when two processes append to one conversation at once', async () => {
    const schema = newSchemaName();
    const a = await open({ schema, poolSize: 4 });
    const b = await open({ schema, poolSize: 4 });
    const conv = await seedConversation(a, await seedAccount(a));
    const n = 60;
    // Every clientMsgId is sent through both pools at once, as a client resending to another server would.
    const sends = range(1, n).flatMap((i) => [a, b].map((store) => store.appendMessage({
      conversationId: conv.conversation.id,
      senderId: (i % 2 ? conv.visitor : conv.owner).id,
      clientMsgId: `two-pools-${i}`,
      body: `message ${i}`,
      event: { kind: 'text' },
      at: T0 + i,
    })));
    const results = await Promise.all(sends);

    const stored = await b.messagesAfter(conv.conversation.id, 0, 1000);
    expect(seqsOf(stored)).toEqual(range(1, n));
    expect(new Set(stored.map((m) => m.clientMsgId)).size).toBe(n);
    expect((await a.getConversation(conv.conversation.id))?.lastSeq).toBe(n);
    for (let i = 0; i < n; i++) {
      const pair = [results[2 * i], results[2 * i + 1]];
      expect(pair.filter((r) => r?.duplicate === false)).toHaveLength(1);
      expect(pair[0]?.message).toEqual(pair[1]?.message);
      expect(stored).toContainEqual(pair[0]?.message);
    }
  });

  it('gives each outbox job to one of two processes claiming at once, also when a lease runs out under them', async () => {
    const schema = newSchemaName();
    const processes = [await open({ schema, poolSize: 4 }), await open({ schema, poolSize: 4 })];
    const jobs = 40;
    for (const i of range(1, jobs)) {
      await processes[0]!.enqueueJob({ kind: 'mail.reply', key: `job-${i}`, payload: { i }, runAt: T0 + i, at: T0 });
    }
    /** Four claimers per process, each on its own pooled connection, claiming at `now` until nothing is left. */
    const claimAll = async (now: number, leaseMs: number): Promise<Map<string, OutboxJob[]>> => {
      const got = new Map<string, OutboxJob[]>();
      const claimers = processes.flatMap((store, p) => range(1, 4).map((c) => ({ store, worker: `p${p}-c${c}` })));
      for (;;) {
        const batches = await Promise.all(claimers.map(({ store, worker }) => store.claimJobs({ worker, now, leaseMs, limit: 3 })));
        if (batches.every((batch) => batch.length === 0)) return got;
        for (const job of batches.flat()) got.set(job.key, [...(got.get(job.key) ?? []), job]);
      }
    };
    const first = await claimAll(T0 + 100, 1000);
    expect(first.size).toBe(jobs);
    for (const [key, claims] of first) expect(claims.map((c) => c.attempts), key).toEqual([1]);
    // Every lease has run out (all those workers died): the jobs are claimed again, each once more.
    const second = await claimAll(T0 + 1100, 1000);
    expect(second.size).toBe(jobs);
    for (const [key, claims] of second) expect(claims.map((c) => c.attempts), key).toEqual([2]);
  });

  it("opens one forward when two processes open a conversation's forward many times at once", async () => {
    const schema = newSchemaName();
    const processes = [await open({ schema, poolSize: 4 }), await open({ schema, poolSize: 4 })];
    const ann = await seedAccount(processes[0]!);
    const xmpp = await processes[0]!.addChannel({
      accountId: ann.id, kind: 'xmpp', address: 'ann@jabber.example', secret: null, delayMs: 0, verified: true, at: T0,
    });
    for (let round = 0; round < 3; round++) {
      const conv = await seedConversation(processes[0]!, ann);
      const opens = await Promise.all(range(1, 16).map((i) => processes[i % 2]!.openForward({
        conversationId: conv.conversation.id, accountId: ann.id, knockAt: T0 + i, afterSeq: i,
        steps: [{ channelId: xmpp.id, kind: 'xmpp', at: T0 + i }], at: T0 + i,
      })));
      expect(opens.filter((o) => !o.duplicate)).toHaveLength(1);
      const opened = opens.find((o) => !o.duplicate)!.forward;
      for (const o of opens) expect(o.forward).toEqual(opened);
      expect(opened.tag).toBe(`#${round + 1}`);
      const stored = await schemas.query(`SELECT id FROM "${schema}".forwards WHERE conversation_id = $1`, [conv.conversation.id]);
      expect(stored).toEqual([{ id: opened.id }]);
    }
  });

  it("never gives two open forwards of an account one tag when two processes open forwards of its conversations at once", async () => {
    const schema = newSchemaName();
    const processes = [await open({ schema, poolSize: 4 }), await open({ schema, poolSize: 4 })];
    const ann = await seedAccount(processes[0]!);
    const convs = [];
    for (const i of range(1, 12)) convs.push(await seedConversation(processes[0]!, ann, { visitorName: `Visitor ${i}` }));
    // Each conversation's forward is opened by both processes, all of them at once.
    const opens = await Promise.all(convs.flatMap((conv, i) => processes.map((store) => store.openForward({
      conversationId: conv.conversation.id, accountId: ann.id, knockAt: T0 + i, afterSeq: 0, steps: [], at: T0 + i,
    }))));
    expect(opens.filter((o) => !o.duplicate)).toHaveLength(convs.length);
    const opened = await processes[1]!.openForwards(ann.id);
    expect(opened.map((f) => f.tag).sort()).toEqual(range(1, 12).map((n) => `#${n}`).sort());
    // Half of them closed, the others' tags stay; new forwards opened at once take the freed tags, each one.
    for (const conv of convs.slice(0, 6)) await processes[0]!.closeForward(conv.conversation.id, T0 + 100);
    const more = [];
    for (const i of range(1, 6)) more.push(await seedConversation(processes[0]!, ann, { visitorName: `Later ${i}` }));
    await Promise.all(more.map((conv, i) => processes[i % 2]!.openForward({
      conversationId: conv.conversation.id, accountId: ann.id, knockAt: T0 + 200, afterSeq: 0, steps: [], at: T0 + 200,
    })));
    const tags = (await processes[0]!.openForwards(ann.id)).map((f) => f.tag);
    expect(tags).toHaveLength(12);
    expect(new Set(tags).size).toBe(12);
    expect(tags.sort()).toEqual(range(1, 12).map((n) => `#${n}`).sort());
  });

  it('keeps each schema apart: a store sees only the tables of its own schema', async () => {
    const one = await open();
    const other = await open();
    await seedAccount(one, 'ann');
    expect(await other.getAccountByHandle('ann')).toBeNull();
    expect(await other.listAccounts()).toEqual([]);
  });

  it('stores names and bodies as their UTF-8 bytes, NUL included', async () => {
    const schema = newSchemaName();
    const s = await open({ schema });
    const body = 'NUL \u0000 😀 \uFEFF end\u0000';
    const conv = await seedConversation(s, await seedAccount(s, 'ann', 'A\u0000nn'));
    await s.appendMessage({ conversationId: conv.conversation.id, senderId: conv.visitor.id, clientMsgId: 'raw-bytes', body, event: { kind: 'text' }, at: T0 });
    const [row] = await schemas.query<{ body: Buffer; name: Buffer }>(
      `SELECT m.body, a.display_name AS name FROM "${schema}".messages m, "${schema}".accounts a`,
    );
    expect(row?.body.equals(Buffer.from(body, 'utf8'))).toBe(true);
    expect(row?.name.equals(Buffer.from('A\u0000nn', 'utf8'))).toBe(true);
  });

  it('refuses a NUL in a handle, token or clientMsgId (TEXT cannot hold it) with bad_request, storing nothing', async () => {
    const s = await open();
    const nulHandle = s.createAccount({ handle: 'a\u0000b', displayName: 'A', passwordHash: 'h', at: T0 });
    await expect(nulHandle).rejects.toBeInstanceOf(KnockError);
    await expect(nulHandle).rejects.toMatchObject({ code: 'bad_request' });
    expect(await s.listAccounts()).toEqual([]);
    const conv = await seedConversation(s, await seedAccount(s));
    const nulId = s.appendMessage({
      conversationId: conv.conversation.id, senderId: conv.visitor.id, clientMsgId: 'x\u0000', body: 'b', event: { kind: 'text' }, at: T0,
    });
    await expect(nulId).rejects.toMatchObject({ code: 'bad_request' });
    expect((await s.getConversation(conv.conversation.id))?.lastSeq).toBe(0);
  });

  it('turns an unexpected database failure into KnockError internal that keeps the cause', async () => {
    const schema = newSchemaName();
    const s = await open({ schema });
    await schemas.query(`DROP TABLE "${schema}".sessions`);
    const failed = s.getSession('th', T0);
    await expect(failed).rejects.toMatchObject({ code: 'internal' });
    await expect(failed).rejects.toHaveProperty('cause.code', '42P01'); // undefined_table
  });

  it('refuses a schema migrated by a newer Knock', async () => {
    const schema = newSchemaName();
    await (await open({ schema })).close();
    await schemas.query(`INSERT INTO "${schema}".schema_migrations (version, applied_at) VALUES (999, 0)`);
    const newest = knownVersions.at(-1);
    await expect(PostgresStorage.open({ connectionString: testDatabaseUrl, schema }))
      .rejects.toThrow(`schema version 999, newer than this Knock knows (${newest})`);
  });

  it('refuses a schema name that is not a plain identifier, before connecting', async () => {
    for (const schema of ['bad-name', 'x"; DROP SCHEMA public; --', '', '1abc']) {
      await expect(PostgresStorage.open({ connectionString: testDatabaseUrl, schema })).rejects.toThrow(/Invalid PostgreSQL schema name/);
    }
  });

  it('refuses to open when the connection string replaces the search_path, instead of writing to another schema', async () => {
    const schema = newSchemaName();
    const url = `${testDatabaseUrl}${testDatabaseUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent('-c search_path=pg_catalog')}`;
    await expect(PostgresStorage.open({ connectionString: url, schema })).rejects.toThrow(/search_path resolves to schema pg_catalog/);
    expect(await schemas.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).toEqual([]);
  });

  it('fails to open, rather than hang, when the server cannot be reached', async () => {
    await expect(PostgresStorage.open({ connectionString: 'postgres://postgres@127.0.0.1:1/test' })).rejects.toThrow();
  });

  it('closes idempotently, also when close is called twice at once', async () => {
    const s = await open();
    await Promise.all([s.close(), s.close()]);
    await expect(s.close()).resolves.toBeUndefined();
  });

  it('serves the inbox and history from indexes, without scanning or sorting a table', async () => {
    const schema = newSchemaName();
    await open({ schema });
    const client = new pg.Client({ connectionString: testDatabaseUrl, options: `-c search_path=${schema}` });
    await client.connect();
    try {
      // With these off, a plan still shows a Seq Scan or Sort only if no index can do the job.
      await client.query('SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off');
      const plan = async (query: string, ...params: unknown[]): Promise<string> =>
        (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${query}`, params)).rows.map((r) => r['QUERY PLAN']).join('\n');

      for (const filter of ['all', 'unread', 'files', 'archived', 'suspicious'] as const) {
        const inbox = await plan(inboxSqlOf[filter], 'account', 50);
        expect(inbox, filter).toContain('Index Scan using conversations_inbox on conversations');
        expect(inbox, filter).not.toMatch(/Seq Scan|Sort/);
      }
      // A search finds its messages through their GIN index (read through bitmap scans only), given its words as a
      // constant query: the way the adapter runs it, unnamed, so that it is planned with its parameters.
      await client.query('SET enable_bitmapscan = on');
      const search = await plan(searchSqlOf.all, ['word'], 'word:*', 'account', 50);
      await client.query('SET enable_bitmapscan = off');
      expect(search).toContain('Bitmap Index Scan on messages_search');
      expect(search).toContain('Bitmap Index Scan on conversations_subject_search');
      expect(search).not.toContain('Seq Scan');
      for (const steps of [
        await plan(sql.summaryById, 'conversation'),
        await plan(sql.messagesAfter, 'conversation', 0, 50),
        await plan(sql.messageByClientId, 'sender', 'client-msg-id'),
        await plan(sql.senderAndDuplicate, 'sender', 'client-msg-id'),
        await plan(sql.liveSession, 'token-hash', T0),
        await plan(sql.participantsOf, 'conversation'),
        await plan(sql.attachableFiles, ['file-id']),
      ]) {
        expect(steps).not.toMatch(/Seq Scan|Sort/);
      }
      // Deleting a conversation finds its files and mails, and asks of each of their blobs whether another file or mail
      // uses it, by index (the one sort is that of the few blob ids it returns).
      const removal = await plan(sql.deleteConversation, 'conversation');
      for (const index of ['files_by_conversation', 'files_by_blob', 'files_by_thumb', 'mails_by_conversation', 'mails_by_raw_blob', 'mails_by_html_blob']) {
        expect(removal).toContain(index);
      }
      expect(removal).not.toContain('Seq Scan');
      // The outbox's claim and nextJobAt read only the waiting jobs (the claim sorts the due ones it found); email's
      // lookups are key lookups.
      expect(await plan(outboxSql.claim, 'worker', T0, T0 + 1, 4)).toContain('Index Scan using outbox_jobs_due on outbox_jobs');
      expect(await plan(outboxSql.nextJobAt)).toContain('Index Scan using outbox_jobs_due on outbox_jobs');
      expect(await plan(mailSql.findMail, 'account', ['a@x', 'b@x'])).toContain(
        "Index Cond: ((account_id = 'account'::text) AND (message_id = ANY ('{a@x,b@x}'::text[])))",
      );
      for (const steps of [
        await plan(outboxSql.conversationJobs, 'conversation'),
        await plan(outboxSql.byRef, 'ref'),
        await plan(outboxSql.settle, 'id', 'worker', 'sent', null, null, null, T0),
        await plan(mailSql.thread, 'conversation', 20),
        await plan(mailSql.conversationByMailToken, 'token'),
        await plan(mailSql.useDevice, 'token-hash', T0),
        await plan(mailSql.verifyAccountEmail, 'token-hash', T0),
      ]) {
        expect(steps).not.toContain('Seq Scan');
      }
      // Forwarding's lookups: by index, whatever the table holds.
      expect(await plan(channelSql.channelsAt, 'xmpp', 'ann@jabber.example')).toContain('channels_verified_at');
      expect(await plan(channelSql.markDelivery, 'sms', 'SM1', 'delivered')).toContain('forward_steps_by_external_id');
      expect(await plan(channelSql.openForwardOf, 'conversation')).toContain('forwards_open_by_conversation');
      expect(await plan(outboxSql.cancel, ['key'], T0)).toContain('outbox_jobs_key_key');
      for (const steps of [
        await plan(channelSql.channelsOf, 'account'),
        await plan(channelSql.countTry, 'account', 'channel'),
        await plan(channelSql.insertForward, 'f', 'conversation', 'account', T0, 0, T0),
        await plan(channelSql.insertSteps, 'f', ['ch'], [T0], 'account'),
        await plan(channelSql.openForwardsOf, 'account'),
        await plan(channelSql.lastForward, 'conversation'),
        await plan(channelSql.stepsOf, ['f']),
        await plan(channelSql.markSent, 'f', 'ch', T0, 1, null),
        await plan(channelSql.closeForwardsOf, 'account', T0),
      ]) {
        expect(steps).not.toContain('Seq Scan');
      }
      // Companies (issue 19): an account's companies, a visitor's history newest first (no sort), retention, invitations.
      expect(await plan(companySql.companiesOf, 'account')).toContain('operators_by_account');
      const views = await plan(companySql.pageViewsOf, 'company', 'visitor', 20);
      expect(views).toContain('Index Scan Backward using page_views_by_visitor on page_views');
      expect(views).not.toMatch(/Seq Scan|Sort/);
      expect(await plan(companySql.visitorHistory, 'company', 'visitor')).toContain('page_views_by_visitor');
      expect(await plan(companySql.purgePageViews, T0)).toContain('page_views_by_start');
      for (const steps of [
        await plan(companySql.operatorsOf, 'company'),
        await plan(companySql.operator, 'company', 'account'),
        await plan(companySql.sitesOf, 'company'),
        await plan(companySql.takeInvite, 'token-hash', 'account', 3, T0),
        await plan(companySql.upsertOperator, 'company', 'account', 'admin', 3, T0),
        await plan(companySql.endPageView, 'view', T0),
        // Routing (issue 19): a company's open chats, one chat by its conversation.
        await plan(routingSql.open, 'company'),
        await plan(routingSql.get, 'c'),
        await plan(routingSql.assign, 'c', 'account', T0),
        await plan(routingSql.end, 'c', T0),
      ]) {
        expect(steps).not.toContain('Seq Scan');
      }
      // messagesBefore reads its page backwards from the key, then sorts only that page to return it ascending.
      const before = await plan(sql.messagesBefore, 'conversation', 100, 50);
      expect(before).toContain('Index Scan Backward using messages_pkey on messages');
      expect(before).not.toContain('Seq Scan');
    } finally {
      await client.end();
    }
  });
});

describe('PostgreSQL migrations', () => {
  let dir: string;
  let schema: string;
  let pool: pg.Pool;
  const write = (name: string, text: string): void => writeFileSync(join(dir, name), text);
  const tables = async (): Promise<string[]> => (await schemas.query<{ tablename: string }>(
    'SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename', [schema],
  )).map((r) => r.tablename);
  const versions = async (): Promise<number[]> => (await pool.query<{ version: number }>(
    'SELECT version FROM schema_migrations ORDER BY version',
  )).rows.map((r) => r.version);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'knock-pg-migrations-'));
    schema = newSchemaName();
    pool = new pg.Pool({ connectionString: testDatabaseUrl, max: 2, options: `-c search_path=${schema}` });
  });

  afterEach(async () => {
    await pool.end();
    await schemas.drop(schema);
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies files in numeric version order and skips the versions already recorded', async () => {
    write('10_c.sql', 'CREATE TABLE c (x int); INSERT INTO b VALUES (10);');
    write('2_b.sql', 'CREATE TABLE b (x int); INSERT INTO b VALUES (2);');
    write('1_a.sql', 'CREATE TABLE a (x int);');
    write('README.md', 'not a migration');
    expect(await applyMigrations(pool, schema, dir, () => T0)).toEqual([1, 2, 10]);
    expect((await pool.query<{ x: number }>('SELECT x FROM b ORDER BY x')).rows.map((r) => r.x)).toEqual([2, 10]);
    expect(await applyMigrations(pool, schema, dir)).toEqual([]);
    write('11_d.sql', 'CREATE TABLE d (x int);');
    expect(await applyMigrations(pool, schema, dir)).toEqual([11]);
    expect(await versions()).toEqual([1, 2, 10, 11]);
  });

  it('rolls a failing migration back entirely and keeps the ones before it', async () => {
    write('001_good.sql', 'CREATE TABLE good (x int);');
    write('002_bad.sql', 'CREATE TABLE half (x int); THIS IS NOT SQL;');
    await expect(applyMigrations(pool, schema, dir)).rejects.toThrow(/Migration 002_bad\.sql failed/);
    expect(await tables()).toEqual(['good', 'schema_migrations']);
    expect(await versions()).toEqual([1]);
  });
});
