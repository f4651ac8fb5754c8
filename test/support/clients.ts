/**
 * Test clients that act as people do: a visitor and an owner, through the same SDK the browser uses
 * (real HTTP, real colyseus.js sockets).
 */
import { ApiError, createApi, type KnockApi } from '../../client/src/sdk/api.ts';
import { ConversationSession } from '../../client/src/sdk/conversationSession.ts';
import { memoryStore } from '../../client/src/sdk/browserStore.ts';
import { OwnerSession, VisitorPresence } from '../../client/src/sdk/userSession.ts';
import type { KeyValueStore } from '../../client/src/sdk/types.ts';
import { SESSION_COOKIE } from '../../engine/cookies.ts';
import { TEST_PASSWORD, type TestKnock } from './knockServer.ts';

export class Person {
  readonly cookies = new Map<string, string>();
  readonly api: KnockApi;
  readonly store: KeyValueStore = memoryStore();
  private readonly closers: Array<() => Promise<void>> = [];

  constructor(readonly base: string) {
    this.api = createApi({ base, cookies: this.cookies });
  }

  get headers(): Record<string, string> {
    return { cookie: [...this.cookies].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('; ') };
  }

  get sessionToken(): string | undefined {
    return this.cookies.get(SESSION_COOKIE);
  }

  async login(handle: string, password = TEST_PASSWORD): Promise<void> {
    await this.api.login(handle, password);
  }

  ownerSession(handle: string): OwnerSession {
    return this.track(OwnerSession.open({ endpoint: this.base, handle, headers: this.headers }));
  }

  visitorPresence(handle: string): VisitorPresence {
    return this.track(VisitorPresence.open({ endpoint: this.base, handle, headers: this.headers }));
  }

  conversation(conversationId: string, token?: string, store: KeyValueStore = this.store): ConversationSession {
    return this.track(
      ConversationSession.open({ endpoint: this.base, conversationId, ...(token ? { token } : {}), store, headers: this.headers }),
    );
  }

  /** Knocks on /handle and opens the conversation, as the visitor page does on the first Send. */
  async knock(handle: string, name?: string): Promise<{ session: ConversationSession; conversationId: string; token: string }> {
    const answer = await this.api.knock(handle, name);
    return { session: this.conversation(answer.conversationId, answer.token), conversationId: answer.conversationId, token: answer.token };
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.closers.splice(0).map((close) => close().catch(() => undefined)));
  }

  private track<T extends { close(): Promise<void> }>(session: T): T {
    this.closers.push(() => session.close());
    return session;
  }
}

/** Resolves when `predicate(snapshot)` holds, checking after every change; rejects after `timeoutMs`. */
export function waitFor<S>(
  source: { snapshot(): S; subscribe(listener: () => void): () => void },
  predicate: (snapshot: S) => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<S> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const snap = source.snapshot();
      if (predicate(snap)) {
        cleanup();
        resolve(snap);
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for: ${what}\nlast snapshot: ${JSON.stringify(source.snapshot()).slice(0, 2000)}`));
    }, timeoutMs);
    const unsubscribe = source.subscribe(check);
    const cleanup = () => {
      clearTimeout(timer);
      unsubscribe();
    };
    check();
  });
}

export function bodies(snapshot: { messages: Array<{ body: string; seq: number | null }> }): string[] {
  return snapshot.messages.map((m) => m.body);
}

/** A new account at `handle` (named after it), logged in over the API as its owner at the console. */
export async function loggedInOwner(knock: Pick<TestKnock, 'addUser' | 'url'>, handle: string): Promise<Person> {
  await knock.addUser(handle, handle[0]!.toUpperCase() + handle.slice(1));
  const person = new Person(knock.url);
  await person.login(handle);
  return person;
}

/** The API's refusal of a call (its code, status and words); fails the test when the call succeeds or fails otherwise. */
export async function refusal(call: Promise<unknown>): Promise<ApiError> {
  const err = await call.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw new Error(`expected the API to refuse, got ${String(err)}`);
  return err;
}
