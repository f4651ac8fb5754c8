/**
 * DocRoom: one per document (filterBy docId). A thin Colyseus shell over DocLogic: membership is the document's
 * conversation's (checked at matchmaking, before a room is ever created: the visitor's conversation token or the
 * owner's session), then sockets wired to the logic.
 */
import type { AuthContext } from '@colyseus/core';
import { KnockError } from '../../engine/errors.ts';
import { docClientMessages } from '../../engine/protocol.ts';
import { TokenBucket } from '../../engine/rateLimit.ts';
import { ConversationAccess, docScope } from '../conversationAccess.ts';
import type { RoomDeps } from '../deps.ts';
import { KnockRoom, type Admission, type KnockClient } from '../knockRoom.ts';
import { Peers } from '../peers.ts';
import { DocLogic, type DocPeer } from './docLogic.ts';

/** Room messages around a Yjs update (type name, msgpack header): allowed on top of docMaxUpdateBytes. */
const ENVELOPE_BYTES = 1024;

export function docRoomClass(deps: RoomDeps) {
  const access = new ConversationAccess(deps);
  return class DocRoom extends KnockRoom<{ docId: string }> {
    protected readonly log = deps.logger.child({ room: 'doc' });
    protected readonly maxMessageBytes = deps.config.docMaxUpdateBytes + ENVELOPE_BYTES;
    protected readonly claims = deps.claims;
    protected readonly writes = deps.writes;
    private logic: DocLogic | null = null;
    private readonly peers = new Peers<DocPeer>('this document');
    private unsubscribe: (() => void) | null = null;

    static override async onAuth(token: string, options: unknown, context: AuthContext): Promise<Admission> {
      return access.document(token, options, context.headers);
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
        this.handle(type, schema, (client, message) => logic.receive(this.peers.of(client.sessionId), type as keyof typeof docClientMessages, message));
      }
    }

    override onJoin(client: KnockClient): void {
      const identity = this.admit(client);
      this.logic!.join(
        this.peers.add({
          id: client.sessionId,
          identity,
          bucket: new TokenBucket(deps.config.rateLimits.docMessages, deps.clock),
          transport: {
            send: (type, payload) => client.send(type, payload),
            close: (code, reason) => client.leave(code, reason),
          },
        }),
      );
    }

    override onLeave(client: KnockClient): void {
      this.peers.remove(client.sessionId);
      this.logic?.leave(client.sessionId);
    }

    override async onDispose(): Promise<void> {
      this.unsubscribe?.();
      await this.logic?.dispose();
    }
  };
}
