/**
 * IndexedDriver (adapters/colyseus/IndexedDriver.ts) must answer every question Colyseus asks exactly as Colyseus's
 * own LocalDriver does, only without scanning. The property test runs random sequences of what Colyseus does to
 * listings (create, save, updateOne, direct assignment, remove, cleanup, clear) against both drivers side by side
 * and compares every answer; fast-check prints the seed and the shrunk sequence when they differ (CONVENTIONS 14).
 * Then Colyseus's real matchmaker runs on the driver: filterBy, locking when full, disposal. Last, Knock's
 * single-process coordination must hand Colyseus this driver.
 */
import { LocalDriver, LocalPresence, Room, matchMaker, type IRoomCache, type RoomCache, type SortOptions } from '@colyseus/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndexedDriver } from '../../adapters/colyseus/IndexedDriver.ts';
import { openCoordination } from '../../adapters/presence/coordination.ts';

type Conditions = Partial<IRoomCache>;

const field = {
  name: fc.constantFrom('user', 'conversation'),
  handle: fc.constantFrom('alice', 'bob', 'carol'),
  processId: fc.constantFrom('p1', 'p2'),
  bool: fc.boolean(),
};

const conditions: fc.Arbitrary<Conditions> = fc.record(
  {
    name: field.name,
    handle: fc.oneof(field.handle, fc.constant(undefined)),
    processId: field.processId,
    locked: field.bool,
    private: field.bool,
    clients: fc.integer({ min: 0, max: 3 }),
    roomId: fc.integer({ min: 0, max: 12 }).map((i) => `r${i}`),
  },
  { requiredKeys: [] },
).map((c) => ({ ...c })); // fast-check builds null-prototype objects; Colyseus passes plain ones
const sortOptions: fc.Arbitrary<SortOptions | undefined> = fc.constantFrom<SortOptions | undefined>(
  undefined,
  {},
  { clients: 1 },
  { clients: -1 },
  { clients: 'descending', createdAt: 'asc' },
  { maxClients: 'desc', clients: 'ascending' },
);

type Op =
  | { kind: 'create'; name: string; handle: string | undefined; processId: string; createdAt: number; save: boolean }
  | { kind: 'save'; at: number }
  | { kind: 'inc'; at: number; by: number; locked: boolean }
  | { kind: 'assign'; at: number; field: 'locked' | 'private'; value: boolean }
  | { kind: 'maxClients'; at: number; value: number }
  | { kind: 'remove'; at: number }
  | { kind: 'cleanup'; processId: string }
  | { kind: 'clear' }
  | { kind: 'query'; conditions: Conditions; sort: SortOptions | undefined }
  | { kind: 'findOne'; conditions: Conditions; sort: SortOptions | undefined }
  | { kind: 'has'; roomId: string };

const at = fc.nat({ max: 20 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('create' as const), name: field.name, handle: fc.oneof(field.handle, fc.constant(undefined)), processId: field.processId, createdAt: fc.integer({ min: 0, max: 2 }), save: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('save' as const), at }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('inc' as const), at, by: fc.constantFrom(1, -1), locked: field.bool }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('assign' as const), at, field: fc.constantFrom('locked' as const, 'private' as const), value: field.bool }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('maxClients' as const), at, value: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), at }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cleanup' as const), processId: field.processId }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('query' as const), conditions, sort: sortOptions }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('findOne' as const), conditions, sort: sortOptions }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('has' as const), roomId: fc.integer({ min: 0, max: 12 }).map((i) => `r${i}`) }) },
);

