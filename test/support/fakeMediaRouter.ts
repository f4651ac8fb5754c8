/**
 * A MediaRouter in memory, for unit tests of calls where a real Janus would only slow them down. It keeps rooms, pins
 * and per-member passes like the Janus adapter does, and the same contract suite (test/contract/mediaRouter.contract.ts)
 * runs against both, so it cannot drift from the real thing.
 */
import { randomBytes } from 'node:crypto';
import type { MediaMember, MediaRoom, MediaRouter } from '../../engine/ports/mediaRouter.ts';
import type { SfuJoin } from '../../engine/protocol.ts';

interface FakeRoom {
  secret: string;
  pin: string;
  capacity: number;
  callId: string;
  allowed: Set<string>;
}

export class FakeMediaRouter implements MediaRouter {
  readonly provider = 'fake';
  readonly rooms = new Map<string, FakeRoom>();
  /** Every room ever made, by call id, in order. */
  readonly created: string[] = [];
  readonly destroyed: string[] = [];
  /** While true, every request fails as an unreachable server would. */
  down = false;
  closed = false;
  private next = 1;

  constructor(private readonly now: () => number = () => Date.now()) {}

  async createRoom(callId: string, opts: { capacity: number }): Promise<MediaRoom> {
    this.check();
    const ref = String(this.next++);
    const secret = randomBytes(16).toString('base64url');
    this.rooms.set(ref, { secret, pin: randomBytes(8).toString('base64url'), capacity: opts.capacity, callId, allowed: new Set() });
    this.created.push(callId);
    return { ref, secret };
  }

  async issueJoin(room: MediaRoom, member: MediaMember): Promise<SfuJoin> {
    this.check();
    const r = this.owned(room);
    if (!r) throw new Error(`no such room ${room.ref}`);
    const token = randomBytes(16).toString('base64url');
    r.allowed.add(token);
    return { provider: this.provider, url: 'wss://sfu.knock.test/', room: room.ref, token, params: { pin: r.pin, display: member.name }, expiresAt: this.now() + 3600_000 };
  }

  async revokeJoin(room: MediaRoom, join: SfuJoin): Promise<void> {
    this.check();
    this.owned(room)?.allowed.delete(join.token);
  }

  async destroyRoom(room: MediaRoom): Promise<void> {
    this.check();
    const r = this.owned(room);
    if (!r) return;
    this.rooms.delete(room.ref);
    this.destroyed.push(r.callId);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** What the SFU would say to a browser presenting this pass. */
  canJoin(join: SfuJoin): boolean {
    const r = this.rooms.get(join.room);
    return r !== undefined && r.pin === join.params.pin && r.allowed.has(join.token);
  }

  /** Passes that open a room now. */
  passes(ref: string): number {
    return this.rooms.get(ref)?.allowed.size ?? 0;
  }

  private owned(room: MediaRoom): FakeRoom | undefined {
    const r = this.rooms.get(room.ref);
    if (r && r.secret !== room.secret) throw new Error('wrong secret');
    return r;
  }

  private check(): void {
    if (this.down) throw new Error('the conference server is unreachable');
    if (this.closed) throw new Error('closed');
  }
}
