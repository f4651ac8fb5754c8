/**
 * The MediaRouter contract on the mediasoup adapter (issue 23): a real worker, and canJoin as a browser would, over
 * Knock's signalling socket (joined = answered with the router's RTP capabilities).
 */
import { startMediasoupServer } from '../support/mediasoupServer.ts';
import { trySfuJoin } from '../support/sfuSignallingClient.ts';
import { mediaRouterContract } from './mediaRouter.contract.ts';

mediaRouterContract('MediasoupRouter', async () => {
  const server = await startMediasoupServer();
  return { router: server.router, canJoin: (join) => trySfuJoin(server.baseUrl, join), close: () => server.close() };
});
