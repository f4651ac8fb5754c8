/**
 * The call of one conversation (DESIGN "calls"), free of Colyseus: ringing, answering, declining, hanging up, rejoining
 * after a reload, the mesh limit and the switch to a conference server (SFU), and the relay of WebRTC signalling
 * between devices. ConversationLogic owns one and routes `call.*` messages to it.
 *
 *   (none) --start--> ringing --accept--> active --last but one leaves--> ended ("Call, 12 min")
 *                        |--decline-----------------------------------> ended ("Declined call")
 *                        |--ring timeout------------------------------> ended ("Missed call")
 *                        `--the caller hangs up or never comes back---> ended ("Missed call")
 *
 * Members are devices (connections). A member whose device drops keeps its place for `rejoinGraceMs`
 * (`reconnecting`): the next device of the same person to `call.join` takes it over, so a reload rejoins the call.
 * Every change of state runs in one queue, one after another, so an await (the SFU answering) never interleaves two
 * of them; relaying signals reads the state only and skips the queue.
 */
import { randomBytes } from 'node:crypto';
import { KnockError } from '../../engine/errors.ts';
import type { MediaRoom } from '../../engine/ports/mediaRouter.ts';
import type { Participant } from '../../engine/ports/storage.ts';
import type { CallEndReason, ConversationClientMessages, SfuJoin } from '../../engine/protocol.ts';
import { KeyedRateLimiter, rateLimited } from '../../engine/rateLimit.ts';
import { deliver } from '../peer.ts';
import { modeOf, ringOf, ringsFor, stateOf, type Call, type CallHost, type CallMessageType, type CallPeer, type CallSetup, type Member } from './callModel.ts';
import { callRecordEntry } from './callRecord.ts';

export type { CallConfig, CallHost, CallMessageType, CallNotice, CallSetup } from './callModel.ts';

export class CallLogic {
  private call: Call | null = null;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly starts: KeyedRateLimiter;
  private readonly signals: KeyedRateLimiter;

  constructor(
    private readonly setup: CallSetup,
    private readonly host: CallHost,
  ) {
    this.starts = new KeyedRateLimiter(setup.config.callStarts, host.clock);
    this.signals = new KeyedRateLimiter(setup.config.callSignals, host.clock);
  }

  /** The call going on (ringing or answered), if any. */
  get currentCallId(): string | null {
    return this.call?.id ?? null;
  }

  /** How many devices a call takes here. */
  get capacity(): number {
    return this.setup.mediaRouter ? this.setup.config.maxMembers : this.setup.config.meshMax;
  }

  /**
   * One handler per validated `call.*` message, each typed by its message; a refusal is thrown as a KnockError for
   * the conversation to send back. Changes run one at a time (the queue); signals change nothing and skip it.
   */
  readonly handlers: { [T in CallMessageType]: (peer: CallPeer, message: ConversationClientMessages[T]) => Promise<void> } = {
    'call.signal': async (peer, m) => this.signal(peer, m),
    'call.media': async (peer, m) => this.media(peer, m),
    'call.start': (peer, m) => this.enqueue(() => this.start(peer, m)),
    'call.accept': (peer, m) => this.enqueue(() => this.accept(peer, m.callId)),
    'call.decline': (peer, m) => this.enqueue(() => this.decline(peer, m.callId)),
    'call.join': (peer, m) => this.enqueue(() => this.join(peer, m)),
    'call.leave': (peer, m) => this.enqueue(() => this.leave(peer, m.callId)),
  };

  /** A device joined the conversation: it learns of the call going on, and rings if the call is for it. */
  deviceJoined(peer: CallPeer): void {
    const call = this.call;
    if (!call) return;
    deliver(peer, 'call.state', stateOf(call, this.capacity));
    if (ringsFor(call, peer)) deliver(peer, 'call.ring', ringOf(call, this.host.clock.now()));
  }

