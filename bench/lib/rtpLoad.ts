/**
 * Conference members as an SFU bench needs them, cheap enough that one core drives hundreds of streams: each member
 * sends one VP8 video stream (about 500 kbit/s: 30 frames a second of two ~1 KB packets) and one Opus stream (50
 * packets a second) as plain RTP, and counts every RTP packet an SFU forwards to its one receiving UDP socket (the
 * others' streams, SRTP-encrypted by the SFU: the RTP header stays in clear, so nothing is decrypted here). Loss is
 * what the members should have received, from what the others sent in the same window, minus what arrived.
 *
 * Every video packet is a VP8 key frame's first partition (payload descriptor X=1 S=1 PID 0 with a picture id, key
 * frame bit clear, start code), so an SFU that holds a new receiver's video until a key frame forwards it at once, and nobody needs to answer
 * PLIs. No receiver sends RTCP: these are the SFU's forwarding costs (receive, route, encrypt, send) without the
 * feedback a browser would add.
 *
 * @example
 *   const load = await RtpLoad.create(8);                    // 8 members, receiving sockets bound on 127.0.0.1
 *   load.members[0].sendVideoTo = { port: 40001 };           // where the SFU takes member 0's video
 *   load.start();
 *   const window = await load.measure(5000, 100);            // { expected, received, loss, ... }
 *   await load.close();
 */
import dgram from 'node:dgram';
import { once } from 'node:events';

export const VIDEO_PT = 101;
export const AUDIO_PT = 100;
/** 30 frames a second, two packets each, 1,040 bytes of VP8 payload: 505 kbit/s of RTP payload and header. */
const VIDEO_FPS = 30;
const VIDEO_PACKETS_PER_FRAME = 2;
const VIDEO_PAYLOAD_BYTES = 1040;
/** Opus: 20 ms frames of 80 bytes (32 kbit/s). */
const AUDIO_PPS = 50;
const AUDIO_PAYLOAD_BYTES = 80;
const TICK_MS = 5;
/** The SSRC of mediasoup's probation packets (RTC::RtpProbationSsrc). */
const PROBATION_SSRC = 1234;
/** Large enough that bursts from the SFU wait in the kernel, not on the floor, while this process is busy. */
const RECEIVE_BUFFER_BYTES = 16 * 1024 * 1024;

export interface Destination {
  port: number;
  host?: string;
}

export class RtpMember {
  sendVideoTo: Destination | null = null;
  sendAudioTo: Destination | null = null;
  /** RTP packets this member sent, and RTP packets it received (RTCP is not counted). */
  sent = 0;
  received = 0;
  receivedBytes = 0;
  private videoSeq = 0;
  private audioSeq = 0;
  private videoTs = 0;
  private pictureId = 0;
  private audioTs = 0;
  private readonly videoPacket: Buffer;
  private readonly audioPacket: Buffer;

  constructor(
    readonly index: number,
    readonly ssrc: { video: number; audio: number },
    readonly socket: dgram.Socket,
    readonly receivePort: number,
  ) {
    this.videoPacket = rtpPacket(VIDEO_PT, ssrc.video, vp8KeyFramePayload(VIDEO_PAYLOAD_BYTES));
    this.audioPacket = rtpPacket(AUDIO_PT, ssrc.audio, Buffer.alloc(AUDIO_PAYLOAD_BYTES, 0xfc));
    socket.on('message', (msg) => {
      // Version 2; RTP's second byte is marker + payload type, RTCP's (an SR from the SFU) its packet type, 200-207.
      if (msg.length < 12 || msg[0]! >> 6 !== 2 || (msg[1]! >= 200 && msg[1]! <= 207)) return;
      if (msg.readUInt32BE(8) === PROBATION_SSRC) return; // mediasoup's bandwidth probes: padding, not a stream
      this.received++;
      this.receivedBytes += msg.length;
    });
  }

  /** Sends with these SSRCs from now on (Janus tells a remote publisher's streams apart by fixed SSRCs). */
  useSsrc(ssrc: { video: number; audio: number }): void {
    this.videoPacket.writeUInt32BE(ssrc.video >>> 0, 8);
    this.audioPacket.writeUInt32BE(ssrc.audio >>> 0, 8);
  }

  sendVideoFrame(): void {
    if (!this.sendVideoTo) return;
    this.videoTs = (this.videoTs + 90000 / VIDEO_FPS) >>> 0;
    this.pictureId = (this.pictureId + 1) & 0x7fff;
    this.videoPacket.writeUInt16BE(0x8000 | this.pictureId, 12 + 2);
    for (let i = 0; i < VIDEO_PACKETS_PER_FRAME; i++) {
      const last = i === VIDEO_PACKETS_PER_FRAME - 1;
      const packet = this.stamp(this.videoPacket, VIDEO_PT, this.videoSeq, this.videoTs, last);
      this.videoSeq = (this.videoSeq + 1) & 0xffff;
      this.socket.send(packet, this.sendVideoTo.port, this.sendVideoTo.host ?? '127.0.0.1');
      this.sent++;
    }
  }

  sendAudioFrame(): void {
    if (!this.sendAudioTo) return;
    this.audioTs = (this.audioTs + 960) >>> 0;
    const packet = this.stamp(this.audioPacket, AUDIO_PT, this.audioSeq, this.audioTs, false);
    this.audioSeq = (this.audioSeq + 1) & 0xffff;
    this.socket.send(packet, this.sendAudioTo.port, this.sendAudioTo.host ?? '127.0.0.1');
    this.sent++;
  }

