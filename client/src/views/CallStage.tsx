/**
 * The call on screen while this device is in it (loaded on demand by CallPanel): every other participant's video
 * ("Video of <name>", or an audio element in a voice call), this device's own picture, the status ("Ringing…",
 * "Connecting…", "Reconnecting…"), the timer, and the controls: "Mute", "Camera off", "Share screen", the choice of
 * microphone and camera, "Hang up".
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { CallMedia, type CallMediaSnapshot, type RemoteParticipant } from '../sdk/callMedia.ts';
import type { CallSession, CallSnapshot } from '../sdk/callSession.ts';
import type { ConversationSession } from '../sdk/conversationSession.ts';
import type { DeviceChoice } from '../sdk/localMedia.ts';
import { useSnapshot } from '../useSession.ts';
import { DismissableError } from './DismissableError.tsx';

export interface CallStageProps {
  call: CallSession;
  snapshot: CallSnapshot;
  conversation: ConversationSession;
}

export function CallStage({ call, snapshot, conversation }: CallStageProps) {
  const media = useCallMedia(call);
  const m = useSnapshot(media).value;
  if (!media || !m) return null;
  const video = snapshot.call?.kind === 'video';
  const status = statusText(snapshot, m, conversation.snapshot().connection !== 'live');
  return (
    <section class={video ? 'call-stage call-stage--video' : 'call-stage'} aria-label="Call">
      <div class="call-tiles">
        {m.remotes.map((r) => (
          <RemoteTile key={r.key} remote={r} video={video} />
        ))}
        {video && m.local && <LocalTile stream={m.local} version={m.localVersion} cameraOn={m.cameraOn || m.sharingScreen} />}
      </div>
      <div class="call-bar">
        <p class="call-status" aria-live="polite">
          {status ?? <CallTimer since={snapshot.call?.answeredAt ?? null} />}
        </p>
        <button type="button" class="button button--small" aria-pressed={m.muted} onClick={() => media.setMuted(!m.muted)}>
          Mute
        </button>
        {video && (
          <button type="button" class="button button--small" aria-pressed={!m.cameraOn} onClick={() => void media.setCamera(!m.cameraOn)}>
            Camera off
          </button>
        )}
        {video && m.canShareScreen && (
          <button type="button" class="button button--small" aria-pressed={m.sharingScreen} onClick={() => void media.shareScreen(!m.sharingScreen)}>
            Share screen
          </button>
        )}
        <DevicePicker media={media} video={video} />
        <button type="button" class="button button--small button--danger" onClick={() => call.leave()}>
          Hang up
        </button>
      </div>
      {m.error !== null && <DismissableError message={m.error} onDismiss={() => media.clearError()} />}
    </section>
  );
}

/** Null once the media flows: the timer shows instead. */
function statusText(call: CallSnapshot, media: CallMediaSnapshot, offline: boolean): string | null {
  if (call.phase === 'outgoing') return 'Ringing…';
  if (offline || media.transport === 'reconnecting') return 'Reconnecting…';
  if (call.phase === 'rejoining' || media.transport !== 'connected') return 'Connecting…';
  return null;
}

function useCallMedia(call: CallSession): CallMedia | null {
  const [media, setMedia] = useState<CallMedia | null>(null);
  useEffect(() => {
    const attached = CallMedia.attach(call);
    setMedia(attached);
    return () => attached.close();
  }, [call]);
  return media;
}

function RemoteTile({ remote, video }: { remote: RemoteParticipant; video: boolean }) {
  const ref = useRef<HTMLVideoElement & HTMLAudioElement>(null);
  const blocked = usePlayback(ref, remote.stream, remote.version);
  const label = `${video ? 'Video' : 'Audio'} of ${remote.name}`;
  return (
    <figure class="call-tile">
      {video ? <video ref={ref} aria-label={label} autoplay playsInline /> : <audio ref={ref} aria-label={label} autoplay />}
      <figcaption>
        {remote.name}
        {!remote.audio && <span class="muted"> (muted)</span>}
        {video && !remote.video && <span class="muted"> (camera off)</span>}
        {remote.state === 'reconnecting' && <span class="muted"> (reconnecting…)</span>}
      </figcaption>
      {blocked && (
        <button type="button" class="button button--small" onClick={() => void ref.current?.play()}>
          Play sound
        </button>
      )}
    </figure>
  );
}

function LocalTile({ stream, version, cameraOn }: { stream: MediaStream; version: number; cameraOn: boolean }) {
  const ref = useRef<HTMLVideoElement>(null);
  usePlayback(ref, stream, version);
  return (
    <figure class="call-tile call-tile--me">
      <video ref={ref} aria-label="Your video" autoplay playsInline muted />
      <figcaption>You{cameraOn ? '' : ' (camera off)'}</figcaption>
    </figure>
  );
}

/** Attaches the stream and plays it; true when the browser blocked sound until the person clicks (autoplay rules). */
function usePlayback(ref: { current: HTMLMediaElement | null }, stream: MediaStream, version: number): boolean {
  const [blocked, setBlocked] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (el.srcObject !== stream) el.srcObject = stream;
    el.play().then(
      () => setBlocked(false),
      (err: unknown) => setBlocked((err as { name?: string }).name === 'NotAllowedError'),
    );
  }, [ref, stream, version]);
  return blocked;
}

function CallTimer({ since }: { since: number | null }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  // The server's clock says when the call was answered; a device whose clock is behind must not show "-0:02".
  const seconds = since === null ? 0 : Math.max(0, Math.floor((now - since) / 1000));
  const text = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  return <time aria-label={`Call time ${text}`}>{text}</time>;
}

function DevicePicker({ media, video }: { media: CallMedia; video: boolean }) {
  const [open, setOpen] = useState(false);
  const [choices, setChoices] = useState<{ audio: DeviceChoice[]; video: DeviceChoice[] } | null>(null);
  useEffect(() => {
    if (!open) return;
    void media.devices().then(setChoices);
  }, [open, media]);
  const current = media.currentDevices();
  return (
    <>
      <button type="button" class="button button--small" aria-expanded={open} onClick={() => setOpen(!open)}>
        Devices
      </button>
      {open && choices && (
        <div class="call-devices">
          <DeviceSelect label="Microphone" choices={choices.audio} current={current.audio} onChoose={(id) => void media.useDevice('audio', id)} />
          {video && <DeviceSelect label="Camera" choices={choices.video} current={current.video} onChoose={(id) => void media.useDevice('video', id)} />}
        </div>
      )}
    </>
  );
}

function DeviceSelect(props: { label: string; choices: DeviceChoice[]; current: string | undefined; onChoose: (deviceId: string) => void }) {
  return (
    <label>
      {props.label}
      <select value={props.current} onChange={(e) => props.onChoose(e.currentTarget.value)}>
        {props.choices.map((d) => (
          <option key={d.deviceId} value={d.deviceId}>
            {d.label}
          </option>
        ))}
      </select>
    </label>
  );
}
