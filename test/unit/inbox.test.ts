/**
 * The owner's inbox (client/src/sdk/inbox.ts) over a live list this test pushes summaries into and an API it answers:
 * archived conversations out of the default list and back with a new message, a search asked once typing pauses with
 * older answers dropped, filters (suspicious mail only under its own), live summaries winning over older answers, and the actions changing the list at once.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConversationSummary, InboxAnswer, InboxFilter } from '../../engine/protocol.ts';
import { Inbox, type InboxApi, type InboxSource } from '../../client/src/sdk/inbox.ts';

function summary(id: string, updatedAt: number, more: Partial<ConversationSummary> = {}): ConversationSummary {
  return { id, visitorName: id, lastSeq: 1, lastMessage: { body: `hello from ${id}`, at: updatedAt, senderRole: 'visitor' }, unread: 0, updatedAt, ...more };
}

/** The OwnerSession's side: what the UserRoom pushed. */
class LiveList implements InboxSource {
  readonly conversations = new Map<string, ConversationSummary>();
  private readonly listeners = new Set<() => void>();
  snapshot() {
    return { conversations: [...this.conversations.values()].sort((a, b) => b.updatedAt - a.updatedAt) };
  }
  subscribe(listener: () => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  push(s: ConversationSummary) {
    this.apply(s);
  }
  apply(s: ConversationSummary) {
    this.conversations.set(s.id, s);
    for (const l of this.listeners) l();
  }
  forget(id: string) {
    this.conversations.delete(id);
    for (const l of this.listeners) l();
  }
}

const quota = { usedBytes: 120 * 1024 * 1024, limitBytes: 1024 ** 3 };

/** Answers inbox requests by hand, in any order. */
class HandApi implements InboxApi {
  readonly asked: { q?: string; filter?: InboxFilter; answer: (conversations: ConversationSummary[]) => void }[] = [];
  archived: string[] = [];
  deleted: string[] = [];
  inbox = (query: { q?: string; filter?: InboxFilter } = {}) =>
    new Promise<InboxAnswer>((resolve) => this.asked.push({ ...query, answer: (conversations) => resolve({ conversations, quota }) }));
  archive = async (id: string, archived: boolean) => {
    this.archived.push(`${id}:${archived}`);
    return summary(id, 1, { archived });
  };
  markUnread = async (id: string) => summary(id, 1, { markedUnread: true, unread: 1 });
  deleteConversation = async (id: string) => {
    this.deleted.push(id);
  };
}

let live: LiveList;
let api: HandApi;
let inbox: Inbox;
const ids = () => inbox.snapshot().conversations.map((c) => c.id);

beforeEach(() => {
  vi.useFakeTimers();
  live = new LiveList();
  api = new HandApi();
  inbox = new Inbox({ owner: live, api, searchDelayMs: 250, refreshDelayMs: 1000 });
});
afterEach(() => {
  inbox.close();
  vi.useRealTimers();
});

describe('Inbox', () => {
  it('lists live conversations newest first, archived ones left out until a new message brings them back', () => {
    live.push(summary('bob', 2));
    live.push(summary('carol', 3, { archived: true }));
    expect(ids()).toEqual(['bob']);
    live.push(summary('carol', 4, { archived: false }));
    expect(ids()).toEqual(['carol', 'bob']);
  });

  it('asks the server for the quota when refreshed, and again when files arrive', async () => {
    live.push(summary('bob', 2));
    inbox.refresh();
    await vi.advanceTimersByTimeAsync(0);
    api.asked[0]?.answer([]);
    await vi.advanceTimersByTimeAsync(0);
    expect(inbox.snapshot().quota).toEqual(quota);
    live.push(summary('bob', 3, { files: 2 }));
    await vi.advanceTimersByTimeAsync(1000);
    expect(api.asked).toHaveLength(2);
  });

  it('searches once typing pauses, shows the old results meanwhile, and drops an answer to an older search', async () => {
    live.push(summary('bob', 2));
    live.push(summary('carol', 3));
    inbox.setQuery('inv');
    inbox.setQuery('invoice');
    await vi.advanceTimersByTimeAsync(249);
    expect(api.asked).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(api.asked.map((a) => a.q)).toEqual(['invoice']);
    expect(inbox.snapshot().loading).toBe(true);

    api.asked[0]?.answer([summary('bob', 2)]);
    await vi.advanceTimersByTimeAsync(0);
    expect(ids()).toEqual(['bob']);
    expect(inbox.snapshot().loading).toBe(false);

    inbox.setQuery('invoice march');
    await vi.advanceTimersByTimeAsync(250);
    inbox.setQuery('carol');
    await vi.advanceTimersByTimeAsync(250);
    api.asked[2]?.answer([summary('carol', 3)]);
    api.asked[1]?.answer([summary('bob', 2)]); // late answer to the older search
    await vi.advanceTimersByTimeAsync(0);
    expect(ids()).toEqual(['carol']);
  });

  it('finds archived conversations by search, and shows the live summary of a result when it is newer', async () => {
    live.push(summary('bob', 5, { lastMessage: { body: 'newest', at: 5, senderRole: 'visitor' } }));
    inbox.setQuery('hello');
    await vi.advanceTimersByTimeAsync(250);
    api.asked[0]?.answer([summary('bob', 2), summary('dora', 1, { archived: true })]);
    await vi.advanceTimersByTimeAsync(0);
    expect(inbox.snapshot().conversations.map((c) => [c.id, c.lastMessage?.body])).toEqual([
      ['bob', 'newest'],
      ['dora', 'hello from dora'],
    ]);
  });

  it('filters: unread (or marked unread) conversations show at once from the live list, and the server is asked', async () => {
    live.push(summary('bob', 2, { unread: 1 }));
    live.push(summary('carol', 3));
    live.push(summary('dora', 4, { markedUnread: true }));
    inbox.setFilter('unread');
    expect(ids()).toEqual(['dora', 'bob']);
    await vi.advanceTimersByTimeAsync(0);
    expect(api.asked.map((a) => a.filter)).toEqual(['unread']);
    // Read meanwhile: it leaves the unread list.
    live.push(summary('bob', 2, { unread: 0 }));
    expect(ids()).toEqual(['dora']);
  });

  it('keeps suspicious mail out of every list but Suspicious, and lets a search find it', async () => {
    live.push(summary('bob', 2, { unread: 1 }));
    live.push(summary('spoofed', 3, { kind: 'email', subject: 'Your invoice', suspicious: true, unread: 1, files: 1 }));
    expect(ids()).toEqual(['bob']);
    inbox.setFilter('unread');
    expect(ids()).toEqual(['bob']);
    inbox.setFilter('files');
    expect(ids()).toEqual([]);
    inbox.setFilter('suspicious');
    expect(ids(), 'shown from the live list before the server answers').toEqual(['spoofed']);
    await vi.advanceTimersByTimeAsync(0);
    expect(api.asked.at(-1)?.filter).toBe('suspicious');
    inbox.setFilter('all');
    inbox.setQuery('invoice');
    await vi.advanceTimersByTimeAsync(250);
    api.asked.at(-1)?.answer([summary('spoofed', 3, { kind: 'email', subject: 'Your invoice', suspicious: true })]);
    await vi.advanceTimersByTimeAsync(0);
    expect(ids()).toEqual(['spoofed']);
  });

  it('archives, marks unread and deletes, changing the list at once', async () => {
    live.push(summary('bob', 2));
    live.push(summary('carol', 3));
    await inbox.archive('carol', true);
    expect(api.archived).toEqual(['carol:true']);
    expect(ids()).toEqual(['bob']);
    await inbox.markUnread('bob');
    expect(inbox.snapshot().conversations[0]).toMatchObject({ id: 'bob', markedUnread: true });
    await inbox.remove('bob');
    expect(api.deleted).toEqual(['bob']);
    expect(ids()).toEqual([]);
    expect(live.conversations.has('bob')).toBe(false);
    inbox.setFilter('archived');
    expect(ids()).toEqual(['carol']);
  });
});

describe('Inbox on a server that cannot answer', () => {
  it('shows no error when only the quota could not be loaded, and the search error when a search fails', async () => {
    const failing: InboxApi = { ...new HandApi(), inbox: async () => Promise.reject(new Error('The server answered 404.')) };
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const quiet = new Inbox({ owner: new LiveList(), api: failing });
    quiet.refresh();
    await vi.advanceTimersByTimeAsync(0);
    expect(quiet.snapshot().error).toBeNull();
    expect(warn).toHaveBeenCalledOnce();
    quiet.setQuery('x');
    await vi.advanceTimersByTimeAsync(250);
    expect(quiet.snapshot().error).toBe('The server answered 404.');
    quiet.close();
    warn.mockRestore();
  });
});
