/**
 * A call's media through mediasoup (`sfu` mode with provider `mediasoup`, issue 23): one send transport carrying this
 * device's microphone and camera (three simulcast layers: the SFU forwards to each member the layer its network
 * takes), one receive transport carrying everyone else's. Knock's own server signals (SfuSocket): it announces each
 * producer with the member (device) and the person it comes from: one remote per member, named by its person.
 *
 * This module and mediasoup-client are a chunk of their own: CallMedia imports it when a ticket names mediasoup.
 * Like JanusVideoRoom, a failure (ICE, the socket, a worker that died) is reported once through `onLost` and the
 * owner (CallMedia) builds a new room, which rejoins with the pass it holds.
 *
 * @example
 *   const room = new MediasoupRoom({ join: ticket.sfu, me: participantId, rtc, local, onChange, onLost });
 *   await room.start();
 *   room.remotes(); // [{ key, participantId, stream, state, speaking }]
 */
import { Device, type types } from 'mediasoup-client';
import type { SfuJoin } from '../../../engine/protocol.ts';
import type { SfuProducer, SfuSource } from '../../../engine/sfuProtocol.ts';
import type { MediaKind } from './localMedia.ts';
import type { LinkState, RemoteMedia } from './peerMesh.ts';
import type { SfuRoom, SfuRoomOptions } from './sfuRoom.ts';
import { SfuSocket, type SfuNotice } from './sfuSocket.ts';

