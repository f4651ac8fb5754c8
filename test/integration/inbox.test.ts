/**
 * The owner's inbox over HTTP (issue 16): search, filters, archive, mark unread, delete (which frees the quota), and
 * who may do it: only the owner, with their session; another account learns nothing about the conversation.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationSummary, InboxAnswer } from '../../engine/protocol.ts';
import { Cast, NO_PINGS, testRateLimits } from '../support/cast.ts';
import { waitFor, type Person } from '../support/clients.ts';
import { startKnock, type TestKnock } from '../support/knockServer.ts';

let knock: TestKnock;
let cast: Cast;

beforeAll(async () => {
  knock = await startKnock({ pingIntervalMs: NO_PINGS, rateLimits: testRateLimits() });
  cast = new Cast(knock);
});
afterEach(() => cast.closeAll());
afterAll(() => knock.close());

async function inbox(owner: Person, params: Record<string, string> = {}): Promise<InboxAnswer> {
  const res = await fetch(`${knock.url}/_/api/conversations?${new URLSearchParams(params)}`, { headers: owner.headers });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as InboxAnswer;
}

async function post(owner: Person, path: string, body?: unknown, method = 'POST'): Promise<Response> {
  return fetch(`${knock.url}${path}`, {
    method,
    headers: { ...owner.headers, origin: knock.url, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** A visitor who knocks and writes `text`; `session` writes more. */
async function visitorSession(handle: string, name: string, text: string) {
  const visitor = cast.visitor();
  const { session, conversationId } = await visitor.knock(handle, name);
  session.send(text);
  await waitFor(session, (s) => s.messages.some((m) => m.seq !== null), `${name}'s message stored`);
  return { session, conversationId };
}

async function visitorWrote(handle: string, name: string, text: string): Promise<string> {
  return (await visitorSession(handle, name, text)).conversationId;
}

const ids = (answer: InboxAnswer) => answer.conversations.map((c: ConversationSummary) => c.id);

describe("the owner's inbox", () => {
  it('finds conversations by a word of a message, the start of a word, or the visitor\u2019s name; never by what is not there', async () => {
    const { handle, person: owner } = await cast.owner('Alice');
    const boat = await visitorWrote(handle, 'Vera', 'Is the sailboat still for sale?');
    const bike = await visitorWrote(handle, 'Bruno', 'I would like the bicycle');
    expect(ids(await inbox(owner, { q: 'sailboat' }))).toEqual([boat]);
    expect(ids(await inbox(owner, { q: 'bicy' }))).toEqual([bike]);
    expect(ids(await inbox(owner, { q: 'bruno' }))).toEqual([bike]);
    expect(ids(await inbox(owner, { q: 'submarine' }))).toEqual([]);
    // Search syntax is text: nothing breaks (a query of no words at all searches for nothing in particular).
    for (const q of ['"', '*', '()']) await inbox(owner, { q });
    for (const q of ['AND(', '-x', 'sail*boat', "'; DROP TABLE messages; --"]) expect((await inbox(owner, { q })).conversations, q).toEqual([]);
  });

  it('archives a conversation out of the list until a new message brings it back; marks one unread until it is read', async () => {
    const { handle, person: owner } = await cast.owner('Alice');
    const { session, conversationId: first } = await visitorSession(handle, 'Vera', 'hello');
    const archived = await post(owner, `/_/api/conversations/${first}/archive`, { archived: true });
    expect(((await archived.json()) as ConversationSummary)).toMatchObject({ id: first, archived: true });
    expect(ids(await inbox(owner))).not.toContain(first);
    expect(ids(await inbox(owner, { filter: 'archived' }))).toEqual([first]);

    // The visitor writes again: the conversation is back in the list.
    session.send('are you there?');
    await waitFor(session, (s) => s.messages.filter((m) => m.seq !== null).length === 2, 'the second message stored');
    expect(ids(await inbox(owner))).toEqual([first]);
    expect(ids(await inbox(owner, { filter: 'archived' }))).toEqual([]);

    const unread = await post(owner, `/_/api/conversations/${first}/unread`);
    expect(((await unread.json()) as ConversationSummary)).toMatchObject({ markedUnread: true });
    expect(ids(await inbox(owner, { filter: 'unread' }))).toEqual([first]);
  });

  it('deletes a conversation with everything in it, for its owner only', async () => {
    const { handle, person: owner } = await cast.owner('Alice');
    const { session: vera, conversationId: doomed } = await visitorSession(handle, 'Vera', 'delete me');
    const mallory = await cast.owner('Mallory');
    // Another account: the same 404 as for a conversation that does not exist.
    for (const [path, method] of [[`/_/api/conversations/${doomed}`, 'DELETE'], [`/_/api/conversations/${doomed}/unread`, 'POST']] as const) {
      const res = await post(mallory.person, path, undefined, method);
      expect(res.status, path).toBe(404);
    }
    expect(ids(await inbox(mallory.person))).toEqual([]);
    // Without a session: 401. From another site: 403.
    expect((await fetch(`${knock.url}/_/api/conversations`)).status).toBe(401);
    const crossSite = await fetch(`${knock.url}/_/api/conversations/${doomed}`, { method: 'DELETE', headers: { ...owner.headers, origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);

    expect((await post(owner, `/_/api/conversations/${doomed}`, undefined, 'DELETE')).status).toBe(204);
    // The visitor still in it is disconnected for good, not left typing into nothing.
    await waitFor(vera, (s) => s.connection === 'closed', "the visitor's conversation closes");
    expect(ids(await inbox(owner))).toEqual([]);
    expect(await knock.storage.getConversation(doomed)).toBeNull();
    expect((await post(owner, `/_/api/conversations/${doomed}`, undefined, 'DELETE')).status).toBe(404);
  });

  it('refuses a malformed filter or an oversized query with a clear error', async () => {
    const { person: owner } = await cast.owner('Alice');
    const bad = await fetch(`${knock.url}/_/api/conversations?filter=everything`, { headers: owner.headers });
    expect(bad.status).toBe(400);
    const long = await fetch(`${knock.url}/_/api/conversations?q=${'a'.repeat(201)}`, { headers: owner.headers });
    expect(long.status).toBe(400);
    expect(((await long.json()) as { error: { message: string } }).error.message).toContain('The search is too long');
  });
});
