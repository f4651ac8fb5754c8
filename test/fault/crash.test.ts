/**
 * Fault: the server process dies (SIGKILL, no shutdown code runs) while people write, and comes back on the same
 * port and data. DESIGN "Delivery" promises that nothing acknowledged is lost and that what was typed but not
 * acknowledged is resent, once, in order. These tests run Knock as a child process (test/support/knockProcess.ts)
 * and drive it with the SDK the browser uses (test/support/clients.ts), then read the database file itself.
 *
 * Where the kills land is random but seeded (CONVENTIONS 14): the seed is printed at the start and on failure;
 * replay a failure with `KNOCK_TEST_SEED=<seed> npx vitest run --config test/vitest.config.ts test/fault`.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../client/src/sdk/browserStore.ts';
import type { ConversationSession } from '../../client/src/sdk/conversationSession.ts';
import type { ConversationSnapshot, OwnerSnapshot } from '../../client/src/sdk/types.ts';
import type { ConversationSummary } from '../../engine/protocol.ts';
import { Person, waitFor } from '../support/clients.ts';
import { KnockProcess } from '../support/knockProcess.ts';
import { seededRandom, testSeed, type SeededRandom } from '../support/seeded.ts';

const SEED = testSeed('fault/crash');
const OWNER = 'alice';
/** Long enough for a restart plus the SDK's reconnect backoff (up to 5 s between attempts). */
const RECOVERY_MS = 25_000;

/** One kill of the server while someone types. */
interface Kill {
  /** The kill comes once this many messages are typed... */
  afterTyped: number;
  /** ...and all but this many of them are acknowledged (the rest are in flight or queued). */
  inFlight: number;
  /** Extra delay before the kill, to land inside the server's store-then-ack step as well as between messages. */
  jitterMs: number;
  /** Messages typed while the server is down, before it is started again (the rest are typed while it starts). */
  typedWhileDown: number;
}

let knock: KnockProcess | null = null;
const people: Person[] = [];

afterEach(async () => {
  await Promise.all(people.splice(0).map((p) => p.closeAll()));
  await knock?.dispose();
  knock = null;
});

/** A Knock process with the owner account made through the CLI, running; torn down by afterEach. */
async function startKnock(onTestFailed: (fn: () => void) => void): Promise<KnockProcess> {
  const k = await KnockProcess.create();
  knock = k;
  onTestFailed(() => console.error(`[fault/crash] failed with seed ${SEED} (KNOCK_TEST_SEED=${SEED}); Knock printed:\n${k.log}`));
  await k.addUser(OWNER, 'Alice');
  await k.start();
  return k;
}

function person(url: string): Person {
  const p = new Person(url);
  people.push(p);
  return p;
}

/** Every test draws from its own stream, so adding a test does not move the kills of another. */
function randomFor(testNumber: number): SeededRandom {
  return seededRandom((SEED + Math.imul(testNumber, 0x9e3779b1)) >>> 0);
}

/** `count` kills spread over `total` typed messages, one in each equal stretch away from both ends. */
function planKills(rand: SeededRandom, total: number, count: number): Kill[] {
  const margin = Math.min(15, Math.floor(total / 6));
  const span = (total - 2 * margin) / count;
  return Array.from({ length: count }, (_, k) => ({
    afterTyped: rand.int(Math.ceil(margin + k * span), Math.floor(margin + (k + 1) * span) - 1),
    inFlight: rand.int(0, 3),
    jitterMs: rand.int(0, 2),
    typedWhileDown: rand.int(0, 20),
  }));
}

/** Pacing of the typist (a few ms between messages), not a wait for anything: waits are on conditions. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

const ownStored = (s: ConversationSnapshot): number => s.messages.filter((m) => m.mine && m.seq !== null).length;
const stored = (s: ConversationSnapshot): number => s.messages.filter((m) => m.seq !== null).length;
const unsettled = (s: ConversationSnapshot): number => s.messages.filter((m) => m.seq === null).length;
const live = (s: { connection: string }): boolean => s.connection === 'live';

/**
 * Types `total` messages `<prefix>-000`... through `session`, a few ms apart, killing the server as `kills` say and
 * starting it again while typing goes on. Resolves with what was typed once the server is up again.
 */
