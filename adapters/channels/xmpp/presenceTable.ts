/**
 * What Knock knows of each watched owner's XMPP presence, as plain logic (the channel feeds it stanzas' meaning; unit
 * tests feed it directly). A JID's presence is over all its resources (a phone and a laptop): `available` when any
 * resource is available or free for chat, `away` when resources are online but all away/xa/dnd, `unavailable` when
 * the owner granted the subscription and no resource is online, `unknown` before the owner granted it, and for every
 * JID while presence is not being learned (Knock is not connected, or has just connected and not heard back yet).
 *
 * Only watched JIDs are kept: presence from anyone else is ignored, so strangers cannot grow the table.
 *
 * @example
 *   const table = new PresenceTable();
 *   table.watch('owner@example.org');
 *   table.subscription('owner@example.org', { granted: true, pending: false });
 *   table.startLearning(); table.learned();
 *   table.resourceAvailable('owner@example.org', 'phone', 'away');
 *   table.presenceOf('owner@example.org'); // 'away'
 */
import type { ChannelPresence } from '../../../engine/ports/channel.ts';

/** A resource's `<show/>`: none means plainly available. */
export type Show = 'chat' | 'away' | 'xa' | 'dnd' | null;

/** Resources kept per JID; a client that opens more is not believed beyond this (the table stays small). */
const MAX_RESOURCES = 32;

interface Watched {
  /** The owner's server said Knock may see their presence (subscription `to` or `both`). */
  granted: boolean;
  /** Knock asked to subscribe and has no answer yet. */
  pending: boolean;
  /** Online resources and their show. */
  resources: Map<string, Show>;
}

export class PresenceTable {
  private readonly entries = new Map<string, Watched>();
  /** Presence is being learned on the current session: false while disconnected and right after connecting. */
  private known = false;

  /** Starts following `jid` (a bare JID, lower case). Harmless when followed already. */
  watch(jid: string): void {
    if (!this.entries.has(jid)) this.entries.set(jid, { granted: false, pending: false, resources: new Map() });
  }

  /** Forgets `jid`. */
  unwatch(jid: string): void {
    this.entries.delete(jid);
  }

  isWatched(jid: string): boolean {
    return this.entries.has(jid);
  }

  /** Every watched JID. */
  watched(): string[] {
    return [...this.entries.keys()];
  }

  /** Whether Knock should ask `jid` to subscribe: watched, not granted, not asked on this session yet. */
  needsSubscribe(jid: string): boolean {
    const entry = this.entries.get(jid);
    return entry !== undefined && !entry.granted && !entry.pending;
  }

  /**
   * The subscription state of `jid` as the server says it (a roster item, `subscribed`/`unsubscribed`, a roster
   * push). Losing the grant forgets the resources: their presence will not come any more.
   */
  subscription(jid: string, state: { granted: boolean; pending: boolean }): void {
    const entry = this.entries.get(jid);
    if (!entry) return;
    entry.granted = state.granted;
    entry.pending = state.pending;
    if (!state.granted) entry.resources.clear();
  }

  /** A resource of `jid` is online with `show`. */
  resourceAvailable(jid: string, resource: string, show: Show): void {
    const entry = this.entries.get(jid);
    if (!entry) return;
    if (!entry.resources.has(resource) && entry.resources.size >= MAX_RESOURCES) return;
    entry.resources.set(resource, show);
  }

  /** A resource of `jid` went offline (or, with resource '', the whole JID did: an unavailable from the bare JID). */
  resourceUnavailable(jid: string, resource: string): void {
    const entry = this.entries.get(jid);
    if (!entry) return;
    if (resource === '') entry.resources.clear();
    else entry.resources.delete(resource);
  }

  /**
   * A new session begins (or the connection is gone): presence is unknown until `learned()`, and every resource
   * is forgotten, since the server sends the current presence of each contact again after Knock's own presence.
   */
  startLearning(): void {
    this.known = false;
    for (const entry of this.entries.values()) {
      entry.resources.clear();
      entry.pending = false;
    }
  }

  /** The connection is gone: every JID is `unknown` until the next session has learned presence again. */
  suspend(): void {
    this.known = false;
  }

  /** The server has sent what it had: presence answers from the table again. */
  learned(): void {
    this.known = true;
  }

  /** Whether presence answers from the table (false while not connected, and until the server has sent it). */
  isLearned(): boolean {
    return this.known;
  }

  presenceOf(jid: string): ChannelPresence {
    const entry = this.entries.get(jid);
    if (!this.known || !entry) return 'unknown';
    const shows = [...entry.resources.values()];
    if (shows.length === 0) return entry.granted ? 'unavailable' : 'unknown';
    return shows.some((show) => show === null || show === 'chat') ? 'available' : 'away';
  }
}

/** A `<show/>` text as the table keeps it; anything unknown counts as plainly available (RFC 6121 4.7.2.1). */
export function showOf(text: string | null): Show {
  const show = text?.trim();
  return show === 'chat' || show === 'away' || show === 'xa' || show === 'dnd' ? show : null;
}
