/**
 * The SQLite adapter: the Storage contract on an in-memory and on a file database, then what only SQLite has
 * (migration files, the database file, query plans).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../engine/ports/storage.ts';
import { SqliteStorage } from '../../adapters/storage/sqlite/SqliteStorage.ts';
import { applyMigrations, defaultMigrationsDir, loadMigrations } from '../../adapters/storage/sqlite/migrate.ts';
import { channelSql } from '../../adapters/storage/sqlite/channels.ts';
import { companySql } from '../../adapters/storage/sqlite/companies.ts';
import { routingSql } from '../../adapters/storage/sqlite/routing.ts';
import { mailSql } from '../../adapters/storage/sqlite/mail.ts';
import { outboxSql } from '../../adapters/storage/sqlite/outbox.ts';
import { inboxSql, inboxSqlOf, searchSqlOf, sql } from '../../adapters/storage/sqlite/queries.ts';
import { storageContract } from './storage.contract.ts';
import { T0, appendSequence, fileRef, range, seedAccount, seedConversation, seedFile, sendFiles, seqsOf } from './storage/fixtures.ts';
import { expectDataKeptOnReopen } from './storage/reopen.ts';
import { LEGACY_SCHEMA_VERSION, expectLegacyRecordsTyped, type OlderDatabase } from './storage/legacyEvents.ts';
import { PRE_INBOX_SCHEMA_VERSION, expectOlderInboxSearchable } from './storage/legacyInbox.ts';
import { PRE_MAIL_SCHEMA_VERSION, expectOlderConversationsChats } from './storage/legacyMail.ts';
import { PRE_CHANNELS_SCHEMA_VERSION, expectOlderOutboxKept } from './storage/legacyOutbox.ts';
import { PRE_COMPANIES_SCHEMA_VERSION, expectOlderAccountsBecomeCompanies } from './storage/legacyCompanies.ts';
import { PRE_SESSION_IDS_SCHEMA_VERSION, expectOlderSessionsGetIds } from './storage/legacySessions.ts';
import { migrationsUpTo } from '../support/olderSchema.ts';

/** Each file-backed store lives in its own temp directory, removed with it. */
function fileStores(): { open: () => Promise<Storage>; cleanup: (s: Storage) => Promise<void> } {
  const dirs = new Map<Storage, string>();
  return {
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'knock-storage-'));
      const storage = SqliteStorage.open({ file: join(dir, 'knock.db') });
      dirs.set(storage, dir);
      return storage;
    },
    async cleanup(storage) {
      await storage.close();
      const dir = dirs.get(storage);
      dirs.delete(storage);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

storageContract('SQLite :memory:', async () => SqliteStorage.open({ file: ':memory:' }));
const files = fileStores();
storageContract('SQLite file', files.open, files.cleanup);

describe('SQLite adapter', () => {
  let dir: string;
  const opened: SqliteStorage[] = [];
  const open = (file = join(dir, 'knock.db')): SqliteStorage => {
    const storage = SqliteStorage.open({ file });
    opened.push(storage);
    return storage;
  };
  /** A second, raw connection: what is on disk, not what the adapter says. */
  const inspect = <T>(file: string, read: (db: Database.Database) => T): T => {
    const db = new Database(file, { readonly: true });
    try {
      return read(db);
    } finally {
      db.close();
    }
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'knock-sqlite-'));
  });

  afterEach(async () => {
    for (const storage of opened.splice(0)) await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies each migration once and records it in schema_migrations', async () => {
    const file = join(dir, 'knock.db');
    const known = loadMigrations(defaultMigrationsDir).map((m) => m.version);
    expect(known[0]).toBe(1);
    await open(file).close();
    const first = inspect(file, (db) => db.prepare('SELECT version, applied_at FROM schema_migrations ORDER BY version').all());
    expect(first.map((r) => (r as { version: number }).version)).toEqual(known);
    await open(file).close();
    const second = inspect(file, (db) => db.prepare('SELECT version, applied_at FROM schema_migrations ORDER BY version').all());
    expect(second).toEqual(first);
  });

  it('keeps data when a file database is reopened, and continues its seqs', async () => {
    const file = join(dir, 'nested', 'dir', 'knock.db'); // the parent directory does not exist yet
    await expectDataKeptOnReopen(open(file), () => open(file));
  });

  /** A database file at schema `version`, reached with plain SQL, then opened with the current code. */
  async function olderDatabase(version: number, check: (older: OlderDatabase) => Promise<void>): Promise<void> {
    const file = join(dir, 'knock.db');
    const db = new Database(file);
    let raw: Database.Database | null = db;
    try {
      applyMigrations(db, migrationsUpTo(defaultMigrationsDir, version, join(dir, 'older-migrations')));
      await check({
        exec: async (statements) => {
          db.exec(statements);
        },
        open: async () => {
          db.close();
          raw = null;
          return open(file);
        },
      });
    } finally {
      raw?.close();
    }
  }

  it('types the call, document and game records of a database written before events were typed', async () => {
    await olderDatabase(LEGACY_SCHEMA_VERSION, expectLegacyRecordsTyped);
  });

  it('indexes for search the messages and visitors of a database written before the inbox of issue 16', async () => {
    await olderDatabase(PRE_INBOX_SCHEMA_VERSION, expectOlderInboxSearchable);
  });

  it('opens the conversations of a database written before email as chats, searchable as before, deleted without a trace', async () => {
    await olderDatabase(PRE_MAIL_SCHEMA_VERSION, expectOlderConversationsChats);
  });

  it('keeps the outbox of a database written before forwarding through the table made anew for its cancelled state', async () => {
    await olderDatabase(PRE_CHANNELS_SCHEMA_VERSION, expectOlderOutboxKept);
  });

  it('opens the conversations of a database written before live help as started on no page, and makes its accounts companies', async () => {
    await olderDatabase(PRE_COMPANIES_SCHEMA_VERSION, expectOlderAccountsBecomeCompanies);
  });

  it('keeps the sessions of a database written before issue 22 signed in, each given a public id of its own', async () => {
    await olderDatabase(PRE_SESSION_IDS_SCHEMA_VERSION, expectOlderSessionsGetIds);
  });

  it('keeps the search index exactly in step: nothing of deleted conversations or removed accounts stays in it', async () => {
    const file = join(dir, 'knock.db');
    const s = open(file);
    const ann = await seedAccount(s, 'ann');
    const bob = await seedAccount(s, 'bob');
    const gone = await seedConversation(s, ann, { visitorName: 'Gone Visitor' });
    const kept = await seedConversation(s, bob, { visitorName: 'Kept Visitor' });
    await appendSequence(s, gone, gone.visitor, 3, 'indexed');
    await appendSequence(s, kept, kept.visitor, 2, 'kept');
    // A search moves what waits into the index; what comes after it waits until the next one.
    expect(await s.listConversations(ann.id, { limit: 10, query: 'indexed' })).toHaveLength(1);
    await appendSequence(s, gone, gone.visitor, 2, 'waiting');
    await sendFiles(s, gone, gone.visitor, [await seedFile(s, gone, gone.visitor, { name: 'attached-file.pdf' })]);
    await s.renameParticipant(gone.visitor.id, 'Renamed Visitor');
    // Its subject, set and changed, and an email's attachment (006_mail.sql).
    await s.setSubject(gone.conversation.id, 'First subject');
    await s.setSubject(gone.conversation.id, 'Second subject');
    const attachment = await seedFile(s, gone, gone.visitor, { name: 'mailed-attachment.pdf' });
    await s.appendMessage({
      conversationId: gone.conversation.id, senderId: gone.visitor.id, clientMsgId: 'mail:in-1', body: 'emailed words', at: T0 + 5000,
      event: {
        kind: 'email', subject: 'Second subject', from: { address: 'v@example.com', name: 'V' }, to: [], messageId: 'in-1@example.com',
        auth: { spf: 'none', dkim: 'none', dmarc: 'none', arc: 'none', suspicious: false }, html: false, files: [fileRef(attachment)],
      },
    });
    expect(await s.listConversations(ann.id, { limit: 10, query: 'second mailed emailed' })).toHaveLength(1);
    await s.deleteConversation(gone.conversation.id);
    const other = await seedConversation(s, ann, { visitorName: 'Other', subject: 'Other subject', kind: 'email' });
    await appendSequence(s, other, other.visitor, 1, 'other');
    expect(await s.removeAccount('ann')).toBe(true);
    // A connection of its own, not read-only: FTS5 runs its integrity check as a write.
    const raw = new Database(file);
    const terms = (() => {
      try {
        raw.exec("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, 'search', 'row')");
        raw.exec("INSERT INTO search (search, rank) VALUES ('integrity-check', 0)");
        return {
          terms: raw.prepare<[], { term: string }>('SELECT term FROM temp.terms ORDER BY term').all().map((r) => r.term),
          waiting: raw.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM search_pending').get()?.n,
        };
      } finally {
        raw.close();
      }
    })();
    // Only Bob's conversation is left ("Kept Visitor", "kept message 0" and "1", taken in by Ann's search).
    expect(terms.terms).toEqual(['0', '1', 'kept', 'message', 'visitor']);
    expect(terms.waiting).toBe(0);
    expect((await s.listConversations(bob.id, { limit: 10, query: 'kept message' })).map((c) => c.visitorName)).toEqual(['Kept Visitor']);
  });

  it('takes appended messages into the search index a few hundred at a time, without waiting for a search', async () => {
    const file = join(dir, 'knock.db');
    const s = open(file);
    const conv = await seedConversation(s, await seedAccount(s));
    const waiting = () => inspect(file, (db) => db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM search_pending').get()?.n);
    await appendSequence(s, conv, conv.visitor, 10, 'few');
    expect(waiting()).toBe(10);
    await Promise.all(range(1, 600).map((i) => s.appendMessage({
      conversationId: conv.conversation.id, senderId: conv.visitor.id, clientMsgId: `many-${i}`, body: `many ${i}`, event: { kind: 'text' }, at: T0 + i,
    })));
    expect(waiting()).toBe(0);
  });

  it('finds by search what another connection to the file appended', async () => {
    const file = join(dir, 'knock.db');
    const a = open(file);
    const ann = await seedAccount(a);
    const conv = await seedConversation(a, ann);
    const b = open(file);
    await appendSequence(b, conv, conv.visitor, 2, 'from-b');
    expect((await a.listConversations(ann.id, { limit: 10, query: 'from b' })).map((c) => c.id)).toEqual([conv.conversation.id]);
  });

  it('writes a WAL-mode file database', async () => {
    const file = join(dir, 'knock.db');
    await open(file).close();
    expect(inspect(file, (db) => db.pragma('journal_mode', { simple: true }))).toBe('wal');
  });

  it('finds its migration files from any working directory', async () => {
    const cwd = process.cwd();
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    process.chdir(elsewhere);
    try {
      const storage = open(':memory:');
      expect(await seedAccount(storage)).toMatchObject({ handle: 'ann' });
    } finally {
      process.chdir(cwd);
    }
  });

  it('keeps seqs contiguous when two connections append to the same file', async () => {
    const file = join(dir, 'knock.db');
    const a = open(file);
    const conv = await seedConversation(a, await seedAccount(a));
    const b = open(file);
    await Promise.all(range(1, 40).map((i) => (i % 2 ? a : b).appendMessage({
      conversationId: conv.conversation.id, senderId: conv.visitor.id, clientMsgId: `two-conn-${i}`, body: `${i}`, event: { kind: 'text' }, at: T0 + i,
    })));
    expect(seqsOf(await a.messagesAfter(conv.conversation.id, 0, 100))).toEqual(range(1, 40));
  });

  it('closes idempotently', async () => {
    const storage = open(':memory:');
    await storage.close();
    await expect(storage.close()).resolves.toBeUndefined();
  });

  /** Runs `check` with the query plans (EXPLAIN QUERY PLAN details) of a fresh database at the current schema. */
  const withPlans = (check: (plan: (query: string, ...params: unknown[]) => string[]) => void): void => {
    const db = new Database(':memory:');
    try {
      applyMigrations(db);
      check((query, ...params) => db.prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${query}`).all(...params).map((r) => r.detail));
    } finally {
      db.close();
    }
  };

  it('serves the inbox and history from indexes, without scanning or sorting conversations', () => {
    withPlans((plan) => {
      const inbox = plan(sql.inbox, 'account', 50);
      expect(inbox).toContain('SEARCH c USING INDEX conversations_inbox (owner_account_id=?)');
      expect(inbox.filter((d) => d.startsWith('SCAN') || d.includes('TEMP B-TREE'))).toEqual([]);
      const others = [
        plan(sql.summaryById, 'conversation'),
        plan(sql.messagesAfter, 'conversation', 0, 50),
        plan(sql.messagesBefore, 'conversation', 100, 50),
        plan(sql.messageByClientId, 'sender', 'client-msg-id'),
        plan(sql.liveSession, 'token-hash', T0),
      ];
      // messagesBefore scans and sorts only its own page (the subquery's `limit` rows), hence "SCAN (subquery".
      for (const steps of others) expect(steps.filter((d) => d.startsWith('SCAN') && !d.startsWith('SCAN (subquery'))).toEqual([]);
      // Every filter of the inbox reads the owner's conversations newest first from the index, and stops at the limit.
      for (const filter of ['all', 'unread', 'files', 'archived', 'suspicious'] as const) {
        const steps = plan(inboxSqlOf[filter], 'account', 50);
        expect(steps, filter).toContain('SEARCH c USING INDEX conversations_inbox (owner_account_id=?)');
        expect(steps.filter((d) => d.startsWith('SCAN') || d.includes('TEMP B-TREE FOR ORDER BY')), filter).toEqual([]);
      }
      // A search looks each word up in the FTS5 index (the only scans: the words, the index, and the conversations found).
      const search = plan(searchSqlOf.all, '["\"word\"*"]', 'account', 50);
      expect(search).toContain('SCAN s VIRTUAL TABLE INDEX 0:M1');
      expect(search.filter((d) => d.startsWith('SCAN') && !/^SCAN (json_each|s VIRTUAL|found)/.test(d))).toEqual([]);
      // The index catches up by key lookups of each message waiting.
      // (SCAN f: the files of a file message's payload, json_each.)
      expect(plan(inboxSql.indexPending).filter((d) => d.startsWith('SCAN') && !/^SCAN (p|f VIRTUAL TABLE)/.test(d))).toEqual([]);
    });
  });

  it('claims outbox jobs and threads mails through indexes, without scanning a table', () => {
    withPlans((plan) => {
      // The claim and nextJobAt read only the waiting jobs (outbox_jobs_due); the claim sorts the due ones it found.
      expect(plan(outboxSql.claim, { worker: 'w', now: T0, until: T0 + 1, limit: 4 })).toContain(
        'SEARCH outbox_jobs USING INDEX outbox_jobs_due (state=? AND run_at<?)',
      );
      expect(plan(outboxSql.nextJobAt)).toEqual(['SEARCH outbox_jobs USING INDEX outbox_jobs_due (state=?)']);
      // A Message-ID list is looked up one key at a time, not by scanning the account's mails.
      expect(plan(mailSql.findMail, '["a@x"]', 'account')).toContain(
        'SEARCH mails USING INDEX sqlite_autoindex_mails_1 (account_id=? AND message_id=?)',
      );
      for (const steps of [
        plan(outboxSql.conversationJobs, 'conversation'),
        plan(outboxSql.byRef, 'ref'),
        plan(outboxSql.settle, { id: 'id', worker: 'w', state: 'sent', runAt: null, error: null, ref: null, at: T0 }),
        plan(mailSql.thread, 'conversation', 20),
        plan(mailSql.mailOf, 'conversation', 1),
        plan(mailSql.conversationByMailToken, 'token'),
        plan(mailSql.useDevice, T0, 'token-hash'),
        plan(mailSql.verifyAccountEmail, T0, 'token-hash'),
      ]) {
        expect(steps.filter((d) => d.startsWith('SCAN') && !d.startsWith('SCAN (subquery'))).toEqual([]);
      }
      // Cancelling looks each key up, not every waiting job.
      expect(plan(outboxSql.cancel, { keys: '["k"]', at: T0 })).toContain('SEARCH outbox_jobs USING INDEX sqlite_autoindex_outbox_jobs_2 (key=?)');
    });
  });

  it("finds channels, forwards and their steps through indexes, without scanning a table", () => {
    withPlans((plan) => {
      expect(plan(channelSql.channelsAt, 'xmpp', 'ann@jabber.example')).toContain(
        'SEARCH channels USING INDEX channels_verified_at (kind=? AND address=?)',
      );
      expect(plan(channelSql.markDelivery, 'delivered', 'sms', 'SM1')).toContain(
        'SEARCH forward_steps USING COVERING INDEX forward_steps_by_external_id (kind=? AND external_id=?)',
      );
      expect(plan(channelSql.openForwardOf, 'conversation')).toEqual([
        'SEARCH forwards USING INDEX forwards_open_by_conversation (conversation_id=?)',
      ]);
      const forward = { id: 'f', conversationId: 'c', accountId: 'a', knockAt: T0, afterSeq: 0, at: T0 };
      const step = { forwardId: 'f', channelId: 'ch', accountId: 'a', ordinal: 0, at: T0 };
      for (const steps of [
        plan(channelSql.insertChannel, { id: 'ch', accountId: 'a', kind: 'sms', address: '+1555', secret: null, delayMs: 0, verifiedAt: null, at: T0 }),
        plan(channelSql.channelsOf, 'account'),
        plan(channelSql.channelsOfKind, 'xmpp'),
        plan(channelSql.removeChannel, 'account', 'channel'),
        plan(channelSql.closeGap, 'account', 1),
        plan(channelSql.countTry, 'account', 'channel'),
        plan(channelSql.insertForward, forward),
        plan(channelSql.insertStep, step),
        plan(channelSql.openForwardsOf, 'account'),
        plan(channelSql.lastForward, 'conversation'),
        plan(channelSql.stepsOf, '["f"]'),
        plan(channelSql.markSent, { forwardId: 'f', channelId: 'ch', at: T0, upToSeq: 1, externalId: null }),
        plan(channelSql.closeForward, T0, 'conversation'),
        plan(channelSql.closeForwardsOf, T0, 'account'),
      ]) {
        // The smallest free tag starts from a constant row (1) beside the taken ones; the steps from the ids given.
        expect(steps.filter((d) => d.startsWith('SCAN') && !/^SCAN (CONSTANT ROW|json_each)/.test(d))).toEqual([]);
      }
    });
  });
});

describe('SQLite adapter: companies', () => {
  it("finds operators, an account's companies, invitations and a visitor's page views through indexes, without scanning a table", () => {
    const db = new Database(':memory:');
    try {
      applyMigrations(db);
      const plan = (query: string, ...params: unknown[]): string[] =>
        db.prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${query}`).all(...params).map((r) => r.detail);
      expect(plan(companySql.companiesOf, 'account')).toContain('SEARCH o USING INDEX operators_by_account (account_id=?)');
      // Routing: a company's open chats (its ended ones are never read), and one chat by its conversation.
      expect(plan(routingSql.open, 'company')).toContain('SEARCH chat_assignments USING INDEX chat_assignments_by_company (company_id=? AND state=?)');
      for (const steps of [plan(routingSql.get, 'c'), plan(routingSql.assign, 'account', T0, 'c'), plan(routingSql.end, T0, 'c')]) {
        expect(steps.filter((d) => d.startsWith('SCAN'))).toEqual([]);
      }
      // Newest first, and at most the limit, straight from the index: no sort, however many pages the visitor saw.
      expect(plan(companySql.pageViewsOf, 'company', 'visitor', 20)).toEqual([
        'SEARCH page_views USING INDEX page_views_by_visitor (company_id=? AND visitor_id=?)',
      ]);
      expect(plan(companySql.visitorHistory, 'company', 'visitor')).toEqual([
        'SEARCH page_views USING COVERING INDEX page_views_by_visitor (company_id=? AND visitor_id=?)',
      ]);
      expect(plan(companySql.purgePageViews, T0)).toContain('SEARCH page_views USING INDEX page_views_by_start (started_at<?)');
      for (const steps of [
        plan(companySql.operatorsOf, 'company'),
        plan(companySql.operator, 'company', 'account'),
        plan(companySql.sitesOf, 'company'),
        plan(companySql.takeInvite, { tokenHash: 'token-hash', at: T0 }),
        plan(companySql.endPageView, T0, 'view'),
        plan(companySql.setStatus, 'away', 'company', 'account'),
        plan(companySql.removeSite, 'company', 'https://shop.example'),
      ]) {
        expect(steps.filter((d) => d.startsWith('SCAN'))).toEqual([]);
      }
    } finally {
      db.close();
    }
  });
});

