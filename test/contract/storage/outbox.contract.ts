/**
 * Storage contract: the outbox (issue 17), what engine/outbox.ts relies on to send every mail once. A key is queued
 * once; a claim hands due jobs, oldest first, to one process at a time with a lease that another may take over once
 * it runs out; only the lease holder settles a try; bounces find their job by ref; the owner sees the newest job of
 * each message; a conversation's jobs go with it; jobs no longer wanted are cancelled unless a process is trying them.
 */
import { describe, expect, it } from 'vitest';
import type { NewOutboxJob, OutboxJob, Storage } from '../../../engine/ports/storage.ts';
import { T0, range, seedAccount, seedConversation, type StorageContext } from './fixtures.ts';

const LEASE = 60_000;

/** A job of `kind` `mail.reply` under `key`, due at T0 unless told otherwise. */
function job(key: string, opts: Partial<NewOutboxJob> = {}): NewOutboxJob {
  return { kind: 'mail.reply', key, payload: { to: 'vic@example.com' }, runAt: T0, at: T0, ...opts };
}

/** Claims every job due at `now` for `worker`, at most `limit`. */
function claim(s: Storage, worker: string, opts: { now?: number; limit?: number } = {}): Promise<OutboxJob[]> {
  return s.claimJobs({ worker, now: opts.now ?? T0, leaseMs: LEASE, limit: opts.limit ?? 100 });
}

const keysOf = (jobs: readonly OutboxJob[]): string[] => jobs.map((j) => j.key);

