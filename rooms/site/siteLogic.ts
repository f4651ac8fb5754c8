/**
 * The logic of a company's SiteRoom (issue 19, DESIGN "SiteRoom"), free of Colyseus (CONVENTIONS 1): the visitors on
 * the company's sites, live, for its operators' "Visitors" list, and invitations to chat.
 *
 * - A visitor joins from the widget's hidden monitor frame, one peer per open tab. Monitored, each `page` it reports
 *   ends the tab's previous page view and records the new one (never an IP address), and the operators see the
 *   visitor's newest page. Not monitored (Global Privacy Control, Do Not Track, or over `maxVisitors`), it only gets
 *   the company's `status` for the widget's button: nothing about it is listed or stored.
 * - Moving to the next page of a site closes one socket and opens another, so a visitor whose last tab closed stays
 *   listed (`connected: false`) for `graceMs` before operators hear `visitor.gone`.
 * - The company's chats are routed to its operators (./chatRouter.ts): operators see the open chats (`chats`) and take,
 *   transfer and end them; a visitor whose chat waits sees their place in the queue (`queue`, on the tabs of the visit
 *   whose chat it is).
 * - `status` says whether the company is online: the presence of the company's URL (its UserRoom, which operators'
 *   consoles join as the owner), learnt exactly as rooms learn an owner's presence (rooms/ownerPresence.ts).
 */
import { randomBytes } from 'node:crypto';
import type { RateLimitConfig } from '../../engine/config.ts';
import { CloseCode, KnockError } from '../../engine/errors.ts';
import type { Hub, PresenceEvent } from '../../engine/hub.ts';
import type { Logger } from '../../engine/logger.ts';
import type { Clock, Timers } from '../../engine/ports/clock.ts';
import type { Account, Storage } from '../../engine/ports/storage.ts';
import type { ConversationSummary, SiteClientMessages, SiteServerMessages } from '../../engine/protocol.ts';
import { KeyedRateLimiter, rateLimited } from '../../engine/rateLimit.ts';
import { OwnerPresence } from '../ownerPresence.ts';
import { assertNever, deliver, goLive, replyError } from '../peer.ts';
import { ChatRouter, type ChatRouterDeps } from './chatRouter.ts';
import { newVisit, recordOf, showNewestPage, type SitePeer, type Tab, type Visit } from './siteVisit.ts';

export type { SitePeer } from './siteVisit.ts';

export interface SiteDeps {
  storage: Pick<Storage, 'recordPageView' | 'endPageView' | 'visitorHistory' | 'getConversation'> & ChatRouterDeps['storage'];
  hub: Pick<Hub, 'isOnline'>;
  clock: Clock;
  timers: Timers;
  logger: Logger;
  limits: {
    /** config.siteVisitorGraceMs */
    graceMs: number;
    /** config.siteMaxVisitors: monitored visitors at once. */
    maxVisitors: number;
    /** config.rateLimits.siteInvitesPerOperator */
    invitesPerOperator: RateLimitConfig;
  };
  /**
   * Told when the room must outlive its last socket (a visitor between two pages, still listed) and when it no longer
   * must, as the ConversationRoom is during a call's rejoin grace.
   */
  onBusy?: (busy: boolean) => void;
  /** The ids of page views; random by default. */
  newId?: () => string;
}

/** How a peer joins, as the room's `onAuth` established it (a visitor's `site` was checked against the company's). */
export type SiteJoin =
  | { as: 'operator' }
  | { as: 'visitor'; visitorId: string; site: string; monitor: boolean; declined: boolean };

/** A peer of the room, by what it is here. */
type Member =
  | { kind: 'operator'; peer: SitePeer }
  | { kind: 'visitor'; peer: SitePeer; visit: Visit; tab: Tab; site: string }
  /**
   * A visitor who is not monitored: it sees the company's status, and nothing about it is kept; its chat (held only
   * while its socket is open) is for telling it its place in the queue.
   */
  | { kind: 'unmonitored'; peer: SitePeer; conversationId?: string };

type Handlers = { [T in keyof SiteClientMessages]: (member: Member, message: SiteClientMessages[T]) => void | Promise<void> };

