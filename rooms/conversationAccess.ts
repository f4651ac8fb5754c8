/**
 * Who may enter a conversation's rooms (DESIGN "A room trusts nobody's options"), in one place: the ConversationRoom,
 * and the DocRoom and GameRoom of the conversation's documents and games, admit the same people, the visitor holding
 * the conversation's token or the owner's signed-in devices (a company's: its operators', engine/actingFor.ts), each
 * under its own scope. Plain code: the room types'
 * `onAuth` call it at matchmaking, before a room is ever created, and KnockRoom.admit holds the scope.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { actsFor } from '../engine/actingFor.ts';
import { secretHash } from '../engine/auth.ts';
import { KnockError } from '../engine/errors.ts';
import { conversationJoinOptions, describeIssues, docJoinOptions, gameJoinOptions } from '../engine/protocol.ts';
import type { z } from 'zod';
import { checkOrigin, viewerOf, type RoomDeps } from './deps.ts';
import type { Admission } from './knockRoom.ts';
import type { Identity } from './peer.ts';

/** The scope of each kind of room: one room per scope in the whole cluster (engine/ports/roomClaims.ts). */
export const conversationScope = (conversationId: string): string => `conversation:${conversationId}`;
export const docScope = (docId: string): string => `doc:${docId}`;
export const gameScope = (gameId: string): string => `game:${gameId}`;

export class ConversationAccess {
  constructor(private readonly deps: Pick<RoomDeps, 'storage' | 'auth' | 'isAllowedOrigin'> & { blocks?: RoomDeps['blocks'] }) {}

  /**
   * A device joining the conversation itself. A visitor's address key (`ip`, the matchmaking request's: clientKeyOf)
   * is recorded as the one they were seen from last, and its hash goes with them for the room's block checks.
   */
  async conversation(bearer: string | undefined, raw: unknown, headers: IncomingHttpHeaders, ip?: string): Promise<Admission> {
    checkOrigin(this.deps, headers);
    const { conversationId, token } = parse(conversationJoinOptions, raw);
    const identity = await this.member(bearer, conversationId, token, headers);
    if (identity.role === 'visitor' && ip !== undefined && this.deps.blocks) {
      const addressHash = await this.deps.blocks.seen(conversationId, ip);
      if (addressHash !== null) identity.addressHash = addressHash;
    }
    return { ...identity, scope: conversationScope(conversationId) };
  }

  /** A device opening one of the conversation's documents. */
  async document(bearer: string | undefined, raw: unknown, headers: IncomingHttpHeaders): Promise<Admission> {
    checkOrigin(this.deps, headers);
    const { docId, token } = parse(docJoinOptions, raw);
    const doc = await this.deps.storage.getDocument(docId);
    if (!doc) throw new KnockError('not_found', 'This document does not exist.');
    const identity = await this.member(bearer, doc.conversationId, token, headers);
    await this.screen(identity, doc.conversationId);
    return { ...identity, scope: docScope(doc.id) };
  }

  /** A device opening the board of one of the conversation's games. */
  async game(bearer: string | undefined, raw: unknown, headers: IncomingHttpHeaders): Promise<Admission> {
    checkOrigin(this.deps, headers);
    const { gameId, conversationId, token } = parse(gameJoinOptions, raw);
    const identity = await this.member(bearer, conversationId, token, headers);
    await this.screen(identity, conversationId);
    const game = await this.deps.storage.getGame(gameId);
    if (!game || game.conversationId !== conversationId) throw new KnockError('not_found', 'There is no such game in this conversation.');
    return { ...identity, scope: gameScope(game.id) };
  }

  /**
   * A blocked visitor (issue 22) still reads their conversation, but neither edits its documents nor plays its games:
   * the join is refused with the text they read everywhere else.
   */
  private async screen(identity: Identity, conversationId: string): Promise<void> {
    if (identity.role !== 'visitor' || !this.deps.blocks) return;
    const conversation = await this.deps.storage.getConversation(conversationId);
    if (conversation) await this.deps.blocks.checkVisitor({ id: conversation.ownerAccountId, displayName: conversation.ownerName }, { conversationId });
  }

  /** The visitor, by the conversation's token; else the owner, by the session (cookie or bearer). */
  private async member(bearer: string | undefined, conversationId: string, token: string | undefined, headers: IncomingHttpHeaders): Promise<Identity> {
    const { storage } = this.deps;
    const conversation = await storage.getConversation(conversationId);
    if (!conversation) throw new KnockError('not_found', 'This conversation does not exist.');
    const participants = await storage.getParticipants(conversation.id);
    if (token !== undefined) {
      const byToken = await storage.getConversationByTokenHash(secretHash(token));
      const visitor = participants.find((p) => p.role === 'visitor');
      if (byToken?.id !== conversation.id || !visitor) throw new KnockError('forbidden', 'This link is not valid.');
      return { role: 'visitor', participantId: visitor.id, accountId: null, sessionHash: null, name: visitor.name };
    }
    const viewer = await viewerOf(this.deps, headers, bearer);
    if (!viewer) throw new KnockError('unauthorized', 'Please log in.');
    // The owner, or one of its operators when the owner is a company: either is the owner participant.
    const owner = participants.find((p) => p.role === 'owner' && p.accountId === conversation.ownerAccountId);
    if (!owner || !(await actsFor(storage, viewer.account.id, conversation.ownerAccountId))) {
      throw new KnockError('forbidden', 'You are not a member of this conversation.');
    }
    return { role: 'owner', participantId: owner.id, accountId: conversation.ownerAccountId, sessionHash: viewer.sessionHash, name: owner.name };
  }
}

function parse<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new KnockError('bad_request', describeIssues(parsed.error));
  return parsed.data;
}
