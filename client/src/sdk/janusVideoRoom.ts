/**
 * A call's media through Janus's VideoRoom (`sfu` mode, from the third device on): this device publishes its
 * microphone and camera once, and subscribes to every other member's feed, each on a handle and a peer connection of
 * its own. The ticket's pass (`SfuJoin`) says where: Janus's WebSocket url, the room, the room's pin, this member's
 * ACL token, and a signed API token when Janus requires one.
 *
 * Members are recognised by the `display` each publishes under: its participant id (the person, not the device),
 * which views turn into a name through call.state. Not the device id: that changes when the conversation's socket
 * reconnects, while the media through Janus goes on undisturbed. A failure (ICE, the socket, the session) is reported
 * once through `onLost`; the owner (CallMedia) then builds a new client, which is the ICE restart of this mode.
 *
 * @example
 *   const room = new JanusVideoRoom({ join: ticket.sfu, me: participantId, rtc, local, onChange, onLost });
 *   await room.start();
 *   room.remotes(); // [{ key, participantId, stream, state }]
 *   room.close();
 */
import { JanusSocket, type JanusHandle, type JanusMessage, type PluginData } from './janusSocket.ts';
import type { MediaKind } from './localMedia.ts';
import type { LinkState, RemoteMedia } from './peerMesh.ts';
import type { SfuRoomOptions } from './sfuRoom.ts';

const VIDEOROOM = 'janus.plugin.videoroom';
/** How long after a feed's connection hung up it is asked for again (if its publisher is still there). */
const RESUBSCRIBE_MS = 1000;

/** `me` is published as the feed's display, so the others know whose it is. */
export type JanusRoomOptions = SfuRoomOptions;

interface Publisher {
  id: number;
  display?: string;
}

interface Subscription {
  feed: number;
  participantId: string;
  handle: JanusHandle | null;
  pc: RTCPeerConnection | null;
  stream: MediaStream;
  state: LinkState;
  version: number;
}

export class JanusVideoRoom {
  private janus: JanusSocket | null = null;
  private publisher: { handle: JanusHandle; pc: RTCPeerConnection } | null = null;
  private privateId: number | undefined;
  private myFeed: number | undefined;
  private readonly subscriptions = new Map<number, Subscription>();
  /** Feeds published in the room now (from `publishers`, until `unpublished` or `leaving`). */
  private readonly publishers = new Map<number, Publisher>();
  private publishState: LinkState = 'connecting';
  private stopLocal: (() => void) | null = null;
  private closed = false;

  constructor(private readonly options: JanusRoomOptions) {}

  /** Joins the room, publishes, and subscribes to whoever publishes there already (and later). */
  async start(): Promise<void> {
    const { join } = this.options;
    const janus = await JanusSocket.open(join.url, { apiToken: join.params.apiToken });
    if (this.closed) return janus.close();
    this.janus = janus;
    janus.onLost = (reason) => this.lose(reason);
    const handle = await janus.attach(VIDEOROOM, (message) => this.onPublisherEvent(message));
    const { data } = await handle.message({
      request: 'join',
      ptype: 'publisher',
      room: Number(join.room),
      pin: join.params.pin,
      token: join.token,
      display: this.options.me,
    });
    if (data.videoroom !== 'joined') throw new Error(`The conference server did not let this device in (${String(data.videoroom)}).`);
    this.myFeed = data.id as number;
    this.privateId = data.private_id as number;
    await this.publish(handle);
    this.onPublishers(data);
  }

  remotes(): RemoteMedia[] {
    return [...this.subscriptions.values()].map((s) => ({
      key: `feed:${s.feed}`,
      participantId: s.participantId,
      stream: s.stream,
      state: s.state,
      version: s.version,
    }));
  }

  /** This device's own connection to the server: `connected` once Janus receives its media. */
  get sending(): LinkState {
    return this.publishState;
  }

  connections(): RTCPeerConnection[] {
    return [this.publisher?.pc, ...[...this.subscriptions.values()].map((s) => s.pc)].filter((pc): pc is RTCPeerConnection => pc != null);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopLocal?.();
    for (const s of this.subscriptions.values()) s.pc?.close();
    this.subscriptions.clear();
    this.publisher?.pc.close();
    this.publisher = null;
    // Destroying the session makes Janus leave the room and tell the others (`leaving`).
    this.janus?.close();
  }

  // --- publishing ---------------------------------------------------------------------------------------------------
  private async publish(handle: JanusHandle): Promise<void> {
    const { local } = this.options;
    const pc = new RTCPeerConnection(this.options.rtc);
    this.publisher = { handle, pc };
    const kinds: MediaKind[] = local.kind === 'video' ? ['audio', 'video'] : ['audio'];
    for (const kind of kinds) pc.addTransceiver(local.track(kind) ?? kind, { direction: 'sendonly', streams: [local.stream] });
    this.stopLocal = local.onTrack((kind, track) => {
      const sender = pc.getTransceivers().find((t) => t.receiver.track.kind === kind)?.sender;
      void sender?.replaceTrack(track).catch(() => undefined);
    });
    this.watch(pc, handle, (state) => {
      this.publishState = state;
      this.options.onChange();
    });
    await pc.setLocalDescription();
    const offer = pc.localDescription!;
    const { jsep } = await handle.message({ request: 'publish', audio: true, video: local.kind === 'video' }, { type: 'offer', sdp: offer.sdp });
    if (!jsep || jsep.type !== 'answer') throw new Error('The conference server did not answer the offer.');
    await pc.setRemoteDescription(jsep);
  }

