/**
 * Scale-out (issue 3): two Knock processes on one PostgreSQL schema and one Redis database, laid out as the README's
 * "Running several processes" says. Each person reaches the cluster through a load balancer with client affinity
 * (test/support/tcpBalancer.ts): the owner's devices are matched by process A, the visitor's by process B, and
 * either is sent to the other process once its own is gone. Colyseus (RedisDriver) places every room in one process
 * and sends its sockets to that process's public address, so the people's sockets cross processes all the time:
 * the owner's UserRoom lives on A, the visitor's ConversationRoom on B (Knock creates a room where its first client
 * was matched), and presence, summaries and seat reservations travel through Redis.
 *
 * Then a process dies with SIGKILL: every client of its rooms reconnects through its load balancer and goes on on
 * the survivor, from the last seq it holds; nothing acknowledged is lost, nothing is doubled. A process that dies
 * holding the owner's presence leaves no "online" behind for longer than the presence lease; a process stopped for
 * an upgrade (SIGTERM) hands its people over to the other at once. The kill lands at a
 * seeded random point (CONVENTIONS 14): replay with `KNOCK_TEST_SEED=<seed> npx vitest run --config
 * test/vitest.config.ts test/scale`.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../client/src/sdk/browserStore.ts';
import type { ConversationSession } from '../../client/src/sdk/conversationSession.ts';
import type { ConversationSnapshot } from '../../client/src/sdk/types.ts';
import { Person, bodies, waitFor } from '../support/clients.ts';
import { KnockProcess } from '../support/knockProcess.ts';
import { recordChanges } from '../support/observe.ts';
import { TestSchemas, newSchemaName, testDatabaseUrl } from '../support/postgresSchemas.ts';
import { TestRedis, type RoomListing } from '../support/redisDatabase.ts';
import { seededRandom, testSeed } from '../support/seeded.ts';
import { TcpBalancer } from '../support/tcpBalancer.ts';

const SEED = testSeed('scale/multiProcess');
const OWNER = 'alice';
/**
 * A client whose room died: its reconnect backoff, then Colyseus's recovery from the dead room's listing (2 s for
 * the seat reservation to time out, 2 s for the health check that removes the dead process's rooms), then a new room.
 */
const RECOVERY_MS = 20_000;
/** The default KNOCK_PRESENCE_TTL_MS is 6 s, re-read every 2 s: a silent crash shows "offline" within 8 s. */
const SILENT_CRASH_OFFLINE_MS = 10_000;
/** Longer than one presence lease (6 s) and its re-read (2 s): a lease that were not renewed would have run out. */
const LEASE_OUTLIVED_MS = 9000;
/** A clean close is announced at once; across processes it travels through Redis. */
const CLEAN_CLOSE_OFFLINE_MS = 3000;

interface Cluster {
  a: KnockProcess;
  b: KnockProcess;
  redis: TestRedis;
  schema: string;
  /** The owner's way in: process A while it lives, then B. */
  ownerLb: TcpBalancer;
  /** The visitor's way in: process B while it lives, then A. */
  visitorLb: TcpBalancer;
  /** Round-robin over both, for devices that appear later. */
  anyLb: TcpBalancer;
}

const schemas = new TestSchemas();
let cluster: Partial<Cluster> = {};
const people: Person[] = [];

afterEach(async () => {
  await Promise.all(people.splice(0).map((p) => p.closeAll()));
  const { a, b, redis, schema, ownerLb, visitorLb, anyLb } = cluster;
  cluster = {};
  await Promise.all([ownerLb?.close(), visitorLb?.close(), anyLb?.close()]);
  await Promise.all([a?.dispose(), b?.dispose()]);
  await redis?.release();
  if (schema) await schemas.drop(schema);
});
afterAll(() => schemas.end());