  /** A device left the conversation (closed, reloaded, lost its network): its place in the call waits for it. */
  deviceLeft(peerId: string): void {
    void this.enqueue(() => {
      const call = this.call;
      const member = call?.members.get(peerId);
      if (!call || !member || member.connection !== 'connected') return;
      member.connection = 'reconnecting';
      member.cancelGrace = this.setup.timers.after(this.setup.config.rejoinGraceMs, () => this.later(() => this.graceOver(call, member)));
      this.broadcastState(call);
    }).catch(() => undefined);
  }

  /** Resolves once every queued change has run (tests wait on it after moving the clock). */
  idle(): Promise<void> {
    return this.queue;
  }

  /** Ends the call going on (recorded like any other end) and refuses what comes after. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.enqueue(async () => {
      const call = this.call;
      if (call) await this.end(call, call.status === 'ringing' ? 'missed' : 'completed');
      this.closed = true;
    }).catch((err: unknown) => this.host.logger.error({ err }, 'could not end the call on close'));
    return this.closing;
  }

  // --- transitions --------------------------------------------------------------------------------------------------
  private async start(peer: CallPeer, msg: ConversationClientMessages['call.start']): Promise<void> {
    const me = this.host.participantOf(peer);
    const verdict = this.starts.take(me.id);
    if (!verdict.ok) throw rateLimited('Calls', verdict.retryAfterMs);
    const current = this.call;
    if (current) {
      // Both sides called each other at the same moment: this is an answer.
      if (current.status === 'ringing' && current.callerId !== me.id) return this.answer(current, peer, me);
      throw new KnockError('conflict', 'A call is already going on in this conversation: join it instead.', { callId: current.id });
    }
    const now = this.host.clock.now();
    const call: Call = {
      id: randomBytes(12).toString('base64url'),
      kind: msg.kind,
      callerId: me.id,
      callerRole: me.role,
      callerName: me.name,
      startedAt: now,
      status: 'ringing',
      answeredAt: null,
      endedAt: null,
      endReason: null,
      ringUntil: now + this.setup.config.ringTimeoutMs,
      cancelRing: null,
      members: new Map(),
      sfu: null,
    };
    call.cancelRing = this.setup.timers.after(this.setup.config.ringTimeoutMs, () =>
      this.later(async () => {
        if (this.call === call && call.status === 'ringing') await this.end(call, 'missed');
      }),
    );
    this.call = call;
    this.setup.onBusy(true);
    const member = this.addMember(call, peer, me, now);
    this.sendTicket(call, member);
    this.broadcastState(call);
    for (const device of this.host.devices()) if (ringsFor(call, device)) deliver(device, 'call.ring', ringOf(call, this.host.clock.now()));
    this.notify(call);
  }

  private async accept(peer: CallPeer, callId: string): Promise<void> {
    const call = this.current(callId);
    const me = this.host.participantOf(peer);
    if (call.members.has(peer.id)) return this.renewTicket(call, peer.id);
    if (me.id === call.callerId) throw new KnockError('forbidden', 'You cannot answer your own call.', { callId });
    if (call.status !== 'ringing') throw new KnockError('conflict', 'This call was answered on another device.', { callId });
    return this.answer(call, peer, me);
  }

  private async answer(call: Call, peer: CallPeer, me: Participant): Promise<void> {
    call.status = 'active';
    call.answeredAt = this.host.clock.now();
    call.ringUntil = null;
    call.cancelRing?.();
    call.cancelRing = null;
    // Those who called had STUN only while it rang: now their TURN servers, before they hear of whom to connect to.
    for (const m of call.members.values()) this.sendTicket(call, m);
    await this.admit(call, peer, me);
    this.notify(call);
  }

  private async decline(peer: CallPeer, callId: string): Promise<void> {
    const call = this.current(callId);
    const me = this.host.participantOf(peer);
    if (me.id === call.callerId) throw new KnockError('forbidden', 'To stop calling, hang up (call.leave).', { callId });
    if (call.status !== 'ringing') throw new KnockError('conflict', 'This call was already answered.', { callId });
    await this.end(call, 'declined');
  }

  private async join(peer: CallPeer, msg: ConversationClientMessages['call.join']): Promise<void> {
    const call = this.current(msg.callId);
    const me = this.host.participantOf(peer);
    if (call.members.has(peer.id)) return this.renewTicket(call, peer.id);
    if (call.status === 'ringing' && me.id !== call.callerId) return this.answer(call, peer, me);
    await this.admit(call, peer, me, msg.rejoinKey);
  }

  private async leave(peer: CallPeer, callId: string): Promise<void> {
    const call = this.current(callId);
    const member = call.members.get(peer.id);
    if (!member) throw new KnockError('forbidden', 'You are not in this call.', { callId });
    await this.removeMember(call, member);
    await this.afterDeparture(call);
  }

  private async graceOver(call: Call, member: Member): Promise<void> {
    if (this.call !== call || call.members.get(member.deviceId) !== member || member.connection !== 'reconnecting') return;
    await this.removeMember(call, member);
    await this.afterDeparture(call);
  }

  /**
   * Puts a device into the call: in the place its tab held before (its rejoin key; the server may not have noticed
   * the old socket died yet), else in the place of a dropped device of the same person, else in a new one if there
   * is room.
   */
  private async admit(call: Call, peer: CallPeer, me: Participant, rejoinKey?: string): Promise<void> {
    const members = [...call.members.values()].filter((m) => m.participantId === me.id);
    const heir =
      (rejoinKey !== undefined ? members.find((m) => m.rejoinKey === rejoinKey) : undefined) ??
      members.find((m) => m.connection === 'reconnecting');
    let switched = false;
    if (heir) {
      await this.removeMember(call, heir);
    } else {
      if (call.members.size >= this.capacity) {
        throw new KnockError('call_full', `This call is full: it takes at most ${this.capacity} people.`, { callId: call.id, capacity: this.capacity });
      }
      if (call.members.size + 1 >= 3 && !call.sfu) switched = await this.openSfu(call);
    }
    const member = this.addMember(call, peer, me, heir?.joinedAt ?? this.host.clock.now(), heir ?? undefined);
    if (call.sfu) member.sfuJoin = await this.issueJoin(call, call.sfu, member);
    for (const m of call.members.values()) if (m === member || switched) this.sendTicket(call, m);
    this.broadcastState(call);
  }

