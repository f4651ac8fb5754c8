/**
 * The outbox worker (engine/outbox.ts) over the real SqliteStorage in a temp directory, with a clock the test moves by
 * hand: every job is sent once or given up with its reason, retries wait as long as they should, two processes never
 * try one job twice, a dead process's lease is taken over, and every change is told in order. (The browser's outbox of
 * unacknowledged messages is test/unit/outbox.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { outboxMethods } from '../../adapters/storage/forwarding.ts';
import { SqliteStorage } from '../../adapters/storage/sqlite/SqliteStorage.ts';
import { MAX_RETRY_DELAY_MS, Outbox, errorText, retryDelay, type OutboxHandler, type OutboxOptions } from '../../engine/outbox.ts';
import { MailSendError } from '../../engine/ports/mail.ts';
import type { NewOutboxJob, OutboxJob, OutboxStorage } from '../../engine/ports/storage.ts';
import { ManualClock, T0, deferred } from '../support/roomHarness.ts';

const BASE = 1000;
const LEASE = 10_000;
const POLL = 60_000;

interface LogEntry {
  level: 'debug' | 'warn' | 'error';
  fields: unknown;
  msg: string;
}

/** A logger that keeps what it is told. */
function recordingLogger(): OutboxOptions['logger'] & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry['level']) => (fields: unknown, msg?: string) => void entries.push({ level, fields, msg: msg ?? '' });
  // pino's methods are overloaded; the outbox calls them only as (fields, message).
  return { entries, debug: at('debug') as never, warn: at('warn') as never, error: at('error') as never };
}

/** Every change the outboxes tell, and a way to wait (with a timeout) for one that matches. */
function watch(...outboxes: Outbox[]) {
  const seen: OutboxJob[] = [];
  const waiting = new Set<() => void>();
  for (const outbox of outboxes) {
    outbox.onChange((job) => {
      seen.push(job);
      for (const check of [...waiting]) check();
    });
  }
  return {
    seen,
    until(what: string, matches: (job: OutboxJob) => boolean, timeoutMs = 5000): Promise<OutboxJob> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(check);
          reject(new Error(`No outbox change ${what} within ${timeoutMs} ms; seen: ${JSON.stringify(seen.map((j) => [j.key, j.state, j.attempts]))}`));
        }, timeoutMs);
        function check(): void {
          const found = seen.find(matches);
          if (!found) return;
          clearTimeout(timer);
          waiting.delete(check);
          resolve(found);
        }
        waiting.add(check);
        check();
      });
    },
  };
}

