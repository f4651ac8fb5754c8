/**
 * A shared document between an owner (alice, logged in) and a visitor, made the way people make one: the visitor
 * knocks, then creates the document in the conversation ("New document"), whose card reaches the owner. Documents
 * are then opened with the SDK's DocProvider (real colyseus.js sockets), directly or through a test proxy.
 */
import * as Y from 'yjs';
import { DocProvider } from '../../client/src/sdk/docProvider.ts';
import type { ConversationSession } from '../../client/src/sdk/conversationSession.ts';
import type { MessageView } from '../../client/src/sdk/types.ts';
import { Person, waitFor } from './clients.ts';
import type { TestKnock } from './knockServer.ts';

export interface SharedDoc {
  owner: Person;
  visitor: Person;
  conversationId: string;
  token: string;
  docId: string;
  ownerConversation: ConversationSession;
  visitorConversation: ConversationSession;
  /** Opens the document as the owner (session cookie) or the visitor (token), at `endpoint` (default the server). */
  open(who: 'owner' | 'visitor', endpoint?: string, doc?: Y.Doc): DocProvider;
  closeAll(): Promise<void>;
}

export async function sharedDoc(knock: TestKnock, handle = 'alice', title = 'Trip plan'): Promise<SharedDoc> {
  await knock.addUser(handle, 'Alice');
  const owner = new Person(knock.url);
  await owner.login(handle);
  const visitor = new Person(knock.url);
  const { session: visitorConversation, conversationId, token } = await visitor.knock(handle, 'Vic');
  await waitFor(visitorConversation, (s) => s.connection === 'live', 'visitor live');
  const created = new Promise<string>((resolve) => {
    const off = visitorConversation.onDocCreated((doc) => {
      off();
      resolve(doc.docId);
    });
  });
  if (!visitorConversation.createDocument(title)) throw new Error('could not send doc.create');
  const docId = await created;
  const ownerConversation = owner.conversation(conversationId);
  await waitFor(ownerConversation, (s) => s.messages.some(isCardOf(docId)), 'the card at the owner');
  const providers: DocProvider[] = [];
  return {
    owner,
    visitor,
    conversationId,
    token,
    docId,
    ownerConversation,
    visitorConversation,
    open(who, endpoint = knock.url, doc) {
      const provider = DocProvider.open({
        endpoint,
        docId,
        ...(who === 'visitor' ? { token } : { headers: owner.headers }),
        ...(doc ? { doc } : {}),
      });
      providers.push(provider);
      return provider;
    },
    async closeAll() {
      await Promise.all(providers.splice(0).map((p) => p.destroy()));
      await owner.closeAll();
      await visitor.closeAll();
    },
  };
}

/** Picks a document's card out of a conversation's messages: the message whose event is that document. */
export function isCardOf(docId: string): (m: MessageView) => boolean {
  return (m) => m.event.kind === 'doc' && m.event.docId === docId;
}

/** Resolves when `check()` holds, checking every 20 ms; rejects after `timeoutMs` with `what` and the last value. */
export async function until<T>(read: () => T, check: (value: T) => boolean, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}\nlast value: ${JSON.stringify(value)?.slice(0, 1000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The text of a document's "text" field. */
export const textOf = (p: { doc: Y.Doc }): string => p.doc.getText('text').toString();
