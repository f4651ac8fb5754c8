/**
 * UserLogic without Colyseus: the owner's presence (how many devices are online), what visitors see of it, and
 * the owner's live conversation list. Real in-memory SQLite; the hub is a recording fake of its two methods
 * the logic uses (the Hub itself is a thin face over Colyseus Presence, exercised by the integration tests).
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStorage } from '../../adapters/storage/sqlite/SqliteStorage.ts';
import { CloseCode } from '../../engine/errors.ts';
import { createLogger, type Logger } from '../../engine/logger.ts';
import type { Account } from '../../engine/ports/storage.ts';
import type { ConversationSummary, UserServerMessages } from '../../engine/protocol.ts';
import { UserLogic, type UserDeps } from '../../rooms/user/userLogic.ts';
import { ManualClock, T0, deferred, gatedStorage, makePeer, settle, type GatedStorage, type TestPeer } from '../support/roomHarness.ts';

type UPeer = TestPeer<UserServerMessages>;

/** Records presence writes; `isOnline` answers from what was written unless a test answers it by hand. */
class RecordingHub implements Pick<UserDeps['hub'], 'setOnline' | 'renewOnline' | 'isOnline'> {
  readonly writes: Array<[string, boolean]> = [];
  /** Handles whose lease was renewed, in order. */
  readonly renewals: string[] = [];
  readonly online = new Set<string>();
  /** When set, the next isOnline calls wait for the test to answer them. */
  pendingAnswers: Array<(online: boolean) => void> | null = null;
  failWrites = false;

  async setOnline(handle: string, online: boolean): Promise<void> {
    if (this.failWrites) throw new Error('presence store unavailable');
    this.writes.push([handle, online]);
    if (online) this.online.add(handle);
    else this.online.delete(handle);
  }

  async renewOnline(handle: string): Promise<void> {
    if (this.failWrites) throw new Error('presence store unavailable');
    this.renewals.push(handle);
    this.online.add(handle); // as a lease does: renewing an expired one makes the owner online again
  }

  isOnline(handle: string): Promise<boolean> {
    if (this.pendingAnswers) {
      const answer = deferred<boolean>();
      this.pendingAnswers.push(answer.resolve);
      return answer.promise;
    }
    return Promise.resolve(this.online.has(handle));
  }
}

interface Fixture {
  storage: SqliteStorage;
  gated: GatedStorage;
  hub: RecordingHub;
  account: Account;
  logic: UserLogic;
  owner(id: string, sessionHash?: string): UPeer;
  visitor(id: string): UPeer;
}

let f: Fixture;
const clock = new ManualClock();

async function setup(opts: { logger?: Logger } = {}): Promise<Fixture> {
  const storage = SqliteStorage.open({ file: ':memory:' });
  const gated = gatedStorage(storage);
  const hub = new RecordingHub();
  const account = await storage.createAccount({ handle: 'alice', displayName: 'Alice', passwordHash: 'not-a-hash', at: T0 });
  const logic = new UserLogic({ storage: gated.storage, hub, logger: opts.logger ?? createLogger('silent') }, account);
  f = {
    storage,
    gated,
    hub,
    account,
    logic,
    owner: (id, sessionHash = 'session-1') =>
      makePeer(id, { role: 'owner', participantId: null, accountId: account.id, sessionHash, name: 'Alice' }, clock),
    visitor: (id) => makePeer(id, { role: 'visitor', participantId: null, accountId: null, sessionHash: null, name: '' }, clock),
  };
  return f;
}

async function joined(peer: UPeer): Promise<UPeer> {
  await f.logic.join(peer);
  return peer;
}

function summary(id: string, unread: number): ConversationSummary {
  return { id, visitorName: 'Vic', lastSeq: unread, lastMessage: null, unread, updatedAt: T0 + unread };
}

afterEach(async () => {
  await f.logic.dispose();
  await f.storage.close();
});

