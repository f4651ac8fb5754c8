/**
 * One browser's signalling session with a conference (one socket), free of the socket itself: `handle` takes a
 * validated request and resolves to its answer, or throws a KnockError the socket sends back.
 *
 *   joining --join (a valid pass)--> joined --ready--> ready (told of the others' producers) --> ended
 *
 * A session holds at most one transport per direction, `MAX_PRODUCERS` producers (microphone, camera, screen) and
 * one consumer per producer in the room: whatever a browser sends, it cannot make the worker hold more.
 *
 * @example
 *   const session = new ConferenceSession({ rooms, link: { send, close }, listen, logger });
 *   const answer = await session.handle(request); // request: SfuRequest, validated
 *   session.end(1000, 'bye');
 */
import type { types as ms } from 'mediasoup';
import { KnockError } from '../../../engine/errors.ts';
import type { Logger } from '../../../engine/logger.ts';
import type { SfuAnswers, SfuMethod, SfuProducer, SfuRequest, SfuServerMessage } from '../../../engine/sfuProtocol.ts';
import type { ConferenceRoom, Pass, RoomSession } from './conferenceRoom.ts';

export interface SessionLink {
  send(message: SfuServerMessage): void;
  close(code: number, reason: string): void;
}

export interface SessionDeps {
  /** The live room of a ref, if any. */
  roomOf(ref: string): ConferenceRoom | undefined;
  link: SessionLink;
  /** Where WebRTC transports listen and what address they announce. */
  listenInfos: ms.TransportListenInfo[];
  logger: Logger;
}

const MAX_PRODUCERS = 3;
/** What one member sends into the SFU, at most (camera simulcast + microphone + screen). */
const MAX_INCOMING_BITRATE = 3_000_000;
const INITIAL_OUTGOING_BITRATE = 1_000_000;

type Handlers = { [M in SfuMethod]: (request: Extract<SfuRequest, { method: M }>) => Promise<SfuAnswers[M]> };

export class ConferenceSession implements RoomSession {
  private room: ConferenceRoom | null = null;
  private currentPass: Pass | null = null;
  /** The member this session joined as: others key its media by it, so a renewed pass (a new member id) changes nothing. */
  private memberId = '';
  private rtpCapabilities: ms.RtpCapabilities | null = null;
  private readonly transports = new Map<string, ms.WebRtcTransport>();
  private readonly ownProducers = new Map<string, ms.Producer>();
  private readonly consumers = new Map<string, ms.Consumer>();
  private ended = false;

  constructor(private readonly deps: SessionDeps) {}

  get pass(): Pass | null {
    return this.currentPass;
  }

  get ready(): boolean {
    return this.rtpCapabilities !== null && !this.ended;
  }

  producers(): SfuProducer[] {
    const pass = this.currentPass;
    if (!pass) return [];
    return [...this.ownProducers.values()].map((p) => ({
      producerId: p.id,
      memberId: this.memberId,
      participantId: pass.participantId,
      kind: p.kind,
      source: (p.appData as { source: SfuProducer['source'] }).source,
      paused: p.paused,
    }));
  }

  send(message: SfuServerMessage): void {
    if (!this.ended) this.deps.link.send(message);
  }

  /** Validated request in, answer out (a refusal is thrown). */
  handle<M extends SfuMethod>(request: Extract<SfuRequest, { method: M }>): Promise<SfuAnswers[M]> {
    if (this.ended) throw new KnockError('forbidden', 'This session has ended.');
    if (request.method !== 'join' && this.room === null) throw new KnockError('unauthorized', 'Join the conference first.');
    const handler = this.handlers[request.method] as (r: typeof request) => Promise<SfuAnswers[M]>;
    return handler(request);
  }

  /** Releases everything this browser holds in the worker (the others hear its producers close); idempotent. */
  end(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    const room = this.room;
    this.room = null;
    const producerIds = [...this.ownProducers.keys()];
    for (const transport of this.transports.values()) transport.close();
    if (room) {
      for (const id of producerIds) room.broadcast(this, { notice: 'producerClosed', producerId: id });
      room.detach(this);
    }
    this.transports.clear();
    this.ownProducers.clear();
    this.consumers.clear();
    this.deps.link.close(code, reason);
  }

