/**
 * The media half of a call (the signalling half is CallSession): while this device is in the call, it holds the
 * microphone and camera (LocalMedia) and one transport, chosen by the ticket's mode: peer connections (`p2p`,
 * `mesh`: PeerMesh) or a conference server (`sfu`: Janus's VideoRoom or mediasoup, as the ticket names: sfuRoom.ts).
 * A new ticket with another mode (the third device joined) swaps the transport; leaving the call, by any way, stops
 * every track.
 *
 * @example
 *   const call = CallSession.attach(conversation, { store: sessionStore });
 *   const media = CallMedia.attach(call);
 *   media.subscribe(() => render(media.snapshot()));
 *   call.start('video');            // media follows: camera on, ringing, then connected
 *   media.setMuted(true);
 *   call.leave();                   // camera and microphone released
 */
import type { CallKind, CallMember, CallMode } from '../../../engine/protocol.ts';
import type { CallSession, CallSignal, CallSnapshot, CallTicket } from './callSession.ts';
import { LocalMedia, type DeviceChoice, type MediaKind } from './localMedia.ts';
import { PeerMesh, type LinkState, type RemoteMedia } from './peerMesh.ts';
import { openSfuRoom, type SfuRoom } from './sfuRoom.ts';
import type { Listener } from './types.ts';

export interface RemoteParticipant extends RemoteMedia {
  name: string;
  /** As the participant's device says (call.media): microphone on, camera on. */
  audio: boolean;
  video: boolean;
}

export interface CallMediaSnapshot {
  /** This device's microphone and camera (or screen), while in the call. */
  local: MediaStream | null;
  /** Bumped when the local tracks change. */
  localVersion: number;
  remotes: RemoteParticipant[];
  /** How the media flows: `idle` outside a call, `connecting` until everyone is connected, then `connected`. */
  transport: 'idle' | 'connecting' | 'connected' | 'reconnecting';
  mode: CallMode | null;
  muted: boolean;
  cameraOn: boolean;
  sharingScreen: boolean;
  canShareScreen: boolean;
  /** The last problem with the microphone, camera or media connection, for the person to read. */
  error: string | null;
}

type Transport =
  /** `ticket`: the one whose ICE servers the mesh uses. */
  | { kind: 'mesh'; key: string; mesh: PeerMesh; ticket: CallTicket }
  | { kind: 'sfu'; key: string; room: SfuRoom; retry: ReturnType<typeof setTimeout> | null; failures: number };

/** How long after losing the conference server this device tries again (a Janus restart, a network change), doubling up to the max. */
const SFU_RETRY_MS = 1000;
const SFU_RETRY_MAX_MS = 15_000;
/** Signals kept while the camera opens (an offer and its candidates, from up to three devices). */
const MAX_EARLY_SIGNALS = 200;
/** Tickets are renewed this long before their TURN credentials and SFU pass stop working. */
const RENEW_BEFORE_MS = 60_000;

export class CallMedia {
  private readonly listeners = new Set<Listener>();
  private local: LocalMedia | null = null;
  private opening: Promise<void> | null = null;
  private localVersion = 0;
  private transport: Transport | null = null;
  private error: string | null = null;
  private cached: CallMediaSnapshot | null = null;
  private renewTimer: ReturnType<typeof setTimeout> | null = null;
  private renewedFor: CallTicket | null = null;
  private early: CallSignal[] = [];
  private closed = false;
  private readonly detach: () => void;

  private constructor(private readonly call: CallSession) {
    const stopCall = call.subscribe(() => this.follow());
    const stopSignals = call.onSignal((signal) => {
      if (this.transport?.kind === 'mesh') this.transport.mesh.handle(signal);
      // Before the camera is open there is no mesh yet: keep what comes for it (a reloaded tab gets its offer early).
      else if (this.transport === null && this.early.length < MAX_EARLY_SIGNALS) this.early.push(signal);
    });
    this.detach = () => {
      stopCall();
      stopSignals();
    };
    this.follow();
  }

  static attach(call: CallSession): CallMedia {
    return new CallMedia(call);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): CallMediaSnapshot {
    this.cached ??= this.build();
    return this.cached;
  }

  setMuted(muted: boolean): void {
    if (!this.local) return;
    this.local.setMuted(muted);
    this.call.setMedia(!muted, this.local.cameraOn);
  }

  async setCamera(on: boolean): Promise<void> {
    if (!this.local) return;
    await this.guard(() => this.local!.setCamera(on));
    if (this.local) this.call.setMedia(!this.local.isMuted, this.local.cameraOn);
  }

  async shareScreen(on: boolean): Promise<void> {
    if (!this.local) return;
    if (on) await this.guard(() => this.local!.shareScreen());
    else this.local.stopScreen();
  }

  async devices(): Promise<{ audio: DeviceChoice[]; video: DeviceChoice[] }> {
    return this.local ? this.local.devices() : { audio: [], video: [] };
  }

