/**
 * ConversationRoom: one per conversation (filterBy conversationId). A thin Colyseus shell over ConversationLogic:
 * authorization at matchmaking (rooms/conversationAccess.ts, before a room is ever created), sockets wired to the
 * logic, and the conversation's Hub topic wired to `relay`, so that every event written through the ConversationLog,
 * in this process or another, reaches the devices here.
 */
import type { AuthContext } from '@colyseus/core';
import { CloseCode, KnockError } from '../../engine/errors.ts';
import { conversationClientMessages, type MessageRecord } from '../../engine/protocol.ts';
import { TokenBucket } from '../../engine/rateLimit.ts';
import { ConversationAccess, conversationScope } from '../conversationAccess.ts';
import type { RoomDeps } from '../deps.ts';
import { KnockRoom, type Admission, type KnockClient } from '../knockRoom.ts';
import { OwnerPresence } from '../ownerPresence.ts';
import { Peers } from '../peers.ts';
import { ConversationLogic, type ConversationPeer } from './conversationLogic.ts';

export function conversationRoomClass(deps: RoomDeps) {
  const access = new ConversationAccess(deps);
  return class ConversationRoom extends KnockRoom<{ conversationId: string }> {
    protected readonly log = deps.logger.child({ room: 'conversation' });
    protected readonly maxMessageBytes = deps.config.maxMessageBytes;
    protected readonly claims = deps.claims;
    protected readonly writes = deps.writes;
    private logic: ConversationLogic | null = null;
    private readonly peers = new Peers<ConversationPeer>('this conversation');
    private readonly unsubscribes: Array<() => void> = [];
    private presenceTimer: NodeJS.Timeout | null = null;

    static override async onAuth(token: string, options: unknown, context: AuthContext): Promise<Admission> {
      return access.conversation(token, options, context.headers, typeof context.ip === 'string' ? context.ip : undefined);
    }

    protected scopeOf(options: { conversationId: string }): string {
      return conversationScope(options.conversationId);
    }

    protected async setUp(options: { conversationId: string }): Promise<void> {
      // Subscribed before the conversation is read: an event stored meanwhile is either in what is read or heard here
      // (and kept until the logic exists; `relay` drops what the read already holds).
      const heardEarly: MessageRecord[] = [];
      this.unsubscribes.push(
        await deps.hub.onConversation(options.conversationId, (message) => {
          if (this.logic) this.logic.relay(message);
          else heardEarly.push(message);
        }),
      );
      const conversation = await deps.storage.getConversation(options.conversationId);
      if (!conversation) throw new KnockError('not_found', 'This conversation does not exist.');
      const participants = await deps.storage.getParticipants(conversation.id);
      const handle = conversation.ownerHandle;
      const { config } = deps;
      const logic = new ConversationLogic(
        {
          storage: deps.storage,
          log: deps.conversationLog,
          files: deps.files,
          blocks: deps.blocks,
          clock: deps.clock,
          logger: this.log,
          calls: {
            timers: deps.timers,
            config: {
              ringTimeoutMs: config.callRingTimeoutMs,
              rejoinGraceMs: config.callRejoinGraceMs,
              meshMax: config.callMeshMax,
              maxMembers: config.callMaxMembers,
              callStarts: config.rateLimits.callStarts,
              callSignals: config.rateLimits.callSignals,
            },
            ice: deps.ice,
            mediaRouter: deps.mediaRouter,
            notifyOwner: (call) => void deps.hub.announceCall(handle, call),
            // While a call lasts the room outlives its last socket, so a reload (or both sides' at once) rejoins it;
            // the call's grace periods end it if nobody comes back, and the room then goes as usual.
            onBusy: (busy) => {
              this.autoDispose = !busy;
            },
          },
        },
        conversation,
        participants,
        false,
      );
      this.logic = logic;
      for (const message of heardEarly) logic.relay(message);
      // Events say at once when the owner comes and goes; the periodic re-read catches an owner whose process
      // died without saying so (engine/hub.ts, the presence lease).
      const ownerPresence = new OwnerPresence({
        read: () => deps.hub.isOnline(handle),
        onChange: (online) => logic.setOwnerOnline(online),
        logger: this.log,
      });
      this.unsubscribes.push(await deps.hub.onDelivery(conversation.id, (delivery) => logic.deliveryChanged(delivery)));
      // Deleted by its owner (the inbox): everyone in it is told, and the room closes.
      this.unsubscribes.push(
        await deps.hub.onConversationRemoved(conversation.id, () => void this.disconnect(CloseCode.gone)),
      );
      this.unsubscribes.push(
        await deps.hub.onPresence(handle, (event) => {
          if (event.type === 'online') ownerPresence.heard(event.online);
          else logic.endSession(event.sessionHash);
        }),
      );
      await ownerPresence.refresh();
      // A plain timer: Colyseus's room clock only ticks in rooms with a patch rate or a simulation interval.
      this.presenceTimer = setInterval(() => void ownerPresence.refresh(), deps.hub.presenceRefreshMs);
      for (const [type, schema] of Object.entries(conversationClientMessages)) {
        this.handle(type, schema, (client, message) =>
          logic.dispatch(this.peers.of(client.sessionId), type as keyof typeof conversationClientMessages, message as never),
        );
      }
    }

    override async onJoin(client: KnockClient, options: { since?: number }): Promise<void> {
      const identity = this.admit(client);
      const peer = this.peers.add({
        id: client.sessionId,
        identity,
        state: { kind: 'joining', buffered: [] },
        messageBucket: new TokenBucket(deps.config.rateLimits.socketMessages, deps.clock),
        signalBucket: new TokenBucket(deps.config.rateLimits.socketSignals, deps.clock),
        transport: this.transportOf(client),
      });
      await this.logic!.join(peer, typeof options.since === 'number' ? options.since : undefined);
    }

    override onLeave(client: KnockClient): void {
      this.peers.remove(client.sessionId);
      this.logic?.leave(client.sessionId);
    }

    override async onDispose(): Promise<void> {
      if (this.presenceTimer) clearInterval(this.presenceTimer);
      for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
      await this.logic?.dispose();
    }
  };
}
