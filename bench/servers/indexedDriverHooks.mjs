/**
 * Module resolution hook for bench/servers/knockIndexed.ts (registered there with node:module `register`): when
 * engine/app.ts imports the coordination adapter, it gets bench/servers/indexedCoordination.ts instead, which hands
 * Colyseus the IndexedDriver. Every other import resolves as usual. Plain JavaScript: hooks modules load in
 * Node's loader thread, before any TypeScript loader could apply to them.
 */
const COORDINATION = '/adapters/presence/coordination.ts';
const replacement = new URL('./indexedCoordination.ts', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (specifier.endsWith(COORDINATION) && context.parentURL?.endsWith('/engine/app.ts')) {
    return nextResolve(replacement, context);
  }
  return nextResolve(specifier, context);
}
