/**
 * adapters/presence/coordination.ts as the bench's Knock-with-IndexedDriver sees it: the same module, except that a
 * single process (no REDIS_URL) gets adapters/colyseus/IndexedDriver.ts instead of Colyseus's LocalDriver. This is
 * the one-line change proposed for coordination.ts itself (see bench/README.md, "Wiring the IndexedDriver").
 */
import { IndexedDriver } from '../../adapters/colyseus/IndexedDriver.ts';
import { openCoordination as openColyseusCoordination, type Coordination } from '../../adapters/presence/coordination.ts';

export * from '../../adapters/presence/coordination.ts';

export async function openCoordination(...args: Parameters<typeof openColyseusCoordination>): Promise<Coordination> {
  const coordination = await openColyseusCoordination(...args);
  if (coordination.kind !== 'local') return coordination;
  process.stderr.write('bench: IndexedDriver in use\n');
  return { ...coordination, driver: new IndexedDriver() };
}