  /**
   * Moves a call that reaches its third member to the conference server. False when there is none, or when it fails
   * and the call fits a mesh (it carries on peer-to-peer); `call_full` when it fails and the call does not fit.
   */
  private async openSfu(call: Call): Promise<boolean> {
    const router = this.setup.mediaRouter;
    if (!router) return false;
    let room: MediaRoom | null = null;
    try {
      room = await router.createRoom(call.id, { capacity: this.setup.config.maxMembers });
      for (const m of call.members.values()) m.sfuJoin = await router.issueJoin(room, { memberId: m.deviceId, name: m.name, participantId: m.participantId });
      call.sfu = room;
      return true;
    } catch (err) {
      this.host.logger.error({ err, callId: call.id, conversationId: this.host.conversationId }, 'could not open a conference room');
      for (const m of call.members.values()) m.sfuJoin = null;
      if (room) await router.destroyRoom(room).catch(() => undefined);
      const meshMax = this.setup.config.meshMax;
      if (call.members.size + 1 > meshMax) {
        throw new KnockError('call_full', `The conference server is not available, and a call without it takes at most ${meshMax} people.`, {
          callId: call.id,
          capacity: meshMax,
        });
      }
      return false;
    }
  }

  private async afterDeparture(call: Call): Promise<void> {
    const people = new Set([...call.members.values()].map((m) => m.participantId));
    if (call.status === 'ringing' && !people.has(call.callerId)) return this.end(call, 'cancelled');
    if (call.status === 'active' && people.size < 2) return this.end(call, 'completed');
    this.broadcastState(call);
  }