/** Two processes on a fresh schema and Redis database, the owner's account made with the CLI, and the balancers. */
async function startCluster(onTestFailed: (fn: () => void) => void): Promise<Cluster> {
  const schema = newSchemaName();
  cluster.schema = schema;
  const redis = await TestRedis.claim();
  cluster.redis = redis;
  const env = { databaseUrl: testDatabaseUrl, databaseSchema: schema, redisUrl: redis.url };
  // A's public address has a path, as behind the README's nginx (`/_/p1` routed to process 1); B's has none.
  const a = await KnockProcess.create({ cluster: { ...env, publicPath: '/_/p1' } });
  cluster.a = a;
  const b = await KnockProcess.create({ cluster: env });
  cluster.b = b;
  onTestFailed(() =>
    console.error(`[scale/multiProcess] failed with seed ${SEED} (KNOCK_TEST_SEED=${SEED}); process A printed:\n${a.log}\nprocess B printed:\n${b.log}`),
  );
  await a.addUser(OWNER, 'Alice'); // the CLI, on PostgreSQL: creates the schema and applies the migrations
  await Promise.all([a.start(), b.start()]);
  cluster.ownerLb = await TcpBalancer.start([a.url, b.url], 'in-order');
  cluster.visitorLb = await TcpBalancer.start([b.url, a.url], 'in-order');
  cluster.anyLb = await TcpBalancer.start([a.url, b.url], 'round-robin');
  return cluster as Cluster;
}

function person(base: string): Person {
  const p = new Person(base);
  people.push(p);
  return p;
}

/** Which process holds the room, from Colyseus's own listing in Redis (each listing names its public address). */
async function whereIs(c: Cluster, name: 'user' | 'conversation', match: (room: RoomListing) => boolean): Promise<Array<'A' | 'B'>> {
  const rooms = (await c.redis.rooms(name)).filter(match);
  return rooms.map((room) => {
    if (room.publicAddress === c.a.publicAddress) return 'A';
    if (room.publicAddress === c.b.publicAddress) return 'B';
    throw new Error(`A ${name} room at an unknown address: ${JSON.stringify(room)}`);
  });
}

async function waitLive(session: ConversationSession, who: string): Promise<ConversationSnapshot> {
  const s = await waitFor(session, (x) => x.connection === 'live' || x.connection === 'closed', `${who} joined`, RECOVERY_MS);
  expect(s.connection, `${who} could not join: ${JSON.stringify(s.lastError)}`).toBe('live');
  return s;
}

const stored = (s: ConversationSnapshot): number => s.messages.filter((m) => m.seq !== null).length;
const unsettled = (s: ConversationSnapshot): number => s.messages.filter((m) => m.seq === null).length;

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** What a person checks: every expected message, once, in order, stored, with seqs 1..n. */
function expectExactly(snapshot: ConversationSnapshot, expected: string[], who: string): void {
  expect(snapshot.messages.filter((m) => m.seq === null).map((m) => `${m.body} (${m.status})`), `${who}: nothing left unstored`).toEqual([]);
  expect(bodies(snapshot), `${who}: every message exactly once, in order (seed ${SEED})`).toEqual(expected);
  expect(snapshot.messages.map((m) => m.seq), `${who}: seqs contiguous from 1 (seed ${SEED})`).toEqual(range(1, expected.length));
}