const DEFAULT_INVITATION = 'Can we help?';
const randomId = (): string => randomBytes(12).toString('base64url');

export class SiteLogic {
  private readonly members = new Map<string, Member>();
  /** Monitored visitors now on the sites (or between two pages), by visitorId. */
  private readonly visits = new Map<string, Visit>();
  /** Invitations per operator account (all their tabs together). */
  private readonly invites: KeyedRateLimiter;
  private readonly presence: OwnerPresence;
  /** The `online` everyone was told last (tellStatus says it again only when it changes). */
  private toldOnline: boolean | null = null;
  private readonly handlers: Handlers;
  private readonly newId: () => string;
  private busy = false;
  readonly router: ChatRouter;
  /** The place in the queue each visitor's tab was last told (peer id -> position), so only changes are sent. */
  private readonly toldPosition = new Map<string, number | null>();

  constructor(
    private readonly deps: SiteDeps,
    readonly company: Pick<Account, 'id' | 'handle' | 'displayName'>,
  ) {
    this.invites = new KeyedRateLimiter(deps.limits.invitesPerOperator, deps.clock);
    this.newId = deps.newId ?? randomId;
    this.presence = new OwnerPresence({
      read: () => deps.hub.isOnline(company.handle),
      onChange: () => this.tellStatus(),
      logger: deps.logger,
    });
    this.router = new ChatRouter(
      {
        storage: deps.storage,
        clock: deps.clock,
        logger: deps.logger,
        connected: () => this.connectedOperators(),
        onChange: () => {
          this.tellChats();
          this.tellStatus();
        },
      },
      { id: company.id, displayName: company.displayName },
    );
    this.handlers = {
      page: (member, m) => this.page(member, m),
      chatting: (member, m) => this.chatting(member, m),
      'invite.answer': (member, m) => this.answer(member, m),
      invite: (member, m) => this.invite(member, m),
      'chat.take': (member, m) => this.router.take(this.operatorOf(member, 'take chats'), m.conversationId),
      'chat.transfer': (member, m) => this.router.transfer(this.operatorOf(member, 'transfer chats'), m.conversationId, m.to),
      'chat.end': (member, m) => this.router.end(this.operatorOf(member, 'end chats'), m.conversationId),
    };
  }

  /** Monitored visitors held (listed or about to be). */
  get visitorCount(): number {
    return this.visits.size;
  }

  get peerCount(): number {
    return this.members.size;
  }

  async join(peer: SitePeer, how: SiteJoin): Promise<void> {
    peer.state = { kind: 'joining', buffered: [] };
    const member = this.admit(peer, how);
    this.members.set(peer.id, member);
    await this.presence.current();
    if (this.members.get(peer.id) !== member) return; // left while joining
    peer.transport.send('status', this.status());
    if (member.kind === 'operator') {
      const visitors = [...this.visits.values()].flatMap((visit) => recordOf(visit) ?? []);
      peer.transport.send('visitors', { visitors });
      peer.transport.send('chats', { assignments: this.router.records() });
      // What was buffered meanwhile is older than the lists just sent.
      goLive(peer, () => true);
      // A console opened: its operator may take the chats waiting.
      void this.onTeamChanged();
    } else {
      // Statuses buffered meanwhile are older than the one just sent; an invitation is not.
      goLive(peer, (type) => type === 'status');
    }
  }

  leave(peerId: string): void {
    const member = this.members.get(peerId);
    if (!member) return;
    this.members.delete(peerId);
    this.toldPosition.delete(peerId);
    member.peer.state = { kind: 'draining' };
    if (member.kind === 'operator') this.tellStatus(); // the last available operator's console closed
    if (member.kind !== 'visitor') return;
    const { visit, tab } = member;
    visit.tabs.delete(peerId);
    if (tab.viewId !== null) this.endView(visit, tab.viewId);
    showNewestPage(visit);
    if (visit.tabs.size === 0) visit.cancelGone = this.deps.timers.after(this.deps.limits.graceMs, () => this.endVisit(visit));
    this.broadcastVisit(visit);
  }

