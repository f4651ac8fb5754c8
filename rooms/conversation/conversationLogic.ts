/**
 * The logic of one conversation (DESIGN "Delivery"), free of Colyseus: members, messages, receipts, typing and the
 * owner's presence. The ConversationRoom shell wires sockets to it; unit tests drive it directly.
 *
 * Delivery: a message is validated, rate-limited and written through the ConversationLog (engine/conversationLog.ts),
 * which stores it with the next seq (idempotent on sender + clientMsgId) and publishes it on the conversation's Hub
 * topic. Only then is it acked to its sender; every device hears it from that topic (`relay`), whoever wrote it:
 * this room, a knock, a GameRoom, a channel, another process. Relayed messages go out in seq order, with no gap: one
 * that arrives early waits while the missing ones are read from storage. Each write starts as its message arrives
 * (a burst shares one commit); acks wait for every earlier message's, so they leave in seq order. A joining peer gets
 * its catch-up before any live event (live events wait in its buffer).
 */
import type { ConversationLog, LogEntry } from '../../engine/conversationLog.ts';
import type { Logger } from '../../engine/logger.ts';
import type { Clock } from '../../engine/ports/clock.ts';
import type { Conversation, Participant, Storage } from '../../engine/ports/storage.ts';
import {
  limits,
  type ConversationClientMessages,
  type ConversationServerMessages,
  type DeliveryRecord,
  type MessageRecord,
  type ParticipantRecord,
} from '../../engine/protocol.ts';
import { KnockError, CloseCode } from '../../engine/errors.ts';
import { rateLimited } from '../../engine/rateLimit.ts';
import { deliver, goLive, replyError, type Peer } from '../peer.ts';
import { CallLogic, type CallSetup } from './callLogic.ts';
import { GameInvites } from './gameInvites.ts';
import { messageEntry, type Files } from '../../engine/files.ts';
import { deliveryOf } from '../../engine/deliveries.ts';
import type { VisitorBlocks } from '../../engine/visitorBlocks.ts';

export type ConversationPeer = Peer<ConversationServerMessages>;
type ServerType = keyof ConversationServerMessages & string;

export interface ConversationDeps {
  storage: Storage;
  /** Where every event of the conversation is written (and the owner's list told of changes). */
  log: Pick<ConversationLog, 'append' | 'summaryChanged'>;
  clock: Clock;
  logger: Logger;
  /** Calls: timers, limits, ICE servers, the conference server. */
  calls: CallSetup;
  /** The files a message names (uploaded before over HTTP). */
  files: Pick<Files, 'refsFor'>;
  /**
   * Issue 22: what a blocked visitor writes is refused with the text they read (engine/visitorBlocks.ts). Absent: no
   * visitor is blocked (unit tests of delivery).
   */
  blocks?: Pick<VisitorBlocks, 'checkVisitor'>;
}

/** What a blocked visitor may not do: write, rename themselves, start a call, make a document, invite to a game. */
const SCREENED = new Set<string>(['send', 'rename', 'doc.create', 'call.start', 'game.invite']);

type Handlers = { [T in keyof ConversationClientMessages]: (peer: ConversationPeer, message: ConversationClientMessages[T]) => void | Promise<void> };

export class ConversationLogic {
  private readonly peers = new Map<string, ConversationPeer>();
  private readonly participants = new Map<string, Participant>();
  /** The newest seq relayed to the devices: every message up to it went out, in order. */
  private lastSeq: number;
  /** Messages heard before one of a lower seq (another process's, or a lost event): they wait for the gap to fill. */
  private readonly early = new Map<number, MessageRecord>();
  private fillingGap = false;
  /** Per device, the file lookup its newest message waits for: its next messages queue behind it. */
  private readonly lookups = new Map<string, Promise<LogEntry>>();
  /** Messages of peers being written now (sender + clientMsgId -> the peer): their sender gets an ack, not a copy. */
  private readonly sending = new Map<string, string>();
  private ownerOnline: boolean;
  /** The ack of the last message accepted: the next one's waits for it (seq order on the wire). */
  private deliveries: Promise<void> = Promise.resolve();
  private disposed = false;
  /** Per peer, the highest seq its catch-up carried: a live `message` at or below it was sent already. */
  private readonly caughtUpTo = new Map<string, number>();
  /** The conversation's call (at most one at a time). */
  readonly calls: CallLogic;
  /** Game invitations and results (the games themselves run in GameRooms). */
  readonly games: GameInvites;

