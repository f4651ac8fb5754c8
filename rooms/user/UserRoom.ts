/**
 * UserRoom: one per IM URL (filterBy handle, never locked). A thin Colyseus shell over UserLogic.
 * Owners' devices join to be online and to receive their conversation list; visitors without a conversation yet
 * join to see the owner's presence (once they knock, they move to the ConversationRoom, which carries presence too).
 */
import type { AuthContext } from '@colyseus/core';
import { actsFor } from '../../engine/actingFor.ts';
import { KnockError } from '../../engine/errors.ts';
import { describeIssues, userJoinOptions } from '../../engine/protocol.ts';
import { TokenBucket } from '../../engine/rateLimit.ts';
import { KnockRoom, type Admission, type KnockClient } from '../knockRoom.ts';
import { checkOrigin, viewerOf, type RoomDeps } from '../deps.ts';
import { UserLogic, type UserPeer } from './userLogic.ts';

/** The scope of the UserRoom of a handle (one in the whole cluster). */
export const userScope = (handle: string): string => `user:${handle}`;

async function authorize(deps: RoomDeps, bearer: string | undefined, raw: unknown, context: AuthContext): Promise<Admission> {
  checkOrigin(deps, context.headers);
  const parsed = userJoinOptions.safeParse(raw);
  if (!parsed.success) throw new KnockError('bad_request', describeIssues(parsed.error));
  const account = await deps.storage.getAccountByHandle(parsed.data.handle);
  if (!account) throw new KnockError('not_found', `There is nobody at /${parsed.data.handle}.`);
  const viewer = await viewerOf(deps, context.headers, bearer);
  const scope = userScope(account.handle);
  // A company's operators are its devices here: while an operator's console is open, the company is online.
  if (viewer && (await actsFor(deps.storage, viewer.account.id, account.id))) {
    const person = viewer.account.id === account.id ? {} : { person: viewer.account.id };
    return { scope, role: 'owner', participantId: null, accountId: account.id, sessionHash: viewer.sessionHash, name: account.displayName, ...person };
  }
  return { scope, role: 'visitor', participantId: null, accountId: viewer?.account.id ?? null, sessionHash: null, name: '' };
}

export function userRoomClass(deps: RoomDeps) {
  return class UserRoom extends KnockRoom<{ handle: string }> {
    protected readonly log = deps.logger.child({ room: 'user' });
    protected readonly maxMessageBytes = deps.config.maxMessageBytes;
    protected readonly claims = deps.claims;
    protected readonly writes = deps.writes;
    private logic: UserLogic | null = null;
    private readonly unsubscribes: Array<() => void> = [];
    private presenceTimer: NodeJS.Timeout | null = null;

    static override async onAuth(token: string, options: unknown, context: AuthContext): Promise<Admission> {
      return authorize(deps, token, options, context);
    }

    protected scopeOf(options: { handle: string }): string {
      return userScope(options.handle);
    }

    protected async setUp(options: { handle: string }): Promise<void> {
      const account = await deps.storage.getAccountByHandle(options.handle);
      if (!account) throw new KnockError('not_found', `There is nobody at /${options.handle}.`);
      const logic = new UserLogic({ storage: deps.storage, clock: deps.clock, hub: deps.hub, logger: this.log }, account);
      this.logic = logic;
      this.unsubscribes.push(await deps.hub.onPresence(account.handle, (e) => logic.onPresenceEvent(e)));
      this.unsubscribes.push(await deps.hub.onOwner(account.handle, (e) => logic.onOwnerEvent(e)));
      // A plain timer: Colyseus's room clock only ticks in rooms with a patch rate or a simulation interval.
      this.presenceTimer = setInterval(() => void logic.tick(), deps.hub.presenceRefreshMs);
    }

    override async onJoin(client: KnockClient): Promise<void> {
      const identity = this.admit(client);
      // Visitors see the owner go offline when this socket dies: it is pinged at the fast rate.
      if (identity.role === 'owner') deps.watchClosely(client);
      const peer: UserPeer = {
        id: client.sessionId,
        identity,
        state: { kind: 'joining', buffered: [] },
        messageBucket: new TokenBucket(deps.config.rateLimits.socketMessages, deps.clock),
        signalBucket: new TokenBucket(deps.config.rateLimits.socketSignals, deps.clock),
        transport: this.transportOf(client),
      };
      await this.logic!.join(peer);
    }

    override onLeave(client: KnockClient): void {
      this.logic?.leave(client.sessionId);
    }

    override async onDispose(): Promise<void> {
      if (this.presenceTimer) clearInterval(this.presenceTimer);
      for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
      await this.logic?.dispose();
    }
  };
}
