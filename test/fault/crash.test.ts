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
import { TEST_PASSWORD } from '../support/knockServer.ts';
import { KnockProcess } from '../support/knockProcess.ts';
import { seededRandom, testSeed, type SeededRandom } from '../support/seeded.ts';

const SEED = testSeed('fault/crash');
const OWNER = 'alice';
/** Long enough for a restart plus the SDK's reconnect backoff (up to 5 s between attempts). */
const RECOVERY_MS = 20_000;

/**
 * Where a kill lands relative to the newest messages:
 * - `between`: every typed message is acknowledged; nothing is on the wire;
 * - `sent`: the newest message was just sent and is not acknowledged (on the wire, or being read by the server);
 * - `storing`: as `sent`, then 1-3 ms more, so the server is often inside store-then-ack (stored, ack not received);
 * - `backlog`: everything acknowledged, then the server is frozen (SIGSTOP) and a burst of 2-8 messages is typed:
 *   the first goes on the wire and is certainly not stored, the others queue behind it in the outbox.
 */
type KillKind = 'between' | 'sent' | 'storing' | 'backlog';
const KILL_KINDS: readonly KillKind[] = ['between', 'sent', 'storing', 'backlog'];

/** One kill of the server while someone types. */
interface Kill {
  /** The kill comes once this many messages are typed (plus the `backlog` burst). */
  afterTyped: number;
  kind: KillKind;
  /** For `storing`: how long after the send. */
  delayMs: number;
  /** For `backlog`: messages typed at once right before the kill. */
  burst: number;
  /** Messages typed while the server is down, before it is started again (the rest are typed while it starts). */
  typedWhileDown: number;
}

/** What was on disk the moment the server died, against what the typist had seen acknowledged. */
interface CrashRecord {
  kill: Kill;
  typed: number;
  acked: number;
  onDisk: number;
  restartMs: number;
  /** From the kill until the typing device was live again (restart plus the SDK's reconnect backoff). */
  backMs: number;
}

let knock: KnockProcess | null = null;
const people: Person[] = [];

afterEach(async () => {
  await Promise.all(people.splice(0).map((p) => p.closeAll()));
  await knock?.dispose();
  knock = null;
});

/**
 * A running Knock process and its owner, signed in; the account is made through the sign-up API or, before the
 * server starts, through the operators' CLI. afterEach tears everything down.
 */
