/**
 * The Hub over Colyseus's LocalPresence (the same Presence interface RedisPresence implements; the multi-process
 * test runs it on Redis): the owner's "online" is a lease that expires unless renewed, and events are typed.
 * Time is faked (LocalPresence expires keys with timers).
 */
import { Writable } from 'node:stream';
import { LocalPresence, type Presence } from '@colyseus/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Hub, type PresenceEvent } from '../../engine/hub.ts';
import { createLogger } from '../../engine/logger.ts';

const TTL_MS = 6000;
const silent = createLogger('silent');

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Hub presence lease', () => {
  it('renews a third of the way through the lease', () => {
    expect(new Hub(new LocalPresence(), { presenceTtlMs: TTL_MS, logger: silent }).presenceRefreshMs).toBe(2000);
  });

  it('forgets "online" once the lease runs out without renewal (its process died)', async () => {
    const hub = new Hub(new LocalPresence(), { presenceTtlMs: TTL_MS, logger: silent });
    await hub.setOnline('alice', true);
    await vi.advanceTimersByTimeAsync(TTL_MS - 100);
    expect(await hub.isOnline('alice')).toBe(true);

    await vi.advanceTimersByTimeAsync(200);
    expect(await hub.isOnline('alice')).toBe(false);
  });

  it('keeps "online" for as long as it is renewed in time', async () => {
    const hub = new Hub(new LocalPresence(), { presenceTtlMs: TTL_MS, logger: silent });
    await hub.setOnline('alice', true);
    for (let i = 0; i < 10; i++) {
      await vi.advanceTimersByTimeAsync(hub.presenceRefreshMs);
      await hub.renewOnline('alice');
    }
    expect(await hub.isOnline('alice')).toBe(true);
  });

  it('writes presence before announcing it, so a listener that reads on the event reads the same', async () => {
    const hub = new Hub(new LocalPresence(), { presenceTtlMs: TTL_MS, logger: silent });
    const readOnEvent: Array<[boolean, boolean]> = [];
    await hub.onPresence('alice', (event: PresenceEvent) => {
      if (event.type === 'online') void hub.isOnline('alice').then((stored) => readOnEvent.push([event.online, stored]));
    });
    await hub.setOnline('alice', true);
    await hub.setOnline('alice', false);
    await vi.advanceTimersByTimeAsync(0);

    expect(readOnEvent).toEqual([[true, true], [false, false]]);
  });

  it('keeps handles apart', async () => {
    const hub = new Hub(new LocalPresence(), { presenceTtlMs: TTL_MS, logger: silent });
    await hub.setOnline('alice', true);
    expect(await hub.isOnline('bob')).toBe(false);
  });

  it('logs an event it cannot publish and carries on', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
    const presence = new LocalPresence();
    // A Presence whose publish fails as RedisPresence's does when Redis is unreachable.
    const failing = Object.assign(Object.create(presence) as Presence, {
      publish: () => Promise.reject(new Error('Connection is closed.')),
    });
    const hub = new Hub(failing, { presenceTtlMs: TTL_MS, logger: createLogger('error', sink) });

    hub.publishOwner('alice', { type: 'conversation', summary: { id: 'c1', visitorName: 'Vic', lastSeq: 1, lastMessage: null, unread: 1, updatedAt: 1 } });
    await vi.advanceTimersByTimeAsync(0);

    expect(lines.join('')).toMatch(/could not publish an event/);
    expect(lines.join('')).toMatch(/owner:alice/);
  });
});
