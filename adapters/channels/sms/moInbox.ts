/**
 * Mobile-originated texts (an owner's SMS to Knock's number), from deliver_sm parts to whole texts, safely: parts of
 * a concatenated SMS are gathered by (sender, reference) and dropped if they are not all in within a timeout; a
 * sender past `ratePerMinute` parts a minute is ignored for the rest of that minute; at most `maxParts` parts per
 * message, `maxPending` messages being gathered (`maxPendingPerSource` from one sender) and `maxTextChars`
 * characters per text, so no sender can make Knock hold more than a bounded amount of memory.
 *
 * The SMSC gives an MO message no id of its own, so its `externalId` (the idempotency key of the message it becomes)
 * is a digest of the sender, the concatenation reference and the text. An SMSC that delivers it again (after a lost
 * deliver_sm_resp) thus posts nothing twice; the price is that the same short text sent twice as a single SMS by the
 * same number ("ok", "ok") is taken as one.
 *
 * @example
 *   const inbox = new MoInbox({ clock: systemClock, timers: systemTimers });
 *   const got = inbox.accept({ from: '+15551234567', dataCoding: 0, body, concat: null });
 *   if (got.kind === 'text') await onText(got.text);
 */
import { createHash } from 'node:crypto';
import type { Clock, Timers } from '../../../engine/ports/clock.ts';
import { decodeSms, type DefaultAlphabet } from './smsEncoding.ts';
import type { ConcatInfo } from './udh.ts';

export interface MoInboxOptions {
  clock: Clock;
  timers: Timers;
  /** deliver_sm parts accepted from one number per minute; more are dropped. Default 20. */
  ratePerMinute?: number;
  /** How long the parts of one concatenated text are awaited. Default 60 s. */
  reassemblyTimeoutMs?: number;
  /** The most parts a concatenated text may claim; more is dropped. Default 16. */
  maxParts?: number;
  /** Concatenated texts being gathered at once. Default 256 (and 8 per number). */
  maxPending?: number;
  maxPendingPerSource?: number;
  /** A longer text is cut. Default 16 000. */
  maxTextChars?: number;
  /** How `data_coding` 0 is read (smsEncoding.decodeSms). Default GSM-7. */
  defaultAlphabet?: DefaultAlphabet;
}

/** One received part: its sender (E.164), its coding, its text octets after any UDH, and where it belongs. */
export interface MoPart {
  from: string;
  dataCoding: number;
  body: Buffer;
  concat: ConcatInfo | null;
}

/** A whole text from a number. */
export interface MoText {
  from: string;
  text: string;
  externalId: string;
}

export type MoAccepted = { kind: 'text'; text: MoText } | { kind: 'waiting' } | { kind: 'dropped'; reason: string };

interface Gathering {
  from: string;
  concat: ConcatInfo;
  dataCoding: number;
  parts: Map<number, Buffer>;
  cancelTimeout: () => void;
}

/** Senders whose minute is remembered at once; the oldest are forgotten first (they get a fresh minute). */
const MAX_RATE_ENTRIES = 10_000;
const MINUTE_MS = 60_000;

export class MoInbox {
  private readonly gathering = new Map<string, Gathering>();
  private readonly rates = new Map<string, { windowStart: number; count: number }>();
  private readonly o: Required<MoInboxOptions>;

  constructor(options: MoInboxOptions) {
    this.o = {
      ratePerMinute: 20,
      reassemblyTimeoutMs: 60_000,
      maxParts: 16,
      maxPending: 256,
      maxPendingPerSource: 8,
      maxTextChars: 16_000,
      defaultAlphabet: 'gsm7',
      ...options,
    };
  }

  /** Takes one part: a whole text when it completes one, else waiting (more parts to come) or dropped (why). */
  accept(part: MoPart): MoAccepted {
    if (!this.withinRate(part.from)) return { kind: 'dropped', reason: `more than ${this.o.ratePerMinute} SMS a minute from ${part.from}` };
    if (!part.concat || part.concat.total === 1) return this.complete(part.from, part.dataCoding, part.body, part.concat);
    const { concat } = part;
    if (concat.total > this.o.maxParts) return { kind: 'dropped', reason: `a text of ${concat.total} parts (at most ${this.o.maxParts})` };
    const key = `${part.from}\n${concat.reference}\n${concat.total}`;
    let gathering = this.gathering.get(key);
    if (!gathering) {
      const fromSource = [...this.gathering.values()].filter((g) => g.from === part.from).length;
      if (this.gathering.size >= this.o.maxPending || fromSource >= this.o.maxPendingPerSource) {
        return { kind: 'dropped', reason: 'too many concatenated texts are being gathered' };
      }
      const cancelTimeout = this.o.timers.after(this.o.reassemblyTimeoutMs, () => this.gathering.delete(key));
      gathering = { from: part.from, concat, dataCoding: part.dataCoding, parts: new Map(), cancelTimeout };
      this.gathering.set(key, gathering);
    }
    // A part delivered again replaces itself; parts are held by sequence, so there are never more than `total`.
    gathering.parts.set(concat.sequence, part.body);
    if (gathering.parts.size < concat.total) return { kind: 'waiting' };
    gathering.cancelTimeout();
    this.gathering.delete(key);
    const body = Buffer.concat([...gathering.parts.entries()].sort(([a], [b]) => a - b).map(([, bytes]) => bytes));
    return this.complete(part.from, gathering.dataCoding, body, concat);
  }

  /** Concatenated texts being gathered. */
  get pending(): number {
    return this.gathering.size;
  }

  /** Stops the reassembly timers and forgets what was gathered. */
  close(): void {
    for (const gathering of this.gathering.values()) gathering.cancelTimeout();
    this.gathering.clear();
    this.rates.clear();
  }

  private complete(from: string, dataCoding: number, body: Buffer, concat: ConcatInfo | null): MoAccepted {
    const decoded = decodeSms(body, dataCoding, this.o.defaultAlphabet);
    if (decoded === null) return { kind: 'dropped', reason: `data_coding ${dataCoding} is not text` };
    const text = [...decoded.replace(/\0/g, '')].slice(0, this.o.maxTextChars).join('');
    if (!text.trim()) return { kind: 'dropped', reason: 'an empty text' };
    const which = concat ? `${concat.reference}/${concat.total}` : '-';
    const digest = createHash('sha256').update(`${from}\n${which}\n${text}`).digest('base64url').slice(0, 27);
    return { kind: 'text', text: { from, text, externalId: `sms:mo-${digest}` } };
  }

  private withinRate(from: string): boolean {
    const now = this.o.clock.now();
    let rate = this.rates.get(from);
    if (!rate || now - rate.windowStart >= MINUTE_MS) {
      this.rates.delete(from);
      rate = { windowStart: now, count: 0 };
      this.rates.set(from, rate);
      for (const oldest of this.rates.keys()) {
        if (this.rates.size <= MAX_RATE_ENTRIES) break;
        this.rates.delete(oldest);
      }
    }
    rate.count++;
    return rate.count <= this.o.ratePerMinute;
  }
}

/**
 * A deliver_sm's source_addr as an E.164 number (`+<digits>`), or null when it is none (an alphanumeric sender,
 * TON 5, or too few or many digits). `00` and `+` prefixes are taken as international; SMSCs are expected to send
 * international numbers (TON 1), as owners' numbers are stored.
 */
export function e164Of(sourceAddr: string, ton: number): string | null {
  if (ton === 5) return null;
  const digits = sourceAddr.replace(/[\s\-().]/g, '').replace(/^(\+|00)/, '');
  return /^[1-9][0-9]{5,14}$/.test(digits) ? `+${digits}` : null;
}
