/**
 * What calls accept from the operator (engine/config.ts: KNOCK_ICE_SERVERS, KNOCK_TURN_*, KNOCK_JANUS_*, KNOCK_CALL_*)
 * and from the wire (engine/protocol.ts: call.* messages), and the text of call records.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configFromEnv } from '../../engine/config.ts';
import { KnockError } from '../../engine/errors.ts';
import { conversationClientMessages, describeIssues, limits } from '../../engine/protocol.ts';
import { callRecordText, formatCallDuration } from '../../rooms/conversation/callRecord.ts';

function refusal(env: Record<string, string>): string {
  try {
    configFromEnv(env);
  } catch (err) {
    if (err instanceof KnockError) return err.message;
    throw err;
  }
  throw new Error(`configFromEnv accepted ${JSON.stringify(env)}`);
}

function problem(schema: z.ZodType, value: unknown): string | null {
  const parsed = schema.safeParse(value);
  return parsed.success ? null : describeIssues(parsed.error);
}

describe('call settings', () => {
  it('runs calls peer-to-peer with no ICE servers by default: 45 s of ringing, 30 s to come back, 4 in a mesh', () => {
    expect(configFromEnv({})).toMatchObject({
      callRingTimeoutMs: 45_000,
      callRejoinGraceMs: 30_000,
      callMeshMax: 4,
      callMaxMembers: 12,
      iceServers: [],
      turnTtlMs: 3600_000,
    });
    expect(configFromEnv({}).janusUrl).toBeUndefined();
  });

  it('reads STUN and TURN servers, a url or a list of them per entry', () => {
    const config = configFromEnv({
      KNOCK_ICE_SERVERS: '[{"urls":"stun:turn.example.com:3478"},{"urls":["turn:turn.example.com:3478?transport=udp","turns:turn.example.com:5349"]}]',
      KNOCK_TURN_SECRET: 'a-long-enough-shared-secret',
      KNOCK_TURN_TTL_MS: '600000',
    });
    expect(config.iceServers).toEqual([
      { urls: ['stun:turn.example.com:3478'] },
      { urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349'] },
    ]);
    expect(config).toMatchObject({ turnSecret: 'a-long-enough-shared-secret', turnTtlMs: 600_000 });
  });

  it('refuses a static TURN password in the config: it would reach every page', () => {
    expect(refusal({ KNOCK_ICE_SERVERS: '[{"urls":"turn:t.example.com","username":"u","credential":"p"}]', KNOCK_TURN_SECRET: 'a-long-enough-shared-secret' })).toMatch(
      /^Invalid environment: KNOCK_ICE_SERVERS: .*must not hold a username or credential/,
    );
  });

  it('requires KNOCK_TURN_SECRET for TURN servers, and names what is wrong', () => {
    expect(refusal({ KNOCK_ICE_SERVERS: '[{"urls":"turn:t.example.com"}]' })).toMatch(/KNOCK_TURN_SECRET: turnSecret: is required/);
    expect(refusal({ KNOCK_ICE_SERVERS: '[{"urls":"http://t.example.com"}]' })).toMatch(/KNOCK_ICE_SERVERS: .*stun:, stuns:, turn: or turns:/);
    expect(refusal({ KNOCK_ICE_SERVERS: 'stun:t.example.com' })).toMatch(/KNOCK_ICE_SERVERS must be JSON/);
    expect(refusal({ KNOCK_TURN_SECRET: 'short' })).toMatch(/KNOCK_TURN_SECRET: .*at least 16/);
  });

  it('reads Janus\u2019s addresses and keys, and wants the public address with the private one', () => {
    const config = configFromEnv({
      KNOCK_JANUS_URL: 'http://127.0.0.1:8088/janus',
      KNOCK_JANUS_PUBLIC_URL: 'wss://chat.example.com/_/janus',
      KNOCK_JANUS_ADMIN_KEY: 'admin-key',
      KNOCK_JANUS_TOKEN_SECRET: 'token-secret',
    });
    expect(config).toMatchObject({ janusUrl: 'http://127.0.0.1:8088/janus', janusPublicUrl: 'wss://chat.example.com/_/janus', janusAdminKey: 'admin-key', janusTokenSecret: 'token-secret' });
    expect(refusal({ KNOCK_JANUS_URL: 'http://127.0.0.1:8088/janus' })).toMatch(/KNOCK_JANUS_PUBLIC_URL: janusPublicUrl: is required with KNOCK_JANUS_URL/);
    expect(refusal({ KNOCK_JANUS_URL: 'ws://127.0.0.1:8188', KNOCK_JANUS_PUBLIC_URL: 'wss://x.example.com' })).toMatch(/KNOCK_JANUS_URL: .*http/);
  });

  it('chooses the conference server by KNOCK_SFU, and reads mediasoup\u2019s workers, ports and addresses', () => {
    expect(configFromEnv({})).toMatchObject({ rtcMinPort: 40000, rtcMaxPort: 49999, rtcListenIp: '0.0.0.0' });
    expect(configFromEnv({}).sfu).toBeUndefined();
    const config = configFromEnv({
      KNOCK_SFU: 'mediasoup',
      KNOCK_MEDIASOUP_WORKERS: '3',
      KNOCK_RTC_MIN_PORT: '50000',
      KNOCK_RTC_MAX_PORT: '50100',
      KNOCK_RTC_LISTEN_IP: '10.0.0.5',
      KNOCK_RTC_ANNOUNCED_IP: '203.0.113.7',
    });
    expect(config).toMatchObject({ sfu: 'mediasoup', mediasoupWorkers: 3, rtcMinPort: 50000, rtcMaxPort: 50100, rtcListenIp: '10.0.0.5', rtcAnnouncedIp: '203.0.113.7' });
    expect(refusal({ KNOCK_SFU: 'jitsi' })).toMatch(/KNOCK_SFU: .*"mediasoup", "janus" or "none"/);
    expect(refusal({ KNOCK_SFU: 'janus' })).toMatch(/KNOCK_SFU: sfu: is "janus" but KNOCK_JANUS_URL is not set/);
    expect(refusal({ KNOCK_RTC_MIN_PORT: '50000', KNOCK_RTC_MAX_PORT: '40000' })).toMatch(/KNOCK_RTC_MAX_PORT: .*not be below KNOCK_RTC_MIN_PORT/);
    expect(refusal({ KNOCK_RTC_ANNOUNCED_IP: 'chat.example.com' })).toMatch(/KNOCK_RTC_ANNOUNCED_IP: .*IP address/);
  });

  it('keeps the mesh small: each device sends its media to every other', () => {
    expect(configFromEnv({ KNOCK_CALL_MESH_MAX: '3' }).callMeshMax).toBe(3);
    expect(refusal({ KNOCK_CALL_MESH_MAX: '20' })).toMatch(/^Invalid environment: KNOCK_CALL_MESH_MAX: /);
  });
});

describe('call messages on the wire', () => {
  const signal = conversationClientMessages['call.signal'];
  const base = { callId: 'call-id-1234', to: 'device-1' };
  const sdp = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';

  it('accepts an offer, an answer, a candidate and the end of candidates', () => {
    expect(problem(signal, { ...base, description: { type: 'offer', sdp } })).toBeNull();
    expect(problem(signal, { ...base, description: { type: 'answer', sdp: sdp.replace(/\r\n/g, '\n') } })).toBeNull();
    expect(problem(signal, { ...base, candidate: { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'abcd' } })).toBeNull();
    expect(problem(signal, { ...base, candidate: { candidate: '', sdpMid: null, sdpMLineIndex: null } })).toBeNull();
  });

  it('accepts an SDP up to the limit and refuses a larger one, saying the limit', () => {
    const filler = (n: number) => sdp + 'a'.repeat(n - sdp.length);
    expect(problem(signal, { ...base, description: { type: 'offer', sdp: filler(limits.sdpChars) } })).toBeNull();
    expect(problem(signal, { ...base, description: { type: 'offer', sdp: filler(limits.sdpChars + 1) } })).toBe(
      `description.sdp: The SDP is too large (at most ${limits.sdpChars} characters).`,
    );
  });

  it.each([
    ['an SDP that is not text', { description: { type: 'offer', sdp: 42 } }, /^description\.sdp: /],
    ['an SDP that is not SDP', { description: { type: 'offer', sdp: '<html>' } }, /must start with "v=0"/],
    ['an SDP with a NUL', { description: { type: 'offer', sdp: `${sdp}\u0000` } }, /characters SDP cannot hold/],
    ['a rollback (never sent to the other side)', { description: { type: 'rollback', sdp } }, /"offer" or "answer"/],
    ['a candidate of two lines', { candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 1 typ host\r\na=x' } }, /one line/],
    ['a candidate that is not one', { candidate: { candidate: 'hello' } }, /starts with "candidate:"/],
    ['a candidate too long', { candidate: { candidate: `candidate:${'1'.repeat(limits.candidateChars)}` } }, /too long/],
    ['a line index that is not a number', { candidate: { candidate: '', sdpMLineIndex: '0' } }, /sdpMLineIndex/],
    ['both a description and a candidate', { description: { type: 'offer', sdp }, candidate: { candidate: '' } }, /either a description or a candidate/],
    ['neither', {}, /either a description or a candidate/],
  ])('refuses %s', (_what, extra, message) => {
    expect(problem(signal, { ...base, ...extra })).toMatch(message);
  });

  it('refuses a call id that is not one, and a kind of call that does not exist', () => {
    expect(problem(conversationClientMessages['call.accept'], { callId: '../../x' })).toBe('callId: callId is not valid.');
    expect(problem(conversationClientMessages['call.start'], { kind: 'hologram' })).toMatch(/^kind: /);
  });
});

describe('call records', () => {
  it.each([
    [0, '0 s'],
    [44_600, '45 s'],
    [60_000, '1 min'],
    [12 * 60_000 + 20_000, '12 min'],
    [65 * 60_000, '1 h 05 min'],
  ])('says %i ms as "%s"', (ms, text) => {
    expect(formatCallDuration(ms)).toBe(text);
  });

  it('says what happened, with the kind of call', () => {
    expect(callRecordText('audio', 'completed', 12 * 60_000)).toBe('Call, 12 min');
    expect(callRecordText('video', 'completed', 90_000)).toBe('Video call, 2 min');
    expect(callRecordText('audio', 'missed', 0)).toBe('Missed call');
    expect(callRecordText('video', 'cancelled', 0)).toBe('Missed video call');
    expect(callRecordText('audio', 'declined', 0)).toBe('Declined call');
  });
});