  private onPublisherEvent(message: JanusMessage): void {
    if (message.janus === 'hangup') return this.lose('the conference server hung up');
    if (message.janus !== 'event') return;
    const data = (message.plugindata as { data?: PluginData } | undefined)?.data;
    if (data) this.onPublishers(data);
  }

  /** `publishers` (new feeds), `unpublished` and `leaving` (gone feeds), in `joined` and in later events. */
  private onPublishers(data: PluginData): void {
    const publishers = Array.isArray(data.publishers) ? (data.publishers as Publisher[]) : [];
    for (const p of publishers) {
      if (p.id === this.myFeed) continue;
      this.publishers.set(p.id, p);
      if (this.subscriptions.has(p.id)) continue;
      void this.subscribe(p).catch((err: unknown) => this.lose(`could not receive a participant: ${(err as Error).message}`));
    }
    for (const key of ['unpublished', 'leaving'] as const) {
      const gone = data[key];
      if (typeof gone !== 'number') continue;
      this.publishers.delete(gone);
      this.unsubscribe(gone);
    }
  }

  // --- subscribing --------------------------------------------------------------------------------------------------
  private async subscribe(publisher: Publisher): Promise<void> {
    const janus = this.janus;
    if (!janus || this.closed) return;
    const sub: Subscription = {
      feed: publisher.id,
      participantId: publisher.display ?? '',
      handle: null,
      pc: null,
      stream: new MediaStream(),
      state: 'connecting',
      version: 0,
    };
    this.subscriptions.set(publisher.id, sub);
    this.options.onChange();
    // A feed's connection hung up: only that feed goes; if its publisher is still in the room (its own connection
    // failed, not the publisher), it is received again shortly. A publisher that left is announced (`leaving`).
    const handle = await janus.attach(VIDEOROOM, (message) => {
      if (message.janus !== 'hangup' || this.subscriptions.get(sub.feed) !== sub) return;
      this.unsubscribe(sub.feed);
      setTimeout(() => {
        const still = this.publishers.get(sub.feed);
        if (still && !this.closed && !this.subscriptions.has(sub.feed)) {
          this.subscribe(still).catch((err: unknown) => console.warn('Could not receive a participant again:', err));
        }
      }, RESUBSCRIBE_MS);
    });
    sub.handle = handle;
    if (this.subscriptions.get(sub.feed) !== sub) return handle.detach();
    const { join } = this.options;
    const { data, jsep } = await handle.message({
      request: 'join',
      ptype: 'subscriber',
      room: Number(join.room),
      pin: join.params.pin,
      private_id: this.privateId,
      streams: [{ feed: publisher.id }],
    });
    if (data.videoroom !== 'attached' || !jsep || jsep.type !== 'offer') throw new Error('the conference server offered no media');
    const pc = new RTCPeerConnection(this.options.rtc);
    sub.pc = pc;
    if (this.subscriptions.get(sub.feed) !== sub) return pc.close();
    pc.ontrack = ({ track }) => {
      sub.stream.addTrack(track);
      sub.version++;
      this.options.onChange();
    };
    this.watch(pc, handle, (state) => {
      sub.state = state;
      sub.version++;
      this.options.onChange();
    });
    await pc.setRemoteDescription(jsep);
    await pc.setLocalDescription();
    await handle.message({ request: 'start' }, { type: 'answer', sdp: pc.localDescription!.sdp });
  }

  private unsubscribe(feed: number): void {
    const sub = this.subscriptions.get(feed);
    if (!sub) return;
    this.subscriptions.delete(feed);
    sub.pc?.close();
    sub.handle?.detach();
    this.options.onChange();
  }

  // --- plumbing -----------------------------------------------------------------------------------------------------
  /** Trickles this side's candidates to Janus and reports the connection's state; `failed` loses the room. */
  private watch(pc: RTCPeerConnection, handle: JanusHandle, onState: (state: LinkState) => void): void {
    pc.onicecandidate = ({ candidate }) => handle.trickle(candidate === null ? null : candidate.toJSON());
    pc.onconnectionstatechange = () => {
      switch (pc.connectionState) {
        case 'connected':
          return onState('connected');
        case 'disconnected':
          return onState('reconnecting');
        case 'failed':
          onState('failed');
          return this.lose('the media connection to the conference server failed');
        default:
          return undefined;
      }
    };
  }

  private lose(reason: string): void {
    if (this.closed) return;
    this.close();
    this.options.onLost(reason);
  }
}