async function typeThroughKills(
  k: KnockProcess,
  session: ConversationSession,
  prefix: string,
  total: number,
  kills: Kill[],
  rand: SeededRandom,
): Promise<string[]> {
  const typed: string[] = [];
  const server: { restartAt: number | null; restarting: Promise<void> | null } = { restartAt: null, restarting: null };
  const restart = (): void => {
    const pendingNow = session.snapshot().messages.filter((m) => m.status === 'pending').length;
    // Nothing can be acknowledged while the server is down: everything typed since the kill waits in the outbox.
    expect(pendingNow, 'messages typed while the server is down are pending').toBeGreaterThanOrEqual(typed.length - ownStored(session.snapshot()));
    server.restartAt = null;
    server.restarting = k.start();
    server.restarting.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
  };
  for (let n = 1; n <= total; n++) {
    const body = `${prefix}-${String(n - 1).padStart(3, '0')}`;
    session.send(body);
    typed.push(body);
    const kill = kills.find((x) => x.afterTyped === n);
    if (kill) {
      if (server.restartAt !== null) restart();
      if (server.restarting) await server.restarting;
      server.restarting = null;
      const acked = n - kill.inFlight;
      await waitFor(session, (s) => ownStored(s) >= acked, `${acked} of ${prefix}'s messages acknowledged (kill ${JSON.stringify(kill)})`, RECOVERY_MS);
      if (kill.jitterMs > 0) await pause(kill.jitterMs);
      await k.kill();
      server.restartAt = Math.min(total, n + kill.typedWhileDown);
    }
    if (server.restartAt === n) restart();
    await pause(rand.int(0, 3));
  }
  if (server.restartAt !== null) restart();
  if (server.restarting) await server.restarting;
  return typed;
}

/** Opens `session`'s older pages until the whole history is loaded (the first join brings the newest 100). */
async function loadAll(session: ConversationSession): Promise<ConversationSnapshot> {
  await waitFor(session, live, 'the device is live', RECOVERY_MS);
  for (let page = 0; page < 20 && session.snapshot().hasOlder; page++) await session.loadOlder();
  expect(session.snapshot().hasOlder, 'the whole history loaded').toBe(false);
  return session.snapshot();
}

/** What a person checks: every expected message, once, in order, stored, with seqs 1..n and nothing left pending. */
function expectExactly(snapshot: ConversationSnapshot, expected: string[], who: string): void {
  const notStored = snapshot.messages.filter((m) => m.seq === null).map((m) => `${m.body} (${m.status})`);
  expect(notStored, `${who}: messages not stored (seed ${SEED})`).toEqual([]);
  expect(snapshot.messages.map((m) => m.body), `${who}: every typed message exactly once, in order (seed ${SEED})`).toEqual(expected);
  expect(snapshot.messages.map((m) => m.seq), `${who}: seqs contiguous from 1 (seed ${SEED})`).toEqual(range(1, expected.length));
}

/** What is in the database file: read after the server stopped, through a read-only connection of our own. */
function readDatabase(file: string, conversationId: string): { bodies: string[]; seqs: number[]; lastSeq: number | undefined; integrity: unknown } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare<[string], { seq: number; body: string }>('SELECT seq, body FROM messages WHERE conversation_id = ? ORDER BY seq')
      .all(conversationId);
    const last = db.prepare<[string], { last_seq: number }>('SELECT last_seq FROM conversations WHERE id = ?').get(conversationId);
    return {
      bodies: rows.map((r) => r.body),
      seqs: rows.map((r) => r.seq),
      lastSeq: last?.last_seq,
      integrity: db.pragma('integrity_check', { simple: true }),
    };
  } finally {
    db.close();
  }
}

/** Closes every client, stops the server gracefully (it must exit 0) and checks the database holds exactly `expected`. */
async function expectDatabaseHolds(k: KnockProcess, conversationId: string, expected: string[]): Promise<void> {
  await Promise.all(people.map((p) => p.closeAll()));
  expect(await k.stop(), 'Knock exits cleanly on SIGTERM').toBe(0);
  const db = readDatabase(k.dbFile, conversationId);
  expect(db.integrity).toBe('ok');
  expect(db.bodies, `the database holds every message once, in order (seed ${SEED})`).toEqual(expected);
  expect(db.seqs).toEqual(range(1, expected.length));
  expect(db.lastSeq).toBe(expected.length);
}

