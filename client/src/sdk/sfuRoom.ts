/**
 * What CallMedia needs of a conference client (`sfu` mode), whichever SFU the ticket names: Janus's VideoRoom
 * (janusVideoRoom.ts) or mediasoup (mediasoupRoom.ts). The mediasoup client, with mediasoup-client, is a chunk of its
 * own, fetched only when a call goes to mediasoup: `openSfuRoom` hands back a room at once and loads it in `start`.
 *
 * @example
 *   const room = openSfuRoom({ join: ticket.sfu, me, rtc, local, onChange, onLost });
 *   await room.start();
 */
import type { SfuJoin } from '../../../engine/protocol.ts';
import { JanusVideoRoom } from './janusVideoRoom.ts';
import type { LocalMedia } from './localMedia.ts';
import type { LinkState, RemoteMedia } from './peerMesh.ts';

export interface SfuRoomOptions {
  join: SfuJoin;
  /** This device's participant id. */
  me: string;
  rtc: RTCConfiguration;
  local: LocalMedia;
  onChange(): void;
  /** The media through the SFU broke (ICE failed, the server hung up, the socket closed); called once. */
  onLost(reason: string): void;
}

export interface SfuRoom {
  start(): Promise<void>;
  remotes(): RemoteMedia[];
  /** This device's own connection to the server. */
  readonly sending: LinkState;
  connections(): RTCPeerConnection[];
  /** A renewed pass for the same room (a new ticket): rooms that need it take it without reconnecting. */
  renew?(join: SfuJoin): void;
  close(): void;
}

export function openSfuRoom(options: SfuRoomOptions): SfuRoom {
  return options.join.provider === 'mediasoup' ? new DeferredRoom(options) : new JanusVideoRoom(options);
}

/** The mediasoup room, loaded on `start` (its chunk); until then, nothing to show. */
class DeferredRoom implements SfuRoom {
  private room: SfuRoom | null = null;
  private closed = false;

  constructor(private readonly options: SfuRoomOptions) {}

  async start(): Promise<void> {
    const { MediasoupRoom } = await import('./mediasoupRoom.ts');
    if (this.closed) return;
    this.room = new MediasoupRoom(this.options);
    await this.room.start();
  }

  remotes(): RemoteMedia[] {
    return this.room?.remotes() ?? [];
  }

  get sending(): LinkState {
    return this.room?.sending ?? 'connecting';
  }

  connections(): RTCPeerConnection[] {
    return this.room?.connections() ?? [];
  }

  renew(join: SfuJoin): void {
    this.room?.renew?.(join);
  }

  close(): void {
    this.closed = true;
    this.room?.close();
  }
}
