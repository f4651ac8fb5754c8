/**
 * The one door into a conversation's history (DESIGN "The conversation log"). Whatever writes an event, a visitor's
 * message in the ConversationRoom, a knock over HTTP, a call or document record, a game's result from a GameRoom, a
 * reply that comes back by email or SMS, it goes through `append`, which:
 *
 *   1. checks the event (its kind's schema, and its key: a client's `clientMsgId` or a server's idempotency key);
 *   2. stores it with the conversation's next seq (Storage.appendMessage: one transaction, idempotent on sender +
 *      key, so a refused or repeated append consumes no seq);
 *   3. publishes it on the Hub topic `conversation:<id>`, which the conversation's room, in whatever process it is
 *      open, relays to its devices (nobody calls a room; a conversation nobody has open just stores);
 *   4. tells the owner's devices that the conversation list changed (one summary per burst, and at most one per
 *      `summaryIntervalMs` while the conversation stays busy, see `summaryChanged`);
 *   5. hands the stored event to its listeners (email, forwarding, SMS: `onAppended`) with the conversation's facts,
 *      read once for all of them.
 *
 * No Colyseus here: the composition root makes one per process and hands it to rooms and HTTP alike.
 *
 * @example
 *   await log.append(conversationId, {
 *     senderId: visitor.id,
 *     idempotencyKey: `sms:${smsc.messageId}`,
 *     body: 'On my way',
 *     event: { kind: 'text' },
 *   });
 */
import { KnockError } from './errors.ts';
import type { Hub } from './hub.ts';
import type { Logger } from './logger.ts';
import type { Clock, Timers } from './ports/clock.ts';
import type { AppendedFacts, AppendResult, Storage } from './ports/storage.ts';
import { clientMsgIdSchema, conversationEvent, limits, type ConversationEvent, type ConversationSummary, type MessageRecord } from './protocol.ts';

/** What a server-side writer keys its event by: a source and that source's own id, e.g. `game:<id>:result`, `email:<Message-ID>`. */
const IDEMPOTENCY_KEY = /^[a-z][a-z0-9.]{0,15}:[\x21-\x7e]{1,200}$/;
/** The plain text of a server's event (a document's title, a game's result line) is short; a text message's is `limits.bodyChars`. */
const MAX_BODY_CHARS = limits.bodyChars;
const TEXT: ConversationEvent = Object.freeze({ kind: 'text' });
/** How many conversations' owner handles (and last summary times) the log remembers (a few hundred KB at most). */
const OWNER_HANDLES_KEPT = 10_000;

/** Who writes, what, and the key that makes writing it twice store it once. */
export type LogEntry = {
  /** A participant of the conversation. */
  senderId: string;
  /** Plain text a person reads: the message itself, or the server's words for other events. */
  body: string;
  event: ConversationEvent;
} & (
  /** Sent by a client (a socket's `send`): its id, 8-64 of `[A-Za-z0-9_-]`. */
  | { clientMsgId: string; idempotencyKey?: never }
  /** Written by the server for a source outside the room (a call, a game, a channel): always holds ":". */
  | { idempotencyKey: string; clientMsgId?: never }
);

/** Told of an event this process stored, with its conversation's facts as they were just after (ConversationLog.onAppended). */
export type AppendListener = (conversationId: string, message: MessageRecord, facts: AppendedFacts) => void;

export interface ConversationLogDeps {
  storage: Storage;
  hub: Hub;
  clock: Clock;
  timers: Timers;
  logger: Logger;
  /** How long a summary waits for more activity before the owner's devices get it (one per burst). */
  summaryDelayMs: number;
  /**
   * The least time between two summaries of one conversation (default `summaryDelayMs`): a conversation that stays
   * busy updates its owner's list this often, not after every burst (each summary is a read of the conversation).
   */
  summaryIntervalMs?: number;
}

export class ConversationLog {
  /** The owner's handle of recent conversations (it never changes), so a summary costs one read, not two. */
  private readonly ownerHandles = new Map<string, string>();
  /** Conversations whose owner gets a new summary soon, with the timer that sends it. */
  private readonly pendingSummaries = new Map<string, () => void>();
  /** When the owner's devices last got each recent conversation's summary (bounded like ownerHandles). */
  private readonly lastSummaryAt = new Map<string, number>();
  private closed = false;
  /** Told of every event this process stores (email: the owner's replies go out, an offline owner is told). */
  private readonly appendListeners: Array<AppendListener> = [];

  constructor(private readonly deps: ConversationLogDeps) {}

  /**
   * Calls `listener` after each event this process stores (not a repeat), once it is published, with the
   * conversation's facts (Storage.appendedFacts: read once per event for all listeners, not once by each). In-process
   * only: each event is stored by exactly one process, so each is heard exactly once in the cluster. A listener that
   * throws, or facts that cannot be read, are logged; the append has succeeded regardless.
   */
  onAppended(listener: AppendListener): void {
    this.appendListeners.push(listener);
  }