  currentDevices(): { audio: string | undefined; video: string | undefined } {
    return this.local?.currentDevices ?? { audio: undefined, video: undefined };
  }

  async useDevice(kind: MediaKind, deviceId: string): Promise<void> {
    if (this.local) await this.guard(() => this.local!.useDevice(kind, deviceId));
  }

  /** The peer connections carrying the call now (for statistics: getStats). */
  connections(): RTCPeerConnection[] {
    const t = this.transport;
    if (!t) return [];
    return t.kind === 'mesh' ? t.mesh.connections() : t.room.connections();
  }

  clearError(): void {
    this.error = null;
    this.changed();
  }

  /** Releases everything (camera, microphone, connections); does not hang up (CallSession.leave does). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.detach();
    this.release();
    this.listeners.clear();
  }

  // --- following the call ---------------------------------------------------------------------------------------------
  private follow(): void {
    if (this.closed) return;
    const snap = this.call.snapshot();
    if (!inCall(snap)) {
      if (this.local || this.transport || this.opening) this.release();
      this.changed();
      return;
    }
    const kind: CallKind = snap.call?.kind ?? snap.ring?.kind ?? 'audio';
    if (!this.local && !this.opening) this.openLocal(kind);
    const ticket = snap.ticket;
    if (this.local && ticket && ticket.deviceId === snap.deviceId) {
      this.ensureTransport(ticket, snap);
      this.scheduleRenewal(ticket);
    }
    if (this.transport?.kind === 'mesh') this.transport.mesh.update(snap.call?.members ?? []);
    this.changed();
  }

  private openLocal(kind: CallKind): void {
    const opening: Promise<void> = LocalMedia.open(kind).then(
      (local) => {
        // Hung up (or closed) while the browser was asking: release what arrived.
        if (this.closed || this.opening !== opening) return local.close();
        this.opening = null;
        this.local = local;
        // A video call whose camera was refused or missing goes on with sound: the others are told.
        if (kind === 'video' && !local.cameraOn) this.call.setMedia(true, false);
        local.onChange(() => {
          this.localVersion++;
          this.changed();
        });
        this.follow();
      },
      (err: unknown) => {
        if (this.opening !== opening) return;
        this.opening = null;
        this.error = (err as Error).message;
        // Without a microphone this device cannot take part: it leaves, and the person reads why.
        this.call.leave();
        this.changed();
      },
    );
    this.opening = opening;
  }

  private ensureTransport(ticket: CallTicket, snap: CallSnapshot): void {
    const rtc = rtcOf(ticket);
    const local = this.local!;
    if (ticket.mode === 'sfu' && ticket.sfu) {
      // Not keyed by device: a reconnection of the conversation's socket (a new device id) keeps the media going.
      const key = `sfu:${ticket.sfu.url}:${ticket.sfu.room}`;
      const me = this.call.participantId;
      if (me === null) return;
      if (this.transport?.kind === 'sfu' && this.transport.key === key) {
        // A renewed pass (a new ticket, a reconnected conversation) for the same room: the media goes on.
        this.transport.room.renew?.(ticket.sfu);
        return;
      }
      this.closeTransport();
      const sfu = ticket.sfu;
      // Each attempt takes the latest ticket: its pass and TURN credentials may have been renewed meanwhile.
      const open = (): SfuRoom => {
        const latest = this.call.snapshot().ticket;
        const room = openSfuRoom({
          join: latest?.sfu ?? sfu,
          me,
          rtc: latest ? rtcOf(latest) : rtc,
          local,
          onChange: () => this.changed(),
          onLost: (reason) => this.sfuLost(key, reason, open),
        });
        room.start().catch((err: unknown) => this.sfuLost(key, (err as Error).message, open));
        return room;
      };
      this.transport = { kind: 'sfu', key, room: open(), retry: null, failures: 0 };
      return;
    }
    const key = `mesh:${ticket.deviceId}`;
    if (this.transport?.kind === 'mesh' && this.transport.key === key) {
      // A new ticket for the same device: TURN servers given once the call is answered, or renewed credentials.
      if (this.transport.ticket !== ticket) {
        this.transport.ticket = ticket;
        this.transport.mesh.setRtc(rtc);
      }
      return;
    }
    if (this.transport?.key === key) return;
    this.closeTransport();
    const mesh = new PeerMesh({
      me: ticket.deviceId,
      rtc,
      local,
      send: (to, body) => this.call.signal(to, body),
      onChange: () => this.changed(),
      onError: (message, err) => {
        console.error(message, err);
        this.error = message;
        this.changed();
      },
    });
    this.transport = { kind: 'mesh', key, mesh, ticket };
    mesh.update(snap.call?.members ?? []);
    const early = this.early;
    this.early = [];
    for (const signal of early) if (signal.callId === ticket.callId) mesh.handle(signal);
  }

  /** The conference connection broke: try again shortly, with a fresh pass if the one held is about to expire. */
  private sfuLost(key: string, reason: string, open: () => SfuRoom): void {
    const t = this.transport;
    if (t?.kind !== 'sfu' || t.key !== key || this.closed) return;
    console.warn(`Conference connection lost (${reason}); reconnecting.`);
    t.room.close();
    if (t.retry) clearTimeout(t.retry);
    const ticket = this.call.snapshot().ticket;
    if (ticket && ticket.expiresAt - Date.now() < RENEW_BEFORE_MS) this.call.join();
    // Connected again since the last failure: start over from the shortest wait.
    if (t.room.sending === 'connected') t.failures = 0;
    const delay = Math.min(SFU_RETRY_MAX_MS, SFU_RETRY_MS * 2 ** t.failures);
    t.failures++;
    t.retry = setTimeout(() => {
      if (this.transport !== t) return;
      t.retry = null;
      t.room = open();
      this.changed();
    }, delay);
    this.changed();
  }