/** Applies one op to both drivers; returns what each answered (roomIds), for ops that answer. */
async function step(
  drivers: [LocalDriver, IndexedDriver],
  listings: Array<[RoomCache, RoomCache]>,
  created: { count: number },
  o: Op,
): Promise<[unknown, unknown] | null> {
  const pick = (i: number) => (listings.length === 0 ? undefined : listings[i % listings.length]);
  const ids = (rooms: IRoomCache[]) => rooms.map((r) => r.roomId);
  switch (o.kind) {
    case 'create': {
      const roomId = `r${created.count++}`;
      const pair = drivers.map((d) => {
        // As Colyseus does it: filter values at creation, roomId assigned later, then save().
        const listing = d.createInstance({ name: o.name, processId: o.processId, createdAt: new Date(o.createdAt), ...(o.handle ? { handle: o.handle } : {}) });
        listing.roomId = roomId;
        if (o.save) listing.save();
        return listing;
      }) as [RoomCache, RoomCache];
      listings.push(pair);
      return null;
    }
    case 'save':
      pick(o.at)?.forEach((l) => l.save());
      return null;
    case 'inc':
      pick(o.at)?.forEach((l) => l.updateOne({ $inc: { clients: o.by }, $set: { locked: o.locked } }));
      return null;
    case 'assign':
      pick(o.at)?.forEach((l) => (l[o.field] = o.value));
      return null;
    case 'maxClients':
      pick(o.at)?.forEach((l) => {
        l.maxClients = o.value;
        l.save();
      });
      return null;
    case 'remove': {
      const pair = pick(o.at);
      if (!pair) return null;
      pair.forEach((l) => l.remove());
      // LocalDriver throws on save() after remove(); Colyseus never does it, so neither does this test.
      listings.splice(listings.indexOf(pair), 1);
      return null;
    }
    case 'cleanup': {
      await Promise.all(drivers.map((d) => d.cleanup!(o.processId)));
      // cleanup() removes those listings: like `remove`, they are never touched again.
      const gone = listings.filter(([local]) => local.processId === o.processId);
      for (const pair of gone) listings.splice(listings.indexOf(pair), 1);
      return null;
    }
    case 'clear':
      drivers.forEach((d) => d.clear());
      return null;
    case 'query': {
      const [a, b] = await Promise.all(drivers.map((d) => d.query(o.conditions, o.sort)));
      return [ids(a!), ids(b!)];
    }
    case 'findOne': {
      const [a, b] = await Promise.all(
        drivers.map(async (d) => {
          const found = d.findOne(o.conditions, o.sort) as unknown as PromiseLike<IRoomCache | undefined>;
          return (await found)?.roomId ?? null;
        }),
      );
      return [a, b];
    }
    case 'has':
      return [drivers[0].has(o.roomId), drivers[1].has(o.roomId)];
  }
}

