/**
 * One monitored visitor of a company's sites, as the SiteRoom holds it while the visitor is there (issue 19): their
 * open tabs (each a peer of the room, each on a page), what the operators' "Visitors" list shows of them, and the
 * order their page views are written in. Plain data and small pure functions; rooms/site/siteLogic.ts drives it.
 */
import type { SiteClientMessages, SiteServerMessages, SiteVisitorRecord } from '../../engine/protocol.ts';
import type { Peer } from '../peer.ts';

export type SitePeer = Peer<SiteServerMessages>;
export type VisitedPage = SiteClientMessages['page'];
export type Invitation = SiteVisitorRecord['invitation'];

/** A visitor is "returning" when first seen this long before the visit began (a visit's own earlier pages are not). */
export const RETURNING_AFTER_MS = 30 * 60_000;

/** One tab of the visitor: a peer of the room, and the page view it holds open (ended when it moves or closes). */
export interface Tab {
  readonly peer: SitePeer;
  /** The stored page view of the page this tab is on; null before its first `page`. */
  viewId: string | null;
  page: VisitedPage | null;
  since: number;
}

export interface Visit {
  readonly visitorId: string;
  /** When the first tab of this visit joined (a visit ends when no tab is open for the grace period). */
  readonly startedAt: number;
  readonly tabs: Map<string, Tab>;
  /** The visitor's kept page views from before this visit; null until read (the first write waits for it). */
  history: { pages: number; firstSeenAt: number | null } | null;
  /** Pages recorded during this visit. */
  pagesThisVisit: number;
  /** The page the list shows: the newest of any tab; null until the first one (the visitor is not listed before). */
  page: VisitedPage | null;
  pageSince: number;
  conversationId: string | null;
  invitation: Invitation;
  /**
   * This visit's page-view writes, in the order they were asked for: a page view is ended after it was recorded,
   * and a visitor moving fast cannot leave one open.
   */
  writes: Promise<void>;
  /** Cancels the timer that ends the visit (set while no tab is open). */
  cancelGone: (() => void) | null;
}

export function newVisit(visitorId: string, at: number): Visit {
  return {
    visitorId,
    startedAt: at,
    tabs: new Map(),
    history: null,
    pagesThisVisit: 0,
    page: null,
    pageSince: at,
    conversationId: null,
    invitation: 'none',
    writes: Promise.resolve(),
    cancelGone: null,
  };
}

/** What the operators see of a visit; null while it has no page yet (not listed). */
export function recordOf(visit: Visit): SiteVisitorRecord | null {
  if (visit.page === null) return null;
  const firstSeenAt = visit.history?.firstSeenAt ?? null;
  return {
    visitorId: visit.visitorId,
    page: visit.page,
    pageSince: visit.pageSince,
    pagesSeen: (visit.history?.pages ?? 0) + visit.pagesThisVisit,
    returning: firstSeenAt !== null && firstSeenAt < visit.startedAt - RETURNING_AFTER_MS,
    conversationId: visit.conversationId,
    invitation: visit.invitation,
    connected: visit.tabs.size > 0,
  };
}

/** After a tab moved or closed, the list shows the newest page of the tabs still open (or the last one, if none). */
export function showNewestPage(visit: Visit): void {
  let newest: Tab | null = null;
  for (const tab of visit.tabs.values()) {
    if (tab.page !== null && (newest === null || tab.since >= newest.since)) newest = tab;
  }
  if (newest === null || newest.page === null) return;
  visit.page = newest.page;
  visit.pageSince = newest.since;
}