  constructor(
    private readonly deps: ConversationDeps,
    readonly conversation: Conversation,
    participants: Participant[],
    ownerOnline: boolean,
  ) {
    for (const p of participants) this.participants.set(p.id, p);
    this.lastSeq = conversation.lastSeq;
    this.ownerOnline = ownerOnline;
    this.calls = new CallLogic(deps.calls, {
      conversationId: conversation.id,
      clock: deps.clock,
      logger: deps.logger,
      devices: () => this.peers.values(),
      device: (id) => this.peers.get(id),
      participantOf: (peer) => this.participantOf(peer),
      record: (entry) => this.append(entry),
    });
    this.games = new GameInvites({
      storage: deps.storage,
      clock: deps.clock,
      logger: deps.logger,
      conversationId: conversation.id,
      participants: () => this.participants.values(),
      participantOf: (peer) => this.participantOf(peer),
      peers: () => this.peers.values(),
      record: (entry) => this.append(entry),
    });
    this.handlers = {
      send: (peer, m) => this.send(peer, m),
      sync: (peer, m) => this.sync(peer, m),
      history: (peer, m) => this.history(peer, m),
      typing: (peer, m) => this.typing(peer, m),
      receipt: (peer, m) => this.receipt(peer, m),
      rename: (peer, m) => this.rename(peer, m),
      'doc.create': (peer, m) => this.createDocument(peer, m),
      ...this.calls.handlers,
      ...this.games.handlers,
    };
  }

  get peerCount(): number {
    return this.peers.size;
  }

  /** Sends the welcome and everything after `since` (or the newest page), then goes live for this peer. */
  async join(peer: ConversationPeer, since: number | undefined): Promise<void> {
    const me = this.participantOf(peer);
    peer.state = { kind: 'joining', buffered: [] };
    this.peers.set(peer.id, peer);
    peer.transport.send('welcome', {
      conversation: {
        id: this.conversation.id,
        ownerHandle: this.conversation.ownerHandle,
        ownerName: this.conversation.ownerName,
      },
      me: { participantId: me.id, role: me.role },
      participants: [...this.participants.values()].map(toRecord),
      ownerOnline: this.ownerOnline,
      lastSeq: this.lastSeq,
      callId: this.calls.currentCallId,
    });
    // Follows the catch-up (the peer is joining: live events wait in its buffer).
    this.calls.deviceJoined(peer);
    // Buffered like the call state: it reaches the device after its catch-up.
    await this.games.deviceJoined(peer).catch((err: unknown) => this.deps.logger.error({ err }, 'could not read the open game'));
    // The owner's messages on their way out by email: their state, after the catch-up too.
    if (me.role === 'owner') await this.sendDeliveries(peer).catch((err: unknown) => this.deps.logger.error({ err }, 'could not read the deliveries'));
    let heldUpTo: number;
    try {
      heldUpTo = await this.sendCatchUp(peer, since);
    } catch (err) {
      peer.state = { kind: 'draining' };
      this.peers.delete(peer.id);
      throw err;
    }
    this.finishJoin(peer, heldUpTo);
  }

  /** How an owner's message is on its way out changed (the outbox, through the Hub): the owner's devices see it. */
  deliveryChanged(delivery: DeliveryRecord): void {
    for (const peer of this.peers.values()) {
      if (peer.identity.role === 'owner') deliver(peer, 'delivery', delivery);
    }
  }

  private async sendDeliveries(peer: ConversationPeer): Promise<void> {
    const items = (await this.deps.storage.conversationJobs(this.conversation.id)).flatMap((job) => deliveryOf(job) ?? []);
    if (items.length > 0) deliver(peer, 'deliveries', { items });
  }

  leave(peerId: string): void {
    const peer = this.peers.get(peerId);
    if (!peer) return;
    peer.state = { kind: 'draining' };
    this.peers.delete(peerId);
    this.caughtUpTo.delete(peerId);
    const me = this.participants.get(peer.identity.participantId ?? '');
    if (me) this.broadcast('typing', { participantId: me.id, name: me.name, active: false }, peer.id);
    this.calls.deviceLeft(peerId);
  }

  /** One handler per validated message type, each typed by its message: the room's whole dispatch. */
  private readonly handlers: Handlers;

