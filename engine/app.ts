/**
 * The composition root: builds every long-lived object of one Knock process from its config, wires them, and
 * closes them in reverse order (CONVENTIONS 11). Nothing else constructs adapters.
 *
 * @example
 *   const knock = await createKnock(parseConfig({ port: 0, dataDir: '/tmp/knock' }), { logger });
 *   await knock.listen();
 *   console.log(knock.url); // http://127.0.0.1:41234
 *   await knock.close();
 */
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, LocalPresence, matchMaker } from '@colyseus/core';
import { WebSocketTransport } from '@colyseus/ws-transport';
import { SqliteStorage } from '../adapters/storage/sqlite/SqliteStorage.ts';
import { conversationRoomClass } from '../rooms/conversation/ConversationRoom.ts';
import { userRoomClass } from '../rooms/user/UserRoom.ts';
import type { RoomDeps } from '../rooms/deps.ts';
import { Accounts } from './accounts.ts';
import { Auth } from './auth.ts';
import type { KnockConfig } from './config.ts';
import { Hub } from './hub.ts';
import { Api } from './http/api.ts';
import { originChecker } from './http/origin.ts';
import { HttpHandler } from './http/server.ts';
import type { Logger } from './logger.ts';
import { systemClock, type Clock } from './ports/clock.ts';
import type { Storage } from './ports/storage.ts';

export const defaultAssetsDir = fileURLToPath(new URL('../client/dist/', import.meta.url));

export interface Knock {
  readonly storage: Storage;
  readonly accounts: Accounts;
  /** http://host:port once listening. */
  readonly url: string;
  listen(): Promise<void>;
  close(): Promise<void>;
}

export function openStorage(config: KnockConfig): Storage {
  return SqliteStorage.open({ file: path.join(config.dataDir, 'knock.db') });
}

export async function createKnock(config: KnockConfig, opts: { logger: Logger; clock?: Clock }): Promise<Knock> {
  const { logger } = opts;
  const clock = opts.clock ?? systemClock;
  const storage = openStorage(config);
  const presence = new LocalPresence();
  const hub = new Hub(presence);
  const auth = new Auth(storage, clock, config.sessionTtlMs);
  const accounts = new Accounts(storage, clock);
  const isAllowedOrigin = originChecker(config.publicUrl);
  const secureCookies = config.secureCookies ?? config.publicUrl?.startsWith('https:') ?? false;
  let ready = false;

  const api = new Api({ storage, auth, accounts, hub, clock, config, secureCookies });
  const http_ = new HttpHandler({
    api,
    storage,
    logger: logger.child({ module: 'http' }),
    assetsDir: config.assetsDir ?? defaultAssetsDir,
    trustProxy: config.trustProxy,
    hsts: secureCookies,
    isAllowedOrigin,
    isReady: () => ready,
  });
  const httpServer = http.createServer(http_.listener);
  const transport = new WebSocketTransport({
    server: httpServer,
    maxPayload: config.maxFrameBytes,
    pingInterval: config.pingIntervalMs,
    pingMaxRetries: 1,
    verifyClient: (info: { origin: string; req: http.IncomingMessage }) => isAllowedOrigin(info.origin || undefined, info.req.headers.host),
  });
  const colyseusLog = logger.child({ module: 'colyseus' });
  const gameServer = new Server({
    transport,
    presence,
    gracefullyShutdown: false,
    greet: false,
    logger: {
      debug: (...args: unknown[]) => colyseusLog.debug(args.map(String).join(' ')),
      info: (...args: unknown[]) => colyseusLog.info(args.map(String).join(' ')),
      warn: (...args: unknown[]) => colyseusLog.warn(args.map(String).join(' ')),
      error: (...args: unknown[]) => colyseusLog.error(args.map(String).join(' ')),
    },
  });
  // Colyseus keeps its matchmaker in module state, one per process; this is its documented hook for CORS.
  // Credentialed matchmaking is allowed only for our own pages.
  delete (matchMaker.controller.DEFAULT_CORS_HEADERS as Record<string, string>)['Access-Control-Allow-Origin'];
  matchMaker.controller.getCorsHeaders = (req: http.IncomingMessage): Record<string, string> => {
    const origin = req.headers.origin;
    return origin && isAllowedOrigin(origin, req.headers.host) ? { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' } : {};
  };

  const roomDeps: RoomDeps = { storage, hub, auth, clock, logger, config, isAllowedOrigin };
  gameServer.define('user', userRoomClass(roomDeps)).filterBy(['handle']);
  gameServer.define('conversation', conversationRoomClass(roomDeps)).filterBy(['conversationId']);

  let url = '';
  let closed: Promise<void> | null = null;
  return {
    storage,
    accounts,
    get url() {
      return url;
    },
    async listen() {
      await gameServer.listen(config.port, config.host);
      const address = httpServer.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
      url = `http://${host}:${port}`;
      ready = true;
      logger.info({ url, dataDir: config.dataDir }, 'Knock is listening');
    },
    close() {
      closed ??= (async () => {
        ready = false;
        await gameServer.gracefullyShutdown(false);
        httpServer.closeAllConnections();
        await storage.close();
        logger.info('Knock stopped');
      })();
      return closed;
    },
  };
}