  /** Validated messages arrive here; every failure goes back to the peer as an `error` with the message's type. */
  async dispatch<T extends keyof SiteClientMessages>(peer: SitePeer, type: T, message: SiteClientMessages[T]): Promise<void> {
    try {
      const member = this.members.get(peer.id);
      if (!member || member.peer !== peer) throw new KnockError('forbidden', 'You have not joined this site yet.');
      await (this.handlers[type] as Handlers[T])(member, message);
    } catch (err) {
      replyError(peer, err, type, this.deps.logger, { type, companyId: this.company.id });
    }
  }

  /** Events about the company's URL from anywhere (other processes included). */
  onPresenceEvent(event: PresenceEvent): void {
    if (event.type === 'online') {
      this.presence.heard(event.online);
      return;
    }
    // The company's own account, signed in as its operator, logged out.
    for (const member of this.members.values()) {
      if (member.kind === 'operator' && member.peer.identity.sessionHash === event.sessionHash) {
        member.peer.transport.close(CloseCode.loggedOut, 'You logged out.');
      }
    }
  }

  /**
   * Re-reads the company's presence (the process holding its devices may have died), and, while chats wait, the
   * operators (their status and capacity change over the HTTP API); the room calls it periodically.
   */
  async tick(): Promise<void> {
    await Promise.all([this.presence.refresh(), this.onTeamChanged()]);
  }

  /**
   * The team changed (the hub's `team` event from the API, or the periodic tick for changes made elsewhere, e.g. by
   * the CLI): re-read the operators, route what waits, and tell visitors if the company turned available or away.
   */
  async onTeamChanged(): Promise<void> {
    try {
      await this.router.refresh();
    } catch (err) {
      this.deps.logger.error({ err, companyId: this.company.id }, 'could not route chats');
    }
    this.tellStatus();
  }

  /** A conversation of the company changed (the hub's owner events): a new chat is queued and routed. */
  onConversation(summary: ConversationSummary): void {
    this.router.heard(summary).catch((err: unknown) => this.deps.logger.error({ err, companyId: this.company.id, conversationId: summary.id }, 'could not queue a chat'));
  }

  /** Forgets every visit and resolves once every page-view write asked for is done. */
  async dispose(): Promise<void> {
    const writes = [...this.visits.values()].map((visit) => visit.writes);
    for (const visit of this.visits.values()) visit.cancelGone?.();
    this.visits.clear();
    this.members.clear();
    await Promise.all(writes);
  }

  // --- joining ------------------------------------------------------------------------------------------------------
  private admit(peer: SitePeer, how: SiteJoin): Member {
    switch (how.as) {
      case 'operator':
        return { kind: 'operator', peer };
      case 'visitor': {
        const known = this.visits.get(how.visitorId);
        if (!how.monitor || (!known && this.visits.size >= this.deps.limits.maxVisitors)) return { kind: 'unmonitored', peer };
        const visit = known ?? this.startVisit(how.visitorId);
        const wasConnected = visit.tabs.size > 0;
        visit.cancelGone?.();
        visit.cancelGone = null;
        const tab: Tab = { peer, viewId: null, page: null, since: this.deps.clock.now() };
        visit.tabs.set(peer.id, tab);
        // "No thanks" earlier in this visit, on a page before this one: no more invitations.
        const declinedNow = how.declined && visit.invitation !== 'declined';
        if (declinedNow) visit.invitation = 'declined';
        if (!wasConnected || declinedNow) this.broadcastVisit(visit);
        return { kind: 'visitor', peer, visit, tab, site: how.site };
      }
      default:
        return assertNever(how);
    }
  }

  private startVisit(visitorId: string): Visit {
    const visit = newVisit(visitorId, this.deps.clock.now());
    this.visits.set(visitorId, visit);
    // Read first: the visit's writes queue behind it, so each record counts the visitor's earlier pages.
    visit.writes = this.deps.storage.visitorHistory(this.company.id, visitorId).then(
      (history) => {
        visit.history = history;
      },
      (err: unknown) => this.deps.logger.error({ err, companyId: this.company.id }, 'could not read a visitor\u2019s page views'),
    );
    this.updateBusy();
    return visit;
  }