  private readonly handlers: Handlers = {
    join: async ({ room: ref, token }) => {
      if (this.room) throw new KnockError('conflict', 'This session has joined already.');
      const room = this.deps.roomOf(ref);
      const pass = room?.passOf(token) ?? null;
      if (!room || !pass) throw new KnockError('unauthorized', 'This pass does not open this conference (it ended, or you left it).');
      if (!room.hasRoomFor(this)) throw new KnockError('call_full', 'This conference is full.', { capacity: room.capacity });
      const router = await room.router();
      if (this.ended) throw new KnockError('forbidden', 'This session has ended.');
      this.room = room;
      this.currentPass = pass;
      this.memberId = pass.memberId;
      room.attach(this, token);
      return { routerRtpCapabilities: router.rtpCapabilities as Record<string, unknown>, memberId: pass.memberId };
    },
    renew: async ({ token }) => {
      const room = this.room!;
      const pass = room.passOf(token);
      if (!pass || pass.participantId !== this.currentPass?.participantId) throw new KnockError('unauthorized', 'This pass is not yours for this conference.');
      this.currentPass = pass;
      room.attach(this, token);
      return {};
    },
    ready: async ({ rtpCapabilities }) => {
      const first = this.rtpCapabilities === null;
      this.rtpCapabilities = rtpCapabilities as ms.RtpCapabilities;
      if (first) for (const producer of this.room!.producersBesides(this)) this.send({ notice: 'producer', producer });
      return {};
    },
    createTransport: async ({ direction }) => {
      if ([...this.transports.values()].some((t) => (t.appData as { direction: string }).direction === direction)) {
        throw new KnockError('conflict', `This session has a ${direction} transport already.`);
      }
      const router = await this.room!.router();
      const transport = await router.createWebRtcTransport({
        listenInfos: this.deps.listenInfos,
        enableUdp: true,
        enableTcp: true,
        preferUdp: true,
        initialAvailableOutgoingBitrate: INITIAL_OUTGOING_BITRATE,
        appData: { direction },
      });
      if (this.ended) {
        transport.close();
        throw new KnockError('forbidden', 'This session has ended.');
      }
      if (direction === 'send') await transport.setMaxIncomingBitrate(MAX_INCOMING_BITRATE);
      this.transports.set(transport.id, transport);
      return {
        id: transport.id,
        iceParameters: transport.iceParameters as unknown as Record<string, unknown>,
        iceCandidates: transport.iceCandidates as unknown as Record<string, unknown>[],
        dtlsParameters: transport.dtlsParameters as unknown as Record<string, unknown>,
      };
    },
    connectTransport: async ({ transportId, dtlsParameters }) => {
      await this.transport(transportId).connect({ dtlsParameters: dtlsParameters as ms.DtlsParameters });
      return {};
    },
    restartIce: async ({ transportId }) => ({ iceParameters: (await this.transport(transportId).restartIce()) as unknown as Record<string, unknown> }),
    produce: async ({ transportId, kind, source, rtpParameters, paused }) => {
      const transport = this.transport(transportId, 'send');
      if (this.ownProducers.size >= MAX_PRODUCERS) throw new KnockError('conflict', `A member sends at most ${MAX_PRODUCERS} streams.`);
      const producer = await mediasoupCall(() => transport.produce({ kind, rtpParameters: rtpParameters as ms.RtpParameters, paused, appData: { source } }));
      this.ownProducers.set(producer.id, producer);
      producer.on('transportclose', () => this.ownProducers.delete(producer.id));
      if (kind === 'audio') await this.room!.speaker.addProducer({ producerId: producer.id }).catch(() => undefined);
      const record = this.producers().find((p) => p.producerId === producer.id);
      if (record) this.room!.broadcast(this, { notice: 'producer', producer: record });
      return { id: producer.id };
    },
    pauseProducer: async ({ producerId, paused }) => {
      const producer = this.ownProducer(producerId);
      if (paused) await producer.pause();
      else await producer.resume();
      this.room!.broadcast(this, { notice: 'producerPaused', producerId, paused });
      return {};
    },
    closeProducer: async ({ producerId }) => {
      this.ownProducer(producerId).close();
      this.ownProducers.delete(producerId);
      this.room!.broadcast(this, { notice: 'producerClosed', producerId });
      return {};
    },
    consume: async ({ transportId, producerId }) => {
      const transport = this.transport(transportId, 'recv');
      const rtpCapabilities = this.rtpCapabilities;
      if (!rtpCapabilities) throw new KnockError('conflict', 'Say what this device can receive (ready) first.');
      if (this.ownProducers.has(producerId) || !this.room!.producersBesides(this).some((p) => p.producerId === producerId)) {
        throw new KnockError('not_found', 'No such stream in this conference.');
      }
      if ([...this.consumers.values()].some((c) => c.producerId === producerId)) throw new KnockError('conflict', 'This stream is received already.');
      const router = await this.room!.router();
      if (!router.canConsume({ producerId, rtpCapabilities })) throw new KnockError('bad_request', 'This device cannot decode that stream.');
      const consumer = await mediasoupCall(() => transport.consume({ producerId, rtpCapabilities, paused: true }));
      this.consumers.set(consumer.id, consumer);
      const gone = () => {
        if (!this.consumers.delete(consumer.id)) return;
        this.send({ notice: 'consumerClosed', consumerId: consumer.id });
      };
      consumer.on('producerclose', gone);
      consumer.on('transportclose', () => this.consumers.delete(consumer.id));
      return { id: consumer.id, producerId, kind: consumer.kind, rtpParameters: consumer.rtpParameters as unknown as Record<string, unknown> };
    },
    resumeConsumer: async ({ consumerId }) => {
      const consumer = this.consumers.get(consumerId);
      if (!consumer) throw new KnockError('not_found', 'No such consumer.');
      await consumer.resume();
      return {};
    },
  };

  private transport(id: string, direction?: 'send' | 'recv'): ms.WebRtcTransport {
    const transport = this.transports.get(id);
    if (!transport || (direction && (transport.appData as { direction: string }).direction !== direction)) {
      throw new KnockError('not_found', `No such ${direction ?? ''} transport in this session.`.replace('  ', ' '));
    }
    return transport;
  }

  private ownProducer(id: string): ms.Producer {
    const producer = this.ownProducers.get(id);
    if (!producer) throw new KnockError('not_found', 'No such stream of yours.');
    return producer;
  }
}

/**
 * mediasoup refuses bad RTP parameters with a TypeError, and codecs the router does not have with an
 * UnsupportedError: the browser's mistake, not ours.
 */
async function mediasoupCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof TypeError || (err instanceof Error && err.name === 'UnsupportedError')) {
      throw new KnockError('bad_request', `The conference server refused the media parameters: ${err.message}`);
    }
    throw err;
  }
}
