/**
 * ConversationRoom: one per conversation (filterBy conversationId). A thin Colyseus shell over ConversationLogic:
 * authorization at matchmaking (before a room is ever created), then sockets wired to the logic.
 */
import type { AuthContext } from '@colyseus/core';
import { KnockError } from '../../engine/errors.ts';
import { secretHash } from '../../engine/auth.ts';
import { conversationClientMessages, conversationJoinOptions, describeIssues, type ConversationServerMessages } from '../../engine/protocol.ts';
import { TokenBucket } from '../../engine/rateLimit.ts';
import { KnockRoom, type Admission, type KnockClient } from '../knockRoom.ts';
import { checkOrigin, viewerOf, type RoomDeps } from '../deps.ts';
import { OwnerPresence } from '../ownerPresence.ts';
import { ConversationLogic, type ConversationPeer } from './conversationLogic.ts';

const SUMMARY_DELAY_MS = 50;

/** The scope of a conversation's room. */
export const conversationScope = (conversationId: string): string => `conversation:${conversationId}`;

/**
 * Who may join: the visitor holding the conversation's token, or the owner's signed-in devices. DocRoom and GameRoom
 * admit the same people to the conversation's documents and games, under their own scope.
 */
export async function authorize(deps: RoomDeps, bearer: string | undefined, raw: unknown, context: AuthContext): Promise<Admission> {
  checkOrigin(deps, context.headers);
  const parsed = conversationJoinOptions.safeParse(raw);
  if (!parsed.success) throw new KnockError('bad_request', describeIssues(parsed.error));
  const options = parsed.data;
  const conversation = await deps.storage.getConversation(options.conversationId);
  if (!conversation) throw new KnockError('not_found', 'This conversation does not exist.');
  const participants = await deps.storage.getParticipants(conversation.id);
  const scope = conversationScope(conversation.id);
  if (options.token !== undefined) {
    const byToken = await deps.storage.getConversationByTokenHash(secretHash(options.token));
    const visitor = participants.find((p) => p.role === 'visitor');
    if (byToken?.id !== conversation.id || !visitor) throw new KnockError('forbidden', 'This link is not valid.');
    return { scope, role: 'visitor', participantId: visitor.id, accountId: null, sessionHash: null, name: visitor.name };
  }
  const viewer = await viewerOf(deps, context.headers, bearer);
  if (!viewer) throw new KnockError('unauthorized', 'Please log in.');
  const owner = participants.find((p) => p.role === 'owner' && p.accountId === viewer.account.id);
  if (!owner) throw new KnockError('forbidden', 'You are not a member of this conversation.');
  return { scope, role: 'owner', participantId: owner.id, accountId: viewer.account.id, sessionHash: viewer.sessionHash, name: owner.name };
}

export function conversationRoomClass(deps: RoomDeps) {
  return class ConversationRoom extends KnockRoom<{ conversationId: string }> {
    protected readonly log = deps.logger.child({ room: 'conversation' });
    protected readonly maxMessageBytes = deps.config.maxMessageBytes;
    protected readonly claims = deps.claims;
    private logic: ConversationLogic | null = null;
    private readonly peers = new Map<string, ConversationPeer>();
    private unsubscribe: (() => void) | null = null;
    private summaryTimer: NodeJS.Timeout | null = null;
    private presenceTimer: NodeJS.Timeout | null = null;

    static override async onAuth(token: string, options: unknown, context: AuthContext): Promise<Admission> {
      return authorize(deps, token, options, context);
    }

    protected scopeOf(options: { conversationId: string }): string {
      return conversationScope(options.conversationId);
    }

    protected async setUp(options: { conversationId: string }): Promise<void> {
      const conversation = await deps.storage.getConversation(options.conversationId);
      if (!conversation) throw new KnockError('not_found', 'This conversation does not exist.');
      const participants = await deps.storage.getParticipants(conversation.id);
      const handle = conversation.ownerHandle;
      const { config } = deps;
      const logic = new ConversationLogic(
        {
          storage: deps.storage,
          clock: deps.clock,
          logger: this.log,
          onSummaryChanged: () => this.scheduleSummary(handle),
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
      // Events say at once when the owner comes and goes; the periodic re-read catches an owner whose process
      // died without saying so (engine/hub.ts, the presence lease).
      const ownerPresence = new OwnerPresence({
        read: () => deps.hub.isOnline(handle),
        onChange: (online) => logic.setOwnerOnline(online),
        logger: this.log,
      });
      this.unsubscribe = await deps.hub.onPresence(handle, (event) => {
        if (event.type === 'online') ownerPresence.heard(event.online);
        else logic.endSession(event.sessionHash);
      });
      await ownerPresence.refresh();
      // A plain timer: Colyseus's room clock only ticks in rooms with a patch rate or a simulation interval.
      this.presenceTimer = setInterval(() => void ownerPresence.refresh(), deps.hub.presenceRefreshMs);
      for (const [type, schema] of Object.entries(conversationClientMessages)) {
        this.handle(type, schema, (client, message) =>
          logic.dispatch(this.peerOf(client), type as keyof typeof conversationClientMessages, message as never),
        );
      }
    }

    override async onJoin(client: KnockClient, options: { since?: number }): Promise<void> {
      const identity = this.admit(client);
      const peer: ConversationPeer = {
        id: client.sessionId,
        identity,
        state: { kind: 'joining', buffered: [] },
        messageBucket: new TokenBucket(deps.config.rateLimits.socketMessages, deps.clock),
        signalBucket: new TokenBucket(deps.config.rateLimits.socketSignals, deps.clock),
        transport: this.transportOf(client),
      };
      this.peers.set(peer.id, peer);
      await this.logic!.join(peer, typeof options.since === 'number' ? options.since : undefined);
    }

    override onLeave(client: KnockClient): void {
      this.peers.delete(client.sessionId);
      this.logic?.leave(client.sessionId);
    }

    override async onDispose(): Promise<void> {
      if (this.presenceTimer) clearInterval(this.presenceTimer);
      this.unsubscribe?.();
      await this.logic?.dispose();
      if (this.summaryTimer) {
        clearTimeout(this.summaryTimer);
        await this.publishSummary(this.logic!.conversation.ownerHandle);
      }
    }

    /** Called by a GameRoom (matchMaker.remoteRoomCall, from any process) once a game's result is stored. */
    async gameFinished(gameId: string): Promise<void> {
      await this.logic?.games.finished(gameId);
    }

    private peerOf(client: KnockClient): ConversationPeer {
      const peer = this.peers.get(client.sessionId);
      if (!peer) throw new KnockError('forbidden', 'You have not joined this conversation yet.');
      return peer;
    }

    /** Coalesces list updates for the owner's devices: one summary per burst of activity. */
    private scheduleSummary(handle: string): void {
      if (this.summaryTimer) return;
      this.summaryTimer = setTimeout(() => void this.publishSummary(handle), SUMMARY_DELAY_MS);
    }

    private async publishSummary(handle: string): Promise<void> {
      this.summaryTimer = null;
      try {
        const summary = await deps.storage.getConversationSummary(this.logic!.conversation.id);
        if (summary) deps.hub.publishOwner(handle, { type: 'conversation', summary });
      } catch (err) {
        this.log.error({ err }, 'could not publish the conversation summary');
      }
    }
  };
}

export type { ConversationServerMessages };
