/**
 * Knock exactly as `npm start` runs it (engine/main.ts), but with adapters/colyseus/IndexedDriver.ts as Colyseus's
 * matchmaking driver. engine/app.ts has no hook to pass a driver (it takes Colyseus's from openCoordination), so
 * this entry redirects that one import for this process only (bench/servers/indexedDriverHooks.mjs) and then runs
 * engine/main.ts unchanged. Nothing under engine/ or adapters/ is modified.
 *
 * Run: node --import tsx bench/servers/knockIndexed.ts   (same environment as engine/main.ts)
 */
import { register } from 'node:module';

register(new URL('./indexedDriverHooks.mjs', import.meta.url));
await import('../../engine/main.ts');
