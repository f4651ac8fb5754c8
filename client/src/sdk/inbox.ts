/**
 * The owner's inbox as the console lists it: the live conversations of the OwnerSession (the UserRoom pushes every
 * change), narrowed by a search and a filter that the server answers (`GET /_/api/conversations?q=&filter=`), plus the
 * owner's actions on a conversation (archive, mark unread, delete) and the storage quota their files use.
 *
 * - No search and no filter: the live list, archived conversations left out (a new message brings one back: the
 *   server pushes it with `archived: false`), and so is mail that failed DMARC (`suspicious`): only the `suspicious`
 *   filter lists it, and a search finds it.
 * - A search or a filter: the server's answer, each entry replaced by its live summary when that is newer, re-asked
 *   a moment after live changes so what matches stays right; without a search, live conversations that match the
 *   filter show at once.
 * - Typing a search asks the server once the typing pauses (debounced); a slower answer to an older search is dropped.
 *
 * @example
 *   const inbox = new Inbox({ owner: ownerSession, api });
 *   inbox.subscribe(() => render(inbox.snapshot()));
 *   inbox.setQuery('invoice');
 *   await inbox.archive(conversationId, true);
 */
import type { ConversationSummary, InboxAnswer, InboxFilter } from '../../../engine/protocol.ts';
import type { KnockApi } from './api.ts';
import type { Listener } from './types.ts';

/** The live list (OwnerSession): what the UserRoom pushed, and the results of the owner's actions. */
export interface InboxSource {
  snapshot(): { conversations: readonly ConversationSummary[] };
  subscribe(listener: Listener): () => void;
  apply(summary: ConversationSummary): void;
  forget(conversationId: string): void;
}

export type InboxApi = Pick<KnockApi, 'inbox' | 'archive' | 'markUnread' | 'deleteConversation'>;

export interface InboxOptions {
  owner: InboxSource;
  api: InboxApi;
  /** How long typing must pause before the search goes to the server. */
  searchDelayMs?: number;
  /** How long after a live change a search or filter is asked again (and the quota refreshed). */
  refreshDelayMs?: number;
}

export interface InboxSnapshot {
  query: string;
  filter: InboxFilter;
  /** What to list, newest activity first. */
  conversations: ConversationSummary[];
  /** The server has not answered the current search or filter yet. */
  loading: boolean;
  /** Why the last request failed, if it did. */
  error: string | null;
  quota: InboxAnswer['quota'] | null;
}

const DEFAULT_SEARCH_DELAY_MS = 250;
const DEFAULT_REFRESH_DELAY_MS = 1000;

export class Inbox {
  private readonly listeners = new Set<Listener>();
  private readonly unsubscribe: () => void;
  private query = '';
  private filter: InboxFilter = 'all';
  /** The server's answer to the search or filter of `answered`. */
  private results: ConversationSummary[] = [];
  private answered: string | null = null;
  private error: string | null = null;
  private quota: InboxAnswer['quota'] | null = null;
  /** Requests made so far: an answer to an older one is dropped. */
  private requests = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private filesTotal: number;
  private closed = false;
  private cached: InboxSnapshot | null = null;

  constructor(private readonly options: InboxOptions) {
    this.filesTotal = totalFiles(options.owner.snapshot().conversations);
    this.unsubscribe = options.owner.subscribe(() => this.onLiveChange());
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): InboxSnapshot {
    this.cached ??= this.build();
    return this.cached;
  }

  /** Asks the server now: the quota (and the current search or filter). */
  refresh(): void {
    this.schedule(0);
  }

  setQuery(query: string): void {
    if (query === this.query) return;
    this.query = query;
    this.changed();
    this.schedule(this.options.searchDelayMs ?? DEFAULT_SEARCH_DELAY_MS);
  }

  setFilter(filter: InboxFilter): void {
    if (filter === this.filter) return;
    this.filter = filter;
    this.changed();
    this.schedule(0);
  }

  /** Archives a conversation (or brings it back); the list changes at once. Rejects with the server's ApiError. */
  async archive(conversationId: string, archived: boolean): Promise<void> {
    this.adopt(await this.options.api.archive(conversationId, archived));
  }

  /** Shows a conversation unread until the owner reads it again. */
  async markUnread(conversationId: string): Promise<void> {
    this.adopt(await this.options.api.markUnread(conversationId));
  }

  /** Deletes a conversation for good; it leaves the list, and the quota is asked again (its files are gone). */
  async remove(conversationId: string): Promise<void> {
    await this.options.api.deleteConversation(conversationId);
    this.results = this.results.filter((c) => c.id !== conversationId);
    this.options.owner.forget(conversationId);
    this.changed();
    this.schedule(0);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.unsubscribe();
    this.listeners.clear();
  }