describe('UserLogic owner presence', () => {
  it('gives an owner of another account neither this console nor this owner’s presence, and closes it', async () => {
    await setup();
    const mallory = await f.storage.createAccount({ handle: 'mallory', displayName: 'Mallory', passwordHash: 'not-a-hash', at: T0 });
    const intruder = makePeer<UserServerMessages>('intruder', { role: 'owner', participantId: null, accountId: mallory.id, sessionHash: 's-m', name: 'Mallory' }, clock);
    await f.logic.join(intruder);
    await settle();

    expect(intruder.transport.of('welcome')).toEqual([]);
    expect(intruder.transport.closes).toEqual([{ code: CloseCode.forbidden, reason: expect.any(String) }]);
    expect(f.hub.writes).toEqual([]);
    expect(f.logic.peerCount).toBe(0);
  });

  it('marks the owner online exactly once when the first device joins', async () => {
    await setup();
    await joined(f.owner('phone'));
    await joined(f.owner('laptop'));
    await settle();

    expect(f.hub.writes).toEqual([['alice', true]]);
  });

  it('marks the owner offline when the last device leaves, not before', async () => {
    await setup();
    await joined(f.owner('phone'));
    await joined(f.owner('laptop'));
    f.logic.leave('phone');
    await settle();
    expect(f.hub.writes).toEqual([['alice', true]]);

    f.logic.leave('laptop');
    await settle();
    expect(f.hub.writes).toEqual([['alice', true], ['alice', false]]);
  });

  it('keeps the owner online after a quick leave and join of two devices', async () => {
    await setup();
    await joined(f.owner('phone'));
    f.logic.leave('phone');
    await joined(f.owner('laptop'));
    await settle();

    expect(f.hub.writes.at(-1)).toEqual(['alice', true]);
    expect(f.hub.online.has('alice')).toBe(true);
  });

  it('ignores visitors when counting the owner\u2019s devices', async () => {
    await setup();
    await joined(f.visitor('v1'));
    f.logic.leave('v1');
    await settle();

    expect(f.hub.writes).toEqual([]);
  });

  it('marks the owner offline when disposed with devices still connected, and only then', async () => {
    await setup();
    await joined(f.owner('phone'));
    await f.logic.dispose();
    expect(f.hub.writes).toEqual([['alice', true], ['alice', false]]);

    await f.logic.dispose();
    expect(f.hub.writes).toHaveLength(2);
  });

  it('logs a presence write that fails and keeps serving', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
    await setup({ logger: createLogger('error', sink) });
    f.hub.failWrites = true;

    const phone = await joined(f.owner('phone'));
    await settle();

    expect(phone.transport.types()).toEqual(['welcome']);
    expect(lines.join('')).toMatch(/could not record presence/);
  });
});

describe('UserLogic welcome', () => {
  it('gives an owner device their account and conversation list', async () => {
    await setup();
    for (const name of ['Vic', 'Val']) {
      await f.storage.createConversation({ ownerAccountId: f.account.id, tokenHash: `hash-${name}`, visitorName: name, at: T0 });
    }
    const phone = await joined(f.owner('phone'));

    const [welcome] = phone.transport.of('welcome');
    expect(welcome).toMatchObject({ role: 'owner', account: { handle: 'alice', displayName: 'Alice' }, online: true });
    expect(welcome?.role === 'owner' && welcome.conversations.map((c) => c.visitorName).sort()).toEqual(['Val', 'Vic']);
    expect(phone.state.kind).toBe('active');
  });

  it('tells a visitor the owner is offline when no device of theirs is connected', async () => {
    await setup();
    const visitor = await joined(f.visitor('v'));

    expect(visitor.transport.of('welcome')).toEqual([{ role: 'visitor', owner: { handle: 'alice', displayName: 'Alice' }, online: false }]);
    expect(visitor.state.kind).toBe('active');
  });

  it('tells a visitor the owner is online when one of their devices is connected here', async () => {
    await setup();
    await joined(f.owner('phone'));
    const visitor = await joined(f.visitor('v'));

    expect(visitor.transport.of('welcome')[0]).toMatchObject({ role: 'visitor', online: true });
  });

  it('tells a visitor the owner is online when their device is connected to another server process', async () => {
    await setup();
    f.hub.online.add('alice');
    const visitor = await joined(f.visitor('v'));

    expect(visitor.transport.of('welcome')[0]).toMatchObject({ role: 'visitor', online: true });
  });

  it('tells a visitor who joins while the owner comes online that the owner is online, whatever order the answers come in', async () => {
    await setup();
    f.hub.pendingAnswers = [];
    const visitor = f.visitor('v');
    const joining = f.logic.join(visitor);
    await settle();

    // The owner comes online (through another process) after the presence read was made, before it answered.
    f.logic.onPresenceEvent({ type: 'online', online: true });
    f.hub.pendingAnswers.shift()?.(false);
    await joining;

    expect(visitor.transport.types()[0]).toBe('welcome');
    const told = visitor.transport.sent.flatMap((s) => (s.type === 'presence' || s.type === 'welcome' ? [s.payload.online] : []));
    expect(told.at(-1)).toBe(true);
  });

  it('sends an owner device the conversation updates that arrive while it joins after its welcome', async () => {
    await setup();
    const list = f.gated.hold('listConversations', 'after');
    const phone = f.owner('phone');
    const joining = f.logic.join(phone);
    await list.entered;

    f.logic.onOwnerEvent({ type: 'conversation', summary: summary('c-new', 1) });
    list.release();
    await joining;

    // The browser replaces its list with the welcome's: an update sent before it would be lost.
    expect(phone.transport.types()).toEqual(['welcome', 'conversation']);
  });
});