export function outboxRules(ctx: StorageContext): void {
  describe('outbox: queueing', () => {
    it('stores a job pending, with its payload as given, and returns it by id', async () => {
      const s = ctx.storage();
      const conv = await seedConversation(s, await seedAccount(s));
      const payload = { to: ['vic@example.com'], subject: 'Re: "ça" \\ 😀', nested: { n: 1.5, none: null, yes: true } };
      const { job: stored, duplicate } = await s.enqueueJob(job('reply:1', {
        payload, conversationId: conv.conversation.id, messageSeq: 3, recipient: 'vic@example.com', ref: 'm1@knock.example', runAt: T0 + 5, at: T0 + 1,
      }));
      expect(duplicate).toBe(false);
      expect(stored).toEqual({
        id: stored.id, kind: 'mail.reply', key: 'reply:1', payload, conversationId: conv.conversation.id, messageSeq: 3,
        recipient: 'vic@example.com', state: 'pending', attempts: 0, runAt: T0 + 5, lockedBy: null, lockedUntil: null,
        lastError: null, ref: 'm1@knock.example', createdAt: T0 + 1, updatedAt: T0 + 1,
      });
      expect(stored.id).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
      expect(await s.getJob(stored.id)).toEqual(stored);
      expect(await s.getJob('no-such-job')).toBeNull();
      expect(await s.getJobByKey('reply:1')).toEqual(stored);
      expect(await s.getJobByKey('no-such-key')).toBeNull();
    });

    it('queues a key once: a second enqueue returns the first job unchanged, whatever it carries', async () => {
      const s = ctx.storage();
      const first = await s.enqueueJob(job('notify:c1:7'));
      const again = await s.enqueueJob(job('notify:c1:7', { kind: 'mail.notify', payload: { other: true }, runAt: T0 + 999, at: T0 + 50 }));
      expect(again).toEqual({ job: first.job, duplicate: true });
      // Queued at once (two processes, the same key): one job.
      const racing = await Promise.all(range(1, 5).map((i) => s.enqueueJob(job('verify:ann', { payload: { i } }))));
      expect(racing.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(new Set(racing.map((r) => r.job.id)).size).toBe(1);
      expect(await claim(s, 'w1')).toHaveLength(2);
    });

    it('refuses a job of a conversation that does not exist, or whose payload is over 64 KiB, storing nothing', async () => {
      const s = ctx.storage();
      await expect(s.enqueueJob(job('k1', { conversationId: 'no-such-conversation', messageSeq: 1 }))).rejects.toMatchObject({ code: 'not_found' });
      await expect(s.enqueueJob(job('k2', { payload: { text: 'x'.repeat(65 * 1024) } }))).rejects.toMatchObject({ code: 'bad_request' });
      expect(await s.nextJobAt()).toBeNull();
      expect(await s.enqueueJob(job('k2', { payload: { text: 'x'.repeat(60 * 1024) } }))).toMatchObject({ duplicate: false });
    });
  });

  describe('outbox: claiming', () => {
    it('claims only due jobs, oldest run time first, at most `limit`, each with a lease and one more attempt', async () => {
      const s = ctx.storage();
      for (const [key, runAt] of [['c', T0 + 30], ['a', T0 + 10], ['later', T0 + 1000], ['b', T0 + 20]] as const) {
        await s.enqueueJob(job(key, { runAt }));
      }
      expect(await claim(s, 'w1', { now: T0 + 5 })).toEqual([]);
      const firstTwo = await claim(s, 'w1', { now: T0 + 100, limit: 2 });
      expect(keysOf(firstTwo)).toEqual(['a', 'b']);
      for (const claimed of firstTwo) {
        expect(claimed).toMatchObject({ state: 'pending', attempts: 1, lockedBy: 'w1', lockedUntil: T0 + 100 + LEASE, updatedAt: T0 + 100 });
        expect(await s.getJob(claimed.id)).toEqual(claimed);
      }
      expect(keysOf(await claim(s, 'w2', { now: T0 + 100 }))).toEqual(['c']);
      expect(await claim(s, 'w3', { now: T0 + 100 })).toEqual([]);
      expect(await claim(s, 'w3', { now: T0 + 100, limit: 0 })).toEqual([]);
    });

    it('lets another worker take over a job whose lease ran out (its holder died), counting one more attempt', async () => {
      const s = ctx.storage();
      await s.enqueueJob(job('k'));
      const [held] = await claim(s, 'dead', { now: T0 });
      expect(await claim(s, 'w2', { now: T0 + LEASE - 1 })).toEqual([]);
      const [taken] = await claim(s, 'w2', { now: T0 + LEASE });
      expect(taken).toMatchObject({ id: held!.id, attempts: 2, lockedBy: 'w2', lockedUntil: T0 + 2 * LEASE });
      // The dead worker's late answer changes nothing: the lease is w2's now.
      expect(await s.settleJob(held!.id, 'dead', { state: 'sent', at: T0 + LEASE + 1 })).toBeNull();
      expect(await s.getJob(held!.id)).toEqual(taken);
    });

    it('never gives one job to two claimers claiming at once', async () => {
      const s = ctx.storage();
      for (const i of range(1, 20)) await s.enqueueJob(job(`job-${i}`, { runAt: T0 + i }));
      const claimers = range(1, 4).map((i) => `worker-${i}`);
      const got = new Map<string, string[]>();
      // Rounds of four claims at once, each of at most 3 jobs, until the jobs run out.
      for (let round = 0; round < 10; round++) {
        const batches = await Promise.all(claimers.map((worker) => claim(s, worker, { now: T0 + 100, limit: 3 })));
        batches.forEach((jobs, i) => {
          for (const claimed of jobs) {
            expect(claimed.lockedBy).toBe(claimers[i]);
            got.set(claimed.key, [...(got.get(claimed.key) ?? []), claimers[i]!]);
          }
        });
      }
      expect([...got.keys()].sort()).toEqual(range(1, 20).map((i) => `job-${i}`).sort());
      for (const [key, workers] of got) expect(workers, key).toHaveLength(1);
    });
  });

  describe('outbox: settling', () => {
    it('marks a job sent for its lease holder only, releasing the lease and keeping the ref it was queued with', async () => {
      const s = ctx.storage();
      const { job: queued } = await s.enqueueJob(job('k', { ref: 'm1@knock.example' }));
      await claim(s, 'w1');
      expect(await s.settleJob(queued.id, 'w2', { state: 'sent', at: T0 + 5 })).toBeNull();
      expect(await s.settleJob('no-such-job', 'w1', { state: 'sent', at: T0 + 5 })).toBeNull();
      const sent = await s.settleJob(queued.id, 'w1', { state: 'sent', at: T0 + 5 });
      expect(sent).toMatchObject({ state: 'sent', attempts: 1, lockedBy: null, lockedUntil: null, ref: 'm1@knock.example', updatedAt: T0 + 5 });
      expect(await s.getJob(queued.id)).toEqual(sent);
      // Settled once: the lease is gone, so is the right to settle.
      expect(await s.settleJob(queued.id, 'w1', { state: 'failed', error: 'late', at: T0 + 6 })).toBeNull();
      expect(await claim(s, 'w1', { now: T0 + 10 * LEASE })).toEqual([]);
    });

    it('schedules a retry at its run time with the error, then fails it with the last error', async () => {
      const s = ctx.storage();
      const { job: queued } = await s.enqueueJob(job('k'));
      await claim(s, 'w1');
      const retrying = await s.settleJob(queued.id, 'w1', { state: 'retrying', runAt: T0 + 30_000, error: '421 4.7.0 Try again later', at: T0 + 1 });
      expect(retrying).toMatchObject({
        state: 'retrying', runAt: T0 + 30_000, lastError: '421 4.7.0 Try again later', attempts: 1, lockedBy: null, lockedUntil: null,
      });
      expect(await claim(s, 'w1', { now: T0 + 29_999 })).toEqual([]);
      const [again] = await claim(s, 'w2', { now: T0 + 30_000 });
      expect(again).toMatchObject({ id: queued.id, state: 'retrying', attempts: 2, lockedBy: 'w2' });
      const failed = await s.settleJob(queued.id, 'w2', { state: 'failed', error: '550 5.1.1 No such user', at: T0 + 30_001 });
      expect(failed).toMatchObject({ state: 'failed', lastError: '550 5.1.1 No such user', attempts: 2, lockedBy: null });
      expect(await claim(s, 'w1', { now: T0 + 10 * LEASE })).toEqual([]);
      expect(await s.nextJobAt()).toBeNull();
    });

    it('finds a sent job by its ref (given when queued or when sent), and marks it failed when it bounces', async () => {
      const s = ctx.storage();
      const { job: queued } = await s.enqueueJob(job('k1', { ref: 'queued-ref@knock.example' }));
      const { job: other } = await s.enqueueJob(job('k2'));
      await claim(s, 'w1');
      await s.settleJob(queued.id, 'w1', { state: 'sent', at: T0 + 1 });
      await s.settleJob(other.id, 'w1', { state: 'sent', ref: 'sent-ref@relay.example', at: T0 + 1 });
      expect(await s.jobByRef('queued-ref@knock.example')).toMatchObject({ id: queued.id, state: 'sent' });
      expect(await s.jobByRef('sent-ref@relay.example')).toMatchObject({ id: other.id, ref: 'sent-ref@relay.example' });
      expect(await s.jobByRef('unknown@knock.example')).toBeNull();

      const bounced = await s.failSentJob(queued.id, '550 5.1.1 The email account does not exist', T0 + 60_000);
      expect(bounced).toMatchObject({ id: queued.id, state: 'failed', lastError: '550 5.1.1 The email account does not exist', updatedAt: T0 + 60_000 });
      expect(await s.getJob(queued.id)).toEqual(bounced);
      // Only a sent job bounces: a failed one, one still waiting, or none at all is left as it is.
      expect(await s.failSentJob(queued.id, 'again', T0 + 60_001)).toBeNull();
      const { job: waiting } = await s.enqueueJob(job('k3'));
      expect(await s.failSentJob(waiting.id, 'bounce', T0 + 60_001)).toBeNull();
      expect(await s.getJob(waiting.id)).toEqual(waiting);
      expect(await s.failSentJob('no-such-job', 'bounce', T0)).toBeNull();
    });
  });

  describe('outbox: cancelling', () => {
    it('cancels the waiting jobs of the keys given, leaving one being tried, and those already ended, as they are', async () => {
      const s = ctx.storage();
      const { job: pending } = await s.enqueueJob(job('fwd:c1:sms', { runAt: T0 + 600_000 }));
      const { job: retrying } = await s.enqueueJob(job('fwd:c1:email'));
      const { job: leased } = await s.enqueueJob(job('fwd:c1:xmpp'));
      const { job: sent } = await s.enqueueJob(job('fwd:c1:push'));
      const { job: other } = await s.enqueueJob(job('fwd:c2:sms', { runAt: T0 + 600_000 }));
      await claim(s, 'w1', { now: T0 });
      await s.settleJob(retrying.id, 'w1', { state: 'retrying', runAt: T0 + 30_000, error: '421 Try again later', at: T0 + 1 });
      await s.settleJob(sent.id, 'w1', { state: 'sent', at: T0 + 1 });
      // `leased` is still w1's, being tried now.

      const keys = [pending.key, retrying.key, leased.key, sent.key, 'fwd:c1:never-queued'];
      const cancelled = await s.cancelJobs(keys, T0 + 10);
      expect(keysOf(cancelled)).toEqual([retrying.key, pending.key]); // oldest run time first
      expect(cancelled[0]).toMatchObject({ state: 'cancelled', lockedBy: null, lockedUntil: null, updatedAt: T0 + 10, lastError: '421 Try again later' });
      for (const done of cancelled) expect(await s.getJob(done.id)).toEqual(done);
      expect(await s.getJob(leased.id)).toMatchObject({ state: 'pending', lockedBy: 'w1' });
      expect(await s.getJob(sent.id)).toMatchObject({ state: 'sent' });
      expect(await s.getJob(other.id)).toEqual(other);

      // Cancelled jobs are never claimed, and nothing waits for them.
      expect(keysOf(await claim(s, 'w2', { now: T0 + 10 * LEASE }))).toEqual([leased.key, other.key]);
      expect(await s.cancelJobs(keys, T0 + 20)).toEqual([]);
      expect(await s.cancelJobs([], T0 + 20)).toEqual([]);
    });

    it("cancels a job whose lease ran out (its holder died); the dead holder's late answer changes nothing", async () => {
      const s = ctx.storage();
      const { job: queued } = await s.enqueueJob(job('fwd:c1:sms'));
      await claim(s, 'dead', { now: T0 });
      expect(await s.cancelJobs([queued.key], T0 + LEASE - 1)).toEqual([]);
      const [cancelled] = await s.cancelJobs([queued.key], T0 + LEASE);
      expect(cancelled).toMatchObject({ id: queued.id, state: 'cancelled', attempts: 1, lockedBy: null });
      expect(await s.settleJob(queued.id, 'dead', { state: 'sent', at: T0 + LEASE + 1 })).toBeNull();
      expect(await s.getJob(queued.id)).toEqual(cancelled);
      expect(await s.nextJobAt()).toBeNull();
    });

    it('lets the lease holder settle its job cancelled (its handler found it no longer wanted), releasing the lease', async () => {
      const s = ctx.storage();
      const { job: queued } = await s.enqueueJob(job('fwd:c1:xmpp', { ref: 'kept-ref' }));
      await claim(s, 'w1');
      await s.settleJob(queued.id, 'w1', { state: 'retrying', runAt: T0 + 5, error: 'timeout', at: T0 + 1 });
      await claim(s, 'w1', { now: T0 + 5 });
      expect(await s.settleJob(queued.id, 'w2', { state: 'cancelled', at: T0 + 6 })).toBeNull();
      const cancelled = await s.settleJob(queued.id, 'w1', { state: 'cancelled', at: T0 + 6 });
      expect(cancelled).toMatchObject({
        state: 'cancelled', attempts: 2, lockedBy: null, lockedUntil: null, lastError: null, ref: 'kept-ref', updatedAt: T0 + 6,
      });
      expect(await s.getJob(queued.id)).toEqual(cancelled);
      expect(await claim(s, 'w1', { now: T0 + 10 * LEASE })).toEqual([]);
      expect(await s.nextJobAt()).toBeNull();
    });
  });

  describe('outbox: what waits, and per conversation', () => {
    it('says when the next job is due: the earliest waiting run time, or the end of the lease of one in flight', async () => {
      const s = ctx.storage();
      expect(await s.nextJobAt()).toBeNull();
      const { job: soon } = await s.enqueueJob(job('soon', { runAt: T0 + 10 }));
      await s.enqueueJob(job('later', { runAt: T0 + 5000 }));
      expect(await s.nextJobAt()).toBe(T0 + 10);
      await claim(s, 'w1', { now: T0 + 10 });
      // In flight: claimable again only if its lease runs out.
      expect(await s.nextJobAt()).toBe(T0 + 5000);
      await s.settleJob(soon.id, 'w1', { state: 'retrying', runAt: T0 + 100, error: 'timeout', at: T0 + 20 });
      expect(await s.nextJobAt()).toBe(T0 + 100);
      await claim(s, 'w1', { now: T0 + 6000 });
      expect(await s.nextJobAt()).toBe(T0 + 6000 + LEASE);
    });

    it("lists a conversation's deliveries: the newest job of each message, by message", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const conv = await seedConversation(s, ann);
      const other = await seedConversation(s, ann);
      const id = conv.conversation.id;
      await s.enqueueJob(job('m2-first', { conversationId: id, messageSeq: 2, at: T0 }));
      await s.enqueueJob(job('m1', { conversationId: id, messageSeq: 1, at: T0 + 1 }));
      await s.enqueueJob(job('m2-again', { conversationId: id, messageSeq: 2, at: T0 + 2 }));
      await s.enqueueJob(job('notify', { conversationId: id, at: T0 + 3 }));
      await s.enqueueJob(job('elsewhere', { conversationId: other.conversation.id, messageSeq: 1, at: T0 + 4 }));
      expect(keysOf(await s.conversationJobs(id))).toEqual(['m1', 'm2-again']);
      expect(keysOf(await s.conversationJobs(other.conversation.id))).toEqual(['elsewhere']);
      expect(await s.conversationJobs('no-such-conversation')).toEqual([]);
    });

    it("deletes a conversation's jobs with it, and keeps the others", async () => {
      const s = ctx.storage();
      const ann = await seedAccount(s);
      const doomed = await seedConversation(s, ann);
      await s.enqueueJob(job('doomed-1', { conversationId: doomed.conversation.id, messageSeq: 1 }));
      const { job: inFlight } = await s.enqueueJob(job('doomed-2', { conversationId: doomed.conversation.id, ref: 'doomed@knock.example' }));
      const { job: kept } = await s.enqueueJob(job('verify-address'));
      await s.deleteConversation(doomed.conversation.id);
      expect(await s.getJob(inFlight.id)).toBeNull();
      expect(await s.jobByRef('doomed@knock.example')).toBeNull();
      expect(await s.conversationJobs(doomed.conversation.id)).toEqual([]);
      expect(keysOf(await claim(s, 'w1'))).toEqual([kept.key]);
      // Removing an account takes the jobs of its conversations too.
      const bob = await seedAccount(s, 'bob');
      const bobs = await seedConversation(s, bob);
      const { job: bobJob } = await s.enqueueJob(job('bob-1', { conversationId: bobs.conversation.id, messageSeq: 1 }));
      await s.removeAccount('bob');
      expect(await s.getJob(bobJob.id)).toBeNull();
    });
  });
}
