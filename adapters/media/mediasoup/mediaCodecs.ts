/**
 * The codecs every call's Router offers: Opus for sound, VP8 for pictures (every browser encodes it, and it carries
 * simulcast, three layers the SFU picks from per receiver), H.264 for devices that only do hardware H.264.
 */
import type { types as ms } from 'mediasoup';

export const MEDIA_CODECS: ms.RtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, parameters: { 'x-google-start-bitrate': 1000 } },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1, 'x-google-start-bitrate': 1000 },
  },
];
