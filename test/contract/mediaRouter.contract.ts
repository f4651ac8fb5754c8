/**
 * The one contract of the MediaRouter port (CONVENTIONS 5): what every adapter (Janus, the fake of the unit tests)
 * must do. `canJoin` tries a pass the way a browser would, with the adapter's own client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaRouter } from '../../engine/ports/mediaRouter.ts';
import type { SfuJoin } from '../../engine/protocol.ts';

export interface MediaRouterUnderTest {
  router: MediaRouter;
  /** True when the SFU lets a browser presenting `join` into `join.room`. */
  canJoin(join: SfuJoin): Promise<boolean>;
  close(): Promise<void>;
}

let calls = 0;
const callId = () => `contract-call-${process.pid}-${++calls}`;

export function mediaRouterContract(name: string, open: () => Promise<MediaRouterUnderTest>): void {
  describe(`MediaRouter contract: ${name}`, () => {
    let t: MediaRouterUnderTest;
    beforeAll(async () => {
      t = await open();
    });
    afterAll(() => t.close());

    it('creates a room per call, each with its own secret', async () => {
      const a = await t.router.createRoom(callId(), { capacity: 6 });
      const b = await t.router.createRoom(callId(), { capacity: 6 });
      expect(a.ref).not.toBe(b.ref);
      expect(a.secret).not.toBe(b.secret);
      expect(a.secret.length).toBeGreaterThanOrEqual(16);
      await t.router.destroyRoom(a);
      await t.router.destroyRoom(b);
    });

    it('gives each member a pass that opens their room, and never the room secret', async () => {
      const room = await t.router.createRoom(callId(), { capacity: 6 });
      const alice = await t.router.issueJoin(room, { memberId: 'device-a', name: 'Alice' });
      const bob = await t.router.issueJoin(room, { memberId: 'device-b', name: 'Bob' });
      expect(alice).toMatchObject({ provider: t.router.provider, room: room.ref });
      expect(alice.token).not.toBe(bob.token);
      expect(JSON.stringify([alice, bob])).not.toContain(room.secret);
      expect(await t.canJoin(alice)).toBe(true);
      expect(await t.canJoin(bob)).toBe(true);
      await t.router.destroyRoom(room);
    });

    it('refuses a made-up pass, and a pass of one call in the room of another', async () => {
      const mine = await t.router.createRoom(callId(), { capacity: 6 });
      const theirs = await t.router.createRoom(callId(), { capacity: 6 });
      const pass = await t.router.issueJoin(mine, { memberId: 'device-a', name: 'Alice' });
      const theirPass = await t.router.issueJoin(theirs, { memberId: 'device-c', name: 'Carol' });

      expect(await t.canJoin({ ...pass, token: 'made-up-token-0000000000' })).toBe(false);
      expect(await t.canJoin({ ...pass, room: theirs.ref })).toBe(false);
      // Even with the other room's pin (say, leaked), the pass of this call does not open it.
      expect(await t.canJoin({ ...pass, room: theirs.ref, params: { ...pass.params, ...pinOf(theirPass) } })).toBe(false);
      expect(await t.canJoin(theirPass)).toBe(true);
      await t.router.destroyRoom(mine);
      await t.router.destroyRoom(theirs);
    });

    it('takes back the pass of a member who left, and keeps the others', async () => {
      const room = await t.router.createRoom(callId(), { capacity: 6 });
      const leaving = await t.router.issueJoin(room, { memberId: 'device-a', name: 'Alice' });
      const staying = await t.router.issueJoin(room, { memberId: 'device-b', name: 'Bob' });
      await t.router.revokeJoin(room, leaving);
      expect(await t.canJoin(leaving)).toBe(false);
      expect(await t.canJoin(staying)).toBe(true);
      await t.router.revokeJoin(room, leaving); // twice is harmless
      await t.router.destroyRoom(room);
    });

    it('closes a destroyed room to everyone; destroying or revoking again is harmless', async () => {
      const room = await t.router.createRoom(callId(), { capacity: 6 });
      const pass = await t.router.issueJoin(room, { memberId: 'device-a', name: 'Alice' });
      await t.router.destroyRoom(room);
      expect(await t.canJoin(pass)).toBe(false);
      await t.router.destroyRoom(room);
      await t.router.revokeJoin(room, pass);
      await expect(t.router.issueJoin(room, { memberId: 'device-b', name: 'Bob' })).rejects.toThrow();
    });
  });
}

function pinOf(join: SfuJoin): Record<string, string> {
  return join.params.pin === undefined ? {} : { pin: join.params.pin };
}