  /** Validated messages arrive here; every failure goes back to the peer as an `error` with `ref`. */
  async dispatch<T extends keyof ConversationClientMessages>(
    peer: ConversationPeer,
    type: T,
    message: ConversationClientMessages[T],
  ): Promise<void> {
    const ref = type === 'send' ? (message as ConversationClientMessages['send']).clientMsgId : type;
    const handler = this.handlers[type] as Handlers[T] | undefined;
    try {
      if (!handler) throw new KnockError('unknown_type', `Unknown message type "${String(type).slice(0, 64)}".`);
      // A message is screened in order with the device's others (`send`), the rest here.
      if (type !== 'send' && SCREENED.has(type)) await this.screen(peer);
      await handler(peer, message);
    } catch (err) {
      replyError(peer, err, ref, this.deps.logger, { type, conversationId: this.conversation.id });
    }
  }

  /**
   * A message stored in the conversation (the Hub's `conversation:<id>` topic, whoever wrote it): every device gets
   * it once, in seq order. One that comes before a lower seq still unheard waits while the gap is read from storage.
   */
  relay(message: MessageRecord): void {
    if (this.disposed || message.seq <= this.lastSeq) return;
    if (message.seq === this.lastSeq + 1 && this.early.size === 0) {
      this.relayNext(message);
      return;
    }
    this.early.set(message.seq, message);
    this.drainEarly();
    if (this.early.size > 0) void this.fillGap();
  }

  setOwnerOnline(online: boolean): void {
    if (online === this.ownerOnline) return;
    this.ownerOnline = online;
    this.broadcast('presence', { online });
  }

  /** Closes the sockets of a logged-out session. */
  endSession(sessionHash: string): void {
    for (const peer of this.peers.values()) {
      if (peer.identity.sessionHash === sessionHash) peer.transport.close(CloseCode.loggedOut, 'You logged out.');
    }
  }

  /** Ends the call going on (and records it), then resolves once every accepted write is stored. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.calls.close();
    await this.deliveries;
  }

  // --- send -----------------------------------------------------------------------------------------------------
  private send(peer: ConversationPeer, msg: ConversationClientMessages['send']): Promise<void> {
    this.checkRate(peer, 'messageBucket', 'Messages');
    const sender = this.participantOf(peer);
    const prior = this.lookups.get(peer.id);
    const screened = this.deps.blocks !== undefined && peer.identity.role === 'visitor';
    if (!msg.files?.length && !prior && !screened) return this.append({ senderId: sender.id, clientMsgId: msg.clientMsgId, body: msg.body, event: { kind: 'text' } }, peer);
    // A message with files is written once its files are looked up, a visitor's once it is known they are not blocked;
    // whatever the same device sends meanwhile waits behind it, so one device's messages are stored in the order it
    // sent them.
    const entry = (prior ?? Promise.resolve()).catch(() => undefined).then(() => this.entryOf(peer, sender, msg));
    this.lookups.set(peer.id, entry);
    void entry.then(
      () => this.forgetLookup(peer.id, entry),
      () => this.forgetLookup(peer.id, entry),
    );
    return entry.then((e) => this.append(e, peer));
  }

  private forgetLookup(peerId: string, entry: Promise<unknown>): void {
    if (this.lookups.get(peerId) === entry) this.lookups.delete(peerId);
  }

  /** What a `send` writes (engine/files.ts messageEntry: an HTTP post writes the same), once its sender may write. */
  private async entryOf(peer: ConversationPeer, sender: Participant, msg: ConversationClientMessages['send']): Promise<LogEntry> {
    await this.screen(peer);
    return messageEntry(this.deps.files, this.conversation.id, sender.id, msg);
  }

  /**
   * Refuses a blocked visitor (issue 22), by the conversation (their cookie) or the address they joined from: they get
   * the refusal as the `error` answering their message, and nothing is stored. Asked of storage at each message, not
   * remembered: a block or an unblock made in another process, or by the CLI, holds from the next message on. The
   * socket stays open: the visitor still reads the conversation, and a closed socket would only reconnect and resend.
   */
  private async screen(peer: ConversationPeer): Promise<void> {
    if (!this.deps.blocks || peer.identity.role !== 'visitor') return;
    const { ownerAccountId, ownerName } = this.conversation;
    await this.deps.blocks.checkVisitor(
      { id: ownerAccountId, displayName: ownerName },
      { conversationId: this.conversation.id, ...(peer.identity.addressHash !== undefined ? { addressHash: peer.identity.addressHash } : {}) },
    );
  }

