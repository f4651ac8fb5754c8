/**
 * Seeded convergence (issue 5, test 1): several clients edit one document at once through a real DocRoom, each
 * behind its own jittery proxy (every chunk delayed 0-40 ms), while connections are dropped and devices go offline
 * and come back; all end with identical content, equal to what a newcomer loads from the server. The seed is
 * printed; replay a failure with KNOCK_TEST_SEED=<seed>.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DocProvider } from '../../client/src/sdk/docProvider.ts';
import { sharedDoc, textOf, until, type SharedDoc } from '../support/docFixture.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { startProxy, type NetProxy } from '../support/netProxy.ts';
import { seededRandom, testSeed } from '../support/seeded.ts';

const CLIENTS = 4;
const ROUNDS = 60;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz ';

let knock: TestKnock;
beforeAll(async () => {
  // Compaction every 25 stored updates: it runs many times during the edits.
  knock = await startKnock({ docCompactUpdates: 25 });
});
afterAll(() => knock?.close());

describe('convergence of concurrent edits', () => {
  it('brings every client to the same content despite delays, drops and offline periods', { timeout: 90_000 }, async () => {
    const seed = testSeed('doc-convergence');
    const rand = seededRandom(seed);
    const s: SharedDoc = await sharedDoc(knock);
    const proxies: NetProxy[] = [];
    const clients: DocProvider[] = [];
    try {
      for (let i = 0; i < CLIENTS; i++) {
        const proxy = await startProxy(knock.url, { delayMs: () => rand.int(0, 40) });
        proxies.push(proxy);
        clients.push(s.open(i % 2 === 0 ? 'visitor' : 'owner', proxy.url));
      }
      await Promise.all(clients.map((c) => c.whenSynced()));
      /** Rounds left offline, per client. */
      const offline = new Array<number>(CLIENTS).fill(0);

      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < CLIENTS; i++) {
          const text = clients[i]!.doc.getText('text');
          for (let op = rand.int(1, 3); op > 0; op--) {
            if (text.length > 0 && rand.next() < 0.3) {
              const at = rand.int(0, text.length - 1);
              text.delete(at, Math.min(rand.int(1, 5), text.length - at));
            } else {
              const word = Array.from({ length: rand.int(1, 6) }, () => ALPHABET[rand.int(0, ALPHABET.length - 1)]).join('');
              text.insert(rand.int(0, text.length), word);
            }
          }
          const proxy = proxies[i]!;
          if (offline[i]! > 0) {
            if (--offline[i]! === 0) proxy.setReachable(true);
          } else if (rand.next() < 0.05) {
            offline[i] = rand.int(2, 8); // a device offline for a few rounds, still editing
            proxy.setReachable(false);
          } else if (rand.next() < 0.05) {
            proxy.drop(); // a connection cut; it reconnects at once
          }
        }
        await new Promise((r) => setTimeout(r, rand.int(0, 25)));
      }
      for (const proxy of proxies) proxy.setReachable(true);

      const converged = (): string[] => clients.map(textOf);
      await until(converged, (texts) => clients.every((c) => c.synced) && texts.every((t) => t === texts[0]), `all ${CLIENTS} clients equal (seed ${seed})`, 30_000);
      const newcomer = s.open('owner');
      await newcomer.whenSynced();
      expect(textOf(newcomer), `a newcomer loads the same (seed ${seed})`).toBe(textOf(clients[0]!));
      expect(textOf(newcomer).length, `something was written (seed ${seed})`).toBeGreaterThan(0);
    } finally {
      await s.closeAll();
      await Promise.all(proxies.map((p) => p.close()));
    }
  });
});
