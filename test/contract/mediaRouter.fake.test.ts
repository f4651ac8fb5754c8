/** The MediaRouter contract against the in-memory fake the unit tests use, so the fake stays honest. */
import { FakeMediaRouter } from '../support/fakeMediaRouter.ts';
import { mediaRouterContract } from './mediaRouter.contract.ts';

mediaRouterContract('FakeMediaRouter', async () => {
  const router = new FakeMediaRouter();
  return { router, canJoin: async (join) => router.canJoin(join), close: () => router.close() };
});