/** Simulcast layers of the camera: a quarter, a half and the full picture. */
const CAMERA_LAYERS: RTCRtpEncodingParameters[] = [
  { scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { scaleResolutionDownBy: 2, maxBitrate: 400_000 },
  { scaleResolutionDownBy: 1, maxBitrate: 1_200_000 },
];

interface Remote {
  memberId: string;
  participantId: string;
  stream: MediaStream;
  consumers: Map<string, types.Consumer>;
  version: number;
}

export class MediasoupRoom implements SfuRoom {
  private socket: SfuSocket | null = null;
  private device: Device | null = null;
  private sendTransport: types.Transport | null = null;
  private recvTransport: types.Transport | null = null;
  private readonly producers = new Map<MediaKind, types.Producer>();
  private readonly remotes_ = new Map<string, Remote>();
  /** Producers announced before the receive transport exists, and consumption in order, one at a time. */
  private consuming: Promise<void> = Promise.resolve();
  private sendState: LinkState = 'connecting';
  private recvState: LinkState = 'connecting';
  private speaker: string | null = null;
  private token: string;
  private stopLocal: (() => void) | null = null;
  private closed = false;

  constructor(private readonly options: SfuRoomOptions) {
    this.token = options.join.token;
  }

  async start(): Promise<void> {
    const { join } = this.options;
    const socket = await SfuSocket.open(join.url, {
      onNotice: (notice) => this.onNotice(notice),
      onClose: (code, reason) => this.lose(`${reason} (${code})`),
    });
    if (this.closed) return socket.close();
    this.socket = socket;
    const { routerRtpCapabilities } = await socket.request('join', { room: join.room, token: join.token });
    const device = new Device();
    await device.load({ routerRtpCapabilities: routerRtpCapabilities as types.RtpCapabilities });
    this.device = device;
    this.sendTransport = await this.transport('send');
    this.recvTransport = await this.transport('recv');
    await socket.request('ready', { rtpCapabilities: device.rtpCapabilities as unknown as Record<string, unknown> });
    await this.publish();
  }

  /** A renewed pass of this member (a new ticket): the session goes on under it, media untouched. */
  renew(join: SfuJoin): void {
    if (join.token === this.token || join.room !== this.options.join.room) return;
    this.token = join.token;
    this.socket?.request('renew', { token: join.token }).catch((err: unknown) => console.warn('Could not renew the conference pass:', err));
  }

  remotes(): RemoteMedia[] {
    // deviceId: the SFU's member is the call's device, so one person's two devices each show their own mute and camera.
    return [...this.remotes_.values()].map((r) => ({
      key: `sfu:${r.memberId}`,
      participantId: r.participantId,
      deviceId: r.memberId,
      stream: r.stream,
      state: this.recvState,
      version: r.version,
      speaking: this.speaker === r.participantId,
    }));
  }

  get sending(): LinkState {
    return this.sendState;
  }

  /** mediasoup-client keeps its RTCPeerConnections to itself (its transports' getStats gives their reports). */
  connections(): RTCPeerConnection[] {
    return [];
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopLocal?.();
    this.sendTransport?.close();
    this.recvTransport?.close();
    this.socket?.close();
    this.remotes_.clear();
  }

  // --- sending ------------------------------------------------------------------------------------------------------
  private async publish(): Promise<void> {
    const { local } = this.options;
    this.stopLocal = local.onTrack((kind, track) => void this.swap(kind, track).catch((err: unknown) => console.warn('Could not switch a track:', err)));
    const audio = local.track('audio');
    if (audio) await this.produce('audio', audio, 'microphone');
    const video = local.track('video');
    if (local.kind === 'video' && video) await this.produce('video', video, local.sharingScreen ? 'screen' : 'camera');
  }

  private async produce(kind: MediaKind, track: MediaStreamTrack, source: SfuSource): Promise<void> {
    const transport = this.sendTransport;
    if (!transport || this.closed) return;
    const producer = await transport.produce({
      track,
      appData: { source },
      stopTracks: false,
      ...(kind === 'video' ? { encodings: CAMERA_LAYERS, codecOptions: { videoGoogleStartBitrate: 1000 } } : { codecOptions: { opusDtx: true, opusFec: true } }),
    });
    this.producers.set(kind, producer);
  }

  /** The camera went off or on, or the screen replaced it: the producer follows, paused while there is nothing. */
  private async swap(kind: MediaKind, track: MediaStreamTrack | null): Promise<void> {
    const producer = this.producers.get(kind);
    if (!producer) {
      if (track) await this.produce(kind, track, kind === 'audio' ? 'microphone' : this.options.local.sharingScreen ? 'screen' : 'camera');
      return;
    }
    await producer.replaceTrack({ track });
    const paused = track === null;
    if (producer.paused === paused) return;
    if (paused) producer.pause();
    else producer.resume();
    await this.socket?.request('pauseProducer', { producerId: producer.id, paused });
  }

  // --- receiving ----------------------------------------------------------------------------------------------------
  private onNotice(notice: SfuNotice): void {
    switch (notice.notice) {
      case 'producer':
        return this.enqueue(() => this.consume(notice.producer));
      case 'producerClosed':
      case 'consumerClosed':
        return this.drop((c) => (notice.notice === 'producerClosed' ? c.producerId === notice.producerId : c.id === notice.consumerId));
      case 'producerPaused':
        return undefined;
      case 'speaker':
        this.speaker = notice.participantId;
        return this.options.onChange();
      default:
        return undefined;
    }
  }

  private async consume(producer: SfuProducer): Promise<void> {
    const transport = this.recvTransport;
    const socket = this.socket;
    if (!transport || !socket || this.closed) return;
    const answer = await socket.request('consume', { transportId: transport.id, producerId: producer.producerId });
    const consumer = await transport.consume({
      id: answer.id,
      producerId: answer.producerId,
      kind: answer.kind,
      rtpParameters: answer.rtpParameters as unknown as types.RtpParameters,
    });
    const remote = this.remoteOf(producer);
    remote.consumers.set(consumer.id, consumer);
    remote.stream.addTrack(consumer.track);
    remote.version++;
    await socket.request('resumeConsumer', { consumerId: consumer.id });
    this.options.onChange();
  }

  private remoteOf({ memberId, participantId }: SfuProducer): Remote {
    let remote = this.remotes_.get(memberId);
    if (!remote) {
      remote = { memberId, participantId, stream: new MediaStream(), consumers: new Map(), version: 0 };
      this.remotes_.set(memberId, remote);
    }
    return remote;
  }

  private drop(match: (consumer: types.Consumer) => boolean): void {
    for (const remote of this.remotes_.values()) {
      for (const consumer of [...remote.consumers.values()]) {
        if (!match(consumer)) continue;
        remote.consumers.delete(consumer.id);
        remote.stream.removeTrack(consumer.track);
        consumer.close();
        remote.version++;
      }
      if (remote.consumers.size === 0) this.remotes_.delete(remote.memberId);
    }
    this.options.onChange();
  }

  private enqueue(work: () => Promise<void>): void {
    this.consuming = this.consuming.then(work).catch((err: unknown) => this.lose(`could not receive a participant: ${(err as Error).message}`));
  }

  // --- plumbing -----------------------------------------------------------------------------------------------------
  private async transport(direction: 'send' | 'recv'): Promise<types.Transport> {
    const socket = this.socket!;
    const device = this.device!;
    const answer = await socket.request('createTransport', { direction });
    const { rtc } = this.options;
    const options = {
      id: answer.id,
      iceParameters: answer.iceParameters as unknown as types.IceParameters,
      iceCandidates: answer.iceCandidates as unknown as types.IceCandidate[],
      dtlsParameters: answer.dtlsParameters as unknown as types.DtlsParameters,
      iceServers: rtc.iceServers ?? [],
      iceTransportPolicy: rtc.iceTransportPolicy ?? 'all',
    };
    const transport = direction === 'send' ? device.createSendTransport(options) : device.createRecvTransport(options);
    transport.on('connect', ({ dtlsParameters }, done, fail) => {
      socket.request('connectTransport', { transportId: transport.id, dtlsParameters: dtlsParameters as unknown as { fingerprints: { algorithm: string; value: string }[] } }).then(() => done(), fail);
    });
    if (direction === 'send') {
      transport.on('produce', ({ kind, rtpParameters, appData }, done, fail) => {
        const source = (appData as { source: SfuSource }).source;
        socket
          .request('produce', { transportId: transport.id, kind, source, rtpParameters: rtpParameters as unknown as Record<string, unknown> & { codecs: [] }, paused: false })
          .then(({ id }) => done({ id }), fail);
      });
    }
    transport.on('connectionstatechange', (state) => {
      const link = linkStateOf(state);
      if (link === null) return;
      if (direction === 'send') this.sendState = link;
      else this.recvState = link;
      this.options.onChange();
      if (state === 'failed') this.lose('the media connection to the conference server failed');
    });
    return transport;
  }

  private lose(reason: string): void {
    if (this.closed) return;
    this.close();
    this.options.onLost(reason);
  }
}

function linkStateOf(state: string): LinkState | null {
  switch (state) {
    case 'connected':
      return 'connected';
    case 'disconnected':
      return 'reconnecting';
    case 'failed':
      return 'failed';
    default:
      return null;
  }
}