describe('IndexedDriver answers as LocalDriver does', () => {
  it('gives the same rooms, in the same order, for any sequence of listing changes and queries', async () => {
    // fast-check prints the seed and the shrunk counterexample when this fails (CONVENTIONS 14).
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), async (ops) => {
        const drivers: [LocalDriver, IndexedDriver] = [new LocalDriver(), new IndexedDriver()];
        const listings: Array<[RoomCache, RoomCache]> = [];
        const created = { count: 0 };
        for (const [i, o] of ops.entries()) {
          const answers = await step(drivers, listings, created, o);
          if (answers) expect(answers[1], `op #${i} ${JSON.stringify(o)}`).toEqual(answers[0]);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('serializes a listing to the same JSON as LocalDriver (the seat reservation carries it to the client)', () => {
    const values = { name: 'user', processId: 'p1', handle: 'alice', publicAddress: '127.0.0.1:8080', createdAt: new Date(5) };
    const [local, indexed] = [new LocalDriver(), new IndexedDriver()].map((d) => {
      const listing = d.createInstance(values);
      listing.roomId = 'r1';
      listing.maxClients = 10;
      listing.save();
      listing.updateOne({ $inc: { clients: 2 }, $set: { locked: true } });
      return listing;
    });
    expect(JSON.parse(JSON.stringify(indexed))).toEqual(JSON.parse(JSON.stringify(local)));
    expect({ ...indexed }).toEqual({ ...local });
  });

  it('finds a listing only once it is saved, and never after it is removed', async () => {
    const driver = new IndexedDriver();
    const listing = driver.createInstance({ name: 'user', handle: 'alice' });
    listing.roomId = 'r1';
    expect(driver.has('r1')).toBe(false);
    expect(await driver.findOne({ handle: 'alice' })).toBeUndefined();

    listing.save();
    expect(driver.has('r1')).toBe(true);
    expect((await driver.findOne({ name: 'user', handle: 'alice', locked: false }))?.roomId).toBe('r1');

    listing.remove();
    listing.save(); // a disposed room must not come back (LocalDriver would throw here)
    expect(driver.has('r1')).toBe(false);
    expect(driver.query({})).toEqual([]);
    expect(driver.size).toBe(0);
  });

  it('sees a room locked by direct assignment (as Room.maxClients does) and unlocked by updateOne', async () => {
    const driver = new IndexedDriver();
    const listing = driver.createInstance({ name: 'user', handle: 'alice' });
    listing.roomId = 'r1';
    listing.save();
    listing.locked = true;
    expect(await driver.findOne({ name: 'user', handle: 'alice', locked: false })).toBeUndefined();
    listing.updateOne({ $set: { locked: false } });
    expect((await driver.findOne({ name: 'user', handle: 'alice', locked: false }))?.roomId).toBe('r1');
  });

  it('re-indexes an identity field that changes after save()', async () => {
    const driver = new IndexedDriver();
    const first = driver.createInstance({ name: 'user', handle: 'alice' });
    first.roomId = 'r1';
    first.save();
    const second = driver.createInstance({ name: 'user', handle: 'bob' });
    second.roomId = 'r2';
    second.save();
    first.handle = 'bob';
    expect(await driver.findOne({ handle: 'alice' })).toBeUndefined();
    // Listing order stays the order of first save(): r1 before r2.
    expect(driver.query({ handle: 'bob' }).map((r) => r.roomId)).toEqual(['r1', 'r2']);
    first.updateOne({ $set: { handle: 'carol' } });
    expect(driver.query({ handle: 'bob' }).map((r) => r.roomId)).toEqual(['r2']);
    expect((await driver.findOne({ handle: 'carol' }))?.roomId).toBe('r1');
  });

  it('lets findOne be sorted after the call, as LocalDriver\u2019s Query can', async () => {
    const driver = new IndexedDriver();
    for (const [roomId, clients] of [['r1', 1], ['r2', 3], ['r3', 2]] as const) {
      const listing = driver.createInstance({ name: 'user', clients });
      listing.roomId = roomId;
      listing.save();
    }
    const query = driver.findOne({ name: 'user' }) as unknown as { sort(o: SortOptions): unknown } & PromiseLike<IRoomCache>;
    query.sort({ clients: -1 });
    expect((await query).roomId).toBe('r2');
  });

  it('removes exactly one process\u2019s rooms on cleanup, and everything on clear', async () => {
    const driver = new IndexedDriver();
    const old = [];
    for (let i = 0; i < 6; i++) {
      const listing = driver.createInstance({ name: 'user', processId: i % 2 === 0 ? 'a' : 'b' });
      listing.roomId = `r${i}`;
      listing.save();
      old.push(listing);
    }
    await driver.cleanup('a');
    expect(driver.query({}).map((r) => r.roomId)).toEqual(['r1', 'r3', 'r5']);
    driver.clear();
    expect(driver.query({})).toEqual([]);
    old[1]!.save(); // a listing from before clear() belongs to no driver any more
    expect(driver.has('r1')).toBe(false);
  });
});

describe('IndexedDriver under Colyseus\u2019s matchmaker', () => {
  const driver = new IndexedDriver();

  class UrlRoom extends Room {
    override maxClients = 2;
    override onCreate(): void {}
  }

  beforeAll(async () => {
    await matchMaker.setup(new LocalPresence(), driver);
    matchMaker.defineRoomType('url', UrlRoom).filterBy(['handle']);
    await matchMaker.accept();
  });
  afterAll(async () => {
    await matchMaker.gracefullyShutdown().catch(() => undefined);
  });

  it('matches by filterBy value, opens a second room when the first is full, and unlists disposed rooms', async () => {
    const a1 = await matchMaker.joinOrCreate('url', { handle: 'alice' });
    const a2 = await matchMaker.joinOrCreate('url', { handle: 'alice' });
    const b1 = await matchMaker.joinOrCreate('url', { handle: 'bob' });
    expect(a2.room.roomId).toBe(a1.room.roomId);
    expect(b1.room.roomId).not.toBe(a1.room.roomId);

    // Two seats reserved of maxClients 2: Colyseus locks the room, and the next person gets a new one.
    const a3 = await matchMaker.joinOrCreate('url', { handle: 'alice' });
    expect(a3.room.roomId).not.toBe(a1.room.roomId);
    expect((await matchMaker.query({ name: 'url', handle: 'alice' })).map((r) => r.roomId)).toEqual([a1.room.roomId, a3.room.roomId]);
    expect((await matchMaker.getRoomById(b1.room.roomId))?.roomId).toBe(b1.room.roomId);

    await matchMaker.getLocalRoomById(b1.room.roomId)!.disconnect();
    expect(driver.has(b1.room.roomId)).toBe(false);
    expect(await matchMaker.query({ name: 'url', handle: 'bob' })).toEqual([]);
  });
});

describe('Knock in one process', () => {
  it('lists its rooms in the IndexedDriver, not Colyseus\u2019s LocalDriver', async () => {
    const { driver, kind } = await openCoordination(undefined, { error: () => undefined });
    expect(kind).toBe('local');
    expect(driver).toBeInstanceOf(IndexedDriver);
  });
});
