/**
 * Calls ringing for an owner, as the Hub keeps them (engine/hub.ts, over Colyseus's LocalPresence; RedisPresence
 * implements the same interface): an owner tab that opens while a call rings learns of it, and a ring whose end was
 * never announced (its process died) lapses at its deadline.
 */
import { LocalPresence } from '@colyseus/core';
import { describe, expect, it } from 'vitest';
import { Hub, type OwnerEvent } from '../../engine/hub.ts';
import { createLogger } from '../../engine/logger.ts';
import type { UserServerMessages } from '../../engine/protocol.ts';

const NOW = 1_700_000_000_000;

function ring(conversationId: string, status: 'ringing' | 'active' | 'ended' = 'ringing', ringUntil: number | null = NOW + 45_000): UserServerMessages['call'] {
  return { conversationId, callId: `call-of-${conversationId}`, kind: 'audio', status, from: { name: 'Vic', role: 'visitor' }, ringUntil };
}

function hub(): { hub: Hub; presence: LocalPresence; heard: OwnerEvent[] } {
  const presence = new LocalPresence();
  const h = new Hub(presence, { presenceTtlMs: 6000, logger: createLogger('silent') });
  const heard: OwnerEvent[] = [];
  void h.onOwner('alice', (e) => heard.push(e));
  return { hub: h, presence, heard };
}

describe('Hub ringing calls', () => {
  it('keeps a ringing call until it is answered or ends, and tells the owner\u2019s devices each time', async () => {
    const { hub: h, heard } = hub();
    await h.announceCall('alice', ring('c1'));
    await h.announceCall('alice', ring('c2'));
    expect((await h.ringingCalls('alice', NOW)).map((c) => c.conversationId).sort()).toEqual(['c1', 'c2']);

    await h.announceCall('alice', ring('c1', 'active', null));
    await h.announceCall('alice', ring('c2', 'ended', null));
    expect(await h.ringingCalls('alice', NOW)).toEqual([]);
    expect(heard.map((e) => (e.type === 'call' ? `${e.call.conversationId}:${e.call.status}` : e.type))).toEqual([
      'c1:ringing',
      'c2:ringing',
      'c1:active',
      'c2:ended',
    ]);
  });

  it('lets a ring whose end never came lapse at its deadline, and drops what it cannot read', async () => {
    const { hub: h, presence } = hub();
    await h.announceCall('alice', ring('c1', 'ringing', NOW + 1000));
    await presence.hset('knock:calls:alice', 'c9', '{not json');

    expect((await h.ringingCalls('alice', NOW)).map((c) => c.conversationId)).toEqual(['c1']);
    expect(await h.ringingCalls('alice', NOW + 1000)).toEqual([]);
    expect(await presence.hgetall('knock:calls:alice')).toEqual({});
  });

  it('keeps one owner\u2019s calls apart from another\u2019s', async () => {
    const { hub: h } = hub();
    await h.announceCall('alice', ring('c1'));
    expect(await h.ringingCalls('bob', NOW)).toEqual([]);
  });
});
