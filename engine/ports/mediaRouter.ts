/**
 * The MediaRouter port (DESIGN "calls"): a conference server (SFU) that carries a call's media from its third member
 * on. Rooms use only this interface; adapters/media/<name>/ implements it (Janus VideoRoom today), so another SFU is
 * another adapter and neither rooms/ nor the protocol change. One contract suite (test/contract/mediaRouter.contract.ts)
 * runs against every adapter and against the fake the unit tests use.
 *
 * Security model: a room is created with a secret that never leaves the server; every member gets a pass of their own
 * that opens this room only, and that `revokeJoin` and `destroyRoom` take back.
 *
 * @example
 *   const room = await router.createRoom(callId, { capacity: 12 });
 *   const join = await router.issueJoin(room, { memberId: deviceId, name: 'Alice' }); // -> the browser, in call.ticket
 *   await router.destroyRoom(room);                                                  // the call ended
 */
import type { SfuJoin } from '../protocol.ts';

export interface MediaRoom {
  /** The provider's room id, as the browser names it. */
  readonly ref: string;
  /** Lets the server manage (edit, destroy) the room; never sent to a browser. */
  readonly secret: string;
}

export interface MediaMember {
  /** Unique within the call (the device id). */
  memberId: string;
  /** Shown to the other members by SFUs that display names. */
  name: string;
  /**
   * The person (call.state's participantId), which stays when their device reconnects with a new memberId: SFUs that
   * tell members whose media is whose (mediasoup) say this. Absent: the memberId.
   */
  participantId?: string;
}

export interface MediaRouter {
  /** Names the provider in `SfuJoin.provider`, so the browser picks the matching client code. */
  readonly provider: string;
  /** Creates a room for one call that admits at most `capacity` members. */
  createRoom(callId: string, opts: { capacity: number }): Promise<MediaRoom>;
  /** A pass for one member into this room and no other; valid until `expiresAt`, or until revoked. */
  issueJoin(room: MediaRoom, member: MediaMember): Promise<SfuJoin>;
  /** Takes back a member's pass (they left the call): it no longer opens the room. Harmless if unknown. */
  revokeJoin(room: MediaRoom, join: SfuJoin): Promise<void>;
  /** Ends the room and drops whoever is in it. Harmless if it is gone already. */
  destroyRoom(room: MediaRoom): Promise<void>;
  /** Releases what the adapter holds; rooms it made are left to their calls' ends. Idempotent. */
  close(): Promise<void>;
}