  /**
   * Writes an event through the log, then acks it to the peer that sent it (if any); everyone else hears it from the
   * log's topic (`relay`). The write starts at once: the log keeps one conversation's appends in call order, so a
   * burst is stored with consecutive seqs in one commit. The ack waits for every earlier message's, so acks leave in
   * seq order. A peer's message is refused once the room is closing (its client resends it); the server's own
   * records (a call that ended as the room closed) are still written then.
   */
  private append(entry: LogEntry, from?: ConversationPeer): Promise<void> {
    if (from && this.disposed) return Promise.reject(new KnockError('internal', 'The conversation is closing; your message will be resent.'));
    const sendingKey = from && entry.clientMsgId !== undefined ? `${entry.senderId}\n${entry.clientMsgId}` : null;
    if (sendingKey && from) this.sending.set(sendingKey, from.id);
    const stored = this.deps.log.append(this.conversation.id, entry);
    // Its failure is handled below, once earlier deliveries are done; until then it must not count as unhandled.
    stored.catch(() => undefined);
    const task = this.deliveries.then(async () => {
      try {
        const { message } = await stored;
        from?.transport.send('ack', { clientMsgId: message.clientMsgId, seq: message.seq, at: message.at });
      } finally {
        if (sendingKey) this.sending.delete(sendingKey);
      }
    });
    // The next message's ack follows this one whatever its outcome; the caller sees the outcome.
    this.deliveries = task.catch(() => undefined);
    return task;
  }

  /** Sends the next message in seq order to every device (but the one whose write it is: that one gets the ack). */
  private relayNext(message: MessageRecord): void {
    this.lastSeq = message.seq;
    const senderPeer = this.sending.get(`${message.senderId}\n${message.clientMsgId}`);
    this.broadcast('message', message, senderPeer);
    const event = message.event;
    if (event.kind === 'game.invite' || event.kind === 'game.answer' || event.kind === 'game.result') this.games.eventRelayed(event.gameId);
  }

  /** Relays the early messages that follow on from `lastSeq` now. */
  private drainEarly(): void {
    for (let next = this.early.get(this.lastSeq + 1); next; next = this.early.get(this.lastSeq + 1)) {
      this.early.delete(next.seq);
      this.relayNext(next);
    }
    for (const seq of this.early.keys()) if (seq <= this.lastSeq) this.early.delete(seq);
  }

  /**
   * Reads what is missing before the early messages from storage. A message is published only once stored, and a
   * higher seq is only stored once the lower ones are, so the gap is always there to read.
   */
  private async fillGap(): Promise<void> {
    if (this.fillingGap) return;
    this.fillingGap = true;
    try {
      while (this.early.size > 0 && !this.disposed) {
        const items = await this.deps.storage.messagesAfter(this.conversation.id, this.lastSeq, limits.pageSize);
        const before = this.lastSeq;
        for (const item of items) if (item.seq === this.lastSeq + 1) this.relayNext(item);
        this.drainEarly();
        if (this.lastSeq === before) break;
      }
    } catch (err) {
      this.deps.logger.error({ err, conversationId: this.conversation.id }, 'could not read the messages missing before a relayed one');
    } finally {
      this.fillingGap = false;
    }
  }

  // --- documents ----------------------------------------------------------------------------------------------------
  /** Creates a document (rooms/doc) and posts its card (a `doc` event whose body is the title) to everyone. */
  private async createDocument(peer: ConversationPeer, msg: ConversationClientMessages['doc.create']): Promise<void> {
    this.checkRate(peer, 'messageBucket', 'Messages');
    const me = this.participantOf(peer);
    const doc = await this.deps.storage.createDocument({ conversationId: this.conversation.id, createdBy: me.id, title: msg.title, at: this.deps.clock.now() });
    peer.transport.send('doc.created', { docId: doc.id, title: doc.title });
    await this.append({ senderId: me.id, idempotencyKey: `doc:${doc.id}`, body: doc.title, event: { kind: 'doc', docId: doc.id } });
  }

  // --- catch-up, sync and history --------------------------------------------------------------------------------
  private async sendCatchUp(peer: ConversationPeer, since: number | undefined): Promise<number> {
    const id = this.conversation.id;
    if (since === undefined || since > this.lastSeq) {
      // Nothing held (or a client from before a restore): the newest page; older ones load as the person scrolls.
      const items = await this.deps.storage.messagesBefore(id, Number.MAX_SAFE_INTEGER, limits.pageSize);
      const afterSeq = items.length > 0 ? items[0]!.seq - 1 : this.lastSeq;
      peer.transport.send('messages', { afterSeq, items, more: false });
      return items.at(-1)?.seq ?? afterSeq;
    }
    const items = await this.deps.storage.messagesAfter(id, since, limits.pageSize);
    const heldUpTo = items.at(-1)?.seq ?? since;
    peer.transport.send('messages', { afterSeq: since, items, more: heldUpTo < this.lastSeq });
    return heldUpTo;
  }

