/**
 * ICE servers for call members (DESIGN "calls", README "Calls"): STUN as configured, and TURN with credentials
 * minted per member by coturn's shared-secret scheme (`use-auth-secret` + `static-auth-secret`, the "TURN REST API"):
 *
 *   username   = "<expiry, unix seconds>:<member id>"
 *   credential = base64(HMAC-SHA1(secret, username))
 *
 * coturn recomputes the credential from the username and refuses it once the expiry has passed, so a page only ever
 * holds a password that expires; no static TURN password exists anywhere a browser can see.
 *
 * @example
 *   const ice = new IceServerIssuer({ iceServers, turnSecret, turnTtlMs: 3_600_000 }, clock);
 *   const { iceServers, expiresAt } = ice.issue(`${callId}.${deviceId}`);
 */
import { createHmac } from 'node:crypto';
import type { IceServer, IceTransportPolicy } from './protocol.ts';
import type { Clock } from './ports/clock.ts';

export interface IceConfig {
  iceServers: ReadonlyArray<{ urls: readonly string[] }>;
  /** coturn's `static-auth-secret`; required when a TURN url is configured (engine/config.ts checks it). */
  turnSecret?: string | undefined;
  turnTtlMs: number;
  /** `relay`: members use TURN relays only (KNOCK_ICE_TRANSPORT_POLICY). Default `all`. */
  iceTransportPolicy?: IceTransportPolicy | undefined;
}

export function isTurnUrl(url: string): boolean {
  return /^turns?:/i.test(url);
}

/** The TURN username for `memberId`, valid until `expiresAtMs` (coturn reads the part before the first ':'). */
export function turnUsername(expiresAtMs: number, memberId: string): string {
  return `${Math.floor(expiresAtMs / 1000)}:${memberId.replace(/:/g, '_')}`;
}

/** coturn's credential for a username: base64(HMAC-SHA1(secret, username)). */
export function turnCredential(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

export class IceServerIssuer {
  constructor(
    private readonly config: IceConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * The ICE servers for one member, which candidates to use, and when TURN credentials stop working (ms since the
   * epoch). With `turn: false` (a call nobody has answered yet) only the STUN servers: a relay costs bandwidth and
   * hides whoever uses it, so it is handed out once there is someone to talk to.
   */
  issue(memberId: string, options: { turn: boolean } = { turn: true }): { iceServers: IceServer[]; iceTransportPolicy: IceTransportPolicy; expiresAt: number } {
    const expiresAt = this.clock.now() + this.config.turnTtlMs;
    const secret = this.config.turnSecret;
    const iceServers = this.config.iceServers.flatMap((entry): IceServer[] => {
      const urls = options.turn ? [...entry.urls] : entry.urls.filter((url) => !isTurnUrl(url));
      if (urls.length === 0) return [];
      if (secret === undefined || !urls.some(isTurnUrl)) return [{ urls }];
      const username = turnUsername(expiresAt, memberId);
      return [{ urls, username, credential: turnCredential(secret, username) }];
    });
    return { iceServers, iceTransportPolicy: this.config.iceTransportPolicy ?? 'all', expiresAt };
  }
}
