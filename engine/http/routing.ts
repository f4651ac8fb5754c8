/**
 * What every JSON API under /_/api/ does with a request (engine/http/api.ts, channelsApi.ts, mailApi.ts,
 * companyApi.ts): its `match` picks a handler by method and path, `route` runs it, or answers false so the server
 * asks the next API. Errors propagate to the server, which answers them (engine/http/io.ts sendError).
 *
 * @example
 *   async route(r: RequestInfo, path: string): Promise<boolean> {
 *     return runMatched(this.match(r.req.method ?? 'GET', path, r));
 *   }
 */

/** The work of one request, found by an API's `match`. */
export type Handler = () => Promise<void> | void;

/** Runs the handler found; false when none was (no route of this API matches). */
export async function runMatched(handler: Handler | null): Promise<boolean> {
  if (!handler) return false;
  await handler();
  return true;
}

/** A path segment, percent-decoded; as it came when it is not valid percent-encoding (then it names nothing). */
export function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
