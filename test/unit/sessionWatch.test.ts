/**
 * SessionWatch (engine/sessionWatch.ts) with a storage the test controls: sockets of sessions that are gone close as
 * logged out, in one query per round; an outage of the database logs nobody out; sockets that left are forgotten.
 */
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../engine/errors.ts';
import { SessionWatch, type SessionSocket } from '../../engine/sessionWatch.ts';
import { ManualClock } from '../support/roomHarness.ts';

function socket(sessionHash: string | null): SessionSocket & { closes: Array<{ code?: number; reason?: string }> } {
  const closes: Array<{ code?: number; reason?: string }> = [];
  return { auth: { role: sessionHash ? 'owner' : 'visitor', sessionHash }, closes, leave: (code, reason) => void closes.push({ code, reason }) };
}

function watchWith(live: (hashes: readonly string[]) => Promise<Set<string>>) {
  const queries: string[][] = [];
  const errors: unknown[] = [];
  const watch = new SessionWatch({
    storage: {
      liveSessions: (hashes) => {
        queries.push([...hashes]);
        return live(hashes);
      },
      purgeExpiredSessions: async () => 0,
      purgeExpiredPasswordResets: async () => 0,
    },
    clock: new ManualClock(),
    logger: { error: (obj: unknown) => void errors.push(obj), info: () => undefined } as never,
    checkIntervalMs: 1000,
    purgeIntervalMs: 60_000,
  });
  return { watch, queries, errors };
}

describe('SessionWatch', () => {
  it('closes, as logged out, every socket of a session that is gone, in one query per round; others stay', async () => {
    const { watch, queries } = watchWith(async () => new Set(['alive']));
    const gone1 = socket('gone');
    const gone2 = socket('gone');
    const alive = socket('alive');
    const visitor = socket(null);
    for (const s of [gone1, gone2, alive, visitor]) watch.hold(s);

    await watch.check();

    expect(queries).toEqual([['gone', 'alive']]);
    expect(gone1.closes).toEqual([{ code: CloseCode.loggedOut, reason: expect.any(String) }]);
    expect(gone2.closes).toHaveLength(1);
    expect(alive.closes).toEqual([]);
    expect(visitor.closes).toEqual([]);
    expect(watch.socketCount).toBe(1);
  });

  it('logs nobody out when the database cannot be asked', async () => {
    const { watch, errors } = watchWith(async () => {
      throw new Error('connection refused');
    });
    const device = socket('s1');
    watch.hold(device);

    await watch.check();

    expect(device.closes).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(watch.socketCount).toBe(1);
  });

  it('forgets a socket that left, and asks nothing when no socket holds a session', async () => {
    const { watch, queries } = watchWith(async () => new Set());
    const device = socket('s1');
    watch.hold(device);
    watch.release(device);

    await watch.check();

    expect(queries).toEqual([]);
    expect(device.closes).toEqual([]);
  });

  it('runs one round at a time: a check asked while one runs joins it', async () => {
    let answer: (live: Set<string>) => void = () => undefined;
    const { watch, queries } = watchWith(() => new Promise((resolve) => (answer = resolve)));
    watch.hold(socket('s1'));

    const first = watch.check();
    const second = watch.check();
    answer(new Set(['s1']));
    await Promise.all([first, second]);

    expect(queries).toHaveLength(1);
  });
});