/** What PostgreSQL holds, read with a connection of our own. */
async function expectDatabaseHolds(c: Cluster, conversationId: string, expected: string[]): Promise<void> {
  const rows = await schemas.query<{ seq: number; body: string }>(
    `SELECT seq::int AS seq, convert_from(body, 'UTF8') AS body FROM "${c.schema}".messages WHERE conversation_id = $1 ORDER BY seq`,
    [conversationId],
  );
  expect(rows.map((r) => r.body), `the database holds every message once, in order (seed ${SEED})`).toEqual(expected);
  expect(rows.map((r) => r.seq)).toEqual(range(1, expected.length));
  const [conversation] = await schemas.query<{ last_seq: number }>(
    `SELECT last_seq::int AS last_seq FROM "${c.schema}".conversations WHERE id = $1`,
    [conversationId],
  );
  expect(conversation?.last_seq).toBe(expected.length);
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('two Knock processes on Redis and PostgreSQL', () => {
  it('lets an owner on one process and a visitor on the other chat, see presence and typing, and finish on the survivor when the conversation\u2019s process is killed', async ({ onTestFailed }) => {
    const rand = seededRandom(SEED);
    const c = await startCluster(onTestFailed);

    // The owner signs in and goes online through A: their UserRoom is made there.
    const owner = person(c.ownerLb.url);
    await owner.login(OWNER);
    let ownerConsole = owner.ownerSession(OWNER);
    await waitFor(ownerConsole, (s) => s.connection === 'live' && s.online, "the owner's console is live");
    expect(await whereIs(c, 'user', (r) => r.handle === OWNER), "the owner's UserRoom").toEqual(['A']);

    // The visitor, matched by B, sees the owner online on the page (a seat in A's room) and in the conversation.
    const visitor = person(c.visitorLb.url);
    const page = visitor.visitorPresence(OWNER);
    await waitFor(page, (s) => s.connection === 'live' && s.online, 'the visitor page shows the owner online');
    const { session: chat, conversationId } = await visitor.knock(OWNER, 'Vera');
    expect((await waitLive(chat, 'the visitor')).ownerOnline, 'the conversation shows the owner online').toBe(true);
    expect(await whereIs(c, 'conversation', (r) => r.conversationId === conversationId), 'the ConversationRoom').toEqual(['B']);
    const device = owner.conversation(conversationId); // matched by A, seated in B's room
    await waitLive(device, "the owner's device");

    // Chat both ways.
    chat.send('hello from the visitor');
    await waitFor(device, (s) => bodies(s).includes('hello from the visitor'), "the owner reads the visitor's message");
    device.send('hello from the owner');
    await waitFor(chat, (s) => bodies(s).includes('hello from the owner'), "the visitor reads the owner's message");

    // Typing both ways.
    chat.setTyping(true);
    await waitFor(device, (s) => s.typing.includes('Vera'), 'the owner sees the visitor typing');
    device.setTyping(true);
    await waitFor(chat, (s) => s.typing.length > 0, 'the visitor sees the owner typing');
    chat.setTyping(false);
    await waitFor(device, (s) => s.typing.length === 0, 'the owner sees the visitor stop typing');

    // Presence: the owner's only console closes (on A) and opens again; the visitor (on B's room and A's) sees both.
    const chatSaw = recordChanges(chat, (s) => s.ownerOnline);
    const chatConnection = recordChanges(chat, (s) => s.connection);
    await ownerConsole.close();
    await waitFor(chat, (s) => !s.ownerOnline, 'the conversation shows the owner offline', CLEAN_CLOSE_OFFLINE_MS);
    await waitFor(page, (s) => !s.online, 'the page shows the owner offline', CLEAN_CLOSE_OFFLINE_MS);
    ownerConsole = owner.ownerSession(OWNER);
    await waitFor(chat, (s) => s.ownerOnline, 'the conversation shows the owner online again');
    await waitFor(page, (s) => s.online, 'the page shows the owner online again');
    expect(chatSaw.values).toEqual([true, false, true]);
    chatSaw.stop();
    // From here on the owner stays online: through the crash below, and beyond the life of one presence lease.
    const onlineSince = Date.now();
    const heldOnline = recordChanges(chat, (s) => s.ownerOnline);

    // B, which holds the conversation, dies while the visitor types; both clients go on through A.
    const before = bodies(chat.snapshot());
    const total = 60;
    const killAfter = rand.int(15, 45);
    const waitForAckFirst = rand.next() < 0.5; // kill between messages, or with the newest one on the wire
    console.info(`[scale/multiProcess] killing B after message ${killAfter} of ${total} (${waitForAckFirst ? 'all acknowledged' : 'newest unacknowledged'})`);
    const typed: string[] = [];
    for (let n = 1; n <= total; n++) {
      const body = `m-${String(n).padStart(3, '0')}`;
      chat.send(body);
      typed.push(body);
      if (n === killAfter) {
        const mustBeAcked = before.length + (waitForAckFirst ? n : n - 1);
        await waitFor(chat, (s) => stored(s) >= mustBeAcked, `${mustBeAcked} messages acknowledged before the kill`);
        await c.b.kill();
        const killedAt = Date.now();
        await waitFor(chat, (s) => s.connection !== 'live', 'the visitor notices the crash');
        void waitFor(chat, (s) => s.connection === 'live', 'the visitor is back', RECOVERY_MS).then(
          () => console.info(`[scale/multiProcess] the visitor was live again on A ${Date.now() - killedAt} ms after B was killed`),
          () => undefined, // the assertions below say what went wrong
        );
      }
      await pause(rand.int(0, 4));
    }
    const expected = [...before, ...typed];
    const visitorView = await waitFor(chat, (s) => unsettled(s) === 0 && stored(s) >= expected.length, "all the visitor's messages stored", RECOVERY_MS);
    expectExactly(visitorView, expected, 'visitor');
    const ownerView = await waitFor(device, (s) => stored(s) >= expected.length, "the owner's device holds every message", RECOVERY_MS);
    expectExactly(ownerView, expected, "owner's device (connected throughout)");
    expect(await whereIs(c, 'conversation', (r) => r.conversationId === conversationId), 'the ConversationRoom, after the crash').toEqual(['A']);

    // The owner (their UserRoom on A lived on) is still online, and the conversation works both ways on A.
    expect(chat.snapshot().ownerOnline).toBe(true);
    device.send('still here');
    await waitFor(chat, (s) => bodies(s).at(-1) === 'still here', "the visitor reads the owner's message after the crash", RECOVERY_MS);
    expected.push('still here');

    // A device opened now, through any balancer, reads the same history from PostgreSQL.
    const laptop = person(c.anyLb.url);
    await laptop.login(OWNER);
    const fresh = laptop.conversation(conversationId, undefined, memoryStore());
    expectExactly(await waitFor(fresh, (s) => stored(s) >= expected.length, 'a new device holds every message', RECOVERY_MS), expected, 'owner (new device)');

    await expectDatabaseHolds(c, conversationId, expected);

    // The owner's UserRoom renews its lease: a visitor sees no "offline" while the owner stays, however long.
    const leaseOutlived = LEASE_OUTLIVED_MS - (Date.now() - onlineSince);
    if (leaseOutlived > 0) await pause(leaseOutlived);
    expect(heldOnline.values, 'the owner was shown online throughout, the crash of B included').toEqual([true]);

    // The survivor stops cleanly on SIGTERM, its Redis and PostgreSQL connections closed.
    await Promise.all(people.map((p) => p.closeAll()));
    expect(await c.a.stop(), 'a cluster process exits 0 on SIGTERM').toBe(0);
  }, 90_000);

  it('shows the owner offline within 10 s when the process holding their presence dies and no device comes back, and online again when they return on the other', async ({ onTestFailed }) => {
    const c = await startCluster(onTestFailed);
    const owner = person(c.ownerLb.url);
    await owner.login(OWNER);
    const ownerConsole = owner.ownerSession(OWNER);
    await waitFor(ownerConsole, (s) => s.connection === 'live' && s.online, "the owner's console is live");

    const visitor = person(c.visitorLb.url);
    const page = visitor.visitorPresence(OWNER);
    await waitFor(page, (s) => s.connection === 'live' && s.online, 'the visitor page shows the owner online');
    const { session: chat, conversationId } = await visitor.knock(OWNER, 'Vera');
    expect((await waitLive(chat, 'the visitor')).ownerOnline).toBe(true);
    expect(await whereIs(c, 'user', (r) => r.handle === OWNER), "the owner's UserRoom").toEqual(['A']);
    expect(await whereIs(c, 'conversation', (r) => r.conversationId === conversationId), 'the ConversationRoom').toEqual(['B']);
    const chatSaw = recordChanges(chat, (s) => s.ownerOnline);
    const chatConnection = recordChanges(chat, (s) => s.connection);

    // A dies with the owner's presence in it, and the owner's only device goes with it (a laptop closed): nobody
    // is left to say "offline". The presence lease does, by expiring. A is frozen first, so the device's goodbye
    // is never read, and the device is gone before it could notice the crash and reconnect elsewhere.
    c.a.freeze();
    const closing = ownerConsole.close();
    await c.a.kill();
    const killedAt = Date.now();
    await closing;
    await waitFor(chat, (s) => !s.ownerOnline, 'the conversation shows the owner offline', SILENT_CRASH_OFFLINE_MS);
    const offlineAfterMs = Date.now() - killedAt;
    console.info(`[scale/multiProcess] offline shown ${offlineAfterMs} ms after the silent crash`);
    // The page's room was on A: it reconnects to a new UserRoom on B, which reads the (expiring) lease too.
    await waitFor(page, (s) => s.connection === 'live' && !s.online, 'the page shows the owner offline', RECOVERY_MS);
    expect(await whereIs(c, 'user', (r) => r.handle === OWNER), "the owner's UserRoom, made again by the page").toEqual(['B']);

    // The owner comes back: their balancer sends them to B, where their UserRoom now is.
    const returnedAt = Date.now();
    const back = owner.ownerSession(OWNER);
    const backSaw = recordChanges(back, (s) => s.connection);
    await waitFor(back, (s) => s.connection === 'live' && s.online, "the owner's new console is live", RECOVERY_MS);
    await waitFor(chat, (s) => s.ownerOnline, 'the conversation shows the owner online again', CLEAN_CLOSE_OFFLINE_MS);
    await waitFor(page, (s) => s.online, 'the page shows the owner online again', CLEAN_CLOSE_OFFLINE_MS);
    console.info(`[scale/multiProcess] online shown ${Date.now() - returnedAt} ms after the owner opened a console again`);
    expect(chatSaw.values, `the conversation never lost its connection: its room was on B (its connection went ${chatConnection.values.join(' > ')}; the owner's console's ${backSaw.values.join(' > ')})`).toEqual([true, false, true]);
    expect(chat.snapshot().connection).toBe('live');

    // And the conversation goes on: the owner, now matched by B, writes; the visitor reads.
    const device = owner.conversation(conversationId);
    await waitLive(device, "the owner's device");
    device.send('back again');
    await waitFor(chat, (s) => bodies(s).includes('back again'), "the visitor reads the returning owner's message");
    await expectDatabaseHolds(c, conversationId, ['back again']);
  }, 90_000);

  it('moves everyone to the other process, losing nothing, when one is stopped for an upgrade (SIGTERM)', async ({ onTestFailed }) => {
    const c = await startCluster(onTestFailed);
    const owner = person(c.ownerLb.url);
    await owner.login(OWNER);
    const visitor = person(c.visitorLb.url);
    const { session: chat, conversationId } = await visitor.knock(OWNER, 'Vera');
    await waitLive(chat, 'the visitor');
    expect(await whereIs(c, 'conversation', (r) => r.conversationId === conversationId)).toEqual(['B']);
    const device = owner.conversation(conversationId);
    await waitLive(device, "the owner's device");

    const typed: string[] = [];
    let stopped: Promise<number | null> | null = null;
    for (let n = 1; n <= 40; n++) {
      const body = `u-${String(n).padStart(3, '0')}`;
      chat.send(body);
      typed.push(body);
      if (n === 15) stopped = c.b.stop(); // B closes its rooms; their clients come back through A
      await pause(10);
    }
    expect(await stopped, 'B exits 0 on SIGTERM').toBe(0);
    expectExactly(await waitFor(chat, (s) => unsettled(s) === 0 && stored(s) >= typed.length, 'every message stored', RECOVERY_MS), typed, 'visitor');
    expectExactly(await waitFor(device, (s) => stored(s) >= typed.length, "the owner's device holds every message", RECOVERY_MS), typed, "owner's device");
    expect(await whereIs(c, 'conversation', (r) => r.conversationId === conversationId), 'the ConversationRoom, after the upgrade').toEqual(['A']);
    await expectDatabaseHolds(c, conversationId, typed);
  }, 60_000);
});
