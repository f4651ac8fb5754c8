/**
 * The room authorization suite (test/support/roomAuthorization.ts) on two Knock processes over Redis and PostgreSQL,
 * laid out as the README's "Running several processes": Alice's rooms live on process A, the attacker (Mallory,
 * with a territory of her own on process B) asks process B. Behind the route, seats are reserved and rooms asked
 * for through Redis, as one process of the cluster asks another (Colyseus's `$<roomId>` and `p:<processId>`
 * channels): the room on A refuses a seat established for another room, and B refuses to make a second room for a
 * scope A's room holds (engine/ports/roomClaims.ts, in Redis).
 */
import { randomUUID } from 'node:crypto';
import { requestFromIPC } from '@colyseus/core';
import { afterAll, beforeAll } from 'vitest';
import { KnockProcess } from '../support/knockProcess.ts';
import { TestSchemas, newSchemaName, testDatabaseUrl } from '../support/postgresSchemas.ts';
import { TestRedis, type RoomListing } from '../support/redisDatabase.ts';
import { roomAuthorizationSuite } from '../support/roomAuthorization.ts';
import { Territory, type RoomType } from '../support/roomWorld.ts';

const schemas = new TestSchemas();
const schema = newSchemaName();
let redis: TestRedis;
let a: KnockProcess;
let b: KnockProcess;
let alice: Territory;
let mallory: Territory;

beforeAll(async () => {
  redis = await TestRedis.claim();
  const env = { databaseUrl: testDatabaseUrl, databaseSchema: schema, redisUrl: redis.url };
  a = await KnockProcess.create({ cluster: env });
  b = await KnockProcess.create({ cluster: env });
  await a.addUser('alice', 'Alice'); // the CLI creates the schema and applies the migrations first
  await Promise.all([a.start(), b.start()]);
  alice = await Territory.build(a.url, 'alice', async () => undefined);
  mallory = await Territory.build(b.url, 'mallory', (h) => b.addUser(h, 'Mallory'));
}, 120_000);
afterAll(async () => {
  await Promise.all([alice?.close(), mallory?.close()]);
  await Promise.all([a?.dispose(), b?.dispose()]);
  await redis?.release();
  await schemas.drop(schema);
  await schemas.end();
});

const scopeFilter = (type: RoomType, t: Territory): Partial<RoomListing> =>
  ({ user: { handle: t.handle }, conversation: { conversationId: t.conversationId }, doc: { docId: t.docId }, game: { gameId: t.gameId } })[type];

async function listingsOf(type: RoomType, t: Territory): Promise<RoomListing[]> {
  const filter = Object.entries(scopeFilter(type, t));
  return (await redis.rooms(type)).filter((room) => filter.every(([k, v]) => room[k as keyof RoomListing] === v));
}

/** The scope Mallory's own room of `type` admits for, as its onAuth would establish it. */
function malloryScope(type: RoomType): string {
  return { user: `user:${mallory.handle}`, conversation: `conversation:${mallory.conversationId}`, doc: `doc:${mallory.docId}`, game: `game:${mallory.gameId}` }[type];
}

roomAuthorizationSuite('two processes over Redis', () => ({
  attackBase: b.url,
  victim: alice,
  attacker: mallory,
  async seatBehindTheRoute(type, roomId) {
    const [listing] = (await redis.rooms(type)).filter((room) => room.roomId === roomId);
    if (!listing) throw new Error(`no ${type} room ${roomId} is listed`);
    const sessionId = randomUUID().replace(/-/g, '').slice(0, 9);
    const admission = { scope: malloryScope(type), role: 'visitor', participantId: null, accountId: null, sessionHash: null, name: 'Mallory' };
    const reserved = await requestFromIPC(redis, `$${roomId}`, '_reserveSeat', [sessionId, mallory.visitorOptions(type), admission]);
    if (reserved !== true) throw new Error(`the seat was not reserved: ${JSON.stringify(reserved)}`);
    const base = listing.publicAddress === a.publicAddress ? a.url : b.url;
    return { base, reservation: { room: listing, sessionId } };
  },
  async createBehindTheRoute(type, options) {
    // Ask the process that does NOT hold the victim's room (B) to make one, as Colyseus's createRoom would.
    const [held] = await listingsOf(type, alice);
    const [other] = (await redis.rooms('user')).filter((room) => room.processId !== held?.processId);
    if (!held || !other) throw new Error('the victim\u2019s room, or a room on the other process, is not listed');
    try {
      await requestFromIPC(redis, `p:${other.processId}`, undefined as unknown as string, [type, options], 5000);
      return { refused: false };
    } catch (err) {
      return { refused: true, message: (err as Error).message };
    }
  },
  victimRooms: async (type) => (await listingsOf(type, alice)).length,
}));
