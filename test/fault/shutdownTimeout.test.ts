/**
 * Stopping is bounded (issue 13; KNOCK_SHUTDOWN_TIMEOUT_MS, engine/shutdown.ts), with Knock as a process of its own
 * started as `npm start` starts it (test/support/knockProcess.ts), in the three ways a stop could hang:
 * - its log's reader stalls (a pipe nobody reads): the hang issue 13 saw. pino's synchronous writer then slept the
 *   main thread in Atomics.wait for as long as the reader stalled, and no signal was handled;
 * - a room cannot finish closing because its last write waits on the database (a lock held by another client):
 *   the stop ends at the deadline, says which room was still closing, and exits with code 1;
 * - the main thread itself is stuck in synchronous code (SQLite's busy wait on a database another process holds):
 *   no timer of the main thread can fire, and the watchdog thread ends the process at the deadline.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { DocProvider } from '../../client/src/sdk/docProvider.ts';
import { Person, waitFor } from '../support/clients.ts';
import { KnockProcess } from '../support/knockProcess.ts';
import { TestSchemas, newSchemaName, testDatabaseUrl } from '../support/postgresSchemas.ts';
import WebSocket from 'ws';

const SHUTDOWN_TIMEOUT_MS = 3_000;
/** The watchdog kills at the deadline itself; the kill then reaches the harness a moment later on a busy machine. */
const KILL_SEEN_WITHIN_MS = 500;

let knock: KnockProcess | null = null;
const people: Person[] = [];
const providers: DocProvider[] = [];

afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.destroy()));
  await Promise.all(people.splice(0).map((p) => p.closeAll()));
  await knock?.dispose();
  knock = null;
});

/** Knock with an account and a visitor's document that has text stored in it; the visitor stays connected. */
async function knockWithDocument(k: KnockProcess): Promise<void> {
  await k.addUser('alice', 'Alice');
  await k.start();
  const visitor = new Person(k.url);
  people.push(visitor);
  const { session, token } = await visitor.knock('alice', 'Vic');
  const created = new Promise<string>((resolve) => {
    const off = session.onDocCreated((doc) => {
      off();
      resolve(doc.docId);
    });
  });
  await waitFor(session, (s) => s.connection === 'live', 'the visitor joined');
  session.createDocument('Notes');
  const docId = await created;
  const provider = DocProvider.open({ endpoint: k.url, docId, token });
  providers.push(provider);
  await provider.whenSynced();
  provider.doc.getText('notes').insert(0, 'kept');
  // A second copy, fresh from the server, has it: the room applied it (and stored it), so it compacts on closing.
  const check = DocProvider.open({ endpoint: k.url, docId, token });
  providers.push(check);
  await check.whenSynced();
  await waitFor({ snapshot: () => check.doc.getText('notes').toString(), subscribe: (l) => { check.doc.on('update', l); return () => check.doc.off('update', l); } }, (t) => t === 'kept', 'the text stored');
}

/** One WebSocket to a room that does not exist: Colyseus refuses it and logs the error with its stack (~1 KiB). */
function badSocket(url: string, i: number): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/nosuchprocess/nosuchroom${i}?sessionId=x`);
    ws.on('close', () => resolve());
    ws.on('error', () => resolve());
  });
}

describe('a stop is bounded', () => {
  it('while nobody reads its log, Knock serves on and still stops cleanly within the timeout', async () => {
    const k = await KnockProcess.create({ stalledStdout: true, logLevel: 'info', env: { KNOCK_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) } });
    knock = k;
    await k.start();
    // Far more log than a pipe holds (Linux keeps at most a few hundred KiB in one), 20 sockets at a time.
    for (let i = 0; i < 1500; i += 20) await Promise.all(Array.from({ length: 20 }, (_, j) => badSocket(k.url, i + j)));
    const health = await fetch(`${k.url}/_/health`, { signal: AbortSignal.timeout(2000) });
    expect(health.status, 'the server answers while its log waits').toBe(200);

    const ended = await k.stopWith({ group: true });
    expect(ended, k.log).toMatchObject({ code: 0, signal: null });
    expect(ended!.ms).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    // The reader stalled all along: the stop's own lines never reached the pipe (they waited in memory, then went).
    const out = await k.stalledOutput();
    expect(out).toContain('seat reservation expired');
    expect(out).not.toContain('Knock stopped');
  });

  it('a room whose last write waits on a database lock is given up at the deadline: its name is logged, exit code 1', async () => {
    const schemas = new TestSchemas();
    const schema = newSchemaName();
    const k = await KnockProcess.create({ env: { DATABASE_URL: testDatabaseUrl, KNOCK_DATABASE_SCHEMA: schema, KNOCK_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) } });
    knock = k;
    const locker = new pg.Client({ connectionString: testDatabaseUrl });
    try {
      await knockWithDocument(k);
      await locker.connect();
      // Another client holds the table the document room writes its snapshot to as it closes.
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${schema}".document_updates IN ACCESS EXCLUSIVE MODE`);

      const ended = await k.stopWith({ group: true });
      expect(ended, k.log).toMatchObject({ code: 1, signal: null });
      expect(ended!.ms).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
      const late = k.log.split('\n').find((line) => line.includes('stopping did not finish'));
      expect(late, k.log).toBeDefined();
      expect(JSON.parse(late!).pending).toMatchObject({ step: 'rooms', rooms: [expect.objectContaining({ room: 'doc' })] });
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end().catch(() => undefined);
      await knock?.dispose();
      knock = null;
      await schemas.drop(schema);
      await schemas.end();
    }
  });

  it('a main thread stuck in a synchronous wait is ended by the watchdog at the deadline', async () => {
    const k = await KnockProcess.create({ env: { KNOCK_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) } });
    knock = k;
    await knockWithDocument(k);
    // Another process holds SQLite's write lock: the room's snapshot, written as it closes, waits in SQLite's busy
    // handler (up to 5 s) inside a synchronous call on Knock's main thread.
    const holder = new Database(k.dbFile);
    try {
      holder.exec('BEGIN EXCLUSIVE');
      const ended = await k.stopWith({ group: true });
      expect(ended, k.log).toMatchObject({ code: null, signal: 'SIGKILL' });
      expect(ended!.ms).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT_MS - KILL_SEEN_WITHIN_MS);
      expect(ended!.ms).toBeLessThan(SHUTDOWN_TIMEOUT_MS + KILL_SEEN_WITHIN_MS);
      expect(k.log).toContain(`knock: stopping did not end within ${SHUTDOWN_TIMEOUT_MS} ms (the main thread did not answer); killing the process`);
    } finally {
      if (holder.inTransaction) holder.exec('ROLLBACK');
      holder.close();
    }
  });
});