describe('SQLite migrations', () => {
  let dir: string;
  let db: Database.Database;
  const write = (name: string, text: string): void => writeFileSync(join(dir, name), text);
  const tables = (): string[] =>
    db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => r.name);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'knock-migrations-'));
    db = new Database(':memory:');
  });

  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies files in numeric version order and skips the versions already recorded', () => {
    write('10_c.sql', 'CREATE TABLE c (x); INSERT INTO b VALUES (10);');
    write('2_b.sql', 'CREATE TABLE b (x); INSERT INTO b VALUES (2);');
    write('1_a.sql', 'CREATE TABLE a (x);');
    write('README.md', 'not a migration');
    expect(applyMigrations(db, dir, () => T0)).toEqual([1, 2, 10]);
    expect(db.prepare('SELECT x FROM b ORDER BY rowid').pluck().all()).toEqual([2, 10]);
    expect(applyMigrations(db, dir)).toEqual([]);
    write('11_d.sql', 'CREATE TABLE d (x);');
    expect(applyMigrations(db, dir)).toEqual([11]);
    expect(db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all()).toEqual([1, 2, 10, 11]);
  });

  it('rolls a failing migration back entirely and keeps the ones before it', () => {
    write('001_good.sql', 'CREATE TABLE good (x);');
    write('002_bad.sql', 'CREATE TABLE half (x); THIS IS NOT SQL;');
    expect(() => applyMigrations(db, dir)).toThrow(/Migration 002_bad\.sql failed/);
    expect(tables()).toEqual(['good', 'schema_migrations']);
    expect(db.prepare('SELECT version FROM schema_migrations').pluck().all()).toEqual([1]);
  });

  it('refuses two files with the same version', () => {
    write('001_a.sql', 'CREATE TABLE a (x);');
    write('1_b.sql', 'CREATE TABLE b (x);');
    expect(() => applyMigrations(db, dir)).toThrow(/share version 1/);
  });

  it('refuses a database migrated by a newer Knock', () => {
    write('001_a.sql', 'CREATE TABLE a (x);');
    applyMigrations(db, dir);
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (7, 0)').run();
    expect(() => applyMigrations(db, dir)).toThrow(/schema version 7, newer than this Knock knows \(1\)/);
  });
});