  /**
   * Stores the event and publishes it to the conversation's devices; resolves with the stored message (or, for a
   * key written before, the original, with `duplicate` and nothing published). Appends to one conversation from
   * this process are stored, and published, in call order; a caller may start the next before this one resolves.
   */
  append(conversationId: string, entry: LogEntry): Promise<AppendResult> {
    let checked: { key: string; event: ConversationEvent };
    try {
      checked = checkEntry(entry);
    } catch (err) {
      return Promise.reject(err);
    }
    const stored = this.deps.storage.appendMessage({
      conversationId,
      senderId: entry.senderId,
      clientMsgId: checked.key,
      body: entry.body,
      event: checked.event,
      at: this.deps.clock.now(),
    });
    return stored.then((result) => {
      if (!result.duplicate) {
        this.deps.hub.publishConversation(conversationId, result.message);
        this.summaryChanged(conversationId);
        if (this.appendListeners.length > 0) void this.tellListeners(conversationId, result.message);
      }
      return result;
    });
  }

  private async tellListeners(conversationId: string, message: MessageRecord): Promise<void> {
    let facts: AppendedFacts | null;
    try {
      facts = await this.deps.storage.appendedFacts(conversationId);
    } catch (err) {
      this.deps.logger.error({ err, conversationId, seq: message.seq }, 'could not read what the listeners of a stored event need');
      return;
    }
    if (!facts) return; // deleted meanwhile: nobody is to hear of it
    for (const listener of this.appendListeners) {
      try {
        listener(conversationId, message, facts);
      } catch (err) {
        this.deps.logger.error({ err, conversationId }, 'a listener of stored events failed');
      }
    }
  }

  /**
   * The owner's list entry of this conversation changed (a new message, a read, a name): its devices get the new
   * summary once, shortly after a burst of such changes, from whichever process saw them; no sooner than
   * `summaryIntervalMs` after this process's previous summary of it.
   */
  summaryChanged(conversationId: string): void {
    if (this.closed || this.pendingSummaries.has(conversationId)) return;
    const { summaryDelayMs, summaryIntervalMs = summaryDelayMs, clock } = this.deps;
    const last = this.lastSummaryAt.get(conversationId);
    const delay = last === undefined ? summaryDelayMs : Math.max(summaryDelayMs, last + summaryIntervalMs - clock.now());
    const cancel = this.deps.timers.after(delay, () => void this.publishSummary(conversationId));
    this.pendingSummaries.set(conversationId, cancel);
  }

  /** Sends the conversation's summary to its owner's devices now (a knock: the console shows it at once). */
  async publishSummary(conversationId: string): Promise<void> {
    await this.summaryNow(conversationId).catch((err: unknown) => {
      this.deps.logger.error({ err, conversationId }, 'could not publish the conversation summary');
    });
  }

  /**
   * Reads the conversation's summary, sends it to the owner's devices, and resolves with it (null: no such
   * conversation); a failure to read rejects. For an answer that carries the summary the devices got (the inbox).
   */
  async summaryNow(conversationId: string): Promise<ConversationSummary | null> {
    this.pendingSummaries.get(conversationId)?.();
    this.pendingSummaries.delete(conversationId);
    remember(this.lastSummaryAt, conversationId, this.deps.clock.now());
    const [handle, summary] = await Promise.all([this.ownerHandleOf(conversationId), this.deps.storage.getConversationSummary(conversationId)]);
    if (handle !== null && summary) this.deps.hub.publishOwner(handle, { type: 'conversation', summary });
    return summary;
  }

  private async ownerHandleOf(conversationId: string): Promise<string | null> {
    const known = this.ownerHandles.get(conversationId);
    if (known !== undefined) return known;
    const conversation = await this.deps.storage.getConversation(conversationId);
    if (!conversation) return null;
    remember(this.ownerHandles, conversationId, conversation.ownerHandle);
    return conversation.ownerHandle;
  }

  /** Sends the summaries still waiting, then takes no more. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.pendingSummaries.keys()].map((id) => this.publishSummary(id)));
  }
}

/** Keeps `value` under `key` as the newest entry; the oldest goes once OWNER_HANDLES_KEPT are kept (Map keeps insertion order). */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  if (map.size >= OWNER_HANDLES_KEPT) map.delete(map.keys().next().value as string);
  map.set(key, value);
}

/** The stored key and event of an entry, once the entry is known to be well formed (a text event has no fields). */
function checkEntry(entry: LogEntry): { key: string; event: ConversationEvent } {
  const key = entry.clientMsgId ?? entry.idempotencyKey;
  if (entry.clientMsgId !== undefined) {
    if (!clientMsgIdSchema.safeParse(entry.clientMsgId).success) throw new KnockError('bad_request', 'clientMsgId must be 8 to 64 letters, digits, "_" or "-".');
  } else if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    throw new KnockError('bad_request', 'An event written by the server needs an idempotency key like "source:id".');
  }
  if (typeof entry.body !== 'string' || entry.body.length > MAX_BODY_CHARS) {
    throw new KnockError('too_large', `The message is too long (at most ${MAX_BODY_CHARS} characters).`);
  }
  if (entry.event.kind === 'text') return { key: key as string, event: TEXT };
  const parsed = conversationEvent.safeParse(entry.event);
  if (!parsed.success) throw new KnockError('bad_request', `The ${String(entry.event.kind).slice(0, 32)} event is not well formed.`);
  return { key: key as string, event: parsed.data };
}
