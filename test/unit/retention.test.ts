/**
 * Retention (engine/retention.ts; page views of issue 19 "Privacy", audit logs of issue 22): what "older than the retention" means,
 * a purge at start (views may have fallen due while the server was down), and a close that waits for a purge under
 * way, so storage is never closed under it. The storage is a recording fake of its one call (the adapters' purge is
 * the storage contract suite's; the integration test runs it on the real server).
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../engine/logger.ts';
import { Retention } from '../../engine/retention.ts';
import { ManualClock, T0, deferred } from '../support/roomHarness.ts';

const DAY_MS = 24 * 3600_000;

function retention(purge: (before: number) => Promise<number>) {
  const clock = new ManualClock();
  return new Retention({ what: 'page views', purge, clock, logger: createLogger('silent'), retentionDays: 30 });
}

describe('Retention', () => {
  it('deletes the page views started more than the retention days before the time given, or now', async () => {
    const asked: number[] = [];
    const r = retention(async (before) => (asked.push(before), 2));
    expect(await r.purge(T0 + 40 * DAY_MS)).toBe(2);
    await r.purge();
    expect(asked).toEqual([T0 + 10 * DAY_MS, T0 - 30 * DAY_MS]);
  });

  it('purges once as soon as it starts, and close waits for that purge', async () => {
    const held = deferred<number>();
    const asked: number[] = [];
    const r = retention((before) => (asked.push(before), held.promise));
    r.start();
    expect(asked).toEqual([T0 - 30 * DAY_MS]);

    let closed = false;
    const closing = r.close().then(() => (closed = true));
    await Promise.resolve();
    expect(closed).toBe(false);
    held.resolve(0);
    await closing;
    await r.close();
    r.start();
    expect(asked).toHaveLength(1);
  });

  it('rejects a failed purge to its caller, and logs the one it ran by itself (no unhandled rejection)', async () => {
    const r = retention(() => Promise.reject(new Error('database down')));
    r.start();
    await expect(r.purge()).rejects.toThrow('database down');
    await r.close();
  });
});
