/**
 * SMS delivery receipts: what one says (readReceipt: the `receipted_message_id` and `message_state` TLVs, else the
 * `id:` and `stat:` of the receipt's text, SMPP 3.4 Appendix B) and which sent forward it is about (ReceiptTracker:
 * a forward of several parts is delivered when every part is, and failed as soon as one fails).
 *
 * @example
 *   const tracker = new ReceiptTracker();
 *   tracker.track('sms:a1', ['a1', 'a2']);
 *   const report = readReceipt('id:a1 sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 stat:DELIVRD err:000', null, null);
 *   tracker.settle(report!.messageId, report!.state, report!.stat);  // null: a2 is not delivered yet
 */

/** What a receipt says about one message id. `pending`: an intermediate state (ENROUTE, ACCEPTD), nothing to report. */
export interface ReceiptReport {
  messageId: string;
  state: 'delivered' | 'failed' | 'pending';
  /** The state in the SMSC's words (DELIVRD, UNDELIV, REJECTD, EXPIRED, DELETED, UNKNOWN...). */
  stat: string;
}

/** The receipt's message_state TLV values (SMPP 3.4 §5.2.28), as the stat words of the text format. */
const STATE_WORDS: Record<number, string> = { 1: 'ENROUTE', 2: 'DELIVRD', 3: 'EXPIRED', 4: 'DELETED', 5: 'UNDELIV', 6: 'ACCEPTD', 7: 'UNKNOWN', 8: 'REJECTD', 9: 'SKIPPED' };
const FAILED_WORDS = new Set(['UNDELIV', 'REJECTD', 'EXPIRED', 'DELETED', 'UNKNOWN', 'SKIPPED', 'FAILED']);

/** Reads a delivery receipt; null when it names no message id. */
export function readReceipt(text: string, receiptedMessageId: string | null, messageState: number | null): ReceiptReport | null {
  const messageId = receiptedMessageId || /(?:^|\s)id:(\S+)/i.exec(text)?.[1];
  if (!messageId) return null;
  const stat = (messageState !== null ? STATE_WORDS[messageState] : undefined) ?? /(?:^|\s)stat:(\w+)/i.exec(text)?.[1]?.toUpperCase() ?? 'UNKNOWN';
  const state = stat === 'DELIVRD' ? 'delivered' : FAILED_WORDS.has(stat) ? 'failed' : 'pending';
  return { messageId, state, stat };
}

/** A settled receipt, for the forward's externalId (the first part's message id). */
export interface SettledReceipt {
  externalId: string;
  state: 'delivered' | 'failed';
  error: string | null;
}

interface SentGroup {
  externalId: string;
  ids: string[];
  undelivered: Set<string>;
}

/** How many sent messages' parts are remembered while their receipts are awaited; the oldest are forgotten first. */
const DEFAULT_MAX_TRACKED = 50_000;

/**
 * Remembers the message ids of every part of each sent forward until its receipts settle it. Bounded: past
 * `maxTracked` part ids the oldest forwards are forgotten (as they are by a restart); a receipt for an id it does
 * not know is reported for `sms:<that id>`, right for a single-part SMS and for a first part.
 */
export class ReceiptTracker {
  private readonly groups = new Map<string, SentGroup>();

  constructor(private readonly maxTracked = DEFAULT_MAX_TRACKED) {}

  /** Remembers that `messageIds` (in part order) are the parts of what was sent as `externalId`. */
  track(externalId: string, messageIds: readonly string[]): void {
    const group: SentGroup = { externalId, ids: [...messageIds], undelivered: new Set(messageIds.map(keyOf)) };
    for (const id of group.undelivered) this.groups.set(id, group);
    for (const [id, oldest] of this.groups) {
      if (this.groups.size <= this.maxTracked) break;
      if (oldest !== group) this.forget(oldest);
      else this.groups.delete(id);
    }
  }

  /** A receipt for one part: the forward's settled state, once it is known, else null. */
  settle(messageId: string, state: 'delivered' | 'failed', stat: string): SettledReceipt | null {
    const found = this.find(messageId);
    if (!found) return { externalId: `sms:${messageId}`, state, error: state === 'failed' ? stat : null };
    const { key, group } = found;
    if (state === 'failed') {
      this.forget(group);
      return { externalId: group.externalId, state, error: stat };
    }
    group.undelivered.delete(key);
    this.groups.delete(key);
    if (group.undelivered.size > 0) return null;
    this.forget(group);
    return { externalId: group.externalId, state: 'delivered', error: null };
  }

  /** The part ids remembered. */
  get size(): number {
    return this.groups.size;
  }

  private forget(group: SentGroup): void {
    for (const id of group.ids) if (this.groups.get(keyOf(id)) === group) this.groups.delete(keyOf(id));
  }

  /** Some SMSCs give the id in hex in submit_sm_resp and in decimal in the receipt (or the reverse): both are tried. */
  private find(messageId: string): { key: string; group: SentGroup } | undefined {
    for (const key of alternateKeys(messageId)) {
      const group = this.groups.get(key);
      if (group) return { key, group };
    }
    return undefined;
  }
}

function keyOf(id: string): string {
  return id.toLowerCase().replace(/^0+(?=.)/, '');
}

function alternateKeys(id: string): string[] {
  const keys = [keyOf(id)];
  if (/^[0-9]{1,30}$/.test(id)) keys.push(keyOf(BigInt(id).toString(16)));
  if (/^[0-9a-f]{1,24}$/i.test(id)) keys.push(keyOf(BigInt(`0x${id}`).toString(10)));
  return keys;
}
