/**
 * One conversation as a device sees it, kept exactly in step with the server (DESIGN "Delivery"):
 * - stored messages by seq; `heldUpTo` is the highest seq with nothing missing below it down to the loaded start;
 *   a seq beyond heldUpTo+1 is a gap and triggers a sync, never silence;
 * - every (re)join says `since: heldUpTo`, and the server sends what follows;
 * - what this device writes goes to the Outbox first (survives reloads) and is sent one at a time, in order,
 *   until acked; a repeated clientMsgId is answered with the original ack, so resending is always safe;
 * - to the owner, how the mailing of each of their messages stands (`deliveries` on joining, then `delivery` as it
 *   changes), by the message's seq.
 *
 * @example
 *   const session = ConversationSession.open({ endpoint: location.origin, conversationId, token, store: browserStore });
 *   session.subscribe(() => render(session.snapshot()));
 *   session.send('Hello!');
 *   session.send('The plan, and a photo', [pdfRef, photoRef]);   // files uploaded first (attachments.ts)
 */
import {
  conversationClientMessages,
  conversationServerMessages,
  type ConversationClientMessages,
  type ConversationEvent,
  type ConversationServerMessages,
  type DeliveryRecord,
  type ErrorPayload,
  type FileRef,
  type MessageRecord,
  type ParticipantRecord,
  type Role,
} from '../../../engine/protocol.ts';
import { newClientMsgId } from './ids.ts';
import { Outbox, type PendingMessage } from './outbox.ts';
import { RoomLink } from './roomLink.ts';
import type { ConnectionState, ConversationSnapshot, DeliveryStatus, KeyValueStore, Listener, MessageView } from './types.ts';

/** Call messages of this conversation, and errors answering call messages (callSession.ts listens). */
export type CallEvent =
  | { [K in CallServerType]: { type: K; payload: ConversationServerMessages[K] } }[CallServerType]
  | { type: 'error'; payload: ErrorPayload }
  /** No call was going on as this connection joined (the welcome said so). */
  | { type: 'call.none'; payload: null };
export type CallServerType = Extract<keyof ConversationServerMessages, `call.${string}`>;
export type CallListener = (event: CallEvent) => void;
/** Game records of this conversation, and errors answering game messages (gameSession.ts listens). */
export type GameInviteEvent = { type: 'game'; payload: ConversationServerMessages['game'] } | { type: 'error'; payload: ErrorPayload };
export type GameInviteListener = (event: GameInviteEvent) => void;

export type DocCreatedListener = (doc: ConversationServerMessages['doc.created']) => void;

export interface ConversationSessionOptions {
  endpoint: string;
  conversationId: string;
  /** The visitor's token; owners are recognised by their session cookie. */
  token?: string;
  store: KeyValueStore;
  /** Node only: headers for the connection (e.g. `cookie` with an owner's session). */
  headers?: Record<string, string>;
}

const TYPING_SEND_EVERY_MS = 2500;
const TYPING_IDLE_MS = 4000;
const TYPING_SHOWN_MS = 6000;
const RECEIPT_DELAY_MS = 100;
const PERMANENT_ERRORS = new Set(['bad_request', 'too_large', 'forbidden', 'not_found', 'unknown_type']);
/** What this device writes is text, or text with files: its pending, failed and just-acknowledged messages carry this event. */
const TEXT: ConversationEvent = Object.freeze({ kind: 'text' });
function writtenEvent(files: readonly FileRef[] | undefined): ConversationEvent {
  return files !== undefined && files.length > 0 ? { kind: 'file', files: [...files] } : TEXT;
}

type Phase = 'away' | 'catchingUp' | 'live';

