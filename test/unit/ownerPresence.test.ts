/**
 * OwnerPresence without Colyseus or Redis: what a room believes about the owner's presence, from the hub's events
 * and from re-reads of the stored lease (rooms/ownerPresence.ts). The store is a function the test answers by hand,
 * so a read can be held "in flight" while an event comes.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../engine/logger.ts';
import { OwnerPresence } from '../../rooms/ownerPresence.ts';
import { deferred, settle, type Deferred } from '../support/roomHarness.ts';

/** An OwnerPresence over a store whose reads wait for the test, recording every change it reports. */
function watch(opts: { logLines?: string[] } = {}) {
  const reads: Array<Deferred<boolean>> = [];
  const changes: Array<[boolean, boolean | null]> = [];
  const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (opts.logLines?.push(chunk.toString()), done()) });
  const presence = new OwnerPresence({
    read: () => {
      const answer = deferred<boolean>();
      reads.push(answer);
      return answer.promise;
    },
    onChange: (online, previous) => changes.push([online, previous]),
    logger: createLogger('error', sink),
  });
  /** Answers the oldest read still waiting. */
  const answer = async (online: boolean) => {
    reads.shift()!.resolve(online);
    await settle();
  };
  return { presence, reads, changes, answer };
}

describe('OwnerPresence', () => {
  it('knows nothing until the first read, then reports it as a change from nothing', async () => {
    const w = watch();
    expect(w.presence.known).toBeNull();
    const refreshed = w.presence.refresh();
    await w.answer(true);
    await refreshed;

    expect(w.presence.known).toBe(true);
    expect(w.changes).toEqual([[true, null]]);
  });

  it('turns offline when a re-read finds the lease gone, though no event said so (a crashed process)', async () => {
    const w = watch();
    w.presence.heard(true);
    const refreshed = w.presence.refresh();
    await w.answer(false);
    await refreshed;

    expect(w.presence.known).toBe(false);
    expect(w.changes).toEqual([[true, null], [false, true]]);
  });

  it('reports nothing when a read or an event only confirms what it believes', async () => {
    const w = watch();
    w.presence.heard(true);
    w.presence.heard(true);
    const refreshed = w.presence.refresh();
    await w.answer(true);
    await refreshed;

    expect(w.changes).toEqual([[true, null]]);
  });

  it('drops a read that was in flight when an event came: the event is newer', async () => {
    const w = watch();
    w.presence.heard(false);
    const refreshed = w.presence.refresh(); // reads "offline"...
    w.presence.heard(true); // ...the owner comes online meanwhile...
    await w.answer(false); // ...and the old answer arrives late
    await refreshed;

    expect(w.presence.known).toBe(true);
    expect(w.changes).toEqual([[false, null], [true, false]]);
  });

  it('asks a slow store once, whatever the number of refreshes meanwhile', async () => {
    const w = watch();
    const first = w.presence.refresh();
    const second = w.presence.refresh();
    expect(w.reads).toHaveLength(1);
    await w.answer(true);
    await Promise.all([first, second]);

    expect(w.presence.known).toBe(true);
    void w.presence.refresh();
    expect(w.reads, 'the next refresh reads again').toHaveLength(1);
  });

  it('reads the store for current() only while it knows nothing', async () => {
    const w = watch();
    const first = w.presence.current();
    await w.answer(true);
    expect(await first).toBe(true);

    expect(await w.presence.current()).toBe(true);
    expect(w.reads).toHaveLength(0);
  });

  it('logs a failed read and keeps its belief', async () => {
    const lines: string[] = [];
    const w = watch({ logLines: lines });
    w.presence.heard(true);
    const refreshed = w.presence.refresh();
    w.reads.shift()!.reject(new Error('Redis is unreachable'));
    await refreshed;

    expect(w.presence.known).toBe(true);
    expect(lines.join('')).toMatch(/could not read the owner.s presence/);
    expect(lines.join('')).toMatch(/Redis is unreachable/);
  });
});