  private finishJoin(peer: ConversationPeer, heldUpTo: number): void {
    const isCaughtUp = (type: string, payload: unknown) => type === 'message' && (payload as MessageRecord).seq <= heldUpTo;
    if (goLive(peer, isCaughtUp)) this.caughtUpTo.set(peer.id, heldUpTo);
  }

  private async sync(peer: ConversationPeer, msg: ConversationClientMessages['sync']): Promise<void> {
    const limit = msg.limit ?? limits.pageSize;
    const items = await this.deps.storage.messagesAfter(this.conversation.id, msg.afterSeq, limit);
    const last = items.at(-1)?.seq ?? msg.afterSeq;
    peer.transport.send('messages', { afterSeq: msg.afterSeq, items, more: last < this.lastSeq });
  }

  private async history(peer: ConversationPeer, msg: ConversationClientMessages['history']): Promise<void> {
    const limit = msg.limit ?? limits.pageSize;
    const items = await this.deps.storage.messagesBefore(this.conversation.id, msg.beforeSeq, limit);
    peer.transport.send('history', { beforeSeq: msg.beforeSeq, items, more: (items[0]?.seq ?? 1) > 1 });
  }

  // --- typing, receipts, names -------------------------------------------------------------------------------------
  private typing(peer: ConversationPeer, msg: ConversationClientMessages['typing']): void {
    this.checkRate(peer, 'signalBucket', 'Typing signals');
    const me = this.participantOf(peer);
    this.broadcast('typing', { participantId: me.id, name: me.name, active: msg.active }, peer.id);
  }

  private async receipt(peer: ConversationPeer, msg: ConversationClientMessages['receipt']): Promise<void> {
    this.checkRate(peer, 'signalBucket', 'Receipts');
    const me = this.participantOf(peer);
    const seq = Math.min(msg.seq, this.lastSeq);
    const current = msg.kind === 'read' ? me.readSeq : me.deliveredSeq;
    if (seq <= current) return;
    const stored = await this.deps.storage.raiseReceipt(me.id, msg.kind, seq);
    if (!stored) return;
    this.participants.set(stored.id, stored);
    this.broadcast('receipt', { participantId: stored.id, kind: 'delivered', seq: stored.deliveredSeq });
    if (msg.kind === 'read') {
      this.broadcast('receipt', { participantId: stored.id, kind: 'read', seq: stored.readSeq });
      if (stored.role === 'owner') this.deps.log.summaryChanged(this.conversation.id);
    }
  }

  private async rename(peer: ConversationPeer, msg: ConversationClientMessages['rename']): Promise<void> {
    this.checkRate(peer, 'signalBucket', 'Name changes');
    const me = this.participantOf(peer);
    if (me.role !== 'visitor') throw new KnockError('forbidden', 'The owner changes their name in the settings.');
    const stored = await this.deps.storage.renameParticipant(me.id, msg.name);
    if (!stored) throw new KnockError('not_found', 'You are no longer in this conversation.');
    this.participants.set(stored.id, stored);
    this.broadcast('participant', toRecord(stored));
    this.deps.log.summaryChanged(this.conversation.id);
  }

  // --- plumbing -----------------------------------------------------------------------------------------------------
  private participantOf(peer: ConversationPeer): Participant {
    const participant = this.participants.get(peer.identity.participantId ?? '');
    if (!participant) throw new KnockError('forbidden', 'You are not a member of this conversation.');
    return participant;
  }

  private checkRate(peer: ConversationPeer, bucket: 'messageBucket' | 'signalBucket', what: string): void {
    const verdict = peer[bucket].take();
    if (!verdict.ok) throw rateLimited(what, verdict.retryAfterMs);
  }

  /** Sends to every peer (but `exceptPeerId`); joining peers get it after their catch-up. */
  private broadcast<T extends ServerType>(type: T, payload: ConversationServerMessages[T], exceptPeerId?: string): void {
    for (const peer of this.peers.values()) {
      if (peer.id === exceptPeerId) continue;
      // A message the peer's catch-up already carried (its write answered late) is not sent twice.
      if (peer.state.kind === 'active' && type === 'message' && (payload as MessageRecord).seq <= (this.caughtUpTo.get(peer.id) ?? 0)) continue;
      deliver(peer, type, payload);
    }
  }
}

function toRecord(p: Participant): ParticipantRecord {
  return { id: p.id, role: p.role, name: p.name, deliveredSeq: p.deliveredSeq, readSeq: p.readSeq };
}