  private adopt(summary: ConversationSummary): void {
    this.results = this.results.map((c) => (c.id === summary.id ? summary : c));
    this.options.owner.apply(summary);
  }

  private onLiveChange(): void {
    this.changed();
    const total = totalFiles(this.options.owner.snapshot().conversations);
    const filesChanged = total !== this.filesTotal;
    this.filesTotal = total;
    // A search's matches and a filter's members may have changed with the message; new files use quota.
    if (this.narrowed() || filesChanged) this.schedule(this.options.refreshDelayMs ?? DEFAULT_REFRESH_DELAY_MS, false);
  }

  private narrowed(): boolean {
    return this.query.trim() !== '' || this.filter !== 'all';
  }

  private key(): string {
    return `${this.filter}\n${this.query.trim()}`;
  }

  /** Asks the server after `delayMs`; `restart` false keeps an earlier timer (live changes must not delay it forever). */
  private schedule(delayMs: number, restart = true): void {
    if (this.closed) return;
    if (this.timer !== null) {
      if (!restart) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.fetch();
    }, delayMs);
  }

  private async fetch(): Promise<void> {
    const request = ++this.requests;
    const key = this.key();
    const query = this.query.trim();
    const onlyQuota = !this.narrowed();
    try {
      const answer = await this.options.api.inbox({ ...(query === '' ? {} : { q: query }), filter: this.filter });
      if (this.closed || request !== this.requests) return;
      this.results = answer.conversations;
      this.answered = key;
      this.quota = answer.quota;
      this.error = null;
    } catch (err) {
      if (this.closed || request !== this.requests) return;
      if (onlyQuota) {
        // Only the quota was asked (the list itself is live): the console works without it, e.g. on an older server.
        console.warn('The inbox could not be loaded (quota not shown):', err);
      } else {
        this.error = err instanceof Error && err.message !== '' ? err.message : 'The conversations could not be loaded.';
      }
    }
    this.changed();
  }

  private build(): InboxSnapshot {
    const live = this.options.owner.snapshot().conversations;
    const query = this.query.trim();
    const searching = query !== '';
    const base = { query: this.query, filter: this.filter, error: this.error, quota: this.quota };
    if (!this.narrowed()) {
      return { ...base, conversations: live.filter((c) => matchesFilter('all', c, false)), loading: false };
    }
    const answered = this.answered === this.key();
    const byId = new Map(live.map((c) => [c.id, c]));
    const listed = new Map<string, ConversationSummary>();
    // While the answer to a new search is on its way the old results stay (narrowed by the filter), not a blank list.
    for (const result of this.results) {
      const current = byId.get(result.id);
      listed.set(result.id, current !== undefined && current.updatedAt >= result.updatedAt ? current : result);
    }
    // Without a search, the filter alone decides: a live conversation that matches it shows before the server says so.
    if (!searching) for (const c of live) if (!listed.has(c.id)) listed.set(c.id, c);
    const conversations = [...listed.values()]
      .filter((c) => matchesFilter(this.filter, c, searching))
      .sort((a, b) => b.updatedAt - a.updatedAt || (a.id < b.id ? 1 : -1));
    return { ...base, conversations, loading: !answered };
  }

  private changed(): void {
    this.cached = null;
    for (const listener of [...this.listeners]) listener();
  }
}

/**
 * The filter's rule, as the server applies it (engine/ports/storage.ts listConversations). Mail that failed DMARC
 * (`suspicious`) is in no list but its own, unless a search looks for it (protocol.ts conversationSummary).
 */
export function matchesFilter(filter: InboxFilter, c: ConversationSummary, searching: boolean): boolean {
  const suspicious = c.suspicious === true;
  const hidden = suspicious && !searching;
  switch (filter) {
    case 'all':
      // A search finds archived conversations too.
      return !hidden && (searching || c.archived !== true);
    case 'unread':
      return !hidden && (c.unread > 0 || c.markedUnread === true);
    case 'files':
      return !hidden && (c.files ?? 0) > 0;
    case 'archived':
      return !hidden && c.archived === true;
    case 'suspicious':
      return suspicious;
    default:
      return unknownFilter(filter);
  }
}

/** A filter added to the protocol and not handled above is a compile error; at run time it hides nothing. */
function unknownFilter(_filter: never): boolean {
  return true;
}

function totalFiles(conversations: readonly ConversationSummary[]): number {
  return conversations.reduce((sum, c) => sum + (c.files ?? 0), 0);
}
