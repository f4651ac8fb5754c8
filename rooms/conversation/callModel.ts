/**
 * The model of a conversation's call (callLogic.ts changes it): its members, its settings, what it needs from the
 * conversation and the composition root, and what devices are told about it.
 */
import type { RateLimitConfig } from '../../engine/config.ts';
import type { LogEntry } from '../../engine/conversationLog.ts';
import type { Logger } from '../../engine/logger.ts';
import type { Clock, Timers } from '../../engine/ports/clock.ts';
import type { MediaRoom, MediaRouter } from '../../engine/ports/mediaRouter.ts';
import type { Participant } from '../../engine/ports/storage.ts';
import type {
  CallEndReason,
  CallKind,
  CallMode,
  CallState,
  ConversationClientMessages,
  ConversationServerMessages,
  IceServer,
  IceTransportPolicy,
  Role,
  SfuJoin,
  UserServerMessages,
} from '../../engine/protocol.ts';
import type { Peer } from '../peer.ts';

export type CallPeer = Peer<ConversationServerMessages>;
export type CallMessageType = Extract<keyof ConversationClientMessages, `call.${string}`>;
/** What the owner's console hears about a call it is not in (UserRoom `call`). */
export type CallNotice = UserServerMessages['call'];

export interface CallConfig {
  ringTimeoutMs: number;
  rejoinGraceMs: number;
  /** Most devices in a call without a conference server. */
  meshMax: number;
  /** Most devices in a call through the conference server. */
  maxMembers: number;
  callStarts: RateLimitConfig;
  callSignals: RateLimitConfig;
}

/** What the composition root gives every conversation's calls. */
export interface CallSetup {
  timers: Timers;
  config: CallConfig;
  ice: { issue(memberId: string, options: { turn: boolean }): { iceServers: IceServer[]; iceTransportPolicy?: IceTransportPolicy; expiresAt: number } };
  /** The conference server, or null: calls then stay peer-to-peer, up to `meshMax` devices. */
  mediaRouter: MediaRouter | null;
  /** Tells the owner's devices outside this conversation that a call from the visitor rings, was answered or ended. */
  notifyOwner(notice: CallNotice): void;
  /** True while a call lasts: the room then stays open with nobody connected, so that a reload can rejoin. */
  onBusy(busy: boolean): void;
}

/** What a call needs from its conversation. */
export interface CallHost {
  readonly conversationId: string;
  clock: Clock;
  logger: Logger;
  /** The devices connected to the conversation now. */
  devices(): Iterable<CallPeer>;
  device(id: string): CallPeer | undefined;
  /** The peer's participant; throws `forbidden` when it is none. */
  participantOf(peer: CallPeer): Participant;
  /** Writes an event in the conversation (through its ConversationLog: stored, then relayed to every device). */
  record(entry: LogEntry): Promise<void>;
}

export interface Member {
  readonly deviceId: string;
  readonly participantId: string;
  readonly role: Role;
  readonly name: string;
  readonly joinedAt: number;
  /**
   * Order of joining, kept by a device that takes a place over: members are listed by it. (joinedAt alone ties
   * when two join in the same millisecond, and the list would then follow the Map's order, where an heir is last.)
   */
  readonly seat: number;
  /** Given to this member's device only (its ticket): proves a later device is the same tab coming back. */
  readonly rejoinKey: string;
  connection: 'connected' | 'reconnecting';
  cancelGrace: (() => void) | null;
  audio: boolean;
  video: boolean;
  sfuJoin: SfuJoin | null;
}

export interface Call {
  readonly id: string;
  readonly kind: CallKind;
  readonly callerId: string;
  readonly callerRole: Role;
  readonly callerName: string;
  readonly startedAt: number;
  status: 'ringing' | 'active' | 'ended';
  answeredAt: number | null;
  endedAt: number | null;
  endReason: CallEndReason | null;
  ringUntil: number | null;
  cancelRing: (() => void) | null;
  readonly members: Map<string, Member>;
  sfu: MediaRoom | null;
}

export function modeOf(call: Call): CallMode {
  if (call.sfu) return 'sfu';
  return call.members.size > 2 ? 'mesh' : 'p2p';
}

/** What every device of the conversation is told about the call (`call.state`). */
export function stateOf(call: Call, capacity: number): CallState {
  return {
    callId: call.id,
    kind: call.kind,
    status: call.status,
    mode: modeOf(call),
    callerId: call.callerId,
    startedAt: call.startedAt,
    answeredAt: call.answeredAt,
    endedAt: call.endedAt,
    endReason: call.endReason,
    ringUntil: call.ringUntil,
    members: [...call.members.values()]
      .sort((a, b) => a.seat - b.seat)
      .map((m) => ({
        deviceId: m.deviceId,
        participantId: m.participantId,
        role: m.role,
        name: m.name,
        connection: m.connection,
        joinedAt: m.joinedAt,
        audio: m.audio,
        video: m.video,
      })),
    capacity,
  };
}

export function ringOf(call: Call, now: number): ConversationServerMessages['call.ring'] {
  return {
    callId: call.id,
    kind: call.kind,
    from: { participantId: call.callerId, name: call.callerName, role: call.callerRole },
    ringUntil: call.ringUntil ?? now,
  };
}

/** A ringing call rings on every device of the other side that is not in it. */
export function ringsFor(call: Call, peer: CallPeer): boolean {
  return call.status === 'ringing' && peer.identity.participantId !== call.callerId && !call.members.has(peer.id);
}
