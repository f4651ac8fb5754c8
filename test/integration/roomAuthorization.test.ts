/**
 * Who gets into a room, on one process (issue 13). First the holes found when the running server was probed, each
 * written as the attack that worked (it fails on the code before the fix: Colyseus's own matchmaking route at
 * "/matchmake" seated anyone in any room by its id and made new rooms on request); then the room authorization suite
 * (test/support/roomAuthorization.ts), which the two-process run (test/scale/roomAuthorization.test.ts) shares.
 */
import { matchMaker, type AuthContext } from '@colyseus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_PINGS, testRateLimits } from '../support/cast.ts';
import { waitFor } from '../support/clients.ts';
import { get, post } from '../support/httpClient.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';
import { RawRoom } from '../support/rawRoom.ts';
import { roomAuthorizationSuite, type AuthorizationTarget } from '../support/roomAuthorization.ts';
import { Territory, type RoomType } from '../support/roomWorld.ts';

let knock: TestKnock;
/** The victim: Alice, offline, with a conversation, a document and a game, each room open. */
let alice: Territory;
/** The attacker: Mallory, a freshly signed-up account with a territory of her own (valid identities to misuse). */
let mallory: Territory;

beforeAll(async () => {
  knock = await startKnock({ pingIntervalMs: NO_PINGS, rateLimits: testRateLimits({ matchmakesPerIp: { perWindow: 10_000, windowMs: 60_000 } }) });
  alice = await Territory.build(knock.url, 'alice', (h) => knock.addUser(h, 'Alice'));
  mallory = await Territory.build(knock.url, 'mallory', (h) => knock.addUser(h, 'Mallory'));
});
afterAll(async () => {
  await Promise.all([alice?.close(), mallory?.close()]);
  await knock?.close();
});

/** What Colyseus's calls take: the request's headers and address, as the HTTP route would pass them. */
const contextOf = (headers: Record<string, string> = {}): AuthContext => ({ token: undefined, headers, ip: '127.0.0.1' }) as unknown as AuthContext;
const online = async (handle: string) => ((await (await get(knock.url, `/_/api/profile/${handle}`)).json()) as { online: boolean }).online;
const roomsFor = async (type: RoomType, territory: Territory) => {
  const filter = { user: { handle: territory.handle }, conversation: { conversationId: territory.conversationId }, doc: { docId: territory.docId }, game: { gameId: territory.gameId } }[type];
  return (await matchMaker.query({ name: type, ...filter })).length;
};

describe('holes found in the probe', () => {
  it('hole 1: another account cannot sit in an owner\u2019s UserRoom by its id, read the inbox or fake the owner\u2019s presence', async () => {
    // The roomId is no secret: an anonymous visitor's ordinary join reveals it.
    const roomId = alice.roomIds.user;
    const probe = await post(knock.url, `/matchmake/joinById/${roomId}`, { handle: 'mallory' }, { origin: knock.url, headers: mallory.owner.headers });
    expect(await probe.text()).not.toMatch(/sessionId/);
    // And by Colyseus's own call, behind any route: the room itself refuses.
    const seat = await matchMaker.joinById(roomId, { handle: 'mallory' }, contextOf(mallory.owner.headers));
    await expect(RawRoom.consume(knock.url, seat, mallory.owner.headers)).rejects.toThrow(/may not join this room/);
    expect(await online('alice')).toBe(false);
  });

  it('hole 2: a member cannot make a second room for a game (whose empty seat would forfeit), nor anyone more UserRooms', async () => {
    const gameOptions = alice.visitorOptions('game');
    const probe = await post(knock.url, '/matchmake/create/game', gameOptions, { origin: knock.url });
    expect(await probe.text()).not.toMatch(/sessionId/);
    await expect(matchMaker.create('game', gameOptions, contextOf())).rejects.toThrow(/moving to another server/);
    for (let i = 0; i < 4; i++) {
      await expect(matchMaker.create('user', { handle: 'alice' }, contextOf())).rejects.toThrow(/moving to another server/);
    }
    expect(await roomsFor('game', alice)).toBe(1);
    expect(await roomsFor('user', alice)).toBe(1);
    expect((await knock.storage.getGame(alice.gameId))?.status).toBe('active');
  });

  it('hole 3: a visitor cannot read or write another conversation\u2019s document, or watch its game, by the room\u2019s id', async () => {
    for (const type of ['doc', 'game'] as const) {
      const probe = await post(knock.url, `/matchmake/joinById/${alice.roomIds[type]}`, mallory.visitorOptions(type), { origin: knock.url });
      expect(await probe.text(), type).not.toMatch(/sessionId/);
      const seat = await matchMaker.joinById(alice.roomIds[type], mallory.visitorOptions(type), contextOf());
      await expect(RawRoom.consume(knock.url, seat), type).rejects.toThrow(/may not join this room/);
    }
  });

  it('a refused intruder leaves the room\u2019s members undisturbed', async () => {
    const seat = await matchMaker.joinById(alice.roomIds.conversation, mallory.visitorOptions('conversation'), contextOf());
    await expect(RawRoom.consume(knock.url, seat)).rejects.toThrow(/may not join this room/);
    alice.rooms.conversation.send('send', { clientMsgId: 'after-the-intruder', body: 'still here' });
    await waitFor(alice.rooms.conversation, (s) => s.of<{ clientMsgId: string }>('ack').some((a) => a.clientMsgId === 'after-the-intruder'), 'the ack');
    expect(alice.rooms.conversation.snapshot().closedWith).toBeNull();
  });
});

roomAuthorizationSuite('one process', (): AuthorizationTarget => ({
  attackBase: knock.url,
  victim: alice,
  attacker: mallory,
  async seatBehindTheRoute(type, roomId) {
    // Mallory's own valid identity for her own room of that type: her session for her URL, her token otherwise.
    const headers = type === 'user' ? mallory.owner.headers : {};
    const reservation = await matchMaker.joinById(roomId, mallory.visitorOptions(type), contextOf(headers));
    return { base: knock.url, reservation, headers };
  },
  async createBehindTheRoute(type, options) {
    try {
      await matchMaker.create(type, options, contextOf());
      return { refused: false };
    } catch (err) {
      return { refused: true, message: (err as Error).message };
    }
  },
  victimRooms: (type) => roomsFor(type, alice),
}));
