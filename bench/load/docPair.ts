/**
 * Two people editing one document, as a chat pair the traffic engine (traffic.ts) can drive: a visitor knocks, makes
 * a document in the conversation (`doc.create`), and then the visitor (conversation token) and the owner (session
 * cookie) each open it with the SDK's DocProvider (client/src/sdk/docProvider.ts, colyseus.js), the code the
 * browser's editor runs. One "message" is one keystroke: the sending editor inserts one character at the end of its
 * own text (a person typing in their paragraph), which the provider sends at once as one Yjs update through the
 * DocRoom.
 *
 * An update counts as delivered when the other editor's Y.Doc has applied it: its state vector holds the sender's
 * clock past that insert. (Reading the clock rather than counting update events stays right if Yjs ever applies two
 * updates at once, e.g. one that waited for a missing dependency.)
 */
import * as Y from 'yjs';
import { DocProvider } from '../../client/src/sdk/docProvider.ts';
import { withTimeout } from '../lib/processes.ts';
import { join, knockAt, leave, nextMessage, ownerHeaders, type ChatPair, type ChatSink, type Clients } from './connections.ts';
import type { PairSpec } from './messages.ts';

/** One character: a keystroke. */
const KEYSTROKE = 'k';

interface Pending {
  /** The sender's Yjs clock of the inserted character. */
  clock: number;
  clientMsgId: string;
}

export async function openDocPair(spec: PairSpec, clients: Clients, sink: ChatSink, timeoutMs: number): Promise<ChatPair> {
  if (!spec.owner) throw new Error('a document pair needs an owner');
  const { endpoint, owner } = spec;
  const { docId, token } = await createDocument(spec, clients, timeoutMs);
  const editors = [
    DocProvider.open({ endpoint, docId, token }),
    DocProvider.open({ endpoint, docId, headers: ownerHeaders(owner.token) }),
  ] as const;
  const close = async () => {
    await Promise.all(editors.map((e) => e.destroy()));
  };
  try {
    await withTimeout(Promise.all(editors.map((e) => e.whenSynced())), timeoutMs, `document ${docId}: both editors synced`);
  } catch (err) {
    await close();
    throw err;
  }
  // pending[from]: keystrokes of editor `from` the other editor has not applied yet, in clock order.
  const pending: [Pending[], Pending[]] = [[], []];
  editors.forEach((receiver, to) => {
    const from = to === 0 ? 1 : 0;
    const sender = editors[from].doc.clientID;
    receiver.doc.on('update', () => {
      const queue = pending[from];
      if (queue.length === 0) return;
      const applied = Y.getState(receiver.doc.store, sender);
      let n = 0;
      while (n < queue.length && queue[n]!.clock < applied) n++;
      // Taken off the queue before the sink hears of them: in a closed loop, delivered() sends the next keystroke.
      for (const done of queue.splice(0, n)) sink.delivered(done.clientMsgId);
    });
    receiver.on('error', (e) => sink.refused(undefined, `${e.code}: ${e.message}`));
  });
  return {
    send(from, clientMsgId) {
      const { doc } = editors[from];
      pending[from].push({ clock: Y.getState(doc.store, doc.clientID), clientMsgId });
      const text = doc.getText(`editor${from}`);
      text.insert(text.length, KEYSTROKE);
    },
    close,
  };
}

/** A visitor knocks and makes a document in the new conversation; its conversation socket is then dropped. */
async function createDocument(spec: PairSpec, clients: Clients, timeoutMs: number): Promise<{ docId: string; token: string }> {
  const { conversationId, token } = await knockAt(spec.endpoint, spec.owner!.handle, `Editor ${spec.id}`, timeoutMs);
  const conversation = await join(clients.visitor(spec.endpoint), 'conversation', { conversationId, token }, timeoutMs);
  try {
    const created = nextMessage<{ docId: string }>(conversation, 'doc.created', timeoutMs);
    conversation.send('doc.create', { title: `Bench document ${spec.id}` });
    const { docId } = await created;
    return { docId, token };
  } finally {
    await leave(conversation);
  }
}