describe('a server killed with SIGKILL and restarted', () => {
  it('shows every message a visitor typed exactly once, in order, to visitor and owner', async ({ onTestFailed }) => {
    const rand = randomFor(1);
    const kills = planKills(rand, 200, 2);
    console.info(`[fault/crash] visitor kills: ${JSON.stringify(kills)}`);
    const k = await startKnock(onTestFailed);

    const owner = person(k.url);
    await owner.login(OWNER);
    const visitor = person(k.url);
    const { session, conversationId } = await visitor.knock(OWNER, 'Vera');
    // The owner's open conversation stays connected through both crashes and catches up after each.
    const ownerThroughout = owner.conversation(conversationId);
    await waitFor(session, live, 'the visitor is live');
    await waitFor(ownerThroughout, live, "the owner's device is live");

    const typed = await typeThroughKills(k, session, 'm', 200, kills, rand);
    expect(k.starts, 'the server was killed and restarted as planned').toBe(1 + kills.length);

    const visitorView = await waitFor(session, (s) => unsettled(s) === 0 && stored(s) >= 200, "all 200 of the visitor's messages stored", RECOVERY_MS);
    expectExactly(visitorView, typed, 'visitor');
    const ownerView = await waitFor(ownerThroughout, (s) => stored(s) >= 200, "the owner's device holds 200 messages", RECOVERY_MS);
    expectExactly(ownerView, typed, 'owner (connected throughout)');

    // A device opened afterwards reads the same history from storage.
    const fresh = await loadAll(owner.conversation(conversationId, undefined, memoryStore()));
    expectExactly(fresh, typed, 'owner (new device)');
    expect(fresh.messages.every((m) => m.senderRole === 'visitor' && !m.mine)).toBe(true);

    await expectDatabaseHolds(k, conversationId, typed);
  }, 50_000);

  it('keeps a message acknowledged just before the kill, and a new device reads it once', async ({ onTestFailed }) => {
    const k = await startKnock(onTestFailed);
    const owner = person(k.url);
    await owner.login(OWNER);
    const visitor = person(k.url);
    const { session, conversationId, token } = await visitor.knock(OWNER, 'Vera');
    await waitFor(session, live, 'the visitor is live');

    session.send('acknowledged, then the server died');
    await waitFor(session, (s) => s.messages[0]?.status === 'sent', 'the message is acknowledged');
    await k.kill(); // the very next thing after the ack: no later write could have made it durable
    await k.start();

    const ownerDevice = await loadAll(owner.conversation(conversationId, undefined, memoryStore()));
    expectExactly(ownerDevice, ['acknowledged, then the server died'], 'owner (new device)');
    const visitorDevice = await loadAll(visitor.conversation(conversationId, token, memoryStore()));
    expectExactly(visitorDevice, ['acknowledged, then the server died'], 'visitor (new device)');
    // The device that sent it reconnects and neither resends nor doubles it.
    const sender = await waitFor(session, live, 'the sending device is live again', RECOVERY_MS);
    expectExactly(sender, ['acknowledged, then the server died'], 'visitor (sending device)');

    await expectDatabaseHolds(k, conversationId, ['acknowledged, then the server died']);
  }, 30_000);

  it("keeps the owner's messages in order and the console's unread count right when the server dies while the owner writes", async ({ onTestFailed }) => {
    const rand = randomFor(3);
    const kills = planKills(rand, 60, 1);
    console.info(`[fault/crash] owner kills: ${JSON.stringify(kills)}`);
    const k = await startKnock(onTestFailed);

    const visitor = person(k.url);
    const { session: visitorSession, conversationId } = await visitor.knock(OWNER, 'Vera');
    await waitFor(visitorSession, live, 'the visitor is live');
    const fromVisitor = ['v-000', 'v-001', 'v-002'];
    for (const body of fromVisitor) visitorSession.send(body);
    await waitFor(visitorSession, (s) => ownStored(s) === 3, "the visitor's three messages are stored");

    const laptop = person(k.url); // the owner writes here
    await laptop.login(OWNER);
    const writing = laptop.conversation(conversationId);
    await waitFor(writing, (s) => live(s) && stored(s) === 3, "the owner's laptop holds the visitor's messages");
    const phone = person(k.url); // a second device with the console open throughout
    await phone.login(OWNER);
    const consoleView = phone.ownerSession(OWNER);
    const summary = (s: OwnerSnapshot): ConversationSummary | undefined => s.conversations.find((c) => c.id === conversationId);
    await waitFor(consoleView, (s) => summary(s)?.unread === 3, 'the console shows 3 unread');

    const typed = await typeThroughKills(k, writing, 'o', 60, kills, rand);
    const all = [...fromVisitor, ...typed];

    expectExactly(await waitFor(writing, (s) => unsettled(s) === 0 && stored(s) >= all.length, "all the owner's messages stored", RECOVERY_MS), all, 'owner (writing device)');
    expectExactly(await waitFor(visitorSession, (s) => stored(s) >= all.length, 'the visitor holds every message', RECOVERY_MS), all, 'visitor (connected throughout)');
    // The console reconnected after the crash; its list says what the owner has not read: the visitor's three.
    const listed = await waitFor(
      consoleView,
      (s) => live(s) && summary(s)?.lastSeq === all.length,
      `the console lists the conversation at seq ${all.length}`,
      RECOVERY_MS,
    );
    expect(summary(listed)).toMatchObject({ lastSeq: all.length, unread: 3, lastMessage: { body: typed.at(-1), senderRole: 'owner' } });

    // Reading it on the phone clears the count, on the restarted server.
    const onPhone = phone.conversation(conversationId);
    expectExactly(await loadAll(onPhone), all, 'owner (phone)');
    onPhone.markRead();
    await waitFor(consoleView, (s) => summary(s)?.unread === 0, 'the console shows nothing unread after reading', RECOVERY_MS);

    await expectDatabaseHolds(k, conversationId, all);
  }, 40_000);
});