async function startKnock(onTestFailed: (fn: () => void) => void, accountVia: 'signup' | 'cli' = 'signup'): Promise<{ k: KnockProcess; owner: Person }> {
  const k = await KnockProcess.create();
  knock = k;
  onTestFailed(() => console.error(`[fault/crash] failed with seed ${SEED} (KNOCK_TEST_SEED=${SEED}); Knock printed:\n${k.log}`));
  if (accountVia === 'cli') await k.addUser(OWNER, 'Alice');
  await k.start();
  const owner = person(k.url);
  if (accountVia === 'cli') await owner.login(OWNER);
  else await owner.api.signup({ handle: OWNER, displayName: 'Alice', password: TEST_PASSWORD });
  return { k, owner };
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

/**
 * `count` kills spread over `total` typed messages, one in each equal stretch away from both ends. The kinds are
 * dealt from a shuffled deck, so four kills cover all four kinds every run; positions and amounts are random.
 */
function planKills(rand: SeededRandom, total: number, count: number): Kill[] {
  const margin = Math.min(15, Math.floor(total / 6));
  const span = (total - 2 * margin) / count;
  const deck = [...KILL_KINDS];
  for (let i = deck.length - 1; i > 0; i--) {
    const j = rand.int(0, i);
    [deck[i], deck[j]] = [deck[j]!, deck[i]!];
  }
  // In typing order: typeThroughKills takes them one after another.
  return Array.from({ length: count }, (_, k) => {
    const kind = deck[k % deck.length]!;
    return {
      afterTyped: rand.int(Math.ceil(margin + k * span), Math.floor(margin + (k + 1) * span) - 1),
      kind,
      delayMs: kind === 'storing' ? rand.int(1, 3) : 0,
      burst: kind === 'backlog' ? rand.int(2, 8) : 0,
      typedWhileDown: rand.int(0, 20),
    };
  });
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

/** Waits until the device is joined and caught up; fails at once, with the reason, if it was refused for good. */
async function waitLive(session: ConversationSession, who: string): Promise<ConversationSnapshot> {
  const s = await waitFor(session, (x) => x.connection === 'live' || x.connection === 'closed', `${who} joined`, RECOVERY_MS);
  expect(s.connection, `${who} could not join: ${JSON.stringify(s.lastError)}`).toBe('live');
  return s;
}

/**
 * Types `total` messages `<prefix>-000`... through `session`, a few ms apart, killing the server as `kills` say and
 * starting it again while typing goes on. At each crash it reads the database file: everything acknowledged must
 * already be there, as a gap-free prefix of what was written (`before` = the conversation's earlier messages).
 * Resolves with what was typed, once the server is up again.
 */
async function typeThroughKills(
  k: KnockProcess,
  session: ConversationSession,
  conversationId: string,
  before: string[],
  prefix: string,
  total: number,
  kills: Kill[],
  rand: SeededRandom,
): Promise<{ typed: string[]; crashes: CrashRecord[] }> {
  const typed: string[] = [];
  const crashes: CrashRecord[] = [];
  const server: { restartAt: number | null; restarting: Promise<void> | null } = { restartAt: null, restarting: null };
  const restart = (record: CrashRecord): void => {
    // Nothing can be acknowledged while the server is down: everything typed since the kill waits in the outbox.
    const s = session.snapshot();
    expect(s.messages.filter((m) => m.status === 'pending').length, 'messages typed while the server is down are pending')
      .toBeGreaterThanOrEqual(typed.length - ownStored(s));
    server.restartAt = null;
    const began = Date.now();
    server.restarting = k.start().then(() => {
      record.restartMs = Date.now() - began;
    });
    server.restarting.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
  };
  const typeOne = (): number => {
    const body = `${prefix}-${String(typed.length).padStart(3, '0')}`;
    session.send(body);
    typed.push(body);
    return typed.length;
  };
  let killsDone = 0;
  while (typed.length < total) {
    let n = typeOne();
    const kill = kills[killsDone];
    if (kill && kill.afterTyped <= n) {
      killsDone++;
      if (server.restartAt !== null) restart(crashes.at(-1)!);
      if (server.restarting) await server.restarting;
      server.restarting = null;
      const mustBeAcked = kill.kind === 'between' || kill.kind === 'backlog' ? n : n - 1;
      await waitFor(session, (s) => ownStored(s) >= mustBeAcked, `${mustBeAcked} of ${prefix}'s messages acknowledged before kill ${JSON.stringify(kill)}`, RECOVERY_MS);
      if (kill.burst > 0) {
        k.freeze();
        for (let b = 0; b < kill.burst && n < total; b++) n = typeOne(); // the first is sent, the rest queue behind it
      }
      if (kill.delayMs > 0) await pause(kill.delayMs);
      const acked = ownStored(session.snapshot());
      const killedAt = Date.now();
      await k.kill();
      const disk = readDatabase(k.dbFile, conversationId);
      const record: CrashRecord = { kill, typed: n, acked, onDisk: disk.bodies.length - before.length, restartMs: -1, backMs: -1 };
      crashes.push(record);
      let sawDown = false;
      const stopWatching = session.subscribe(() => {
        const live = session.snapshot().connection === 'live';
        sawDown ||= !live;
        if (sawDown && live) {
          record.backMs = Date.now() - killedAt;
          stopWatching();
        }
      });
      const written = [...before, ...typed];
      expect(disk.bodies, `on disk at the crash: a prefix of what was written, every acknowledged message included (seed ${SEED})`)
        .toEqual(written.slice(0, Math.max(disk.bodies.length, before.length + acked)));
      expect(disk.seqs).toEqual(range(1, disk.bodies.length));
      server.restartAt = Math.min(total, n + kill.typedWhileDown);
    }
    if (server.restartAt !== null && n >= server.restartAt) restart(crashes.at(-1)!);
    await pause(rand.int(0, 3));
  }
  if (server.restartAt !== null) restart(crashes.at(-1)!);
  if (server.restarting) await server.restarting;
  await waitLive(session, `${prefix}'s device, after the last restart`);
  for (const c of crashes) {
    console.info(
      `[fault/crash] ${c.kill.kind} kill with ${c.typed} of ${prefix}'s messages typed: ` +
        `${c.acked} acknowledged, ${c.onDisk} on disk (${c.onDisk - c.acked} stored but unacknowledged), ` +
        `${c.kill.typedWhileDown} typed while down, restart took ${c.restartMs} ms, live again after ${c.backMs} ms`,
    );
  }
  return { typed, crashes };
}

/** Opens `session`'s older pages until the whole history is loaded (the first join brings the newest 100). */
async function loadAll(session: ConversationSession, who: string): Promise<ConversationSnapshot> {
  await waitLive(session, who);
  for (let page = 0; page < 20 && session.snapshot().hasOlder; page++) await session.loadOlder();
  expect(session.snapshot().hasOlder, `${who}: the whole history loaded`).toBe(false);
  return session.snapshot();
}

/** What a person checks: every expected message, once, in order, stored, with seqs 1..n and nothing left pending. */
function expectExactly(snapshot: ConversationSnapshot, expected: string[], who: string): void {
  const notStored = snapshot.messages.filter((m) => m.seq === null).map((m) => `${m.body} (${m.status})`);
  expect(notStored, `${who}: messages not stored (seed ${SEED})`).toEqual([]);
  expect(snapshot.messages.map((m) => m.body), `${who}: every typed message exactly once, in order (seed ${SEED})`).toEqual(expected);
  expect(snapshot.messages.map((m) => m.seq), `${who}: seqs contiguous from 1 (seed ${SEED})`).toEqual(range(1, expected.length));
}

/** What is in the database file, through a read-only connection of our own (the server may be dead or stopped). */
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
    const kills = planKills(rand, 200, 4);
    console.info(`[fault/crash] visitor kills: ${JSON.stringify(kills)}`);
    const { k, owner } = await startKnock(onTestFailed);
    const visitor = person(k.url);
    const { session, conversationId } = await visitor.knock(OWNER, 'Vera');
    // The owner's open conversation stays connected through every crash and catches up after each.
    const ownerThroughout = owner.conversation(conversationId);
    await waitLive(session, 'the visitor');
    await waitLive(ownerThroughout, "the owner's device");

    const { typed } = await typeThroughKills(k, session, conversationId, [], 'm', 200, kills, rand);
    expect(k.starts, 'the server was killed and restarted as planned').toBe(1 + kills.length);

    const visitorView = await waitFor(session, (s) => unsettled(s) === 0 && stored(s) >= 200, "all 200 of the visitor's messages stored", RECOVERY_MS);
    expectExactly(visitorView, typed, 'visitor');
    const ownerView = await waitFor(ownerThroughout, (s) => stored(s) >= 200, "the owner's device holds 200 messages", RECOVERY_MS);
    expectExactly(ownerView, typed, 'owner (connected throughout)');

    // A device opened afterwards reads the same history from storage, the newest page first, then the older one.
    const fresh = await loadAll(owner.conversation(conversationId, undefined, memoryStore()), 'owner (new device)');
    expectExactly(fresh, typed, 'owner (new device)');
    expect(fresh.messages.every((m) => m.senderRole === 'visitor' && !m.mine)).toBe(true);

    await expectDatabaseHolds(k, conversationId, typed);
  }, 90_000);

  it('keeps a message acknowledged just before the kill, and a new device reads it once', async ({ onTestFailed }) => {
    const text = 'acknowledged, then the server died';
    const { k, owner } = await startKnock(onTestFailed, 'cli');
    const visitor = person(k.url);
    const { session, conversationId, token } = await visitor.knock(OWNER, 'Vera');
    await waitLive(session, 'the visitor');

    session.send(text);
    await waitFor(session, (s) => s.messages[0]?.status === 'sent', 'the message is acknowledged');
    await k.kill(); // the very next thing after the ack: no later write could have made it durable
    await k.start();

    expectExactly(await loadAll(owner.conversation(conversationId, undefined, memoryStore()), 'owner (new device)'), [text], 'owner (new device)');
    expectExactly(await loadAll(visitor.conversation(conversationId, token, memoryStore()), 'visitor (new device)'), [text], 'visitor (new device)');
    // The device that sent it reconnects and neither resends nor doubles it.
    expectExactly(await waitLive(session, 'the sending device'), [text], 'visitor (sending device)');

    await expectDatabaseHolds(k, conversationId, [text]);
  }, 60_000);

  it("keeps the owner's messages in order and the console's unread count right when the server dies while the owner writes", async ({ onTestFailed }) => {
    const rand = randomFor(3);
    const kills = planKills(rand, 60, 1);
    console.info(`[fault/crash] owner kills: ${JSON.stringify(kills)}`);
    const { k, owner: laptop } = await startKnock(onTestFailed); // the owner writes on this device

    const visitor = person(k.url);
    const { session: visitorSession, conversationId } = await visitor.knock(OWNER, 'Vera');
    await waitLive(visitorSession, 'the visitor');
    const fromVisitor = ['v-000', 'v-001', 'v-002'];
    for (const body of fromVisitor) visitorSession.send(body);
    await waitFor(visitorSession, (s) => ownStored(s) === 3, "the visitor's three messages are stored");

    const writing = laptop.conversation(conversationId);
    await waitLive(writing, "the owner's laptop");
    await waitFor(writing, (s) => stored(s) === 3, "the owner's laptop holds the visitor's messages");
    const phone = person(k.url); // a second device with the console open throughout
    await phone.login(OWNER);
    const consoleView = phone.ownerSession(OWNER);
    const summary = (s: OwnerSnapshot): ConversationSummary | undefined => s.conversations.find((c) => c.id === conversationId);
    await waitFor(consoleView, (s) => summary(s)?.unread === 3, 'the console shows 3 unread');

    const { typed } = await typeThroughKills(k, writing, conversationId, fromVisitor, 'o', 60, kills, rand);
    const all = [...fromVisitor, ...typed];

    expectExactly(await waitFor(writing, (s) => unsettled(s) === 0 && stored(s) >= all.length, "all the owner's messages stored", RECOVERY_MS), all, 'owner (writing device)');
    expectExactly(await waitFor(visitorSession, (s) => stored(s) >= all.length, 'the visitor holds every message', RECOVERY_MS), all, 'visitor (connected throughout)');
    // The console reconnected after the crash; its list says what the owner has not read: the visitor's three.
    const listed = await waitFor(
      consoleView,
      (s) => s.connection === 'live' && summary(s)?.lastSeq === all.length,
      `the console lists the conversation at seq ${all.length}`,
      RECOVERY_MS,
    );
    expect(summary(listed)).toMatchObject({ lastSeq: all.length, unread: 3, lastMessage: { body: typed.at(-1), senderRole: 'owner' } });

    // Reading it on the phone clears the count, on the restarted server.
    const onPhone = phone.conversation(conversationId);
    expectExactly(await loadAll(onPhone, 'owner (phone)'), all, 'owner (phone)');
    onPhone.markRead();
    await waitFor(consoleView, (s) => summary(s)?.unread === 0, 'the console shows nothing unread after reading', RECOVERY_MS);

    await expectDatabaseHolds(k, conversationId, all);
  }, 60_000);

  it('resends what was typed before a reload while the server was down, once and in order', async ({ onTestFailed }) => {
    const rand = randomFor(4);
    const { k, owner } = await startKnock(onTestFailed);
    const visitor = person(k.url);
    const { session, conversationId, token } = await visitor.knock(OWNER, 'Vera');
    await waitLive(session, 'the visitor');
    const typed: string[] = [];
    const type = async (on: ConversationSession, body: string): Promise<void> => {
      on.send(body);
      typed.push(body);
      await pause(rand.int(0, 2));
    };

    const beforeKill = rand.int(5, 30);
    for (let i = 0; i < beforeKill; i++) await type(session, `a-${String(i).padStart(3, '0')}`);
    await waitFor(session, (s) => ownStored(s) >= beforeKill - 1, 'all but the newest message acknowledged');
    await k.kill(); // the newest message may be in flight, stored or not
    const whileDown = rand.int(1, 15);
    for (let i = 0; i < whileDown; i++) await type(session, `b-${String(i).padStart(3, '0')}`);

    // The visitor reloads the page while the server is down: a new session over the same browser storage.
    const unacked = session.snapshot().messages.filter((m) => m.status === 'pending').map((m) => m.body);
    await session.close();
    const reloaded = visitor.conversation(conversationId, token);
    expect(reloaded.snapshot().messages.map((m) => m.body), 'the reloaded page shows the unacknowledged messages at once').toEqual(unacked);

    const restarting = k.start();
    restarting.catch(() => undefined); // awaited below
    const afterReload = rand.int(1, 15);
    for (let i = 0; i < afterReload; i++) await type(reloaded, `c-${String(i).padStart(3, '0')}`);
    await restarting;
    console.info(`[fault/crash] reload: ${beforeKill} typed before the kill, ${whileDown} while down, ${afterReload} after the reload`);

    expectExactly(await waitFor(reloaded, (s) => unsettled(s) === 0 && stored(s) >= typed.length, 'every message stored', RECOVERY_MS), typed, 'visitor (reloaded page)');
    expectExactly(await loadAll(owner.conversation(conversationId), 'owner'), typed, 'owner');
    await expectDatabaseHolds(k, conversationId, typed);
  }, 60_000);

  it('loads older messages after the server died while an older page was being fetched', async ({ onTestFailed }) => {
    const { k, owner } = await startKnock(onTestFailed);
    const visitor = person(k.url);
    const { session, conversationId } = await visitor.knock(OWNER, 'Vera');
    await waitLive(session, 'the visitor');
    const typed = range(0, 109).map((i) => `h-${String(i).padStart(3, '0')}`); // one page (100) and some
    for (const body of typed) session.send(body);
    await waitFor(session, (s) => unsettled(s) === 0 && stored(s) === typed.length, '110 messages stored', RECOVERY_MS);

    const device = owner.conversation(conversationId);
    await waitLive(device, "the owner's device");
    expect(device.snapshot().hasOlder).toBe(true);
    expect(stored(device.snapshot()), 'the first join brings the newest page only').toBe(100);

    k.freeze(); // the server will not answer the page request...
    const interrupted = device.loadOlder().then(() => 'settled' as const);
    await k.kill(); // ...and dies with it unanswered
    await waitFor(device, (s) => s.connection === 'reconnecting', 'the device notices the crash');
    // The interrupted load must not hang for ever: the person can scroll up again once back online.
    const gaveUp = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), RECOVERY_MS).unref());
    await k.start();
    expect(await Promise.race([interrupted, gaveUp]), 'the interrupted loadOlder() settles').toBe('settled');

    const view = await loadAll(device, "the owner's device (after the crash)");
    expect(view.loadingOlder, 'not stuck "loading older"').toBe(false);
    expectExactly(view, typed, "the owner's device (after the crash)");
  }, 60_000);
});
