/**
 * The conference signalling protocol (issue 23): the messages between the browser's mediasoup-client and Knock's
 * signalling socket. A part of the protocol kept in a module of its own (a departure from CONVENTIONS 3, "the protocol
 * is one module") because only a conference loads it: the browser's initial bundle carries every top-level schema of
 * engine/protocol.ts (zod's calls cannot be tree-shaken), and it has a budget (test/unit/bundle.test.ts).
 */
import { z } from 'zod';
import { errorPayload } from './protocol.ts';

// Conferences through mediasoup (issue 23): Knock is the SFU's signalling server. A member's `SfuJoin` (provider
// `mediasoup`) names a WebSocket at SFU_PATH on the process holding the call's router; on it the browser asks (each
// request has an `id`, answered once) and the server tells (notices). RTP and DTLS parameters are mediasoup's own
// JSON (mediasoup-client makes and reads them): bounded here, checked in depth by mediasoup itself.
/** The signalling socket's path on a Knock process (prefixed with its public address when it has one). */
export const SFU_PATH = '/_/sfu';
/** Largest signalling message either side sends (an RTP capabilities set is 5-10 KB). */
export const SFU_MAX_MESSAGE_BYTES = 64 * 1024;

const sfuObjectId = z.string().regex(/^[A-Za-z0-9-]{8,64}$/, { message: 'not a valid id.' });
const sfuShortText = z.string().max(256);
const sfuOpaque = z.looseObject({});
const sfuDtlsParameters = z.object({
  role: z.enum(['auto', 'client', 'server']).optional(),
  fingerprints: z.array(z.object({ algorithm: z.string().max(16), value: z.string().max(256) })).min(1).max(8),
});
const sfuRtpCodec = z.looseObject({ mimeType: z.string().max(64), clockRate: z.number().int().positive() });
const sfuRtpParameters = z.looseObject({
  mid: sfuShortText.optional(),
  codecs: z.array(sfuRtpCodec.extend({ payloadType: z.number().int().min(0).max(127) })).min(1).max(16),
  headerExtensions: z.array(sfuOpaque).max(32).optional(),
  encodings: z.array(sfuOpaque).max(4).optional(),
  rtcp: sfuOpaque.optional(),
});
const sfuRtpCapabilities = z.looseObject({
  codecs: z.array(sfuRtpCodec).max(64).optional(),
  headerExtensions: z.array(sfuOpaque).max(64).optional(),
});
export const sfuDirectionSchema = z.enum(['send', 'recv']);
export const sfuSourceSchema = z.enum(['microphone', 'camera', 'screen']);
export type SfuSource = z.infer<typeof sfuSourceSchema>;

/** What the browser asks on the signalling socket; `join` comes first, `ready` once its device is loaded. */
export const sfuRequestSchema = z.discriminatedUnion('method', [
  z.object({ id: z.number().int().min(0), method: z.literal('join'), room: z.string().min(1).max(64), token: z.string().min(16).max(128) }),
  /** A newer pass of the same member (a renewed ticket, a reconnected conversation): the session goes on under it. */
  z.object({ id: z.number().int().min(0), method: z.literal('renew'), token: z.string().min(16).max(128) }),
  z.object({ id: z.number().int().min(0), method: z.literal('ready'), rtpCapabilities: sfuRtpCapabilities }),
  z.object({ id: z.number().int().min(0), method: z.literal('createTransport'), direction: sfuDirectionSchema }),
  z.object({ id: z.number().int().min(0), method: z.literal('connectTransport'), transportId: sfuObjectId, dtlsParameters: sfuDtlsParameters }),
  z.object({ id: z.number().int().min(0), method: z.literal('restartIce'), transportId: sfuObjectId }),
  z.object({
    id: z.number().int().min(0),
    method: z.literal('produce'),
    transportId: sfuObjectId,
    kind: z.enum(['audio', 'video']),
    source: sfuSourceSchema,
    rtpParameters: sfuRtpParameters,
    paused: z.boolean(),
  }),
  z.object({ id: z.number().int().min(0), method: z.literal('pauseProducer'), producerId: sfuObjectId, paused: z.boolean() }),
  z.object({ id: z.number().int().min(0), method: z.literal('closeProducer'), producerId: sfuObjectId }),
  z.object({ id: z.number().int().min(0), method: z.literal('consume'), transportId: sfuObjectId, producerId: sfuObjectId }),
  z.object({ id: z.number().int().min(0), method: z.literal('resumeConsumer'), consumerId: sfuObjectId }),
]);
export type SfuRequest = z.infer<typeof sfuRequestSchema>;
export type SfuMethod = SfuRequest['method'];

const sfuTransportAnswer = z.object({
  id: z.string(),
  iceParameters: sfuOpaque,
  iceCandidates: z.array(sfuOpaque),
  dtlsParameters: sfuOpaque,
});
/** The answer to each request, by method. */
export const sfuAnswerSchemas = {
  join: z.object({ routerRtpCapabilities: sfuOpaque, memberId: z.string() }),
  renew: z.object({}),
  ready: z.object({}),
  createTransport: sfuTransportAnswer,
  connectTransport: z.object({}),
  restartIce: z.object({ iceParameters: sfuOpaque }),
  produce: z.object({ id: z.string() }),
  pauseProducer: z.object({}),
  closeProducer: z.object({}),
  consume: z.object({ id: z.string(), producerId: z.string(), kind: z.enum(['audio', 'video']), rtpParameters: sfuOpaque }),
  resumeConsumer: z.object({}),
} satisfies Record<SfuMethod, z.ZodType>;
export type SfuAnswers = { [M in SfuMethod]: z.infer<(typeof sfuAnswerSchemas)[M]> };

/** A producer of another member: consume it to receive it. */
export const sfuProducerRecord = z.object({
  producerId: z.string(),
  memberId: z.string(),
  /** The person, stable across their device's reconnections (call.state's participantId). */
  participantId: z.string(),
  kind: z.enum(['audio', 'video']),
  source: sfuSourceSchema,
  paused: z.boolean(),
});
export type SfuProducer = z.infer<typeof sfuProducerRecord>;

/** Everything the server sends on the signalling socket: answers (by `id`) and notices. */
export const sfuServerMessageSchema = z.union([
  z.object({ id: z.number().int(), ok: z.literal(true), data: z.record(z.string(), z.unknown()) }),
  z.object({ id: z.number().int(), ok: z.literal(false), error: errorPayload }),
  z.object({ notice: z.literal('producer'), producer: sfuProducerRecord }),
  z.object({ notice: z.literal('producerClosed'), producerId: z.string() }),
  z.object({ notice: z.literal('producerPaused'), producerId: z.string(), paused: z.boolean() }),
  /** A consumer ended by the server (its producer went, its transport closed). */
  z.object({ notice: z.literal('consumerClosed'), consumerId: z.string() }),
  /** Who is talking (the loudest audio now, from mediasoup's active speaker observer); null: nobody. */
  z.object({ notice: z.literal('speaker'), participantId: z.string().nullable() }),
]);
export type SfuServerMessage = z.infer<typeof sfuServerMessageSchema>;
/** Close codes of the signalling socket, beyond CloseCode: the call's media moved (a worker died): join again. */
export const SfuCloseCode = { rejoin: 4006 } as const;
