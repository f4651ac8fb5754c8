/**
 * The call of one conversation as one device sees it (the signalling half; the media half, RTCPeerConnections and
 * the SFU client, builds on `ticket` and `onSignal`). It keeps a snapshot views render, rejoins the call by itself
 * after a reconnection or a reload (the place its device held waits `KNOCK_CALL_REJOIN_GRACE_MS`), and says plainly
 * why something was refused (a full call, a call answered elsewhere).
 *
 * Phases: idle -> outgoing (I call) | incoming (it rings here) -> active -> ended; `elsewhere` when a call goes on
 * that this device is not in (answered on another tab: it can `join`); `rejoining` while it takes its place back.
 *
 * @example
 *   const call = CallSession.attach(conversation, { store: sessionStorageStore });
 *   call.subscribe(() => render(call.snapshot()));
 *   call.start('video');          // or, when it rings: call.accept()
 *   call.onSignal((s) => media.handle(s));
 */
import type { CallKind, CallState, ConversationClientMessages, ConversationServerMessages, ErrorPayload, IceCandidate, SessionDescription } from '../../../engine/protocol.ts';
import type { CallEvent, ConversationSession } from './conversationSession.ts';
import type { KeyValueStore, Listener } from './types.ts';

export type CallPhase = 'idle' | 'outgoing' | 'incoming' | 'active' | 'rejoining' | 'elsewhere' | 'ended';
export type CallRing = ConversationServerMessages['call.ring'];
export type CallTicket = ConversationServerMessages['call.ticket'];
export type CallSignal = ConversationServerMessages['call.signal'];

export interface CallSnapshot {
  phase: CallPhase;
  /** The conversation's call as the server last told it (kept once ended, to show how it ended). */
  call: CallState | null;
  /** The ring for this device, while it rings. */
  ring: CallRing | null;
  /** How this device joins the media (ICE servers, SFU pass), while it is in the call. */
  ticket: CallTicket | null;
  /** This device's id in the call, while connected. */
  deviceId: string | null;
  /** The last refusal about the call (e.g. `call_full`), until cleared. */
  error: ErrorPayload | null;
}

/** The call this tab is in, kept across a reload (give a per-tab store: sessionStorage). */
interface Held {
  callId: string;
  /** From the last ticket: takes back exactly this tab's place. */
  rejoinKey?: string;
}

/** An offer, an answer and a burst of trickled candidates from a few devices fit easily. */
const MAX_UNHEARD_SIGNALS = 200;

export class CallSession {
  private readonly listeners = new Set<Listener>();
  private readonly signalListeners = new Set<(signal: CallSignal) => void>();
  /**
   * Signals that came while nobody listened (the media code still loading, the camera still opening): an offer sent
   * to a tab that just reloaded arrives before its media is ready, and must not be lost.
   */
  private unheard: CallSignal[] = [];
  private call: CallState | null = null;
  private ring: CallRing | null = null;
  private ticket: CallTicket | null = null;
  private error: ErrorPayload | null = null;
  /** The call this device means to be in: set by start/accept/join, cleared by leave/decline/the end. */
  private held: Held | null;
  private starting = false;
  /** The device a `call.join` was last sent from, so a rejoin is asked once per connection. */
  private joinSentFrom: string | null = null;
  private cached: CallSnapshot | null = null;
  private readonly detach: () => void;

  private constructor(
    private readonly conversation: ConversationSession,
    private readonly options: { store?: KeyValueStore; storeKey: string },
  ) {
    this.held = this.loadHeld();
    const stopEvents = conversation.onCall((event) => this.onEvent(event));
    // The device id changes with the connection (and with it the phase): follow it, nothing else of the conversation.
    let deviceId = conversation.deviceId;
    const stopConnection = conversation.subscribe(() => {
      if (conversation.deviceId === deviceId) return;
      deviceId = conversation.deviceId;
      this.changed();
    });
    this.detach = () => {
      stopEvents();
      stopConnection();
    };
  }

  /** Follows the call of `conversation`; `store` (per tab) lets a reload rejoin the call it was in. */
  static attach(conversation: ConversationSession, options: { store?: KeyValueStore } = {}): CallSession {
    return new CallSession(conversation, { ...options, storeKey: `knock:call:${conversation.snapshot().conversationId}` });
  }