/** Lets the loop run what it can now (SQLite answers within a turn or two of the event loop). */
async function settleDown(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A try's outcome, not the claim (a claimed job keeps its state, with a lease). */
const isSettled = (j: OutboxJob, state: OutboxJob['state']): boolean => j.state === state && j.lockedBy === null;

function job(key: string, opts: Partial<NewOutboxJob> = {}): NewOutboxJob {
  return { kind: 'mail.reply', key, payload: { key }, runAt: T0, at: T0, ...opts };
}

describe('Outbox', () => {
  let dir: string;
  let clock: ManualClock;
  const stores: SqliteStorage[] = [];
  const outboxes: Outbox[] = [];

  const openStorage = (): SqliteStorage => {
    const storage = SqliteStorage.open({ file: join(dir, 'knock.db') });
    stores.push(storage);
    return storage;
  };
  const makeOutbox = (storage: OutboxStorage, opts: Partial<OutboxOptions> = {}): Outbox => {
    const outbox = new Outbox({
      storage, clock, timers: clock, logger: recordingLogger(), worker: `worker-${outboxes.length + 1}`,
      retryBaseMs: BASE, maxAttempts: 5, leaseMs: LEASE, pollMs: POLL, random: () => 0, ...opts,
    });
    outboxes.push(outbox);
    return outbox;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'knock-outbox-'));
    clock = new ManualClock(T0);
  });

  afterEach(async () => {
    for (const outbox of outboxes.splice(0)) {
      const closed = outbox.close();
      clock.advance(60_000); // past the bound on jobs a failed test left in flight
      await closed;
    }
    for (const storage of stores.splice(0)) await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('retries a temporary failure after a growing delay, then sends the job exactly once', async () => {
    const storage = openStorage();
    let calls = 0;
    const outbox = makeOutbox(storage);
    outbox.handle('mail.reply', async () => {
      calls += 1;
      if (calls <= 2) throw new MailSendError(`421 4.7.0 Try again later (${calls})`, false, 421);
      return { ref: 'sent-1@knock.example' };
    });
    const changes = watch(outbox);
    outbox.start();
    await outbox.enqueue(job('reply-1'));

    // random() = 0: equal jitter keeps half of BASE * 2^(attempts - 1).
    const first = await changes.until('retrying once', (j) => isSettled(j, 'retrying') && j.attempts === 1);
    expect(first).toMatchObject({ runAt: T0 + BASE / 2, lastError: '421 4.7.0 Try again later (1)', lockedBy: null });
    clock.advance(BASE / 2);
    const second = await changes.until('retrying twice', (j) => isSettled(j, 'retrying') && j.attempts === 2);
    expect(second).toMatchObject({ runAt: T0 + BASE / 2 + BASE, lastError: '421 4.7.0 Try again later (2)' });
    clock.advance(BASE);
    const sent = await changes.until('sent', (j) => j.state === 'sent');
    expect(sent).toMatchObject({ attempts: 3, ref: 'sent-1@knock.example', lockedBy: null, lockedUntil: null, lastError: null });

    clock.advance(10 * POLL);
    await settleDown();
    expect(calls).toBe(3);
    expect(await storage.getJob(sent.id)).toEqual(sent);
  });

  it('fails a job at once on a permanent error, with its reason; any error marked permanent counts', async () => {
    const storage = openStorage();
    const outbox = makeOutbox(storage);
    outbox.handle('mail.reply', async () => {
      throw new MailSendError('550 5.1.1 <nobody@example.com>: No such user', true, 550);
    });
    class RefusedAddress extends Error {
      readonly permanent = true;
    }
    outbox.handle('mail.notify', async () => {
      throw new RefusedAddress('The address is not an address.');
    });
    const changes = watch(outbox);
    outbox.start();
    await outbox.enqueue(job('reply-1'));
    await outbox.enqueue(job('notify-1', { kind: 'mail.notify' }));
    expect(await changes.until('failed reply', (j) => j.key === 'reply-1' && j.state === 'failed'))
      .toMatchObject({ attempts: 1, lastError: '550 5.1.1 <nobody@example.com>: No such user' });
    expect(await changes.until('failed notify', (j) => j.key === 'notify-1' && j.state === 'failed'))
      .toMatchObject({ attempts: 1, lastError: 'The address is not an address.' });
    expect(await storage.nextJobAt()).toBeNull();
  });

  it('gives a job up after maxAttempts temporary failures, with the last error', async () => {
    const storage = openStorage();
    let calls = 0;
    const outbox = makeOutbox(storage, { maxAttempts: 3 });
    outbox.handle('mail.reply', async () => {
      calls += 1;
      throw new Error(`connect ETIMEDOUT (try ${calls})`);
    });
    const changes = watch(outbox);
    outbox.start();
    await outbox.enqueue(job('reply-1'));
    await changes.until('retrying once', (j) => isSettled(j, 'retrying') && j.attempts === 1);
    clock.advance(BASE / 2);
    await changes.until('retrying twice', (j) => isSettled(j, 'retrying') && j.attempts === 2);
    clock.advance(BASE);
    const failed = await changes.until('failed', (j) => j.state === 'failed');
    expect(failed).toMatchObject({ attempts: 3, lastError: 'connect ETIMEDOUT (try 3)' });
    clock.advance(MAX_RETRY_DELAY_MS);
    await settleDown();
    expect(calls).toBe(3);
  });

  it('never runs one job twice with two processes on one database (30 jobs)', async () => {
    const one = openStorage();
    const other = openStorage(); // a second connection to the same file, as a second process has
    const calls = new Map<string, string[]>();
    const handlerOf = (worker: string): OutboxHandler => async (claimed) => {
      calls.set(claimed.key, [...(calls.get(claimed.key) ?? []), worker]);
      await new Promise((resolve) => setTimeout(resolve, 2)); // a send takes a while: the other process claims meanwhile
      return {};
    };
    const a = makeOutbox(one, { worker: 'process-a' });
    const b = makeOutbox(other, { worker: 'process-b' });
    a.handle('mail.reply', handlerOf('process-a'));
    b.handle('mail.reply', handlerOf('process-b'));
    for (let i = 1; i <= 30; i++) await one.enqueueJob(job(`reply-${i}`));
    const changes = watch(a, b);
    a.start();
    b.start();
    for (let i = 1; i <= 30; i++) await changes.until(`reply-${i} sent`, (j) => j.key === `reply-${i}` && j.state === 'sent');

    expect([...calls.keys()]).toHaveLength(30);
    for (const [key, workers] of calls) expect(workers, key).toHaveLength(1);
    const byWorker = [...calls.values()].flat();
    expect(byWorker.filter((w) => w === 'process-a').length).toBeGreaterThan(0);
    expect(byWorker.filter((w) => w === 'process-b').length).toBeGreaterThan(0);
  });

  it('takes over a job whose lease a dead process left, once the lease runs out', async () => {
    const storage = openStorage();
    const { job: queued } = await storage.enqueueJob(job('reply-1'));
    await storage.claimJobs({ worker: 'dead-process', now: T0, leaseMs: LEASE, limit: 10 });
    let calls = 0;
    const outbox = makeOutbox(storage);
    outbox.handle('mail.reply', async () => {
      calls += 1;
      return {};
    });
    const changes = watch(outbox);
    outbox.start();
    clock.advance(LEASE - 1);
    await settleDown();
    expect(calls).toBe(0);
    clock.advance(1);
    const sent = await changes.until('sent', (j) => j.state === 'sent');
    expect(sent).toMatchObject({ id: queued.id, attempts: 2, lockedBy: null });
    expect(calls).toBe(1);
    // The dead process's late word changes nothing.
    expect(await storage.settleJob(queued.id, 'dead-process', { state: 'failed', error: 'late', at: T0 + LEASE + 1 })).toBeNull();
  });

  it('tells every change in order: queued, in flight, retrying, in flight again, sent, and a bounce', async () => {
    const storage = openStorage();
    let calls = 0;
    const outbox = makeOutbox(storage);
    outbox.handle('mail.reply', async () => {
      calls += 1;
      if (calls === 1) throw new Error('421 busy');
      return { ref: 'm-1@knock.example' };
    });
    outbox.onChange(() => {
      throw new Error('a broken listener');
    });
    const changes = watch(outbox);
    // Queued before the loop starts: the loop then sees it only after it was told as queued.
    await outbox.enqueue(job('reply-1'));
    outbox.start();
    await changes.until('retrying', (j) => isSettled(j, 'retrying'));
    clock.advance(BASE / 2);
    const sent = await changes.until('sent', (j) => j.state === 'sent');
    expect(await outbox.failSentJob(sent.id, '550 5.1.1 Mailbox unavailable')).toMatchObject({ state: 'failed' });
    expect(await outbox.failSentJob(sent.id, 'again')).toBeNull();
    expect(changes.seen.map((j) => [j.state, j.lockedBy, j.attempts, j.lastError])).toEqual([
      ['pending', null, 0, null],
      ['pending', 'worker-1', 1, null],
      ['retrying', null, 1, '421 busy'],
      ['retrying', 'worker-1', 2, '421 busy'],
      ['sent', null, 2, null],
      ['failed', null, 2, '550 5.1.1 Mailbox unavailable'],
    ]);
    // Queueing the same key again tells nothing: nothing changed.
    expect(await outbox.enqueue(job('reply-1'))).toMatchObject({ duplicate: true });
    expect(changes.seen).toHaveLength(6);
  });

  it('leaves a job of a kind this process has no handler for waiting, however often it comes round', async () => {
    const storage = openStorage();
    const outbox = makeOutbox(storage, { maxAttempts: 2 });
    const changes = watch(outbox);
    outbox.start();
    await outbox.enqueue(job('push-1', { kind: 'push.notify' }));
    for (let attempts = 1; attempts <= 4; attempts++) {
      const retrying = await changes.until(`retrying ${attempts}`, (j) => isSettled(j, 'retrying') && j.attempts === attempts);
      expect(retrying.lastError).toContain('No handler for outbox jobs of kind "push.notify"');
      clock.advance(retrying.runAt - clock.now());
    }
    outbox.handle('push.notify', async () => ({}));
    clock.advance(MAX_RETRY_DELAY_MS);
    expect(await changes.until('sent', (j) => j.state === 'sent')).toMatchObject({ attempts: 5 });
  });

  it('logs a storage failure and goes on: the job is sent on a later look', async () => {
    const storage = openStorage();
    let failClaims = 1;
    const flaky: OutboxStorage = {
      ...outboxMethods(storage),
      claimJobs: async (input) => {
        if (failClaims-- > 0) throw new Error('SQLITE_BUSY: database is locked');
        return storage.claimJobs(input);
      },
    };
    const logger = recordingLogger();
    const outbox = makeOutbox(flaky, { logger });
    outbox.handle('mail.reply', async () => ({}));
    const changes = watch(outbox);
    await storage.enqueueJob(job('reply-1'));
    outbox.start();
    await settleDown();
    expect(logger.entries).toContainEqual(expect.objectContaining({ level: 'error', msg: expect.stringContaining('could not claim') }));
    clock.advance(POLL);
    expect(await changes.until('sent', (j) => j.state === 'sent')).toMatchObject({ attempts: 1 });
  });

  it('stops claiming on close and waits for the job in flight; a job that does not end within the bound is left to its lease', async () => {
    const storage = openStorage();
    const release = deferred();
    const outbox = makeOutbox(storage, { closeTimeoutMs: 3000 });
    outbox.handle('mail.reply', async (claimed) => {
      if (claimed.key === 'slow') await release.promise;
      return {};
    });
    const changes = watch(outbox);
    outbox.start();
    await outbox.enqueue(job('slow'));
    await changes.until('slow in flight', (j) => j.key === 'slow' && j.lockedBy !== null);
    let closed = false;
    const closing = outbox.close().then(() => (closed = true));
    await settleDown();
    expect(closed).toBe(false);
    release.resolve();
    await closing;
    expect(await storage.getJob(changes.seen[0]!.id)).toMatchObject({ state: 'sent' });
    // Closed: a job queued now waits for another process (or the next start).
    await outbox.enqueue(job('after-close'));
    await settleDown();
    expect((await storage.claimJobs({ worker: 'other', now: clock.now(), leaseMs: LEASE, limit: 10 })).map((j) => j.key)).toEqual(['after-close']);

    const logger = recordingLogger();
    const stuckOutbox = makeOutbox(storage, { closeTimeoutMs: 3000, logger });
    stuckOutbox.handle('mail.reply', async () => new Promise(() => undefined));
    const stuckChanges = watch(stuckOutbox);
    stuckOutbox.start();
    await stuckOutbox.enqueue(job('stuck'));
    await stuckChanges.until('stuck in flight', (j) => j.key === 'stuck' && j.lockedBy !== null);
    const stuckClosing = stuckOutbox.close();
    clock.advance(2999);
    await settleDown();
    expect(logger.entries.filter((e) => e.level === 'warn')).toEqual([]);
    clock.advance(1);
    await stuckClosing;
    expect(logger.entries).toContainEqual(expect.objectContaining({ level: 'warn', msg: expect.stringContaining('still being tried') }));
  });
});

describe('retryDelay', () => {
  it('doubles from the base with equal jitter: between half the delay and all of it, never over an hour', () => {
    expect(retryDelay(1, 30_000, () => 0)).toBe(15_000);
    expect(retryDelay(1, 30_000, () => 0.999_999)).toBe(30_000);
    expect(retryDelay(4, 30_000, () => 0.5)).toBe(180_000); // 240 s: 120 s kept, 60 s of the random half
    expect(retryDelay(12, 30_000, () => 0)).toBe(MAX_RETRY_DELAY_MS / 2);
    expect(retryDelay(100, 30_000, () => 0.999_999)).toBeLessThanOrEqual(MAX_RETRY_DELAY_MS);
    expect(retryDelay(100, 30_000, () => 0.999_999)).toBeGreaterThan(MAX_RETRY_DELAY_MS - 10);
  });
});

describe('errorText', () => {
  it('keeps what storage can hold of a failure: no NUL or lone surrogate, at most 1000 characters', () => {
    expect(errorText(new Error('550 bad\u0000 \uD800 user'))).toBe('550 bad  \uFFFD user');
    expect(errorText(new Error('x'.repeat(5000)))).toHaveLength(1000);
    expect(errorText('a plain string')).toBe('a plain string');
  });
});
