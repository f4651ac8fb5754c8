/**
 * SiteRoom: one per company (filterBy handle, scope `site:<companyAccountId>`), issue 19. A thin Colyseus shell over
 * SiteLogic. Who gets in is decided here, at matchmaking:
 * - a visitor, from the widget's monitor frame (served by Knock, so the usual Origin rule holds), naming the site
 *   that embeds it: that origin must be one of the company's sites;
 * - an operator's console: the signed-in account must be one of the company's operators (or the company's own
 *   account). Operators' sockets are watched closely, as owners' are: visitors see the company go offline when the
 *   last one dies.
 */
import type { AuthContext } from '@colyseus/core';
import { siteListed } from '../../engine/companies.ts';
import { KnockError } from '../../engine/errors.ts';
import { describeIssues, siteClientMessages, siteJoinOptions, type SiteServerMessages } from '../../engine/protocol.ts';
import type { Account } from '../../engine/ports/storage.ts';
import { TokenBucket } from '../../engine/rateLimit.ts';
import { checkOrigin, viewerOf, type RoomDeps } from '../deps.ts';
import { KnockRoom, type Admission, type KnockClient } from '../knockRoom.ts';
import { Peers } from '../peers.ts';
import { SiteLogic, type SiteJoin, type SitePeer } from './siteLogic.ts';

/** The scope of a company's SiteRoom (one in the whole cluster). */
export const siteScope = (companyAccountId: string): string => `site:${companyAccountId}`;

/** What `onAuth` established: the identity, and how it joins (a visitor's site checked against the company's). */
interface SiteAdmission extends Admission {
  join: SiteJoin;
}

/** The company of a handle; refused, readably, when there is none. */
async function companyOf(deps: RoomDeps, handle: string): Promise<Account> {
  const account = await deps.storage.getAccountByHandle(handle);
  if (!account) throw new KnockError('not_found', `There is nobody at /${handle}.`);
  if (!(await deps.storage.getCompany(account.id))) throw new KnockError('forbidden', `/${handle} is not a company: it has no live help.`);
  return account;
}

async function authorize(deps: RoomDeps, bearer: string | undefined, raw: unknown, context: AuthContext): Promise<SiteAdmission> {
  checkOrigin(deps, context.headers);
  const parsed = siteJoinOptions.safeParse(raw);
  if (!parsed.success) throw new KnockError('bad_request', describeIssues(parsed.error));
  const options = parsed.data;
  const company = await companyOf(deps, options.handle);
  const scope = siteScope(company.id);
  if (options.as === 'visitor') {
    if (!(await siteListed(deps.storage, company.id, options.site))) {
      throw new KnockError('forbidden', `${options.site} is not one of ${company.displayName}\u2019s sites: live help is not shown there.`);
    }
    const { visitorId, site, monitor } = options;
    return {
      scope,
      role: 'visitor',
      participantId: null,
      accountId: null,
      sessionHash: null,
      name: '',
      join: { as: 'visitor', visitorId, site, monitor, declined: options.declined ?? false },
    };
  }
  const viewer = await viewerOf(deps, context.headers, bearer);
  if (!viewer) throw new KnockError('unauthorized', `Please log in as an operator of ${company.displayName}.`);
  const isCompany = viewer.account.id === company.id;
  if (!isCompany && !(await deps.storage.getOperator(company.id, viewer.account.id))) {
    throw new KnockError('forbidden', `You are not an operator of ${company.displayName}.`);
  }
  return {
    scope,
    role: 'owner',
    participantId: null,
    accountId: viewer.account.id,
    sessionHash: viewer.sessionHash,
    name: viewer.account.displayName,
    join: { as: 'operator' },
  };
}

type SiteRoomOptions = { handle: string };

export function siteRoomClass(deps: RoomDeps) {
  return class SiteRoom extends KnockRoom<SiteRoomOptions> {
    protected readonly log = deps.logger.child({ room: 'site' });
    protected readonly maxMessageBytes = deps.config.maxMessageBytes;
    protected readonly claims = deps.claims;
    protected readonly writes = deps.writes;
    private company: Account | null = null;
    private logic: SiteLogic | null = null;
    private readonly peers = new Peers<SitePeer>('this site');
    /** What setUp started (subscriptions, timers), stopped in reverse order on dispose. */
    private readonly stops: Array<() => void> = [];

    static override async onAuth(token: string, options: unknown, context: AuthContext): Promise<Admission> {
      return authorize(deps, token, options, context);
    }

    /** The scope names the company's account, which the join options name by handle: looked up before the claim. */
    override async onCreate(options: SiteRoomOptions): Promise<void> {
      this.company = await companyOf(deps, options.handle);
      await super.onCreate(options);
    }

    protected scopeOf(): string {
      // Set by onCreate, before the base class asks.
      return siteScope(this.company!.id);
    }

    protected async setUp(): Promise<void> {
      const company = this.company!;
      const logic = new SiteLogic(
        {
          storage: deps.storage,
          hub: deps.hub,
          clock: deps.clock,
          timers: deps.timers,
          logger: this.log,
          limits: {
            graceMs: deps.config.siteVisitorGraceMs,
            maxVisitors: deps.config.siteMaxVisitors,
            invitesPerOperator: deps.config.rateLimits.siteInvitesPerOperator,
          },
          // A visitor between two pages stays listed for the grace period: the room outlives its last socket.
          onBusy: (busy) => {
            this.autoDispose = !busy;
            if (!busy && this.clients.length === 0) void this.disconnect();
          },
        },
        company,
      );
      this.logic = logic;
      this.stops.push(await deps.hub.onPresence(company.handle, (event) => logic.onPresenceEvent(event)));
      // New chats of the company, as its console hears of them (ConversationLog.publishSummary).
      this.stops.push(
        await deps.hub.onOwner(company.handle, (event) => {
          if (event.type === 'conversation') logic.onConversation(event.summary);
          else if (event.type === 'team') void logic.onTeamChanged();
        }),
      );
      await logic.router.load();
      await logic.tick();
      // A plain timer: Colyseus's room clock only ticks in rooms with a patch rate or a simulation interval.
      const presenceTimer = setInterval(() => void logic.tick(), deps.hub.presenceRefreshMs);
      this.stops.push(() => clearInterval(presenceTimer));
      for (const [type, schema] of Object.entries(siteClientMessages)) {
        this.handle(type, schema, (client, message) =>
          logic.dispatch(this.peers.of(client.sessionId), type as keyof typeof siteClientMessages, message as never),
        );
      }
    }

    override async onJoin(client: KnockClient): Promise<void> {
      const admission = this.admit(client) as Partial<SiteAdmission> & Admission;
      if (!admission.join) throw new KnockError('forbidden', 'You may not join this room.');
      if (admission.join.as === 'operator') deps.watchClosely(client);
      const peer = this.peers.add({
        id: client.sessionId,
        identity: admission,
        state: { kind: 'joining', buffered: [] },
        messageBucket: new TokenBucket(deps.config.rateLimits.socketMessages, deps.clock),
        signalBucket: new TokenBucket(deps.config.rateLimits.socketSignals, deps.clock),
        transport: this.transportOf<SiteServerMessages>(client),
      });
      await this.logic!.join(peer, admission.join);
    }

    override onLeave(client: KnockClient): void {
      this.peers.remove(client.sessionId);
      this.logic?.leave(client.sessionId);
    }

    override async onDispose(): Promise<void> {
      for (const stop of this.stops.splice(0).reverse()) stop();
      await this.logic?.dispose();
    }
  };
}
