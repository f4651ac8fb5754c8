/**
 * Peer-to-peer media of a call (`p2p` for two devices, `mesh` for up to four): one RTCPeerConnection per other device,
 * signalled through the conversation's room (CallSession.signal / onSignal).
 *
 * Who offers: the protocol's convention, that the device entering a call offers to those already in it, read from
 * the call's members: of two devices, the one that joined later (then the larger device id) makes the first offer.
 * After that, either side may renegotiate (an ICE restart), with "perfect negotiation" (W3C WebRTC 1.0, §10.7):
 * the first offerer is impolite, the other polite and rolls back when offers cross.
 *
 * A connection that fails restarts ICE (a network change); one that stays `disconnected` for a few seconds too.
 *
 * @example
 *   const mesh = new PeerMesh({ me: ticket.deviceId, rtc, local, send: (to, body) => call.signal(to, body) });
 *   call.onSignal((s) => mesh.handle(s));
 *   mesh.update(call.snapshot().call!.members);
 */
import type { CallMember, IceCandidate, SessionDescription } from '../../../engine/protocol.ts';
import type { CallSignal } from './callSession.ts';
import type { LocalMedia, MediaKind } from './localMedia.ts';

export type LinkState = 'connecting' | 'connected' | 'reconnecting' | 'failed';

export interface RemoteMedia {
  /** Unique among the remotes: the device in the call (call.state members), or the SFU feed. */
  key: string;
  /** The device in the call, when known (peer-to-peer; mediasoup, whose members are the call's devices). */
  deviceId?: string;
  /** The participant (person) it comes from, when known (through an SFU, which does not follow a device's new id). */
  participantId?: string;
  stream: MediaStream;
  state: LinkState;
  /** Bumped whenever tracks come or go, so views re-attach the stream. */
  version: number;
  /** The loudest in the call now, when the SFU says (mediasoup's active speaker). */
  speaking?: boolean;
}

export type SignalBody = { description: SessionDescription } | { candidate: IceCandidate };

export interface MeshOptions {
  /** This device's id in the call (the ticket's deviceId). */
  me: string;
  rtc: RTCConfiguration;
  local: LocalMedia;
  send(to: string, body: SignalBody): void;
  onChange(): void;
  /** Something went wrong that the person should know about (logged, never thrown). */
  onError(message: string, err: unknown): void;
}

/** How long `disconnected` may last before ICE is restarted (it often recovers alone within a second or two). */
const DISCONNECTED_RESTART_MS = 3000;

export class PeerMesh {
  private readonly links = new Map<string, PeerLink>();
  private members: CallMember[] = [];
  private closed = false;

  constructor(private readonly options: MeshOptions) {}

  /** Follows the call's members: offers to newcomers it must offer to, drops devices that left. */
  update(members: CallMember[]): void {
    if (this.closed) return;
    this.members = members;
    const me = members.find((m) => m.deviceId === this.options.me);
    const present = new Set(members.map((m) => m.deviceId));
    for (const [deviceId, link] of this.links) {
      if (!present.has(deviceId)) {
        link.close();
        this.links.delete(deviceId);
        this.options.onChange();
      }
    }
    if (me === undefined) return;
    for (const other of members) {
      if (other.deviceId === me.deviceId || other.connection !== 'connected' || this.links.has(other.deviceId)) continue;
      if (offersTo(me, other)) this.link(other.deviceId, true);
    }
  }

  handle(signal: CallSignal): void {
    if (this.closed) return;
    const link = this.links.get(signal.from) ?? this.link(signal.from, false);
    link.receive(signal).catch((err: unknown) => this.options.onError('A call connection could not be set up.', err));
  }

  remotes(): RemoteMedia[] {
    return [...this.links.values()].map((l) => l.view());
  }

  /**
   * Other ICE servers from now on (a new ticket: the TURN servers a caller is given once the call is answered, or
   * renewed credentials): connections made later use them, and existing ones at their next ICE gathering (a restart).
   */
  setRtc(rtc: RTCConfiguration): void {
    this.options.rtc = rtc;
    for (const link of this.links.values()) {
      try {
        link.pc.setConfiguration({ ...link.pc.getConfiguration(), iceServers: rtc.iceServers ?? [], iceTransportPolicy: rtc.iceTransportPolicy ?? 'all' });
      } catch (err) {
        this.options.onError('The call could not take the new relay servers.', err);
      }
    }
  }

  /** Every peer connection (for statistics). */
  connections(): RTCPeerConnection[] {
    return [...this.links.values()].map((l) => l.pc);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) link.close();
    this.links.clear();
  }

  private link(deviceId: string, offerer: boolean): PeerLink {
    const link = new PeerLink(deviceId, offerer, this.options);
    this.links.set(deviceId, link);
    this.options.onChange();
    return link;
  }
}

/** Of two members, the one that joined later offers (ties: the larger device id); both sides compute the same. */
export function offersTo(me: CallMember, other: CallMember): boolean {
  if (me.joinedAt !== other.joinedAt) return me.joinedAt > other.joinedAt;
  return me.deviceId > other.deviceId;
}

