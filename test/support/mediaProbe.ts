/**
 * WebRTC's own statistics from a page, for call tests and the call benchmark (no test runner needed here).
 *
 * To read them, the probe must reach the page's RTCPeerConnections and camera tracks: `watchMedia` adds, before the
 * app loads, a few lines that keep a list of every RTCPeerConnection and every getUserMedia track the app creates.
 * The objects are the browser's own (the constructor is subclassed only to list its instances): nothing is replaced
 * or faked, and the app does not know.
 *
 * @example
 *   await watchMedia(page);
 *   await page.goto(url);
 *   const [stats] = await peerStats(page); // { state, framesDecoded, audioEnergy, localCandidateType, ... }
 */
import type { Page } from 'playwright-core';

export interface PeerStats {
  state: RTCPeerConnectionState;
  /** framesDecoded of each inbound video stream. */
  framesDecoded: number[];
  /** totalAudioEnergy of each inbound audio stream. */
  audioEnergy: number[];
  /** The selected candidate pair's local and remote candidate types (host, srflx, relay), once connected. */
  localCandidateType: string | null;
  remoteCandidateType: string | null;
}

declare global {
  interface Window {
    __knockMedia?: {
      connections: RTCPeerConnection[];
      tracks: MediaStreamTrack[];
      /** When (Date.now()) the camera and microphone were handed over, a connection made, a connection connected. */
      moments: { what: 'media' | 'connection' | 'connected'; at: number }[];
    };
  }
}

/** Call before the page's first navigation. */
export async function watchMedia(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const watched: NonNullable<Window['__knockMedia']> = { connections: [], tracks: [], moments: [] };
    window.__knockMedia = watched;
    const Native = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends Native {
      constructor(config?: RTCConfiguration) {
        super(config);
        watched.connections.push(this);
        watched.moments.push({ what: 'connection', at: Date.now() });
        this.addEventListener('connectionstatechange', () => {
          if (this.connectionState === 'connected') watched.moments.push({ what: 'connected', at: Date.now() });
        });
      }
    };
    const devices = navigator.mediaDevices;
    const getUserMedia = devices.getUserMedia.bind(devices);
    devices.getUserMedia = async (constraints?: MediaStreamConstraints) => {
      const stream = await getUserMedia(constraints);
      watched.tracks.push(...stream.getTracks());
      watched.moments.push({ what: 'media', at: Date.now() });
      return stream;
    };
  });
}

/** Statistics of every open peer connection of the page. */
export function peerStats(page: Page): Promise<PeerStats[]> {
  return page.evaluate(async () => {
    const watched = window.__knockMedia;
    if (!watched) throw new Error('watchMedia(page) was not called before the page loaded');
    const open = watched.connections.filter((pc) => pc.connectionState !== 'closed');
    return Promise.all(
      open.map(async (pc) => {
        const report = await pc.getStats();
        const framesDecoded: number[] = [];
        const audioEnergy: number[] = [];
        let pairId: string | undefined;
        const all = new Map<string, Record<string, unknown>>();
        report.forEach((s: Record<string, unknown>) => {
          all.set(s.id as string, s);
          if (s.type === 'inbound-rtp' && s.kind === 'video') framesDecoded.push((s.framesDecoded as number | undefined) ?? 0);
          if (s.type === 'inbound-rtp' && s.kind === 'audio') audioEnergy.push((s.totalAudioEnergy as number | undefined) ?? 0);
          if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') pairId = s.selectedCandidatePairId;
        });
        const pair = pairId === undefined ? undefined : all.get(pairId);
        const local = pair ? all.get(pair.localCandidateId as string) : undefined;
        const remote = pair ? all.get(pair.remoteCandidateId as string) : undefined;
        return {
          state: pc.connectionState,
          framesDecoded,
          audioEnergy,
          localCandidateType: (local?.candidateType as string | undefined) ?? null,
          remoteCandidateType: (remote?.candidateType as string | undefined) ?? null,
        };
      }),
    );
  });
}

/** The camera and microphone tracks the page ever opened that are still live (none once a call is over). */
export function liveCaptureTracks(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    (window.__knockMedia?.tracks ?? []).filter((t) => t.readyState === 'live').map((t) => `${t.kind}: ${t.label}`),
  );
}

/** How many camera/microphone tracks the page opened so far. */
export function captureTrackCount(page: Page): Promise<number> {
  return page.evaluate(() => window.__knockMedia?.tracks.length ?? 0);
}


/** The first time after `since` (Date.now() in the page) that each moment happened; null when it did not. */
export async function momentsAfter(page: Page, since: number): Promise<Record<'media' | 'connection' | 'connected', number | null>> {
  // No named inner function: under tsx (esbuild keepNames) it would call a `__name` helper the page does not have.
  const moments = await page.evaluate(() => window.__knockMedia?.moments ?? []);
  const first = (what: string) => moments.find((m) => m.what === what && m.at >= since)?.at ?? null;
  return { media: first('media'), connection: first('connection'), connected: first('connected') };
}