export class ConversationSession {
  private readonly link: RoomLink<typeof conversationServerMessages>;
  private readonly outbox: Outbox;
  private readonly listeners = new Set<Listener>();
  private readonly callListeners = new Set<CallListener>();
  /**
   * The last `call.state` and `call.ring` of the current connection: the server sends them once, as the device joins,
   * and a listener that attaches later (the call panel mounts after the session connected, e.g. after a reload in a
   * call) must still learn of the call, or the tab never takes its place back.
   */
  private callNow: { deviceId: string | null; state: CallEvent | null; ring: CallEvent | null } = { deviceId: null, state: null, ring: null };
  private readonly docListeners = new Set<DocCreatedListener>();
  private readonly gameListeners = new Set<GameInviteListener>();
  /**
   * The newest game record heard (an invitation, the game going on, the last result): the server sends the open game
   * once, as the device joins, and the games panel mounts after the session connected (one render later, or more on
   * a busy page), so a lobby that attaches after it must still learn of the game, or the page offers "Play a game"
   * beside a game under way.
   */
  private newestGame: ConversationServerMessages['game'] | null = null;
  private readonly stored = new Map<number, MessageRecord>();
  private readonly failed = new Map<string, { body: string; at: number; files?: FileRef[]; error: string }>();
  private readonly participants = new Map<string, ParticipantRecord>();
  /** The latest state of each mailing of the owner's messages, by the message's seq. */
  private readonly deliveries = new Map<number, DeliveryRecord>();
  private readonly typingUntil = new Map<string, { name: string; until: number }>();
  private me: { participantId: string; role: Role } | null = null;
  private ownerName = '';
  private ownerHandle = '';
  private ownerOnline = false;
  private connection: ConnectionState = 'connecting';
  private phase: Phase = 'away';
  /** Lowest seq loaded minus one: 0 when the whole history is here. */
  private base = 0;
  private heldUpTo = 0;
  private joinedOnce = false;
  private syncing = false;
  private inflight: string | null = null;
  private pausedUntil = 0;
  private pauseTimer: ReturnType<typeof setTimeout> | null = null;
  private loadingOlder: { resolve: () => void } | null = null;
  private lastError: ErrorPayload | null = null;
  private typingSentAt = 0;
  private typingIdleTimer: ReturnType<typeof setTimeout> | null = null;
  private typingExpiryTimer: ReturnType<typeof setTimeout> | null = null;
  private receiptTimer: ReturnType<typeof setTimeout> | null = null;
  private cached: ConversationSnapshot | null = null;
  private notifyQueued = false;

  private constructor(private readonly options: ConversationSessionOptions) {
    this.outbox = new Outbox(options.store, `knock:outbox:${options.conversationId}`);
    this.link = new RoomLink({
      endpoint: options.endpoint,
      roomName: 'conversation',
      schemas: conversationServerMessages,
      ...(options.headers ? { headers: options.headers } : {}),
      options: () => {
        const join: Record<string, unknown> = { conversationId: options.conversationId };
        if (options.token) join.token = options.token;
        if (this.joinedOnce) join.since = this.heldUpTo;
        return join;
      },
      onMessage: (type, payload) => this.onMessage(type, payload as never),
      onJoined: () => {
        this.phase = 'catchingUp';
      },
      onDisconnected: () => {
        this.phase = 'away';
        this.inflight = null;
        this.syncing = false;
        // A page request lost with the connection is never answered: settle it, or "loading older" would stay on
        // for good and loadOlder() would refuse every later call. The person (or view) asks again once live.
        this.loadingOlder?.resolve();
        this.loadingOlder = null;
        this.setConnection('reconnecting');
      },
      onEnded: (reason) => {
        this.phase = 'away';
        this.loadingOlder?.resolve();
        this.loadingOlder = null;
        this.lastError = { code: String(reason.code), message: reason.message };
        this.setConnection('closed');
      },
    });
  }

  static open(options: ConversationSessionOptions): ConversationSession {
    const session = new ConversationSession(options);
    session.link.start();
    return session;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): ConversationSnapshot {
    this.cached ??= this.buildSnapshot();
    return this.cached;
  }

  /**
   * Writes a message: shown at once as pending, stored in the outbox, sent when its turn comes. `files` are files
   * uploaded into this conversation before (attachments.ts); the body may then be empty.
   */
  send(body: string, files: readonly FileRef[] = []): string {
    const clientMsgId = newClientMsgId();
    const withFiles = files.length > 0 ? { files: [...files] } : {};
    // Refuse here what the server would refuse (too long, empty, broken characters): the person sees why at once.
    const valid = conversationClientMessages.send.safeParse(sendPayload({ clientMsgId, body, at: 0, ...withFiles }));
    if (!valid.success) {
      this.failed.set(clientMsgId, { body, at: Date.now(), ...withFiles, error: valid.error.issues[0]?.message ?? 'This message cannot be sent.' });
      this.changed();
      return clientMsgId;
    }
    this.outbox.add({ clientMsgId, body, at: Date.now(), ...withFiles });
    this.stopTyping();
    this.changed();
    this.pump();
    return clientMsgId;
  }

