/**
 * The matchmaking driver alone, in this process (no sockets): what Colyseus asks of it per join with N rooms open.
 * - find: findOne({ locked: false, name, private: false, handle }) of an open room (joinOrCreate on an open URL);
 * - create: a findOne that misses, then createInstance + save, then remove (a URL activated, later disposed).
 * LocalDriver copies and scans its array on each findOne; IndexedDriver looks the filter value up.
 */
import { LocalDriver, type MatchMakerDriver } from '@colyseus/core';
import { IndexedDriver } from '../../adapters/colyseus/IndexedDriver.ts';
import type { DriverMicroPoint } from '../results.ts';
import type { BenchContext } from './context.ts';

const drivers = { LocalDriver: () => new LocalDriver(), IndexedDriver: () => new IndexedDriver() } as const;

function fill(driver: MatchMakerDriver, rooms: number): void {
  for (let i = 0; i < rooms; i++) {
    const listing = driver.createInstance({ name: 'user', processId: 'bench', handle: `open${i}` });
    listing.roomId = `room${i}`;
    listing.save();
  }
}

/** Runs `op` up to `operations` times or for `maxMs`, whichever ends first; returns operations per second. */
async function rate(operations: number, maxMs: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  let done = 0;
  while (done < operations && performance.now() - start < maxMs) await op(done++);
  return done / ((performance.now() - start) / 1000);
}

export async function measureDrivers(ctx: BenchContext): Promise<DriverMicroPoint[]> {
  const { sizes, operations, maxMs } = ctx.mode.driverMicro;
  const points: DriverMicroPoint[] = [];
  // A first pass at a small size compiles the code paths (JIT), so the first measured point is not a cold one.
  for (const warm of [true, false]) for (const rooms of warm ? [100] : sizes) {
    for (const [name, make] of Object.entries(drivers) as Array<[keyof typeof drivers, () => MatchMakerDriver]>) {
      const driver = make();
      fill(driver, rooms);
      const findPerSec = await rate(operations, maxMs, (i) =>
        driver.findOne({ locked: false, name: 'user', private: false, handle: `open${rooms === 0 ? 0 : i % rooms}` }),
      );
      const createPerSec = await rate(operations, maxMs, async (i) => {
        const handle = `new${i}`;
        if (await driver.findOne({ locked: false, name: 'user', private: false, handle })) throw new Error('unexpected room');
        const listing = driver.createInstance({ name: 'user', processId: 'bench', handle });
        listing.roomId = `new-room${i}`;
        listing.save();
        listing.remove();
      });
      if (!warm) points.push({ driver: name, rooms, findPerSec, createPerSec });
    }
    if (warm) continue;
    const [local, indexed] = points.slice(-2);
    ctx.log(`drivers with ${rooms} rooms: find ${Math.round(local!.findPerSec)}/s vs ${Math.round(indexed!.findPerSec)}/s; create+remove ${Math.round(local!.createPerSec)}/s vs ${Math.round(indexed!.createPerSec)}/s (LocalDriver vs IndexedDriver)`);
  }
  return points;
}