  private endVisit(visit: Visit): void {
    visit.cancelGone = null;
    if (visit.tabs.size > 0 || this.visits.get(visit.visitorId) !== visit) return;
    this.visits.delete(visit.visitorId);
    if (visit.page !== null) this.toOperators('visitor.gone', { visitorId: visit.visitorId });
    this.updateBusy();
  }

  // --- visitors' messages -------------------------------------------------------------------------------------------
  private async page(member: Member, page: SiteClientMessages['page']): Promise<void> {
    const visitor = this.visitorOf(member, 'report pages');
    if (visitor === null) return;
    const { visit, tab, site } = visitor;
    checkRate(member.peer);
    if (new URL(page.url).origin !== site) {
      throw new KnockError('bad_request', `This page is not on ${site}, the site this visit is on.`);
    }
    const previous = tab.viewId;
    const at = this.deps.clock.now();
    const id = this.newId();
    tab.viewId = id;
    tab.page = page;
    tab.since = at;
    visit.pagesThisVisit++;
    if (visit.tabs.get(member.peer.id) === tab) showNewestPage(visit);
    const { storage } = this.deps;
    try {
      await this.write(visit, async () => {
        if (previous !== null) await storage.endPageView(previous, at);
        await storage.recordPageView({ id, companyId: this.company.id, visitorId: visit.visitorId, url: page.url, title: page.title, referrer: page.referrer, startedAt: at });
      });
    } finally {
      // After the write (and the history read before it): the operators see the page once it is kept, counted.
      this.broadcastVisit(visit);
    }
  }

  private async chatting(member: Member, { conversationId }: SiteClientMessages['chatting']): Promise<void> {
    const visitor = this.visitorOf(member, 'tell their chat');
    checkRate(member.peer);
    const conversation = await this.deps.storage.getConversation(conversationId);
    if (conversation?.ownerAccountId !== this.company.id) {
      // Ignored, as everything a visitor who is not monitored says about themselves.
      if (visitor === null) return;
      throw new KnockError('not_found', `You have no such conversation with ${this.company.displayName}.`);
    }
    if (visitor === null) {
      // Not monitored (Global Privacy Control, Do Not Track): nothing is listed, but the visitor still sees their place.
      if (member.kind === 'unmonitored') member.conversationId = conversation.id;
    } else {
      visitor.visit.conversationId = conversation.id;
      this.broadcastVisit(visitor.visit);
    }
    this.tellPositions();
  }

  private answer(member: Member, { accepted }: SiteClientMessages['invite.answer']): void {
    const visitor = this.visitorOf(member, 'answer invitations');
    if (visitor === null) return;
    checkRate(member.peer);
    const { visit } = visitor;
    if (visit.invitation !== 'pending') throw new KnockError('conflict', 'There is no invitation to answer.');
    visit.invitation = accepted ? 'accepted' : 'declined';
    this.broadcastVisit(visit);
  }

  /**
   * A visitor's own message: null (ignored) from a visitor who is not monitored, whose frame may not know it is not
   * (over `maxVisitors`); refused from an operator.
   */
  private visitorOf(member: Member, what: string): Extract<Member, { kind: 'visitor' }> | null {
    switch (member.kind) {
      case 'visitor':
        return member;
      case 'unmonitored':
        return null;
      case 'operator':
        throw new KnockError('forbidden', `Only visitors ${what}.`);
      default:
        return assertNever(member);
    }
  }

  // --- operators' messages ------------------------------------------------------------------------------------------
  /** The account of an operator's console sending a chat.* message (rate-limited as every message); refused from visitors. */
  private operatorOf(member: Member, what: string): string {
    if (member.kind !== 'operator' || member.peer.identity.accountId === null) {
      throw new KnockError('forbidden', `Only ${this.company.displayName}\u2019s operators ${what}.`);
    }
    checkRate(member.peer);
    return member.peer.identity.accountId;
  }

