/**
 * The MediaRouter port (engine/ports/mediaRouter.ts) on Janus's VideoRoom plugin. README.md beside this file says
 * how to install, configure and run Janus next to Knock.
 *
 * Each call gets its own VideoRoom room, created through Janus's HTTP API on loopback with:
 * - a random `secret` (editing, destroying, the ACL): it stays on this server;
 * - a `pin` derived from the secret (every join, publisher or subscriber, must give it): members get it, and since
 *   it is a one-way function of the secret, knowing it gives nothing more;
 * - `allowed` tokens, one per member (`issueJoin`), taken back by `revokeJoin`: a publisher needs its own;
 * - `require_pvtid`: a subscription must name the private id of a publisher in the room, so the pin alone does not
 *   let anyone watch;
 * - `is_private`: the room never appears in a `list`;
 * - `admin_key` (the plugin's, when Janus has one): nobody else creates rooms.
 * So a browser holds only what opens its own call's room, and only while it is a member. With Janus's core
 * `token_auth_secret` set, the browser also gets a short-lived signed token without which Janus answers nothing.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../../../engine/logger.ts';
import type { Clock } from '../../../engine/ports/clock.ts';
import type { MediaMember, MediaRoom, MediaRouter } from '../../../engine/ports/mediaRouter.ts';
import type { SfuJoin } from '../../../engine/protocol.ts';
import { JanusError, JanusHttp, VideoRoomError, signJanusToken } from './janusHttp.ts';

const VIDEOROOM = 'janus.plugin.videoroom';
const created = z.object({ videoroom: z.literal('created'), room: z.number().int().positive().max(Number.MAX_SAFE_INTEGER) });
const succeeded = z.object({ videoroom: z.enum(['success', 'destroyed']) });

export interface JanusRouterOptions {
  /** Janus's HTTP API as this server reaches it, on loopback: http://127.0.0.1:8088/janus */
  url: string;
  /** Janus's WebSocket API as browsers reach it: wss://chat.example.com/_/janus */
  publicUrl: string;
  /** The VideoRoom plugin's `admin_key`, if Janus has one (it should). */
  adminKey?: string | undefined;
  /** Janus's core `token_auth_secret`, if Janus requires signed tokens. */
  tokenSecret?: string | undefined;
  /** How long a member's pass is good for before `call.join` must renew it (the signed token's life). */
  joinTtlMs: number;
  /** How long one request to Janus may take. */
  requestTimeoutMs?: number;
  clock: Clock;
  logger: Logger;
}

export class JanusRouter implements MediaRouter {
  readonly provider = 'janus';
  private readonly http: JanusHttp;
  private closed = false;

  constructor(private readonly options: JanusRouterOptions) {
    this.http = new JanusHttp({
      url: options.url.replace(/\/+$/, ''),
      tokenSecret: options.tokenSecret,
      timeoutMs: options.requestTimeoutMs ?? 5000,
      clock: options.clock,
    });
  }

  async createRoom(callId: string, opts: { capacity: number }): Promise<MediaRoom> {
    const secret = randomBytes(24).toString('base64url');
    const answer = await this.videoRoom({
      request: 'create',
      ...(this.options.adminKey !== undefined ? { admin_key: this.options.adminKey } : {}),
      description: 'Knock call',
      secret,
      pin: pinOf(secret),
      is_private: true,
      // An empty list turns the ACL on: nobody publishes until issueJoin adds their token.
      allowed: [],
      require_pvtid: true,
      publishers: opts.capacity,
      notify_joining: true,
    });
    const room = String(created.parse(answer).room);
    this.options.logger.debug({ callId, room }, 'conference room created');
    return { ref: room, secret };
  }

  async issueJoin(room: MediaRoom, member: MediaMember): Promise<SfuJoin> {
    const token = randomBytes(24).toString('base64url');
    succeeded.parse(await this.videoRoom({ request: 'allowed', room: Number(room.ref), secret: room.secret, action: 'add', allowed: [token] }));
    const expiresAt = this.options.clock.now() + this.options.joinTtlMs;
    const params: Record<string, string> = { pin: pinOf(room.secret), display: member.name };
    if (this.options.tokenSecret !== undefined) params.apiToken = signJanusToken(this.options.tokenSecret, expiresAt, [VIDEOROOM]);
    return { provider: this.provider, url: this.options.publicUrl, room: room.ref, token, params, expiresAt };
  }

  async revokeJoin(room: MediaRoom, join: SfuJoin): Promise<void> {
    await this.ignoringGone(() =>
      this.videoRoom({ request: 'allowed', room: Number(room.ref), secret: room.secret, action: 'remove', allowed: [join.token] }),
    );
  }

  async destroyRoom(room: MediaRoom): Promise<void> {
    await this.ignoringGone(() => this.videoRoom({ request: 'destroy', room: Number(room.ref), secret: room.secret }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.http.close();
  }

  private videoRoom(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(new Error('the Janus router is closed'));
    return this.http.withPlugin(VIDEOROOM, (request) => request(body));
  }

  /** A room that is gone already is what revoking and destroying want. */
  private async ignoringGone(work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (err) {
      if (err instanceof JanusError && err.code === VideoRoomError.noSuchRoom) return;
      throw err;
    }
  }
}

/** The room's pin: a one-way function of its secret, so the secret alone is all the server keeps. */
function pinOf(secret: string): string {
  return createHmac('sha256', secret).update('knock:janus:pin').digest('base64url').slice(0, 24);
}
