/**
 * One call's conference on mediasoup: its Router (on one worker), the passes of its members, and the signalling
 * sessions open on it. Knock is the signalling server, so the room is where passes are checked and where one
 * member's new producer is announced to the others.
 *
 * Passes are kept as SHA-256 hashes of their tokens (a leak of this process's memory or logs opens nothing), one live
 * session per pass (a reloaded tab takes its pass's place from the dead socket). A revoked pass opens nothing from
 * then on; a session it opened ends `REVOKE_GRACE_MS` later unless it went on under a newer pass of the same person
 * (`renew`): Knock revokes a member's old pass whenever it renews one, and the media must not stop for that.
 *
 * When the worker holding the router dies, `moveTo` takes a router on another worker: every session is closed with
 * SfuCloseCode.rejoin and the browsers join again with the passes they hold.
 */
import { createHash } from 'node:crypto';
import type { types as ms } from 'mediasoup';
import type { Logger } from '../../../engine/logger.ts';
import type { Clock, Timers } from '../../../engine/ports/clock.ts';
import { CloseCode } from '../../../engine/protocol.ts';
import { SfuCloseCode, type SfuProducer, type SfuServerMessage } from '../../../engine/sfuProtocol.ts';

export interface Pass {
  memberId: string;
  participantId: string;
  name: string;
  expiresAt: number;
}

/** What a room needs of a signalling session. */
export interface RoomSession {
  readonly pass: Pass | null;
  /** Producers this session sends, as the others see them. */
  producers(): SfuProducer[];
  /** True once its browser said what it can receive (`ready`): only then is it told of producers. */
  readonly ready: boolean;
  send(message: SfuServerMessage): void;
  /** Ends the session (its transports, producers and consumers) and closes its socket with `code`. */
  end(code: number, reason: string): void;
}

const REVOKE_GRACE_MS = 10_000;
/** How often the loudest speaker is reassessed. */
const SPEAKER_INTERVAL_MS = 300;

export interface RoomDeps {
  clock: Clock;
  timers: Timers;
  logger: Logger;
}

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('base64url');

export class ConferenceRoom {
  private readonly passes = new Map<string, Pass>();
  private readonly sessions = new Map<RoomSession, string>();
  private readonly revokeTimers = new Set<() => void>();
  private current: { router: ms.Router; speaker: ms.ActiveSpeakerObserver };
  private moving: Promise<void> | null = null;
  private closed = false;

  private constructor(
    readonly ref: string,
    private readonly secretHash: string,
    readonly capacity: number,
    router: ms.Router,
    speaker: ms.ActiveSpeakerObserver,
    private readonly deps: RoomDeps,
  ) {
    this.current = { router, speaker };
    this.follow(speaker);
  }

  static async open(ref: string, secret: string, capacity: number, router: ms.Router, deps: RoomDeps): Promise<ConferenceRoom> {
    const speaker = await router.createActiveSpeakerObserver({ interval: SPEAKER_INTERVAL_MS });
    return new ConferenceRoom(ref, hashToken(secret), capacity, router, speaker, deps);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The router the call's media goes through now (after a worker died: the new one, once it is ready). */
  async router(): Promise<ms.Router> {
    await this.moving;
    if (this.closed) throw new Error('the conference room is closed');
    return this.current.router;
  }

  get speaker(): ms.ActiveSpeakerObserver {
    return this.current.speaker;
  }

  /** True when `secret` is this room's: who manages the room (Knock's rooms) holds it. */
  owns(secret: string): boolean {
    return hashToken(secret) === this.secretHash;
  }

  addPass(token: string, pass: Pass): void {
    this.passes.set(hashToken(token), pass);
  }

  /** The pass `token` is, if it opens this room now. */
  passOf(token: string): Pass | null {
    const pass = this.passes.get(hashToken(token));
    return pass && pass.expiresAt > this.deps.clock.now() ? pass : null;
  }

  revoke(token: string): void {
    const pass = this.passes.get(hashToken(token));
    if (!pass) return;
    this.passes.delete(hashToken(token));
    const cancel = this.deps.timers.after(REVOKE_GRACE_MS, () => {
      this.revokeTimers.delete(cancel);
      for (const session of this.sessions.keys()) if (session.pass === pass) session.end(CloseCode.forbidden, 'your pass to this call was taken back');
    });
    this.revokeTimers.add(cancel);
  }

  /** Seats a session under `pass`: the session that held the same pass before (a reloaded tab's dead socket) ends. */
  attach(session: RoomSession, token: string): void {
    const key = hashToken(token);
    for (const [other, otherKey] of this.sessions) {
      if (otherKey === key && other !== session) other.end(CloseCode.forbidden, 'this pass is in use by a newer connection');
    }
    this.sessions.set(session, key);
  }

  /** True when one more session fits (passes of members who left are revoked, so sessions follow members). */
  hasRoomFor(session: RoomSession): boolean {
    return this.sessions.has(session) || this.sessions.size < this.capacity;
  }

  detach(session: RoomSession): void {
    this.sessions.delete(session);
  }

  /** Tells every other ready session. */
  broadcast(from: RoomSession, message: SfuServerMessage): void {
    for (const session of this.sessions.keys()) if (session !== from && session.ready) session.send(message);
  }

  /** The producers of every session but `except`. */
  producersBesides(except: RoomSession): SfuProducer[] {
    return [...this.sessions.keys()].filter((s) => s !== except).flatMap((s) => s.producers());
  }

  /** The worker under the router died: the call goes on on `router` (another worker), everyone joins again. */
  moveTo(next: Promise<ms.Router>): void {
    if (this.closed) return;
    this.moving = (async () => {
      const router = await next;
      const speaker = await router.createActiveSpeakerObserver({ interval: SPEAKER_INTERVAL_MS });
      if (this.closed) {
        router.close();
        return;
      }
      this.current = { router, speaker };
      this.follow(speaker);
      this.deps.logger.info({ room: this.ref }, 'conference moved to another mediasoup worker');
    })().catch((err: unknown) => this.deps.logger.error({ err, room: this.ref }, 'could not move a conference to another worker'));
    for (const session of [...this.sessions.keys()]) session.end(SfuCloseCode.rejoin, 'the conference server restarted: join again');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const cancel of this.revokeTimers) cancel();
    this.passes.clear();
    for (const session of [...this.sessions.keys()]) session.end(CloseCode.gone, 'the call ended');
    this.sessions.clear();
    this.current.router.close();
  }

  private follow(speaker: ms.ActiveSpeakerObserver): void {
    speaker.on('dominantspeaker', ({ producer }) => {
      const from = [...this.sessions.keys()].find((s) => s.producers().some((p) => p.producerId === producer.id));
      const participantId = from?.pass?.participantId ?? null;
      for (const session of this.sessions.keys()) if (session.ready) session.send({ notice: 'speaker', participantId });
    });
  }
}
