/**
 * DocRoom: one per document (filterBy docId). A thin Colyseus shell over DocLogic: membership is the document's
 * conversation's (checked at matchmaking, before a room is ever created: the visitor's conversation token or the
 * owner's session), then sockets wired to the logic.
 */
import type { AuthContext } from '@colyseus/core';
import { KnockError } from '../../engine/errors.ts';
import { describeIssues, docClientMessages, docJoinOptions } from '../../engine/protocol.ts';
import { TokenBucket } from '../../engine/rateLimit.ts';
import { authorize } from '../conversation/ConversationRoom.ts';
import { checkOrigin, type RoomDeps } from '../deps.ts';
import { KnockRoom, type Admission, type KnockClient } from '../knockRoom.ts';
import { DocLogic, type DocPeer } from './docLogic.ts';

/** Room messages around a Yjs update (type name, msgpack header): allowed on top of docMaxUpdateBytes. */
const ENVELOPE_BYTES = 1024;

const docScope = (docId: string): string => `doc:${docId}`;

async function authorizeDoc(deps: RoomDeps, bearer: string | undefined, raw: unknown, context: AuthContext): Promise<Admission> {
  checkOrigin(deps, context.headers);
  const parsed = docJoinOptions.safeParse(raw);
  if (!parsed.success) throw new KnockError('bad_request', describeIssues(parsed.error));
  const doc = await deps.storage.getDocument(parsed.data.docId);
  if (!doc) throw new KnockError('not_found', 'This document does not exist.');
  const { token } = parsed.data;
  const member = await authorize(deps, bearer, { conversationId: doc.conversationId, ...(token !== undefined ? { token } : {}) }, context);
  return { ...member, scope: docScope(doc.id) };
}

export function docRoomClass(deps: RoomDeps) {
  return class DocRoom extends KnockRoom<{ docId: string }> {
    protected readonly log = deps.logger.child({ room: 'doc' });
    protected readonly maxMessageBytes = deps.config.docMaxUpdateBytes + ENVELOPE_BYTES;
    protected readonly claims = deps.claims;
    private logic: DocLogic | null = null;
    private readonly peers = new Map<string, DocPeer>();
    private unsubscribe: (() => void) | null = null;

    static override async onAuth(token: string, options: unknown, context: AuthContext): Promise<Admission> {
      return authorizeDoc(deps, token, options, context);
    }

    protected scopeOf(options: { docId: string }): string {
      return docScope(options.docId);
    }

    protected async setUp(options: { docId: string }): Promise<void> {
      const doc = await deps.storage.getDocument(options.docId);
      if (!doc) throw new KnockError('not_found', 'This document does not exist.');
      const conversation = await deps.storage.getConversation(doc.conversationId);
      if (!conversation) throw new KnockError('not_found', 'This conversation does not exist.');
      const { config } = deps;
      const logic = await DocLogic.load(
        {
          storage: deps.storage,
          clock: deps.clock,
          logger: this.log,
          limits: { maxUpdateBytes: config.docMaxUpdateBytes, maxDocBytes: config.docMaxBytes, compactUpdates: config.docCompactUpdates },
        },
        doc,
      );
      this.logic = logic;
      // A logout closes this session's document sockets too, as it does its conversation sockets.
      this.unsubscribe = await deps.hub.onPresence(conversation.ownerHandle, (event) => {
        if (event.type !== 'online') logic.endSession(event.sessionHash);
      });
      for (const [type, schema] of Object.entries(docClientMessages)) {
        this.handle(type, schema, (client, message) => logic.receive(this.peerOf(client), type as keyof typeof docClientMessages, message));
      }
    }

    override onJoin(client: KnockClient): void {
      const identity = this.admit(client);
      const peer: DocPeer = {
        id: client.sessionId,
        identity,
        bucket: new TokenBucket(deps.config.rateLimits.docMessages, deps.clock),
        transport: {
          send: (type, payload) => client.send(type, payload),
          close: (code, reason) => client.leave(code, reason),
        },
      };
      this.peers.set(peer.id, peer);
      this.logic!.join(peer);
    }

    override onLeave(client: KnockClient): void {
      this.peers.delete(client.sessionId);
      this.logic?.leave(client.sessionId);
    }

    override async onDispose(): Promise<void> {
      this.unsubscribe?.();
      await this.logic?.dispose();
    }

    private peerOf(client: KnockClient): DocPeer {
      const peer = this.peers.get(client.sessionId);
      if (!peer) throw new KnockError('forbidden', 'You have not joined this document yet.');
      return peer;
    }
  };
}
