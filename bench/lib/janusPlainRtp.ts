/**
 * A real Janus VideoRoom with no WebRTC in it, for the SFU forwarding bench (the Janus twin of mediasoup's
 * PlainTransports): publishers are VideoRoom "remote publishers" (`add_remote_publisher`, Janus 1.1), to which the
 * bench sends plain RTP, and each consumer stream is a VideoRoom RTP forwarder (`rtp_forward`, the 1.1 `streams`
 * API) to a UDP port the bench reads, SRTP-encrypted (AES_CM_128_HMAC_SHA1_80) with a key of its own, so Janus
 * encrypts every packet once per consumer, as it would for a WebRTC subscriber.
 *
 * Janus runs as its own process, started as the tests start it (test/support/janusProcess.ts: Debian's configuration
 * copied to a temporary directory, the VideoRoom plugin and the APIs on 127.0.0.1 only), with little logging,
 * optionally under `taskset -c <cpu>`, and is stopped by its PID.
 *
 * What Janus 1.1.2 imposes (src/plugins/janus_videoroom.c, `add_remote_publisher` and the remote publisher thread):
 * - one UDP port per remote publisher, for all its streams: `videoPort` and `audioPort` are the same port;
 * - the streams are told apart by SSRC only, and the SSRCs are Janus's, not the sender's: stream `mindex` i must
 *   arrive with SSRC 1000 + 10 * i, whatever the request says (`mid`/`mindex` are required but ignored; mids are
 *   "0", "1", ...). Here video is stream 0 and audio stream 1: send video with {@link VIDEO_SSRC} and audio with
 *   {@link AUDIO_SSRC} (also returned by `addPublisher`); packets with other SSRCs are dropped (a warning each).
 *   The SSRCs the bench chose are what the forwarders write into what they send, so that a receiver tells the
 *   publishers apart;
 * - payload types are not checked on the way in and forwarders keep them: any (the bench's 101 and 100) will do;
 * - forwarders relay every packet as it comes (no key frame wait, no sequence rewriting), all of a publisher's
 *   forwarders from one socket, on that publisher's thread;
 * - `destroy` leaves a room's remote publishers running (fixed upstream after 1.1.2, #3508): `destroyRoom` removes
 *   them first. Even so, a remote publisher that has received RTP is never freed in 1.1.2 (one reference leaked per
 *   packet, fixed in 1.2.2, #3346): its thread ends but its two ports and forwarding socket stay open until Janus
 *   stops. Nothing reads them, so it costs no CPU; ports come from 10000-60000, two per publisher.
 *
 * @example
 *   const janus = await startJanusPlainRtp({ cpu: 0 });
 *   const room = await janus.createRoom();
 *   const a = await janus.addPublisher(room, 0, { video: 0x1000, audio: 0x1001 });
 *   // send a's RTP to 127.0.0.1:a.videoPort with SSRCs a.ssrc.video (VP8) and a.ssrc.audio (Opus)
 *   await janus.forward(room, a.publisherId, receiverPort);   // b's socket gets a's streams, SRTP
 *   ...
 *   await janus.destroyRoom(room);
 *   await janus.stop();
 */
import { randomBytes } from 'node:crypto';
import { startJanus } from '../../test/support/janusProcess.ts';

const PLUGIN = 'janus.plugin.videoroom';
const REQUEST_TIMEOUT_MS = 10_000;

/** The SSRCs Janus demultiplexes a remote publisher's port by (REMOTE_PUBLISHER_BASE_SSRC + mindex * 10). */
export const VIDEO_SSRC = 1000;
export const AUDIO_SSRC = 1010;
/** SRTP as a browser subscriber gets it: AES_CM_128_HMAC_SHA1_80, 16-byte key and 14-byte salt, base64 as in SDES. */
const SRTP_SUITE = 80;
const SRTP_MASTER_BYTES = 30;

export interface JanusPlainRtp {
  pid: number;                               // the janus process (the bench reads its CPU from /proc/<pid>/stat)
  /** A room for one conference. */
  createRoom(): Promise<number>;
  /**
   * A remote publisher with one VP8 video and one Opus audio stream; the UDP port on 127.0.0.1 to send its RTP to
   * (Janus takes all of a remote publisher's streams on one port: `videoPort === audioPort`), and the SSRCs to send
   * them with (Janus's, see the header; `ssrc` is what the forwarders of this publisher write instead). The
   * publisher's id in the room is `member + 1`.
   */
  addPublisher(
    room: number,
    member: number,
    ssrc: { video: number; audio: number },
  ): Promise<{ publisherId: number; videoPort: number; audioPort: number; ssrc: { video: number; audio: number } }>;
  /** Forwards a publisher's video and audio to 127.0.0.1:port (one UDP port takes both: RTP only, no RTCP needed), SRTP-encrypted. */
  forward(room: number, publisherId: number, port: number): Promise<void>;
  /** Removes the room's remote publishers (`remove_remote_publisher`: their threads end), then the room. */
  destroyRoom(room: number): Promise<void>;
  log(): Promise<string>;
  stop(): Promise<void>;
}

export interface JanusPlainRtpOptions {
  /** Runs Janus under `taskset -c <cpu>` (all its threads). */
  cpu?: number;
  /** Janus's debug_level: 3 (warnings and errors, the default) costs nothing while packets flow. */
  debugLevel?: number;
}