  private scheduleRenewal(ticket: CallTicket): void {
    if (this.renewedFor === ticket) return;
    this.renewedFor = ticket;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    const delay = Math.max(5_000, ticket.expiresAt - Date.now() - RENEW_BEFORE_MS);
    // Past ~24 days setTimeout fires at once: such tickets need no renewal in practice.
    if (delay > 2 ** 31 - 1) return;
    this.renewTimer = setTimeout(() => this.call.join(), delay);
  }

  private closeTransport(): void {
    const t = this.transport;
    this.transport = null;
    if (!t) return;
    if (t.kind === 'mesh') t.mesh.close();
    else {
      if (t.retry) clearTimeout(t.retry);
      t.room.close();
    }
  }

  private release(): void {
    this.closeTransport();
    this.early = [];
    this.opening = null;
    this.local?.close();
    this.local = null;
    this.renewedFor = null;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = null;
  }

  private async guard(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      this.error = (err as Error).message;
      this.changed();
    }
  }

  // --- snapshot -----------------------------------------------------------------------------------------------------
  private build(): CallMediaSnapshot {
    const snap = this.call.snapshot();
    const members = snap.call?.members ?? [];
    const t = this.transport;
    const raw: RemoteMedia[] = t === null ? [] : t.kind === 'mesh' ? t.mesh.remotes() : t.room.remotes();
    const remotes = raw.map((r) => withMember(r, memberOf(r, members)));
    const local = this.local;
    return {
      local: local?.stream ?? null,
      localVersion: this.localVersion,
      remotes,
      transport: transportState(t, remotes),
      mode: snap.ticket?.mode ?? null,
      muted: local?.isMuted ?? false,
      cameraOn: local?.cameraOn ?? false,
      sharingScreen: local?.sharingScreen ?? false,
      canShareScreen: local?.canShareScreen ?? false,
      error: this.error,
    };
  }

  private changed(): void {
    this.cached = null;
    for (const listener of [...this.listeners]) listener();
  }
}

function rtcOf(ticket: CallTicket): RTCConfiguration {
  return { iceServers: ticket.iceServers, iceTransportPolicy: ticket.iceTransportPolicy ?? 'all' };
}

/** This device is in the call, or taking its place back: it needs its microphone and camera. */
function inCall(snap: CallSnapshot): boolean {
  return snap.phase === 'outgoing' || snap.phase === 'active' || snap.phase === 'rejoining';
}

/**
 * The call member a remote feed comes from: its device when the feed names one (so one person's two devices each show
 * their own mute and camera), else its person. By person too when no member has that device any more: a device whose
 * conversation socket reconnected is a member under a new device id while its SFU feed goes on under the old one.
 */
function memberOf(remote: RemoteMedia, members: readonly CallMember[]): CallMember | undefined {
  const byDevice = remote.deviceId === undefined ? undefined : members.find((m) => m.deviceId === remote.deviceId);
  return byDevice ?? (remote.participantId === undefined ? undefined : members.find((m) => m.participantId === remote.participantId));
}

function withMember(remote: RemoteMedia, member: CallMember | undefined): RemoteParticipant {
  return { ...remote, name: member?.name ?? 'Someone', audio: member?.audio ?? true, video: member?.video ?? true };
}

function transportState(t: Transport | null, remotes: RemoteParticipant[]): CallMediaSnapshot['transport'] {
  if (t === null) return 'idle';
  if (t.kind === 'sfu' && t.retry !== null) return 'reconnecting';
  const states: LinkState[] = remotes.map((r) => r.state);
  if (t.kind === 'sfu') states.push(t.room.sending);
  if (states.some((s) => s === 'reconnecting' || s === 'failed')) return 'reconnecting';
  if (remotes.length === 0 || states.some((s) => s === 'connecting')) return 'connecting';
  return 'connected';
}