class PeerLink {
  readonly pc: RTCPeerConnection;
  private readonly stream = new MediaStream();
  private readonly polite: boolean;
  private makingOffer = false;
  private ignoreOffer = false;
  private tracksAttached = false;
  private state: LinkState = 'connecting';
  private version = 0;
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly stopLocal: () => void;
  /** Signals are handled one at a time, in order: a candidate must not overtake its description. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly deviceId: string,
    offerer: boolean,
    private readonly options: MeshOptions,
  ) {
    this.polite = !offerer;
    this.pc = new RTCPeerConnection(options.rtc);
    // The end of candidates is not sent: trickle ICE does without it, and Chrome refuses it without an m-line.
    this.pc.onicecandidate = ({ candidate }) => {
      if (candidate !== null && candidate.candidate !== '') this.options.send(deviceId, { candidate: toCandidate(candidate) });
    };
    this.pc.onnegotiationneeded = () => void this.offer();
    this.pc.ontrack = ({ track }) => {
      this.stream.addTrack(track);
      track.addEventListener('ended', () => {
        this.stream.removeTrack(track);
        this.touch();
      });
      this.touch();
    };
    this.pc.onconnectionstatechange = () => this.onConnectionState();
    this.stopLocal = options.local.onTrack((kind, track) => void this.replace(kind, track));
    // The offerer sends from the start; the answerer attaches its tracks to the transceivers the offer creates.
    if (offerer) this.attachTracks();
  }

  view(): RemoteMedia {
    return { key: this.deviceId, deviceId: this.deviceId, stream: this.stream, state: this.state, version: this.version };
  }

  receive(signal: CallSignal): Promise<void> {
    this.queue = this.queue.then(() => this.apply(signal));
    return this.queue;
  }

  close(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.stopLocal();
    this.pc.onicecandidate = null;
    this.pc.onnegotiationneeded = null;
    this.pc.ontrack = null;
    this.pc.onconnectionstatechange = null;
    this.pc.close();
  }

  private async apply(signal: CallSignal): Promise<void> {
    if (this.pc.signalingState === 'closed') return;
    if (signal.description) {
      const description = signal.description;
      const collision = description.type === 'offer' && (this.makingOffer || this.pc.signalingState !== 'stable');
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
      await this.pc.setRemoteDescription(description);
      if (description.type === 'offer') {
        if (!this.tracksAttached) this.attachTracks();
        await this.pc.setLocalDescription();
        const local = this.pc.localDescription;
        if (local) this.options.send(this.deviceId, { description: { type: 'answer', sdp: local.sdp } });
      }
    } else if (signal.candidate) {
      const c = signal.candidate;
      if (c.candidate === '') return;
      try {
        await this.pc.addIceCandidate({ ...c, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null });
      } catch (err) {
        if (!this.ignoreOffer) throw err;
      }
    }
  }

  /**
   * Sends what this device has: audio, and video for a video call. The offerer adds transceivers; the answerer uses
   * those the offer made (sendrecv), with no track where it has none (camera off), so turning it on needs no offer.
   */
  private attachTracks(): void {
    this.tracksAttached = true;
    const local = this.options.local;
    const kinds: MediaKind[] = local.kind === 'video' ? ['audio', 'video'] : ['audio'];
    for (const kind of kinds) {
      const existing = this.pc.getTransceivers().find((t) => t.receiver.track.kind === kind && t.currentDirection !== 'stopped' && t.sender.track === null);
      const track = local.track(kind);
      if (existing) {
        existing.direction = 'sendrecv';
        void existing.sender.replaceTrack(track);
        if (track) existing.sender.setStreams(local.stream);
      } else {
        this.pc.addTransceiver(track ?? kind, { direction: 'sendrecv', streams: [local.stream] });
      }
    }
  }

  private async replace(kind: MediaKind, track: MediaStreamTrack | null): Promise<void> {
    const transceiver = this.pc.getTransceivers().find((t) => t.receiver.track.kind === kind && t.currentDirection !== 'stopped');
    await transceiver?.sender.replaceTrack(track).catch((err: unknown) => this.options.onError('Could not switch the device.', err));
  }

  private async offer(): Promise<void> {
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      const local = this.pc.localDescription;
      if (local && local.type === 'offer') this.options.send(this.deviceId, { description: { type: 'offer', sdp: local.sdp } });
    } catch (err) {
      this.options.onError('A call connection could not be set up.', err);
    } finally {
      this.makingOffer = false;
    }
  }

  private onConnectionState(): void {
    const s = this.pc.connectionState;
    if (this.restartTimer && s !== 'disconnected') {
      clearTimeout(this.restartTimer);
      this.restartTimer = null;
    }
    if (s === 'connected') this.state = 'connected';
    else if (s === 'disconnected') {
      this.state = 'reconnecting';
      this.restartTimer ??= setTimeout(() => {
        this.restartTimer = null;
        if (this.pc.connectionState === 'disconnected') this.pc.restartIce();
      }, DISCONNECTED_RESTART_MS);
    } else if (s === 'failed') {
      // A network change: new candidates on both sides, same connection (perfect negotiation carries the offer).
      this.state = 'reconnecting';
      this.pc.restartIce();
    }
    this.touch();
  }

  private touch(): void {
    this.version++;
    this.options.onChange();
  }
}

function toCandidate(c: RTCIceCandidate): IceCandidate {
  return { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment };
}