  private async end(call: Call, reason: CallEndReason): Promise<void> {
    const now = this.host.clock.now();
    call.status = 'ended';
    call.endedAt = now;
    call.endReason = reason;
    call.ringUntil = null;
    call.cancelRing?.();
    for (const m of call.members.values()) m.cancelGrace?.();
    this.broadcastState(call);
    this.call = null;
    this.setup.onBusy(false);
    this.notify(call);
    // The conference room goes first: once the chat shows the call ended, its passes let nobody in any more.
    if (call.sfu) {
      await this.setup.mediaRouter
        ?.destroyRoom(call.sfu)
        .catch((err: unknown) => this.host.logger.error({ err, callId: call.id }, 'could not close the conference room'));
    }
    await this.host
      .record(callRecordEntry(call, reason, call.answeredAt === null ? 0 : now - call.answeredAt))
      .catch((err: unknown) => this.host.logger.error({ err, callId: call.id }, 'could not record the call'));
  }

  // --- signalling (no queue: it changes nothing) ----------------------------------------------------------------------
  private signal(peer: CallPeer, msg: ConversationClientMessages['call.signal']): void {
    const verdict = this.signals.take(peer.id);
    if (!verdict.ok) throw rateLimited('Call signals', verdict.retryAfterMs);
    const call = this.current(msg.callId);
    const from = call.members.get(peer.id);
    if (!from || from.connection !== 'connected') throw new KnockError('forbidden', 'You are not in this call.', { callId: call.id });
    if (msg.to === peer.id) throw new KnockError('bad_request', 'A device does not send signals to itself.');
    const to = call.members.get(msg.to);
    const target = to?.connection === 'connected' ? this.host.device(msg.to) : undefined;
    if (!target) throw new KnockError('not_found', 'That device is not connected to this call.', { callId: call.id, to: msg.to });
    deliver(target, 'call.signal', {
      callId: call.id,
      from: peer.id,
      participantId: from.participantId,
      ...(msg.description ? { description: msg.description } : { candidate: msg.candidate! }),
    });
  }

  private media(peer: CallPeer, msg: ConversationClientMessages['call.media']): void {
    const verdict = peer.signalBucket.take();
    if (!verdict.ok) throw rateLimited('Call updates', verdict.retryAfterMs);
    const call = this.current(msg.callId);
    const member = call.members.get(peer.id);
    if (!member) throw new KnockError('forbidden', 'You are not in this call.', { callId: call.id });
    if (member.audio === msg.audio && member.video === msg.video) return;
    member.audio = msg.audio;
    member.video = msg.video;
    this.broadcastState(call);
  }

  // --- members and tickets ----------------------------------------------------------------------------------------------
  private addMember(call: Call, peer: CallPeer, me: Participant, joinedAt: number, heir?: Member): Member {
    const member: Member = {
      deviceId: peer.id,
      participantId: me.id,
      role: me.role,
      name: me.name,
      joinedAt,
      seat: heir?.seat ?? Math.max(0, ...[...call.members.values()].map((m) => m.seat)) + 1,
      rejoinKey: randomBytes(18).toString('base64url'),
      connection: 'connected',
      cancelGrace: null,
      audio: heir?.audio ?? true,
      video: heir?.video ?? call.kind === 'video',
      sfuJoin: null,
    };
    call.members.set(peer.id, member);
    return member;
  }

  private async removeMember(call: Call, member: Member): Promise<void> {
    call.members.delete(member.deviceId);
    member.cancelGrace?.();
    member.cancelGrace = null;
    await this.revokeJoin(call, member);
  }