/** Starts Janus and opens the one session and VideoRoom handle every request goes through. */
export async function startJanusPlainRtp(options: JanusPlainRtpOptions = {}): Promise<JanusPlainRtp> {
  // No admin_key (so create and rtp_forward need none; lock_rtp_forward only applies with one) and none of Debian's
  // demo rooms (test/support/janusProcess.ts); one API session for the whole run, never timed out.
  const janus = await startJanus({ cpu: options.cpu, debugLevel: options.debugLevel ?? 3, sessionTimeout: 0 });
  let api: VideoRoomApi;
  try {
    api = await VideoRoomApi.open(janus.httpUrl);
  } catch (err) {
    const tail = (await janus.log()).slice(-3000);
    await janus.stop();
    throw new Error(`${(err as Error).message}\n${tail}`);
  }

  let nextRoom = 1000;
  /** Per room: its remote publishers, and the SSRCs the bench chose for each. */
  const rooms = new Map<number, Map<number, { video: number; audio: number }>>();

  return {
    pid: janus.pid,
    log: janus.log,
    stop: janus.stop,

    async createRoom() {
      const room = nextRoom++;
      await api.request({
        request: 'create',
        room,
        permanent: false,
        description: `bench ${room}`,
        publishers: 100, // only counts WebRTC publishers: remote ones are never refused
        bitrate: 1_000_000,
        fir_freq: 0,
        audiocodec: 'opus',
        videocodec: 'vp8',
      }, 'created');
      rooms.set(room, new Map());
      return room;
    },

    async addPublisher(room, member, ssrc) {
      const publishers = rooms.get(room);
      if (!publishers) throw new Error(`no room ${room} (createRoom first)`);
      const publisherId = member + 1;
      const answer = await api.request({
        request: 'add_remote_publisher',
        room,
        id: publisherId,
        display: `member ${member}`,
        iface: '127.0.0.1', // bind the publisher's ports to loopback only
        streams: [
          { type: 'video', mindex: 0, mid: '0', codec: 'vp8' },
          { type: 'audio', mindex: 1, mid: '1', codec: 'opus', stereo: true },
        ],
      }, 'success');
      const port = answer.port;
      if (typeof port !== 'number' || port <= 0) throw new Error(`add_remote_publisher: no port in ${JSON.stringify(answer)}`);
      publishers.set(publisherId, { ...ssrc });
      return { publisherId, videoPort: port, audioPort: port, ssrc: { video: VIDEO_SSRC, audio: AUDIO_SSRC } };
    },

    async forward(room, publisherId, port) {
      const ssrc = rooms.get(room)?.get(publisherId);
      if (!ssrc) throw new Error(`no publisher ${publisherId} in room ${room}`);
      const answer = await api.request({
        request: 'rtp_forward',
        room,
        publisher_id: publisherId,
        host: '127.0.0.1',
        host_family: 'ipv4',
        streams: [
          { mid: '0', port, ssrc: ssrc.video },
          { mid: '1', port, ssrc: ssrc.audio },
        ],
        srtp_suite: SRTP_SUITE,
        // A key per consumer: Janus shares one encryption among forwarders with the same key, SSRC and payload type.
        srtp_crypto: randomBytes(SRTP_MASTER_BYTES).toString('base64'),
      }, 'rtp_forward');
      // Janus skips an unknown mid silently and drops SRTP it cannot set up: check both forwarders exist, encrypted.
      const forwarders = Array.isArray(answer.forwarders) ? (answer.forwarders as Array<Record<string, unknown>>) : [];
      if (forwarders.length !== 2 || forwarders.some((f) => f.srtp !== true)) {
        throw new Error(`rtp_forward: expected 2 SRTP forwarders, got ${JSON.stringify(answer)}`);
      }
    },

    async destroyRoom(room) {
      for (const publisherId of rooms.get(room)?.keys() ?? []) {
        // Destroying a room leaves its remote publishers' threads and sockets behind: remove them first.
        await api.request({ request: 'remove_remote_publisher', room, id: publisherId }, 'success');
      }
      rooms.delete(room);
      await api.request({ request: 'destroy', room, permanent: false }, 'destroyed');
    },
  };
}

/** One Janus session and VideoRoom handle over the HTTP API; the session never times out (session_timeout = 0). */
class VideoRoomApi {
  private constructor(private readonly handleUrl: string) {}

  static async open(url: string): Promise<VideoRoomApi> {
    const session = idOf(await post(url, { janus: 'create' }));
    const handle = idOf(await post(`${url}/${session}`, { janus: 'attach', plugin: PLUGIN }));
    return new VideoRoomApi(`${url}/${session}/${handle}`);
  }

  /** A synchronous VideoRoom request; its answer's data, which must say `expect` in its `videoroom` field. */
  async request(body: Record<string, unknown>, expect: string): Promise<Record<string, unknown>> {
    const answer = (await post(this.handleUrl, { janus: 'message', body })) as {
      plugindata?: { data?: Record<string, unknown> };
    };
    const data = answer.plugindata?.data;
    if (!data || data.videoroom !== expect) {
      throw new Error(`Janus ${String(body.request)}: ${JSON.stringify(data ?? answer)}`);
    }
    return data;
  }
}

async function post(url: string, message: Record<string, unknown>): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...message, transaction: randomBytes(9).toString('base64url') }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const answer = (await response.json()) as { janus?: string; error?: { code: number; reason: string } };
  if (answer.janus === 'error') throw new Error(`Janus ${answer.error?.code}: ${answer.error?.reason}`);
  return answer;
}

function idOf(answer: unknown): number {
  const id = (answer as { data?: { id?: unknown } }).data?.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw new Error(`Janus: no id in ${JSON.stringify(answer)}`);
  return id;
}