  private invite(member: Member, { visitorId, text }: SiteClientMessages['invite']): void {
    if (member.kind !== 'operator') throw new KnockError('forbidden', `Only ${this.company.displayName}\u2019s operators can invite visitors to chat.`);
    this.invites.takeOrThrow(member.peer.identity.accountId ?? member.peer.id, 'Invitations');
    const visit = this.visits.get(visitorId);
    if (!visit || visit.page === null || visit.tabs.size === 0) throw new KnockError('not_found', 'This visitor is not on your site any more.');
    switch (visit.invitation) {
      case 'declined':
        throw new KnockError('conflict', 'This visitor said \u201cNo thanks\u201d to an invitation during this visit: they are not asked again.');
      case 'pending':
        throw new KnockError('conflict', 'This visitor has an invitation open already.');
      case 'none':
      case 'accepted':
        break;
      default:
        assertNever(visit.invitation);
    }
    if (visit.conversationId !== null) throw new KnockError('conflict', 'This visitor is chatting already.');
    for (const tab of visit.tabs.values()) deliver(tab.peer, 'invited', { text: text ?? DEFAULT_INVITATION });
    visit.invitation = 'pending';
    this.broadcastVisit(visit);
  }

  // --- plumbing -----------------------------------------------------------------------------------------------------
  /** Queues a write behind the visit's earlier ones; the returned promise says how this one went. */
  private write(visit: Visit, work: () => Promise<unknown>): Promise<void> {
    const done = visit.writes.then(work).then(() => undefined);
    // The queue goes on after a failed write; the failure is the caller's to report.
    visit.writes = done.catch(() => undefined);
    return done;
  }

  private endView(visit: Visit, viewId: string): void {
    const at = this.deps.clock.now();
    this.write(visit, () => this.deps.storage.endPageView(viewId, at)).catch((err: unknown) =>
      this.deps.logger.error({ err, companyId: this.company.id }, 'could not end a page view'),
    );
  }

  private broadcastVisit(visit: Visit): void {
    if (this.visits.get(visit.visitorId) !== visit) return;
    const record = recordOf(visit);
    if (record !== null) this.toOperators('visitor', record);
  }

  private toOperators<T extends 'visitor' | 'visitor.gone'>(type: T, payload: SiteServerMessages[T]): void {
    for (const member of this.members.values()) if (member.kind === 'operator') deliver(member.peer, type, payload);
  }

  private connectedOperators(): Set<string> {
    const accounts = new Set<string>();
    for (const member of this.members.values()) {
      if (member.kind === 'operator' && member.peer.identity.accountId !== null) accounts.add(member.peer.identity.accountId);
    }
    return accounts;
  }

  /** Operators see every change of the open chats; visitors whose chat waits, their new place. */
  private tellChats(): void {
    const assignments = this.router.records();
    for (const member of this.members.values()) if (member.kind === 'operator') deliver(member.peer, 'chats', { assignments });
    this.tellPositions();
  }

  private tellPositions(): void {
    for (const member of this.members.values()) {
      const conversationId = member.kind === 'visitor' ? member.visit.conversationId : member.kind === 'unmonitored' ? member.conversationId : null;
      if (conversationId == null) continue;
      const position = this.router.positionOf(conversationId);
      const told = this.toldPosition.get(member.peer.id);
      // Nothing to say to a tab never told it waits.
      if (told === position || (told === undefined && position === null)) continue;
      this.toldPosition.set(member.peer.id, position);
      deliver(member.peer, 'queue', { position });
    }
  }

  /**
   * The company is online for its visitors when its URL is (an operator's console is open, rooms/ownerPresence.ts)
   * and one of the operators with a console open here is not away: a team all away gets "Leave a message".
   */
  private status(): SiteServerMessages['status'] {
    return { name: this.company.displayName, online: (this.presence.known ?? false) && this.router.anyoneAvailable() };
  }

  /** Everyone's button and console follow the company's status when it changes; joining peers get it with their welcome. */
  private tellStatus(): void {
    const status = this.status();
    if (status.online === this.toldOnline) return;
    this.toldOnline = status.online;
    for (const member of this.members.values()) deliver(member.peer, 'status', status);
  }

  private updateBusy(): void {
    const busy = this.visits.size > 0;
    if (busy === this.busy) return;
    this.busy = busy;
    this.deps.onBusy?.(busy);
  }
}

function checkRate(peer: SitePeer): void {
  const verdict = peer.messageBucket.take();
  if (!verdict.ok) throw rateLimited('Messages', verdict.retryAfterMs);
}