  /** A member asked again (`call.join`): a fresh ticket, with fresh TURN credentials and SFU pass. */
  private async renewTicket(call: Call, deviceId: string): Promise<void> {
    const member = call.members.get(deviceId);
    if (!member) return;
    if (call.sfu) {
      const old = member.sfuJoin;
      member.sfuJoin = await this.issueJoin(call, call.sfu, member);
      if (old) await this.setup.mediaRouter?.revokeJoin(call.sfu, old).catch(() => undefined);
    }
    this.sendTicket(call, member);
  }

  private issueJoin(call: Call, room: MediaRoom, member: Member): Promise<SfuJoin> {
    const router = this.setup.mediaRouter;
    if (!router) throw new KnockError('internal', 'No conference server is configured.');
    return router.issueJoin(room, { memberId: member.deviceId, name: member.name, participantId: member.participantId }).catch((err: unknown) => {
      this.host.logger.error({ err, callId: call.id }, 'could not issue a conference pass');
      throw new KnockError('internal', 'The conference server did not answer. Please try again.', { callId: call.id });
    });
  }

  private async revokeJoin(call: Call, member: Member): Promise<void> {
    const join = member.sfuJoin;
    member.sfuJoin = null;
    if (!call.sfu || !join) return;
    await this.setup.mediaRouter
      ?.revokeJoin(call.sfu, join)
      .catch((err: unknown) => this.host.logger.error({ err, callId: call.id }, 'could not revoke a conference pass'));
  }

  private sendTicket(call: Call, member: Member): void {
    const peer = this.host.device(member.deviceId);
    if (!peer) return;
    // TURN credentials only once the call is answered: whoever starts a call (any anonymous visitor) would otherwise
    // get a relay for an hour without anyone to talk to.
    const { iceServers, iceTransportPolicy, expiresAt } = this.setup.ice.issue(`${call.id}.${member.deviceId}`, { turn: call.status === 'active' });
    deliver(peer, 'call.ticket', {
      callId: call.id,
      deviceId: member.deviceId,
      rejoinKey: member.rejoinKey,
      mode: modeOf(call),
      iceServers,
      iceTransportPolicy: iceTransportPolicy ?? 'all',
      expiresAt: Math.min(expiresAt, member.sfuJoin?.expiresAt ?? Number.POSITIVE_INFINITY),
      sfu: member.sfuJoin,
    });
  }

  // --- what devices see -----------------------------------------------------------------------------------------------
  private broadcastState(call: Call): void {
    const state = stateOf(call, this.capacity);
    for (const device of this.host.devices()) deliver(device, 'call.state', state);
  }

  /** The owner's console rings for calls from the visitor (and stops when they are answered or end). */
  private notify(call: Call): void {
    if (call.callerRole === 'owner') return;
    this.setup.notifyOwner({
      conversationId: this.host.conversationId,
      callId: call.id,
      kind: call.kind,
      status: call.status,
      from: { name: call.callerName, role: call.callerRole },
      ringUntil: call.ringUntil,
    });
  }

  // --- plumbing --------------------------------------------------------------------------------------------------------
  private current(callId: string): Call {
    const call = this.call;
    if (!call || call.id !== callId) throw new KnockError('not_found', 'This call is over.', { callId });
    return call;
  }

  /** Runs `op` after every change queued before it; the queue goes on whatever its outcome. */
  private enqueue(op: () => void | Promise<void>): Promise<void> {
    const task = this.queue.then(() => {
      if (this.closed) throw new KnockError('internal', 'The conversation is closing; try again in a moment.');
      return op();
    });
    this.queue = task.catch(() => undefined);
    return task;
  }

  /** A timer's work, queued like a message; a failure is logged (nobody is there to answer). */
  private later(op: () => void | Promise<void>): void {
    this.enqueue(op).catch((err: unknown) => {
      if (!this.closed) this.host.logger.error({ err, conversationId: this.host.conversationId }, 'call timer failed');
    });
  }
}