describe('UserLogic events', () => {
  it('relays the owner\u2019s presence to visitors only', async () => {
    await setup();
    const phone = await joined(f.owner('phone'));
    const v1 = await joined(f.visitor('v1'));
    const v2 = await joined(f.visitor('v2'));

    f.logic.onPresenceEvent({ type: 'online', online: false });

    expect(v1.transport.of('presence')).toEqual([{ online: false }]);
    expect(v2.transport.of('presence')).toEqual([{ online: false }]);
    expect(phone.transport.of('presence')).toEqual([]);
  });

  it('closes the owner devices of an ended session with the logged-out close code, and nothing else', async () => {
    await setup();
    const phone = await joined(f.owner('phone', 'session-phone'));
    const laptop = await joined(f.owner('laptop', 'session-laptop'));
    const visitor = await joined(f.visitor('v'));

    f.logic.onPresenceEvent({ type: 'sessionEnded', sessionHash: 'session-phone' });

    expect(phone.transport.closes).toEqual([{ code: CloseCode.loggedOut, reason: expect.any(String) }]);
    expect(laptop.transport.closes).toEqual([]);
    expect(visitor.transport.closes).toEqual([]);
    expect(visitor.transport.of('presence')).toEqual([]);
  });

  it('relays conversation summaries to owner devices only', async () => {
    await setup();
    const phone = await joined(f.owner('phone'));
    const laptop = await joined(f.owner('laptop'));
    const visitor = await joined(f.visitor('v'));

    f.logic.onOwnerEvent({ type: 'conversation', summary: summary('c1', 2) });

    expect(phone.transport.of('conversation')).toEqual([summary('c1', 2)]);
    expect(laptop.transport.of('conversation')).toEqual([summary('c1', 2)]);
    expect(visitor.transport.types()).toEqual(['welcome']);
  });

  it('stops sending to a device that left', async () => {
    await setup();
    const phone = await joined(f.owner('phone'));
    const visitor = await joined(f.visitor('v'));
    f.logic.leave('phone');
    f.logic.leave('v');

    f.logic.onOwnerEvent({ type: 'conversation', summary: summary('c1', 1) });
    f.logic.onPresenceEvent({ type: 'online', online: false });

    expect(phone.transport.types()).toEqual(['welcome']);
    expect(visitor.transport.types()).toEqual(['welcome']);
    expect(f.logic.peerCount).toBe(0);
  });
});

describe('UserLogic presence across processes', () => {
  it('renews the owner\u2019s lease on every tick while a device is here, and no more once the last one left', async () => {
    await setup();
    await joined(f.owner('phone'));
    await f.logic.tick();
    await f.logic.tick();
    expect(f.hub.renewals).toEqual(['alice', 'alice']);

    f.logic.leave('phone');
    await f.logic.tick();
    await settle();
    expect(f.hub.renewals, 'a lease renewed after "offline" would show a gone owner online').toEqual(['alice', 'alice']);
    expect(f.hub.writes.at(-1)).toEqual(['alice', false]);
  });

  it('never renews after the "offline" of a leave, even when the tick came first', async () => {
    await setup();
    await joined(f.owner('phone'));
    await settle();
    const ticked = f.logic.tick(); // the renewal waits its turn in the write queue...
    f.logic.leave('phone'); // ...and the leave comes before that turn
    await ticked;
    await settle();

    expect(f.hub.renewals).toEqual([]);
    expect(f.hub.online.has('alice')).toBe(false);
    expect(f.hub.writes.at(-1)).toEqual(['alice', false]);
  });

  it('tells visitors the owner went offline when a tick finds the lease expired (their process died without a word)', async () => {
    await setup();
    f.hub.online.add('alice'); // the owner's devices are in a UserRoom that lived on another process
    const visitor = await joined(f.visitor('v'));
    expect(visitor.transport.of('welcome')[0]).toMatchObject({ online: true });

    f.hub.online.delete('alice'); // that process was killed; its lease expired
    await f.logic.tick();

    expect(visitor.transport.of('presence')).toEqual([{ online: false }]);
    expect(f.hub.renewals, 'a room without the owner\u2019s devices renews nothing').toEqual([]);
  });

  it('tells each visitor a change once, though the event and a re-read both bring it', async () => {
    await setup();
    const visitor = await joined(f.visitor('v'));
    f.hub.online.add('alice');
    f.logic.onPresenceEvent({ type: 'online', online: true });
    await f.logic.tick();

    expect(visitor.transport.of('welcome')[0]).toMatchObject({ online: false });
    expect(visitor.transport.of('presence')).toEqual([{ online: true }]);
  });

  it('logs a renewal that fails and keeps serving', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
    await setup({ logger: createLogger('error', sink) });
    await joined(f.owner('phone'));
    await settle();
    f.hub.failWrites = true;

    await f.logic.tick();

    expect(lines.join('')).toMatch(/could not renew presence/);
  });
});
