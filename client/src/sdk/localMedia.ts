/**
 * This device's microphone, camera and screen during a call: what every transport (peer connections, the SFU
 * client) sends. The tracks change (camera off and on, another camera, a screen share); transports follow through
 * `onTrack` and swap them with `RTCRtpSender.replaceTrack`, so no renegotiation is needed.
 *
 * Camera off stops the camera track (the camera's light goes off), it does not only disable it. `close()` stops every
 * track this object ever opened.
 *
 * @example
 *   const local = await LocalMedia.open('video');
 *   local.onTrack((kind, track) => sender.replaceTrack(track));
 *   await local.setCamera(false);
 *   local.close();
 */
import type { CallKind } from '../../../engine/protocol.ts';

export type MediaKind = 'audio' | 'video';
export type TrackListener = (kind: MediaKind, track: MediaStreamTrack | null) => void;

export interface DeviceChoice {
  deviceId: string;
  label: string;
}

export class LocalMedia {
  private audio: MediaStreamTrack | null;
  private camera: MediaStreamTrack | null;
  private screen: MediaStreamTrack | null = null;
  private muted = false;
  private closed = false;
  private audioDeviceId: string | undefined;
  private videoDeviceId: string | undefined;
  private readonly listeners = new Set<TrackListener>();
  private readonly changeListeners = new Set<() => void>();
  /** What views show as "me": the microphone and what is sent as video. */
  readonly stream = new MediaStream();

  private constructor(
    readonly kind: CallKind,
    tracks: { audio: MediaStreamTrack | null; video: MediaStreamTrack | null },
  ) {
    this.audio = tracks.audio;
    this.camera = tracks.video;
    this.audioDeviceId = tracks.audio?.getSettings().deviceId;
    this.videoDeviceId = tracks.video?.getSettings().deviceId;
    this.rebuildStream();
  }

  /**
   * Asks for the microphone (and the camera for a video call). A video call whose camera is refused or missing goes
   * on with sound only; a refused microphone is an error the person must see.
   */
  static async open(kind: CallKind): Promise<LocalMedia> {
    const devices = navigator.mediaDevices;
    if (devices?.getUserMedia === undefined) {
      throw new Error('This browser cannot make calls here (no microphone access: calls need HTTPS).');
    }
    if (kind === 'video') {
      try {
        const stream = await devices.getUserMedia({ audio: true, video: { width: { ideal: 1280 }, height: { ideal: 720 } } });
        return new LocalMedia(kind, { audio: stream.getAudioTracks()[0] ?? null, video: stream.getVideoTracks()[0] ?? null });
      } catch (err) {
        if (!isMissingDevice(err)) throw describeMediaError(err);
      }
    }
    try {
      const stream = await devices.getUserMedia({ audio: true });
      return new LocalMedia(kind, { audio: stream.getAudioTracks()[0] ?? null, video: null });
    } catch (err) {
      throw describeMediaError(err);
    }
  }

  /** The track sent for `kind` now (the screen, while shared, is the video). */
  track(kind: MediaKind): MediaStreamTrack | null {
    return kind === 'audio' ? this.audio : (this.screen ?? this.camera);
  }

  get isMuted(): boolean {
    return this.muted;
  }

  get cameraOn(): boolean {
    return this.camera !== null;
  }

  get sharingScreen(): boolean {
    return this.screen !== null;
  }

  get canShareScreen(): boolean {
    return typeof navigator.mediaDevices?.getDisplayMedia === 'function';
  }

  /** Every track this device sends, stopped or not: tests and views check that hanging up ended them. */
  liveTracks(): MediaStreamTrack[] {
    return [this.audio, this.camera, this.screen].filter((t): t is MediaStreamTrack => t !== null && t.readyState === 'live');
  }

