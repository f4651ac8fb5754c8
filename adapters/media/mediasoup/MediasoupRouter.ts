/**
 * The MediaRouter port (engine/ports/mediaRouter.ts) on mediasoup, in this process: Knock starts and watches the
 * workers (workerPool.ts), makes one Router per call, and is the SFU's signalling server itself (sfuSignalling.ts on
 * SFU_PATH), so nothing else is installed, configured or secured. README.md beside this file says how to run it.
 *
 * Why Knock signals rather than a separate service: passes, who may send and who hears whom stay in TypeScript next
 * to the call's room, and a call lives on the process holding its conversation room, like every other room: a
 * member's `SfuJoin.url` names this process (its public address when scaled out), so the browser reaches the worker
 * carrying the call.
 *
 * - createRoom: a Router on the least loaded worker, with a random secret (kept hashed) that only Knock's room holds.
 * - issueJoin: a random token per member (kept hashed), good for this room only, until `expiresAt` or revokeJoin.
 * - destroyRoom: closes the router (every transport in it) and every signalling session of the room.
 *
 * @example
 *   const router = await MediasoupRouter.start({ workers: 2, rtcMinPort: 40000, rtcMaxPort: 49999, ... });
 *   const room = await router.createRoom(callId, { capacity: 12 });
 *   const join = await router.issueJoin(room, { memberId, name, participantId }); // { provider: 'mediasoup', url: '/_/sfu', ... }
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { types as ms } from 'mediasoup';
import type { Logger } from '../../../engine/logger.ts';
import type { Clock, Timers } from '../../../engine/ports/clock.ts';
import type { MediaMember, MediaRoom, MediaRouter } from '../../../engine/ports/mediaRouter.ts';
import { type SfuJoin } from '../../../engine/protocol.ts';
import { SFU_PATH } from '../../../engine/sfuProtocol.ts';
import { ConferenceRoom } from './conferenceRoom.ts';
import { MEDIA_CODECS } from './mediaCodecs.ts';
import { WorkerPool } from './workerPool.ts';

export interface MediasoupRouterOptions {
  /** Worker processes (one per core is mediasoup's advice). */
  workers: number;
  rtcMinPort: number;
  rtcMaxPort: number;
  /** The address WebRTC transports listen on (0.0.0.0: all). */
  listenIp: string;
  /** The address browsers are told to send media to (the public one behind NAT); absent: listenIp. */
  announcedIp?: string | undefined;
  /** This process's public address (host[:port][/path]) when scaled out; absent: the page's own origin. */
  publicAddress?: string | undefined;
  /** How long a member's pass opens the room (then `call.join` renews it). */
  joinTtlMs: number;
  clock: Clock;
  timers: Timers;
  logger: Logger;
}

export class MediasoupRouter implements MediaRouter {
  readonly provider = 'mediasoup';
  private readonly rooms = new Map<string, ConferenceRoom>();
  private closed = false;

  private constructor(
    private readonly options: MediasoupRouterOptions,
    private readonly pool: WorkerPool,
  ) {}

  /** True when mediasoup's worker binary is installed (npm install builds it: build/buildWorker.mjs). */
  static available(): boolean {
    return WorkerPool.workerBinary().present;
  }

  static async start(options: MediasoupRouterOptions): Promise<MediasoupRouter> {
    let self: MediasoupRouter | null = null;
    const pool = await WorkerPool.start({
      size: options.workers,
      rtcMinPort: options.rtcMinPort,
      rtcMaxPort: options.rtcMaxPort,
      logger: options.logger,
      onDied: (dead) => self?.moveCallsOff(dead),
    });
    self = new MediasoupRouter(options, pool);
    return self;
  }

  /** Where the signalling socket is, as the browser resolves it against the page (protocol-relative when scaled out). */
  get signallingUrl(): string {
    return this.options.publicAddress === undefined ? SFU_PATH : `//${this.options.publicAddress}${SFU_PATH}`;
  }

  /** Where WebRTC transports listen (TCP as well as UDP: some networks let no UDP through). */
  get listenInfos(): ms.TransportListenInfo[] {
    const { listenIp: ip } = this.options;
    const announcedIp = this.options.announcedIp ?? (ip === '0.0.0.0' || ip === '::' ? firstExternalIpv4() : undefined);
    const announced = announcedIp === undefined ? {} : { announcedIp };
    return [
      { protocol: 'udp', ip, ...announced },
      { protocol: 'tcp', ip, ...announced },
    ];
  }

  /** Live workers' process ids (the tests kill one). */
  get workerPids(): number[] {
    return this.pool.pids;
  }

  /** The live room of a ref, for the signalling sessions. */
  roomOf(ref: string): ConferenceRoom | undefined {
    const room = this.rooms.get(ref);
    return room && !room.isClosed ? room : undefined;
  }

  async createRoom(callId: string, opts: { capacity: number }): Promise<MediaRoom> {
    if (this.closed) throw new Error('the mediasoup router is closed');
    const router = await this.pool.createRouter(MEDIA_CODECS);
    const ref = randomBytes(12).toString('base64url');
    const secret = randomBytes(24).toString('base64url');
    const { clock, timers, logger } = this.options;
    try {
      this.rooms.set(ref, await ConferenceRoom.open(ref, secret, opts.capacity, router, { clock, timers, logger }));
    } catch (err) {
      router.close();
      throw err;
    }
    logger.debug({ callId, room: ref }, 'conference room created');
    return { ref, secret };
  }

  async issueJoin(room: MediaRoom, member: MediaMember): Promise<SfuJoin> {
    const conference = this.managed(room);
    if (!conference) throw new Error('no such conference room (it ended)');
    const token = randomBytes(24).toString('base64url');
    const expiresAt = this.options.clock.now() + this.options.joinTtlMs;
    conference.addPass(token, { memberId: member.memberId, participantId: member.participantId ?? member.memberId, name: member.name, expiresAt });
    return { provider: this.provider, url: this.signallingUrl, room: room.ref, token, params: {}, expiresAt };
  }

  async revokeJoin(room: MediaRoom, join: SfuJoin): Promise<void> {
    this.managed(room)?.revoke(join.token);
  }

  async destroyRoom(room: MediaRoom): Promise<void> {
    const conference = this.managed(room);
    if (!conference) return;
    this.rooms.delete(room.ref);
    conference.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const room of this.rooms.values()) room.close();
    this.rooms.clear();
    await this.pool.close();
  }

  /** The room, if `room` names it with its secret: only its creator manages it. */
  private managed(room: MediaRoom): ConferenceRoom | undefined {
    const conference = this.roomOf(room.ref);
    return conference?.owns(room.secret) ? conference : undefined;
  }

  /** A worker died (and was replaced): its calls get routers on the live workers, and their members rejoin. */
  private moveCallsOff(dead: ms.Worker): void {
    for (const room of this.rooms.values()) {
      void room.router().then(
        (router) => {
          if (router.closed) room.moveTo(this.pool.createRouter(MEDIA_CODECS));
        },
        () => undefined,
      );
    }
    this.options.logger.info({ pid: dead.pid }, 'calls moved off a dead mediasoup worker');
  }
}

/** Listening on every address with none announced, browsers are told this machine's first non-loopback IPv4. */
function firstExternalIpv4(): string {
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
