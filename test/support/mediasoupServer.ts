/**
 * A MediasoupRouter with its signalling socket on a bare HTTP server on 127.0.0.1, for the adapter's own tests and
 * the MediaRouter contract (the whole of Knock is not needed to check the SFU's passes).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MediasoupRouter } from '../../adapters/media/mediasoup/MediasoupRouter.ts';
import { SfuSignalling } from '../../adapters/media/mediasoup/sfuSignalling.ts';
import { createLogger } from '../../engine/logger.ts';
import { systemClock, systemTimers } from '../../engine/ports/clock.ts';

export interface MediasoupServer {
  router: MediasoupRouter;
  /** http://127.0.0.1:<port>: what a page's origin would be. */
  baseUrl: string;
  close(): Promise<void>;
}

export async function startMediasoupServer(opts: { workers?: number; allowedOrigin?: string; rate?: { perWindow: number; windowMs: number } } = {}): Promise<MediasoupServer> {
  const logger = createLogger(process.env.KNOCK_TEST_LOG ?? 'silent');
  const router = await MediasoupRouter.start({
    workers: opts.workers ?? 1,
    rtcMinPort: 40000,
    rtcMaxPort: 49999,
    listenIp: '127.0.0.1',
    joinTtlMs: 600_000,
    clock: systemClock,
    timers: systemTimers,
    logger,
  });
  const signalling = new SfuSignalling({
    router,
    verifyClient: (info, done) => done(opts.allowedOrigin === undefined || !info.origin || info.origin === opts.allowedOrigin, 403),
    rate: opts.rate ?? { perWindow: 200, windowMs: 10_000 },
    clock: systemClock,
    logger,
  });
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => (signalling.handles(req) ? signalling.upgrade(req, socket, head) : socket.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    router,
    baseUrl: `http://127.0.0.1:${port}`,
    async close() {
      signalling.close();
      await router.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