  onTrack(listener: TrackListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Mute, camera, screen or device changed (for views). */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Mutes by sending silence (the track stays, so unmuting is instant). */
  setMuted(muted: boolean): void {
    this.muted = muted;
    if (this.audio) this.audio.enabled = !muted;
    this.changed();
  }

  /** Off stops the camera (its light goes off); on asks for it again. */
  async setCamera(on: boolean): Promise<void> {
    if (on === this.cameraOn || this.closed) return;
    if (!on) {
      this.camera?.stop();
      this.camera = null;
    } else {
      const track = await this.openCamera(this.videoDeviceId);
      if (this.closed) {
        track.stop();
        return;
      }
      this.camera = track;
    }
    this.rebuildStream();
    if (this.screen === null) this.emit('video', this.camera);
    this.changed();
  }

  /** Microphones and cameras the person can switch to (labels once a permission was given). */
  async devices(): Promise<{ audio: DeviceChoice[]; video: DeviceChoice[] }> {
    const all = await navigator.mediaDevices.enumerateDevices();
    const pick = (kind: MediaDeviceKind) =>
      all.filter((d) => d.kind === kind && d.deviceId !== '').map((d, i) => ({ deviceId: d.deviceId, label: d.label || `${kind === 'audioinput' ? 'Microphone' : 'Camera'} ${i + 1}` }));
    return { audio: pick('audioinput'), video: pick('videoinput') };
  }

  get currentDevices(): { audio: string | undefined; video: string | undefined } {
    return { audio: this.audioDeviceId, video: this.videoDeviceId };
  }

  /** Switches to another microphone or camera; the peers get the new track without renegotiating. */
  async useDevice(kind: MediaKind, deviceId: string): Promise<void> {
    if (this.closed) return;
    if (kind === 'audio') {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: { deviceId: { exact: deviceId } } }).catch((err: unknown) => {
        throw describeMediaError(err);
      });
      const track = stream.getAudioTracks()[0] ?? null;
      if (track === null) return;
      track.enabled = !this.muted;
      this.audio?.stop();
      this.audio = track;
      this.audioDeviceId = deviceId;
      this.emit('audio', track);
    } else {
      this.videoDeviceId = deviceId;
      if (this.camera === null) return this.changed();
      const track = await this.openCamera(deviceId);
      this.camera.stop();
      this.camera = track;
      if (this.screen === null) this.emit('video', track);
    }
    this.rebuildStream();
    this.changed();
  }

  /** Sends the screen instead of the camera, until `stopScreen` or until the browser's own "Stop sharing". */
  async shareScreen(): Promise<void> {
    if (this.screen !== null || this.closed) return;
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false }).catch((err: unknown) => {
      throw describeMediaError(err);
    });
    const track = stream.getVideoTracks()[0];
    if (track === undefined) return;
    if (this.closed) {
      track.stop();
      return;
    }
    this.screen = track;
    track.addEventListener('ended', () => this.stopScreen());
    this.rebuildStream();
    this.emit('video', track);
    this.changed();
  }

  stopScreen(): void {
    if (this.screen === null) return;
    this.screen.stop();
    this.screen = null;
    this.rebuildStream();
    this.emit('video', this.camera);
    this.changed();
  }

  /** Stops every track: the microphone, camera and screen are free again. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const track of [this.audio, this.camera, this.screen]) track?.stop();
    this.listeners.clear();
    this.changed();
    this.changeListeners.clear();
  }

  private async openCamera(deviceId: string | undefined): Promise<MediaStreamTrack> {
    const video: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 } };
    if (deviceId !== undefined) video.deviceId = { exact: deviceId };
    const stream = await navigator.mediaDevices.getUserMedia({ video }).catch((err: unknown) => {
      throw describeMediaError(err);
    });
    const track = stream.getVideoTracks()[0];
    if (track === undefined) throw new Error('The camera gave no picture.');
    return track;
  }

  private rebuildStream(): void {
    for (const t of this.stream.getTracks()) this.stream.removeTrack(t);
    const video = this.screen ?? this.camera;
    if (this.audio) this.stream.addTrack(this.audio);
    if (video) this.stream.addTrack(video);
  }

  private emit(kind: MediaKind, track: MediaStreamTrack | null): void {
    for (const listener of [...this.listeners]) listener(kind, track);
  }

  private changed(): void {
    for (const listener of [...this.changeListeners]) listener();
  }
}

function isMissingDevice(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'NotReadableError' || name === 'NotAllowedError';
}

/** getUserMedia's errors in words a person can act on. */
function describeMediaError(err: unknown): Error {
  const name = (err as { name?: string } | null)?.name;
  switch (name) {
    case 'NotAllowedError':
      return new Error('The browser did not allow the microphone or camera. Allow them for this site and try again.');
    case 'NotFoundError':
      return new Error('No microphone was found on this device.');
    case 'NotReadableError':
      return new Error('The microphone or camera is in use by another program.');
    default:
      return err instanceof Error ? err : new Error(String(err));
  }
}
