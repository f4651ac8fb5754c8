/**
 * Where the processes of one Knock are (engine/http/processAddresses.ts), over the Hub on Colyseus's LocalPresence
 * (the same Presence interface RedisPresence implements; the browser scale-out tests run it on Redis): every process
 * learns the others' public addresses from their own announcements, pages may open sockets at them (CSP) and the
 * Origin rule accepts their pages; a process that stops or dies is forgotten; nothing a request says is added.
 */
import { LocalPresence } from '@colyseus/core';
import { afterEach, describe, expect, it } from 'vitest';
import { Hub } from '../../engine/hub.ts';
import { ProcessAddresses, hostOf } from '../../engine/http/processAddresses.ts';
import { originChecker } from '../../engine/http/origin.ts';
import { createLogger } from '../../engine/logger.ts';
import { ManualClock } from '../support/roomHarness.ts';

const TTL_MS = 6000;
const logger = createLogger('silent');
const opened: ProcessAddresses[] = [];

function cluster() {
  const presence = new LocalPresence();
  const hub = new Hub(presence, { presenceTtlMs: TTL_MS, logger });
  const clock = new ManualClock();
  const process = async (processId: string, own: string | undefined) => {
    const addresses = new ProcessAddresses({ hub, clock, processId, own, refreshMs: 60_000, logger });
    opened.push(addresses);
    await addresses.start();
    return addresses;
  };
  return { hub, clock, process };
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((a) => a.close()));
});

describe('the processes\u2019 addresses', () => {
  it('takes the host and port of an address, without its path', () => {
    expect(hostOf('chat.example.com/_/p1')).toBe('chat.example.com');
    expect(hostOf('10.0.0.5:8080')).toBe('10.0.0.5:8080');
    expect(hostOf('[fd00::5]:8080')).toBe('[fd00::5]:8080');
  });

  it('lets a page of one process open sockets at the other and be accepted there', async () => {
    const { process } = cluster();
    const a = await process('pa', '10.0.0.5:8080');
    const b = await process('pb', '10.0.0.6:8080');

    expect(await a.connectSources()).toEqual(['ws://10.0.0.5:8080', 'wss://10.0.0.5:8080', 'ws://10.0.0.6:8080', 'wss://10.0.0.6:8080']);
    expect(a.isPageOrigin('http://10.0.0.6:8080')).toBe(true);
    expect(b.isPageOrigin('https://10.0.0.5:8080')).toBe(true);
    expect(a.isPageOrigin('http://10.0.0.7:8080')).toBe(false);
    expect(a.isPageOrigin('http://10.0.0.6:8080/evil')).toBe(false);
  });

  it('keeps the public URL\u2019s rule: another process\u2019s page is accepted, a rebound name is not', async () => {
    const { process } = cluster();
    const a = await process('pa', '10.0.0.5:8080');
    await process('pb', '10.0.0.6:8080');
    const allowed = originChecker('https://chat.example.com', (origin) => a.isPageOrigin(origin));

    expect(allowed('https://chat.example.com', '10.0.0.5:8080')).toBe(true);
    expect(allowed('http://10.0.0.6:8080', '10.0.0.5:8080')).toBe(true);
    expect(allowed('http://rebound.example', 'rebound.example')).toBe(false);
  });

  it('forgets a process that stops, at once', async () => {
    const { process } = cluster();
    const a = await process('pa', '10.0.0.5:8080');
    const b = await process('pb', '10.0.0.6:8080');
    await b.close();

    expect(await a.connectSources()).toEqual(['ws://10.0.0.5:8080', 'wss://10.0.0.5:8080']);
    expect(a.isPageOrigin('http://10.0.0.6:8080')).toBe(false);
  });

  it('forgets a process that died without a word once its lease runs out', async () => {
    const { hub, clock, process } = cluster();
    const a = await process('pa', '10.0.0.5:8080');
    await hub.announceAddress('dead', '10.0.0.9:8080', clock.now(), true); // announced once, never renewed

    expect(await a.connectSources()).toContain('ws://10.0.0.9:8080');
    clock.t += TTL_MS + 1;
    expect(await a.connectSources()).not.toContain('ws://10.0.0.9:8080');
  });

  it('adds nothing for a process without a public address (one process alone)', async () => {
    const { process } = cluster();
    const alone = await process('p1', undefined);
    expect(await alone.connectSources()).toEqual([]);
  });
});
