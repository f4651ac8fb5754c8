/**
 * Matchmaking over HTTP, `POST /_/matchmake/joinOrCreate/<room type>`: the first half of every room join
 * (colyseus.js asks here for a seat, then opens the room's socket). Colyseus 0.16 would serve this itself on any URL
 * containing "/matchmake", reading whole bodies of any size, never answering some methods, with no rate limit, and
 * exposing `create`, `join`, `joinById` and `reconnect` too. Knock serves it here instead, under its own limits:
 * - only `joinOrCreate`, the one call Knock's clients make: `create` made a second room for a game or a handle,
 *   `joinById` seated a client in a room its options were never checked for (rooms re-check it too: knockRoom.ts);
 * - POST with a JSON body of at most MAX_BODY_BYTES (OPTIONS answered for allowed origins), anything else 405;
 * - the Origin rule of the HTTP API and the WebSocket handshake;
 * - `matchmakesPerIp` requests per client address.
 * Refusals of the route itself carry an HTTP status. Refusals by a room (its `onAuth`, its creation) are answered as
 * colyseus.js expects them, 200 with `{ code, error }`, so the client learns Knock's code (`forbidden`,
 * `not_found`, `unavailable`) and knows whether trying again can help.
 *
 * @example
 *   const matchmaking = new Matchmaking({ joinOrCreate: matchMaker.joinOrCreate, roomNames: new Set(['user']), ... });
 *   if (Matchmaking.owns(pathname)) return matchmaking.serve(req, res, pathname, ip);
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { getBearerToken } from '@colyseus/core';
import { z } from 'zod';
import { KnockError, errorCodes } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Clock } from '../ports/clock.ts';
import type { RateLimitConfig } from '../config.ts';
import { KeyedRateLimiter } from '../rateLimit.ts';
import { MATCHMAKE_PREFIX } from '../protocol.ts';
import { readJson, sendJson } from './io.ts';

/** Join options are a few ids and a token: far below this. */
export const MAX_BODY_BYTES = 4096;
const joinOptions = z.record(z.string(), z.unknown());

export interface AuthContextOut {
  token: string | undefined;
  headers: IncomingHttpHeaders;
  ip: string;
  req: IncomingMessage;
}

export interface MatchmakingDeps {
  /** Colyseus's `matchMaker.joinOrCreate`. */
  joinOrCreate(roomName: string, options: Record<string, unknown>, auth: AuthContextOut): Promise<unknown>;
  /** The room types clients may join. */
  roomNames: ReadonlySet<string>;
  isAllowedOrigin(origin: string | undefined, host: string | undefined): boolean;
  rate: RateLimitConfig;
  clock: Clock;
  logger: Logger;
  /** False while starting and stopping: no room is made or joined in a process that is going away. */
  isReady(): boolean;
}

const isKnockCode = (code: unknown): code is string => typeof code === 'string' && (errorCodes as readonly string[]).includes(code);

export class Matchmaking {
  private readonly perIp: KeyedRateLimiter;

  constructor(private readonly deps: MatchmakingDeps) {
    this.perIp = new KeyedRateLimiter(deps.rate, deps.clock);
  }

  static owns(pathname: string): boolean {
    return pathname.startsWith(MATCHMAKE_PREFIX);
  }

  /** Answers one request under MATCHMAKE_PREFIX; throws KnockErrors for the caller to answer (with their status). */
  async serve(req: IncomingMessage, res: ServerResponse, pathname: string, ip: string): Promise<void> {
    const origin = req.headers.origin;
    const allowed = this.deps.isAllowedOrigin(origin, req.headers.host);
    const cors: Record<string, string> = origin && allowed
      ? { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' }
      : {};
    if (req.method === 'OPTIONS') {
      if (!allowed) throw new KnockError('forbidden', 'Requests from other sites are not allowed.');
      res.writeHead(204, {
        ...cors,
        'Access-Control-Allow-Methods': 'POST',
        'Access-Control-Allow-Headers': 'Content-Type, Accept, Authorization',
        'Access-Control-Max-Age': '600',
      });
      return void res.end();
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST, OPTIONS');
      throw new KnockError('method_not_allowed', 'Matchmaking takes POST only.');
    }
    if (!allowed) throw new KnockError('forbidden', `Connections from ${origin ?? 'this page'} are not allowed.`);
    if (!this.deps.isReady()) throw new KnockError('unavailable', 'The server is restarting. Trying again…');
    this.perIp.takeOrThrow(ip, 'Joins from your address');
    const [method, roomName, ...rest] = pathname.slice(MATCHMAKE_PREFIX.length).split('/');
    if (method !== 'joinOrCreate' || rest.length > 0) throw new KnockError('not_found', 'No such matchmaking call.');
    if (roomName === undefined || !this.deps.roomNames.has(roomName)) throw new KnockError('not_found', 'No such room type.');
    const options = await readJson(req, joinOptions, MAX_BODY_BYTES);
    const auth: AuthContextOut = { token: getBearerToken(req.headers.authorization ?? ''), headers: req.headers, ip, req };
    let answer: unknown;
    try {
      answer = await this.deps.joinOrCreate(roomName, options, auth);
    } catch (err) {
      answer = this.refusal(err, roomName);
    }
    sendJson(res, 200, answer, cors);
  }

  /** A room's refusal, in colyseus.js's shape. Colyseus's own errors keep their numeric codes, not their wording. */
  private refusal(err: unknown, roomName: string): { code: string | number; error: string } {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    if (isKnockCode(code)) return { code, error: message };
    this.deps.logger.warn({ err, roomName }, 'matchmaking failed');
    if (typeof code === 'number') return { code, error: 'The room could not be joined right now. Trying again\u2026' };
    return { code: 'internal', error: 'Something went wrong on the server. Please try again.' };
  }
}
