/** What the composition root hands to every room class (rooms reach storage and the hub only through these). */
import type { IncomingHttpHeaders } from 'node:http';
import type { Auth } from '../engine/auth.ts';
import type { KnockConfig } from '../engine/config.ts';
import type { ConversationLog } from '../engine/conversationLog.ts';
import type { Files } from '../engine/files.ts';
import type { Hub } from '../engine/hub.ts';
import type { Logger } from '../engine/logger.ts';
import type { Clock, Timers } from '../engine/ports/clock.ts';
import type { MediaRouter } from '../engine/ports/mediaRouter.ts';
import type { IceServerIssuer } from '../engine/turn.ts';
import type { Storage } from '../engine/ports/storage.ts';
import type { RoomClaims } from '../engine/ports/roomClaims.ts';
import type { KnockClient } from './knockRoom.ts';
import type { WriteCoalescer } from './writeCoalescer.ts';
import type { VisitorBlocks } from '../engine/visitorBlocks.ts';
import { SESSION_COOKIE, parseCookies } from '../engine/cookies.ts';
import { secretHash } from '../engine/auth.ts';
import { KnockError } from '../engine/errors.ts';
import type { Account } from '../engine/ports/storage.ts';

export interface RoomDeps {
  storage: Storage;
  /** The one door into conversations' histories (engine/conversationLog.ts). */
  conversationLog: ConversationLog;
  /** Files uploaded into conversations (engine/files.ts): what a message's `files` name. */
  files: Pick<Files, 'refsFor'>;
  hub: Hub;
  auth: Auth;
  clock: Clock;
  timers: Timers;
  logger: Logger;
  config: Pick<KnockConfig, 'rateLimits' | 'maxMessageBytes' | 'callRingTimeoutMs' | 'callRejoinGraceMs' | 'callMeshMax' | 'callMaxMembers' | 'docMaxUpdateBytes' | 'docMaxBytes' | 'docCompactUpdates' | 'gameForfeitMs' | 'gameInputs' | 'siteVisitorGraceMs' | 'siteMaxVisitors'>;
  /** STUN/TURN servers for call members, TURN credentials minted per member. */
  ice: Pick<IceServerIssuer, 'issue'>;
  /** The conference server (SFU), or null: calls stay peer-to-peer. */
  mediaRouter: MediaRouter | null;
  /** One room per scope across the cluster (rooms/knockRoom.ts claims its scope before it sets up). */
  claims: RoomClaims;
  /** The same Origin rule as the WebSocket handshake and the HTTP API. */
  isAllowedOrigin(origin: string | undefined, host: string | undefined): boolean;
  /**
   * Marks a client's socket as one whose death others must learn of within seconds: the transport pings it at the
   * fast rate, every other socket at the idle rate (adapters/colyseus/LivenessTransport.ts).
   */
  watchClosely(client: KnockClient): void;
  /** Per-tick write coalescing of the process's sockets, shared by every room (rooms/writeCoalescer.ts). */
  writes: WriteCoalescer;
  /** Blocked visitors (issue 22): where a visitor joins from is recorded, and what a blocked one writes is refused. */
  blocks: Pick<VisitorBlocks, 'seen' | 'checkVisitor'>;
}

export interface Viewer {
  account: Account;
  sessionHash: string;
}

/** The signed-in account of a join request: the session cookie (browsers) or a bearer token (other clients). */
export async function viewerOf(deps: Pick<RoomDeps, 'auth'>, headers: IncomingHttpHeaders, bearer: string | undefined): Promise<Viewer | null> {
  const token = bearer || parseCookies(headers.cookie).get(SESSION_COOKIE);
  if (!token) return null;
  const account = await deps.auth.accountOf(token);
  return account ? { account, sessionHash: secretHash(token) } : null;
}

export function checkOrigin(deps: Pick<RoomDeps, 'isAllowedOrigin'>, headers: IncomingHttpHeaders): void {
  const origin = headers.origin;
  if (!deps.isAllowedOrigin(origin, headers.host)) {
    throw new KnockError('forbidden', `Connections from ${origin ?? 'this page'} are not allowed.`);
  }
}