  /** Call on every keystroke; the session sends at most one signal every 2.5 s and stops after 4 s idle. */
  setTyping(active: boolean): void {
    if (!active) return this.stopTyping();
    const now = Date.now();
    if (now - this.typingSentAt > TYPING_SEND_EVERY_MS) {
      this.typingSentAt = now;
      this.link.send('typing', { active: true });
    }
    if (this.typingIdleTimer) clearTimeout(this.typingIdleTimer);
    this.typingIdleTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  /** Marks everything held as read (call while the conversation is visible). */
  markRead(): void {
    const mine = this.me && this.participants.get(this.me.participantId);
    if (!mine || this.heldUpTo <= mine.readSeq || this.phase !== 'live') return;
    this.link.send('receipt', { kind: 'read', seq: this.heldUpTo });
  }

  loadOlder(): Promise<void> {
    if (this.base <= 0 || this.loadingOlder || this.phase !== 'live') return Promise.resolve();
    return new Promise((resolve) => {
      this.loadingOlder = { resolve };
      this.link.send('history', { beforeSeq: this.base + 1 });
      this.changed();
    });
  }

  rename(name: string): void {
    this.link.send('rename', { name });
  }

  clearError(): void {
    this.lastError = null;
    this.changed();
  }

  async close(): Promise<void> {
    for (const timer of [this.pauseTimer, this.typingIdleTimer, this.typingExpiryTimer, this.receiptTimer]) {
      if (timer) clearTimeout(timer);
    }
    this.loadingOlder?.resolve();
    this.connection = 'closed';
    await this.link.close();
  }

  // --- calls (callSession.ts builds on these) ----------------------------------------------------------------------------
  /** This device's id in the conversation (and in its call) while connected; it changes with every reconnection. */
  get deviceId(): string | null {
    return this.link.sessionId;
  }

  /** Hears call messages and errors about them; they do not change this session's snapshot. */
  onCall(listener: CallListener): () => void {
    this.callListeners.add(listener);
    // What this connection was told of the call before the listener came: the current state, then a ring.
    const { deviceId, state, ring } = this.callNow;
    if (deviceId !== null && deviceId === this.deviceId) {
      if (state) listener(state);
      if (ring) listener(ring);
    }
    return () => this.callListeners.delete(listener);
  }

  /** Sends a call message; false while disconnected (nothing is queued: call signalling is only meaningful live). */
  sendCall<T extends Extract<keyof ConversationClientMessages, `call.${string}`>>(type: T, payload: ConversationClientMessages[T]): boolean {
    return this.link.send(type, payload);
  }

  // --- documents (the editor itself is client/src/docs, loaded when a document opens) -------------------------------------
  /** Where and how this conversation's documents are opened (DocProvider takes the same endpoint and token). */
  /** How a document of this conversation is opened: the same server and credentials, kept in the same store. */
  get access(): { endpoint: string; token?: string; store: KeyValueStore } {
    const { endpoint, token, store } = this.options;
    return token ? { endpoint, token, store } : { endpoint, store };
  }

  /** Asks the server for a new document in this conversation; false while disconnected. Its card arrives as a message. */
  createDocument(title: string): boolean {
    return this.link.send('doc.create', { title });
  }

  /** Hears the documents this device created (to open them at once). */
  onDocCreated(listener: DocCreatedListener): () => void {
    this.docListeners.add(listener);
    return () => this.docListeners.delete(listener);
  }

  // --- games (gameSession.ts builds on these) ------------------------------------------------------------------------
  /** What a GameSession needs to join this conversation's games as the same person. */
  get joinCredentials(): { endpoint: string; conversationId: string; token?: string; headers?: Record<string, string> } {
    const { endpoint, conversationId, token, headers } = this.options;
    return { endpoint, conversationId, ...(token ? { token } : {}), ...(headers ? { headers } : {}) };
  }

  /**
   * Hears game records (invitations, games starting and ending), each newer than the last (a record of an older game
   * arriving late is dropped), and errors answering game messages. A listener first hears the newest record so far.
   */
  onGame(listener: GameInviteListener): () => void {
    this.gameListeners.add(listener);
    if (this.newestGame !== null) listener({ type: 'game', payload: this.newestGame });
    return () => this.gameListeners.delete(listener);
  }

  /** Sends a game invitation or answer; false while disconnected. */
  sendGame<T extends Extract<keyof ConversationClientMessages, `game.${string}`>>(type: T, payload: ConversationClientMessages[T]): boolean {
    return this.link.send(type, payload);
  }

  // --- incoming -------------------------------------------------------------------------------------------------------
  private onMessage<K extends keyof ConversationServerMessages>(type: K, payload: ConversationServerMessages[K]): void {
    const isGameError = type === 'error' && (payload as ErrorPayload).ref?.startsWith('game.') === true;
    if (type === 'game') {
      const game = payload as ConversationServerMessages['game'];
      const newest = this.newestGame;
      if (newest !== null && newest.id !== game.id && game.createdAt < newest.createdAt) return;
      this.newestGame = game;
    }
    if (type === 'game' || isGameError) {
      for (const listener of [...this.gameListeners]) listener({ type, payload } as GameInviteEvent);
      return;
    }
    const isCallError = type === 'error' && (payload as ErrorPayload).ref?.startsWith('call.') === true;
    if (type.startsWith('call.') || isCallError) {
      const event = { type, payload } as CallEvent;
      if (type === 'call.state' || type === 'call.ring') {
        const deviceId = this.deviceId;
        if (this.callNow.deviceId !== deviceId) this.callNow = { deviceId, state: null, ring: null };
        if (type === 'call.ring') this.callNow.ring = event;
        else {
          this.callNow.state = event;
          // A ring is only news while its call still rings.
          const state = payload as ConversationServerMessages['call.state'];
          const ring = this.callNow.ring?.payload as ConversationServerMessages['call.ring'] | undefined;
          if (ring && (ring.callId !== state.callId || state.status !== 'ringing')) this.callNow.ring = null;
        }
      }
      for (const listener of [...this.callListeners]) listener(event);
      return;
    }
    switch (type) {
      case 'welcome':
        this.onWelcome(payload as ConversationServerMessages['welcome']);
        break;
      case 'messages':
        this.onMessages(payload as ConversationServerMessages['messages']);
        break;
      case 'history':
        this.onHistory(payload as ConversationServerMessages['history']);
        break;
      case 'message':
        this.addStored([payload as MessageRecord]);
        break;
      case 'ack':
        this.onAck(payload as ConversationServerMessages['ack']);
        break;
      case 'typing':
        this.onTyping(payload as ConversationServerMessages['typing']);
        break;
      case 'receipt': {
        const r = payload as ConversationServerMessages['receipt'];
        const p = this.participants.get(r.participantId);
        if (p) this.participants.set(p.id, r.kind === 'read' ? { ...p, readSeq: Math.max(p.readSeq, r.seq) } : { ...p, deliveredSeq: Math.max(p.deliveredSeq, r.seq) });
        break;
      }
      case 'participant': {
        const p = payload as ParticipantRecord;
        this.participants.set(p.id, p);
        break;
      }
      case 'presence':
        this.ownerOnline = (payload as ConversationServerMessages['presence']).online;
        break;
      case 'error':
        this.onError(payload as ErrorPayload);
        break;
      case 'doc.created':
        for (const listener of [...this.docListeners]) listener(payload as ConversationServerMessages['doc.created']);
        break;
      case 'deliveries':
        // All of them, on every (re)join: what changed while away is in this list, not in the `delivery`s missed.
        this.deliveries.clear();
        for (const record of (payload as ConversationServerMessages['deliveries']).items) this.deliveries.set(record.seq, record);
        break;
      case 'delivery': {
        const record = payload as DeliveryRecord;
        this.deliveries.set(record.seq, record);
        break;
      }
    }
    this.changed();
  }

  private onWelcome(w: ConversationServerMessages['welcome']): void {
    if (w.callId === null) {
      // Kept like a call.state, for a call panel that mounts later on this connection.
      const none: CallEvent = { type: 'call.none', payload: null };
      this.callNow = { deviceId: this.deviceId, state: none, ring: null };
      for (const listener of [...this.callListeners]) listener(none);
    }
    this.me = w.me;
    this.ownerName = w.conversation.ownerName;
    this.ownerHandle = w.conversation.ownerHandle;
    this.ownerOnline = w.ownerOnline;
    this.participants.clear();
    for (const p of w.participants) this.participants.set(p.id, p);
  }

  private onMessages(m: ConversationServerMessages['messages']): void {
    if (!this.joinedOnce) {
      // First join: the server sent the newest page; everything below it loads on demand.
      this.joinedOnce = true;
      this.base = m.afterSeq;
      this.heldUpTo = m.afterSeq;
    }
    this.syncing = false;
    this.addStored(m.items);
    if (m.more) this.requestSync();
    if (this.phase === 'catchingUp' && !m.more) {
      this.phase = 'live';
      this.setConnection('live');
      this.pump();
    }
  }

  private onHistory(h: ConversationServerMessages['history']): void {
    for (const item of h.items) this.stored.set(item.seq, item);
    this.base = h.more ? Math.min(this.base, (h.items[0]?.seq ?? this.base + 1) - 1) : 0;
    this.loadingOlder?.resolve();
    this.loadingOlder = null;
  }

  private onAck(a: ConversationServerMessages['ack']): void {
    const pending = this.outbox.take(a.clientMsgId);
    if (pending && this.me) {
      const me = this.participants.get(this.me.participantId);
      this.addStored([
        {
          seq: a.seq,
          at: a.at,
          body: pending.body,
          clientMsgId: a.clientMsgId,
          event: writtenEvent(pending.files),
          senderId: this.me.participantId,
          senderRole: this.me.role,
          senderName: me?.name ?? '',
        },
      ]);
    }
    if (this.inflight === a.clientMsgId) this.inflight = null;
    this.pump();
  }

  private onError(e: ErrorPayload): void {
    if (e.ref !== undefined && e.ref === this.inflight) {
      this.inflight = null;
      if (PERMANENT_ERRORS.has(e.code)) {
        const pending = this.outbox.take(e.ref);
        if (pending) this.failed.set(e.ref, { body: pending.body, at: pending.at, ...(pending.files ? { files: pending.files } : {}), error: e.message });
      } else {
        const retryAfterMs = typeof e.data?.retryAfterMs === 'number' ? e.data.retryAfterMs : 1000;
        this.pause(retryAfterMs);
      }
    }
    if (e.ref === 'history') {
      this.loadingOlder?.resolve();
      this.loadingOlder = null;
    }
    this.lastError = e;
  }

  private onTyping(t: ConversationServerMessages['typing']): void {
    if (t.participantId === this.me?.participantId) return;
    if (t.active) this.typingUntil.set(t.participantId, { name: t.name, until: Date.now() + TYPING_SHOWN_MS });
    else this.typingUntil.delete(t.participantId);
    if (this.typingExpiryTimer) clearTimeout(this.typingExpiryTimer);
    if (this.typingUntil.size > 0) {
      this.typingExpiryTimer = setTimeout(() => {
        const now = Date.now();
        for (const [id, t2] of this.typingUntil) if (t2.until <= now) this.typingUntil.delete(id);
        this.changed();
      }, TYPING_SHOWN_MS + 50);
    }
  }

  /** Merges stored messages; settles pending ones that turn out stored (ack lost in a crash); detects gaps. */
  private addStored(items: MessageRecord[]): void {
    let fromOthers = false;
    for (const item of items) {
      if (item.seq <= this.base && this.joinedOnce) continue;
      this.stored.set(item.seq, item);
      if (item.senderId === this.me?.participantId && this.outbox.take(item.clientMsgId)) {
        if (this.inflight === item.clientMsgId) this.inflight = null;
      }
      if (item.senderId !== this.me?.participantId) {
        fromOthers = true;
        this.typingUntil.delete(item.senderId);
      }
    }
    while (this.stored.has(this.heldUpTo + 1)) this.heldUpTo++;
    const highest = items.reduce((max, m) => Math.max(max, m.seq), 0);
    if (highest > this.heldUpTo + 1 || (highest > this.heldUpTo && !this.stored.has(this.heldUpTo + 1))) this.requestSync();
    if (fromOthers) this.scheduleDeliveredReceipt();
    this.pump();
  }

  // --- outgoing -------------------------------------------------------------------------------------------------------
  /** Sends the oldest pending message when nothing is in flight (one at a time keeps the written order). */
  private pump(): void {
    if (this.phase !== 'live' || this.inflight !== null || Date.now() < this.pausedUntil) return;
    const next = this.outbox.all()[0];
    if (!next) return;
    if (this.link.send('send', sendPayload(next))) this.inflight = next.clientMsgId;
  }

  private pause(ms: number): void {
    this.pausedUntil = Date.now() + ms;
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pauseTimer = setTimeout(() => {
      this.pauseTimer = null;
      this.pump();
    }, ms);
  }

  private requestSync(): void {
    if (this.syncing || this.phase === 'away') return;
    this.syncing = this.link.send('sync', { afterSeq: this.heldUpTo });
  }

  private scheduleDeliveredReceipt(): void {
    if (this.receiptTimer) return;
    this.receiptTimer = setTimeout(() => {
      this.receiptTimer = null;
      const mine = this.me && this.participants.get(this.me.participantId);
      if (mine && this.heldUpTo > mine.deliveredSeq) this.link.send('receipt', { kind: 'delivered', seq: this.heldUpTo });
    }, RECEIPT_DELAY_MS);
  }

  private stopTyping(): void {
    if (this.typingIdleTimer) clearTimeout(this.typingIdleTimer);
    this.typingIdleTimer = null;
    if (this.typingSentAt > 0) {
      this.typingSentAt = 0;
      this.link.send('typing', { active: false });
    }
  }

  // --- snapshot -------------------------------------------------------------------------------------------------------
  private setConnection(state: ConnectionState): void {
    this.connection = state;
    this.changed();
  }

  private changed(): void {
    this.cached = null;
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      for (const listener of this.listeners) listener();
    });
  }

  private buildSnapshot(): ConversationSnapshot {
    const myId = this.me?.participantId;
    const others = [...this.participants.values()].filter((p) => p.id !== myId);
    const statusOf = (seq: number): DeliveryStatus => {
      if (others.some((p) => p.readSeq >= seq)) return 'read';
      if (others.some((p) => p.deliveredSeq >= seq)) return 'delivered';
      return 'sent';
    };
    const messages: MessageView[] = [...this.stored.values()]
      .sort((a, b) => a.seq - b.seq)
      .map((m) => {
        const mine = m.senderId === myId;
        const name = this.participants.get(m.senderId)?.name || m.senderName;
        // Mine: how its sending by another channel stands. Theirs: a text to the owner's number passed on to their phone.
        const record = this.deliveries.get(m.seq);
        const delivery = record !== undefined && (mine || record.purpose === 'passOn') ? record : undefined;
        const view: MessageView = { key: m.clientMsgId, seq: m.seq, event: m.event, body: m.body, at: m.at, senderRole: m.senderRole, senderName: name, mine, status: mine ? statusOf(m.seq) : 'read' };
        return delivery === undefined ? view : { ...view, delivery };
      });
    const myRole = this.me?.role ?? (this.options.token ? 'visitor' : 'owner');
    const myName = (myId && this.participants.get(myId)?.name) || '';
    for (const p of this.outbox.all()) {
      messages.push({ key: p.clientMsgId, seq: null, event: writtenEvent(p.files), body: p.body, at: p.at, senderRole: myRole, senderName: myName, mine: true, status: 'pending' });
    }
    for (const [key, f] of this.failed) {
      messages.push({ key, seq: null, event: writtenEvent(f.files), body: f.body, at: f.at, senderRole: myRole, senderName: myName, mine: true, status: 'failed', error: f.error });
    }
    return {
      conversationId: this.options.conversationId,
      connection: this.connection,
      me: this.me,
      ownerName: this.ownerName,
      ownerHandle: this.ownerHandle,
      ownerOnline: this.ownerOnline,
      participants: [...this.participants.values()],
      messages,
      typing: [...this.typingUntil.values()].map((t) => t.name),
      hasOlder: this.base > 0,
      loadingOlder: this.loadingOlder !== null,
      lastError: this.lastError,
    };
  }
}

/** The `send` message for a pending one: the same clientMsgId and the same files' ids on every resend. */
function sendPayload(message: PendingMessage): ConversationClientMessages['send'] {
  const { clientMsgId, body, files } = message;
  return files !== undefined && files.length > 0 ? { clientMsgId, body, files: files.map((f) => f.id) } : { clientMsgId, body };
}