  /** This device's participant (the person in the conversation), once connected. */
  get participantId(): string | null {
    return this.conversation.snapshot().me?.participantId ?? null;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Descriptions and candidates other devices of the call send to this one (those that came before, first). */
  onSignal(listener: (signal: CallSignal) => void): () => void {
    this.signalListeners.add(listener);
    const earlier = this.unheard;
    this.unheard = [];
    for (const signal of earlier) listener(signal);
    return () => this.signalListeners.delete(listener);
  }

  snapshot(): CallSnapshot {
    this.cached ??= {
      phase: this.phase(),
      call: this.call,
      ring: this.ring,
      ticket: this.ticket,
      deviceId: this.conversation.deviceId,
      error: this.error,
    };
    return this.cached;
  }

  start(kind: CallKind): void {
    this.starting = true;
    this.send('call.start', { kind });
  }

  accept(): void {
    const callId = this.ring?.callId ?? this.call?.callId;
    if (!callId) return;
    this.hold(callId);
    this.send('call.accept', { callId });
  }

  decline(): void {
    const callId = this.ring?.callId;
    if (callId) this.send('call.decline', { callId });
  }

  /** Enters the call going on (answered elsewhere, or a conference). */
  join(): void {
    const callId = this.call?.status === 'ended' ? undefined : this.call?.callId;
    if (!callId) return;
    this.hold(callId);
    this.joinSentFrom = this.conversation.deviceId;
    this.send('call.join', { callId });
  }

  /** Hangs up on this device. */
  leave(): void {
    const callId = this.held?.callId ?? this.call?.callId;
    this.release();
    this.ticket = null;
    if (callId) this.send('call.leave', { callId });
    this.changed();
  }

  setMedia(audio: boolean, video: boolean): void {
    const callId = this.held?.callId;
    if (callId) this.send('call.media', { callId, audio, video });
  }

  /** Sends a description or a candidate to another device of the call. */
  signal(to: string, body: { description: SessionDescription } | { candidate: IceCandidate }): void {
    const callId = this.held?.callId;
    if (callId) this.send('call.signal', { callId, to, ...body });
  }

  clearError(): void {
    this.error = null;
    this.changed();
  }

  close(): void {
    this.detach();
    this.listeners.clear();
    this.signalListeners.clear();
  }

  // --- incoming ---------------------------------------------------------------------------------------------------------
  private onEvent(event: CallEvent): void {
    switch (event.type) {
      case 'call.state':
        this.onState(event.payload);
        break;
      case 'call.ring':
        this.ring = event.payload;
        break;
      case 'call.none':
        this.onNoCall();
        break;
      case 'call.ticket':
        this.ticket = event.payload;
        this.hold(event.payload.callId, event.payload.rejoinKey);
        break;
      case 'call.signal':
        if (this.signalListeners.size === 0) {
          if (this.unheard.length < MAX_UNHEARD_SIGNALS) this.unheard.push(event.payload);
        } else {
          for (const listener of [...this.signalListeners]) listener(event.payload);
        }
        return;
      case 'error':
        this.onError(event.payload);
        break;
    }
    this.changed();
  }

  private onState(state: CallState): void {
    this.call = state;
    const me = this.conversation.deviceId;
    const inIt = state.members.some((m) => m.deviceId === me);
    if (this.ring && (this.ring.callId !== state.callId || state.status !== 'ringing' || inIt)) this.ring = null;
    if (this.starting && inIt) {
      this.starting = false;
      this.hold(state.callId);
    }
    if (state.status === 'ended') {
      if (this.held?.callId === state.callId) this.release();
      this.ticket = null;
      this.unheard = [];
      return;
    }
    // Back after a reconnection or a reload: take the place this tab held (once per connection).
    if (this.held?.callId === state.callId && !inIt && me !== null && this.joinSentFrom !== me) {
      this.joinSentFrom = me;
      const { rejoinKey } = this.held;
      this.send('call.join', rejoinKey === undefined ? { callId: state.callId } : { callId: state.callId, rejoinKey });
    }
  }

  /** Joined with no call going on: one this device still shows ended while it was away (a restart, a long drop). */
  private onNoCall(): void {
    if (this.held) this.release();
    this.call = null;
    this.ring = null;
    this.ticket = null;
    this.unheard = [];
  }

  private onError(error: ErrorPayload): void {
    this.error = error;
    if (error.ref === 'call.start') this.starting = false;
    // Refused entry: this tab is not in that call after all.
    if ((error.ref === 'call.join' || error.ref === 'call.accept') && error.code !== 'rate_limited') this.release();
  }

  // --- plumbing ---------------------------------------------------------------------------------------------------------
  private phase(): CallPhase {
    const call = this.call;
    if (!call) return 'idle';
    if (call.status === 'ended') return 'ended';
    const me = this.conversation.deviceId;
    const inIt = call.members.some((m) => m.deviceId === me);
    if (inIt) return call.status === 'ringing' ? 'outgoing' : 'active';
    if (this.held?.callId === call.callId) return 'rejoining';
    if (this.ring?.callId === call.callId) return 'incoming';
    return call.status === 'active' ? 'elsewhere' : 'idle';
  }

  private send<T extends Extract<keyof ConversationClientMessages, `call.${string}`>>(type: T, payload: ConversationClientMessages[T]): void {
    if (!this.conversation.sendCall(type, payload)) {
      this.error = { code: 'offline', message: 'Not connected: try again in a moment.', ref: type };
      this.changed();
    }
  }

  private hold(callId: string, rejoinKey?: string): void {
    if (this.held?.callId === callId && (rejoinKey === undefined || this.held.rejoinKey === rejoinKey)) return;
    this.held = { callId, rejoinKey: rejoinKey ?? (this.held?.callId === callId ? this.held.rejoinKey : undefined) };
    this.options.store?.set(this.options.storeKey, JSON.stringify(this.held));
  }

  private release(): void {
    this.held = null;
    this.joinSentFrom = null;
    this.options.store?.remove(this.options.storeKey);
  }

  private loadHeld(): Held | null {
    const text = this.options.store?.get(this.options.storeKey);
    if (!text) return null;
    try {
      const held = JSON.parse(text) as Partial<Held>;
      if (typeof held.callId !== 'string') return null;
      return typeof held.rejoinKey === 'string' ? { callId: held.callId, rejoinKey: held.rejoinKey } : { callId: held.callId };
    } catch {
      return null;
    }
  }

  private changed(): void {
    this.cached = null;
    for (const listener of [...this.listeners]) listener();
  }
}