  /**
   * A copy of the template with its sequence number, timestamp and marker. A copy, because dgram's send reaches the
   * kernel a tick later (it resolves the address first): a template changed in place would go out twice with the
   * last sequence number (Janus's SRTP then refuses the second as a replay).
   */
  private stamp(template: Buffer, pt: number, seq: number, ts: number, marker: boolean): Buffer {
    const packet = Buffer.allocUnsafe(template.length);
    template.copy(packet);
    packet[1] = (marker ? 0x80 : 0) | pt;
    packet.writeUInt16BE(seq, 2);
    packet.writeUInt32BE(ts, 4);
    return packet;
  }
}

export interface Window {
  seconds: number;
  /** RTP packets the members should have received: each sent packet, times the members it goes to. */
  expected: number;
  received: number;
  /** 0..1; negative when more arrived than expected (the windows' edges), shown as 0. */
  loss: number;
  /** What the SFU sent the members, in Mbit/s (RTP as received, SRTP tag included). */
  outMbps: number;
  /** This process's CPU over the window, in cores (it must stay under 1: else the load, not the SFU, is the limit). */
  loadCores: number;
}

export class RtpLoad {
  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private videoFrames: number[] = [];
  private audioFrames: number[] = [];

  private constructor(readonly members: RtpMember[]) {}

  /** `count` members, each with a receiving socket on 127.0.0.1 (a free port) and random SSRCs. */
  static async create(count: number, firstSsrc = 0x1000_0000): Promise<RtpLoad> {
    const members: RtpMember[] = [];
    for (let i = 0; i < count; i++) {
      const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: RECEIVE_BUFFER_BYTES, sendBufferSize: 1024 * 1024 });
      socket.bind(0, '127.0.0.1');
      await once(socket, 'listening');
      members.push(new RtpMember(i, { video: firstSsrc + 2 * i, audio: firstSsrc + 2 * i + 1 }, socket, socket.address().port));
    }
    return new RtpLoad(members);
  }

  /** Starts sending: every member's frames on their schedule, the members' phases spread over the frame interval. */
  start(): void {
    this.startedAt = performance.now();
    this.videoFrames = this.members.map(() => 0);
    this.audioFrames = this.members.map(() => 0);
    const n = this.members.length;
    this.timer = setInterval(() => {
      const elapsed = performance.now() - this.startedAt;
      this.members.forEach((m, i) => {
        const phase = i / n;
        const videoDue = Math.floor((elapsed / 1000) * VIDEO_FPS + phase);
        while (this.videoFrames[i]! < videoDue) {
          m.sendVideoFrame();
          this.videoFrames[i]!++;
        }
        const audioDue = Math.floor((elapsed / 1000) * AUDIO_PPS + phase);
        while (this.audioFrames[i]! < audioDue) {
          m.sendAudioFrame();
          this.audioFrames[i]!++;
        }
      });
    }, TICK_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * One measurement window of `ms`: sent packets counted from now, received ones from `lagMs` later (what was on
   * its way at the start is not counted, what is on its way at the end is waited for), each member's packets
   * expected at each of the `receiversPerSender` others.
   */
  async measure(ms: number, lagMs: number, receiversPerSender = this.members.length - 1): Promise<Window> {
    const sent0 = this.members.map((m) => m.sent);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(lagMs);
    const recv0 = this.members.map((m) => m.received);
    const bytes0 = this.members.reduce((a, m) => a + m.receivedBytes, 0);
    await sleep(ms - lagMs);
    const sent1 = this.members.map((m) => m.sent);
    await sleep(lagMs);
    const recv1 = this.members.map((m) => m.received);
    const bytes1 = this.members.reduce((a, m) => a + m.receivedBytes, 0);
    const cpu = process.cpuUsage(cpu0);
    const seconds = (performance.now() - t0) / 1000;
    const expected = sent1.reduce((a, s, i) => a + (s - sent0[i]!) * receiversPerSender, 0);
    const received = recv1.reduce((a, r, i) => a + (r - recv0[i]!), 0);
    return {
      seconds: ms / 1000,
      expected,
      received,
      loss: expected > 0 ? Math.max(0, (expected - received) / expected) : 0,
      outMbps: ((bytes1 - bytes0) * 8) / (ms / 1000) / 1e6,
      loadCores: (cpu.user + cpu.system) / 1e6 / seconds,
    };
  }

  async close(): Promise<void> {
    this.stop();
    await Promise.all(this.members.map((m) => new Promise<void>((resolve) => m.socket.close(() => resolve()))));
  }
}

/** A 12-byte RTP header (version 2, no CSRC, no extension) and the payload; seq, timestamp and marker set per send. */
function rtpPacket(pt: number, ssrc: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = pt;
  header.writeUInt32BE(ssrc >>> 0, 8);
  return Buffer.concat([header, payload]);
}

/**
 * A VP8 payload an SFU takes as a key frame, laid out as Chrome sends it: the payload descriptor (X=1, S=1, partition
 * 0; I=1 with a 15-bit picture id, written per frame), then the frame tag (key frame, show frame), the start code
 * 0x9d 0x01 0x2a and a 640x360 size, then filler.
 */
function vp8KeyFramePayload(bytes: number): Buffer {
  const payload = Buffer.alloc(bytes, 0x55);
  payload[0] = 0x90; // X=1, N=0, S=1, PID=0
  payload[1] = 0x80; // I=1: a picture id follows
  payload.writeUInt16BE(0x8000, 2); // M=1: 15-bit picture id
  const tag = 4;
  payload[tag] = 0x10; // frame tag: key frame (bit 0 = 0), version 0, show_frame (bit 4)
  payload[tag + 1] = 0x02;
  payload[tag + 2] = 0x00;
  payload[tag + 3] = 0x9d;
  payload[tag + 4] = 0x01;
  payload[tag + 5] = 0x2a;
  payload.writeUInt16LE(640, tag + 6);
  payload.writeUInt16LE(360, tag + 8);
  return payload;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
