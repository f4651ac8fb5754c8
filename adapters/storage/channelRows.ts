/**
 * Forwarding (issue 18) as both SQL adapters store it (007_channels.sql): the rows of channels, settings, forwards and
 * their steps, their records, the checks on what a caller passes in, how a typed code is judged, and the SELECTs both
 * run word for word but for their placeholders.
 *
 * @example
 *   const { channel, verifiedAt } = newChannel(input); // checked, with a new id; the adapter adds its position
 *   const forwards = withSteps(forwardRows, stepRows);
 */
import { timingSafeEqual } from 'node:crypto';
import { KnockError } from '../../engine/errors.ts';
import type { ChannelKind, ForwardingSettings, OwnerChannel } from '../../engine/ports/channel.ts';
import type { ChannelStorage, CodeCheck, NewChannel, StoredForward, StoredForwardStep } from '../../engine/ports/storage.ts';
import { assertWellFormed, newId } from './common.ts';

export interface ChannelRow {
  id: string;
  account_id: string;
  kind: string;
  address: string;
  secret: string | null;
  position: number;
  delay_ms: number;
  verified_at: number | null;
}

/** The columns of ChannelRow, in the order the SELECTs of both adapters list them. */
export const channelColumns = 'id, account_id, kind, address, secret, position, delay_ms, verified_at';

/** The order of an account's channels: by position, which the adapters keep 0..n-1; the rest only breaks a tie. */
export const channelOrder = 'position, created_at, id';

const kinds: readonly ChannelKind[] = ['xmpp', 'email', 'sms', 'webhook', 'push'];

/** The CHECK constraints guarantee this; the check keeps the type honest without a cast. */
export function asChannelKind(value: string): ChannelKind {
  const kind = kinds.find((k) => k === value);
  if (kind === undefined) throw new Error(`Unknown channel kind in the database: ${value}`);
  return kind;
}

export function toChannel(r: ChannelRow): OwnerChannel {
  return {
    id: r.id, accountId: r.account_id, kind: asChannelKind(r.kind), address: r.address, verified: r.verified_at !== null,
    secret: r.secret, position: r.position, delayMs: r.delay_ms,
  };
}

/** A delay is a whole number of milliseconds, 0 or more (bad_request otherwise). */
export function checkDelay(delayMs: number): void {
  if (!Number.isSafeInteger(delayMs) || delayMs < 0) {
    throw new KnockError('bad_request', 'A channel\u2019s delay must be a whole number of milliseconds, 0 or more.');
  }
}

export function checkSecret(secret: string | null): void {
  if (secret !== null) assertWellFormed(secret, 'The channel secret');
}

/** A new channel as `addChannel` inserts it (its position is the adapter's to give), checked first. */
export function newChannel(input: NewChannel): { channel: Omit<OwnerChannel, 'position'>; verifiedAt: number | null } {
  asChannelKind(input.kind);
  if (input.address === '') throw new KnockError('bad_request', 'A channel needs an address.');
  assertWellFormed(input.address, 'The channel address');
  checkSecret(input.secret);
  checkDelay(input.delayMs);
  return {
    channel: {
      id: newId(), accountId: input.accountId, kind: input.kind, address: input.address, verified: input.verified,
      secret: input.secret, delayMs: input.delayMs,
    },
    verifiedAt: input.verified ? input.at : null,
  };
}

export const channelConflict = (): KnockError => new KnockError('conflict', 'This channel is already one of the account\u2019s.');
export const noAccount = (): KnockError => new KnockError('not_found', 'There is no such account.');

/**
 * True when `ids` are exactly the account's channel ids, each once (reorderChannels refuses anything else: a list
 * made before a channel was added or removed would lose or invent a place).
 */
export function isSameChannelSet(stored: readonly string[], ids: readonly string[]): boolean {
  const given = new Set(ids);
  return given.size === ids.length && given.size === stored.length && stored.every((id) => given.has(id));
}

// -- codes --------------------------------------------------------------------------------------------------------

/** The code of a channel as a try has just counted it (code_tries includes this try). */
export interface CodeRow {
  code_hash: string;
  code_expires_at: number;
  code_tries: number;
}

/** The columns a counted try returns. */
export const codeColumns = 'code_hash, code_expires_at, code_tries';

/**
 * What one try of a typed code says, once counted: spent after `maxTries` tries (even a right code then), expired at
 * `code_expires_at` (a code is good before it, as a lease until locked_until), else right or wrong. `verified` means
 * the code matches: the adapter then verifies the channel, conditionally on the code still being this one. The hashes
 * are compared in constant time, so timing tells nothing about how much of a guess was right.
 */
export function judgeCode(code: CodeRow, typedHash: string, at: number, maxTries: number): Exclude<CodeCheck, 'noCode'> {
  if (code.code_tries > maxTries) return 'tooManyTries';
  if (at >= code.code_expires_at) return 'expired';
  const stored = Buffer.from(code.code_hash, 'utf8');
  const typed = Buffer.from(typedHash, 'utf8');
  return stored.length === typed.length && timingSafeEqual(stored, typed) ? 'verified' : 'wrong';
}

// -- settings -----------------------------------------------------------------------------------------------------

/** `B` is how a flag arrives: 0 or 1 in SQLite, a boolean in PostgreSQL. */
export interface SettingsRow<B> {
  paused: B;
  time_zone: string;
  quiet_start: number | null;
  quiet_end: number | null;
  xmpp_away_counts: B;
}

export const settingsColumns = 'paused, time_zone, quiet_start, quiet_end, xmpp_away_counts';

/** What an account that never set anything has (ChannelStorage.getForwardingSettings). */
export const defaultForwardingSettings: ForwardingSettings = { paused: false, timeZone: 'UTC', quietHours: null, xmppAwayCounts: false };

export function toSettings<B>(r: SettingsRow<B>): ForwardingSettings {
  return {
    paused: Boolean(r.paused),
    timeZone: r.time_zone,
    quietHours: r.quiet_start === null || r.quiet_end === null ? null : { start: r.quiet_start, end: r.quiet_end },
    xmppAwayCounts: Boolean(r.xmpp_away_counts),
  };
}

const MINUTES_A_DAY = 24 * 60;

const isMinuteOfDay = (minute: number): boolean => Number.isInteger(minute) && minute >= 0 && minute < MINUTES_A_DAY;

/** Refuses (bad_request) settings the routing could not use: a zone this runtime does not know, quiet hours off the clock. */
export function checkSettings(settings: ForwardingSettings): void {
  assertWellFormed(settings.timeZone, 'The time zone');
  try {
    // Throws RangeError for a name that is no IANA zone of this runtime's ICU data.
    new Intl.DateTimeFormat('en', { timeZone: settings.timeZone });
  } catch {
    throw new KnockError('bad_request', `Unknown time zone "${settings.timeZone}".`);
  }
  const quiet = settings.quietHours;
  if (quiet !== null && !(isMinuteOfDay(quiet.start) && isMinuteOfDay(quiet.end))) {
    throw new KnockError('bad_request', 'Quiet hours are whole minutes after midnight, from 0 to 1439.');
  }
}

// -- forwards -----------------------------------------------------------------------------------------------------

export interface ForwardRow {
  id: string;
  conversation_id: string;
  account_id: string;
  tag: number;
  knock_at: number;
  after_seq: number;
  closed_at: number | null;
  created_at: number;
}

export interface StepRow {
  forward_id: string;
  channel_id: string;
  kind: string;
  at: number;
  sent_at: number | null;
  up_to_seq: number | null;
  external_id: string | null;
  delivery: string | null;
}

export const forwardColumns = 'id, conversation_id, account_id, tag, knock_at, after_seq, closed_at, created_at';
export const stepColumns = 'forward_id, channel_id, kind, at, sent_at, up_to_seq, external_id, delivery';

/** `lastStepOn`'s row: a step with its forward's conversation. */
export type LastStepRow = StepRow & { conversation_id: string };

/**
 * `lastStepOn`'s query (both dialects: `$1` is the channel id): the channel's latest step by due time, or with
 * `sentOnly` its latest sent step by the time it was sent.
 */
export function lastStepQuery(sentOnly: boolean, param: string): string {
  const columns = stepColumns.split(', ').map((c) => `s.${c}`).join(', ');
  return `SELECT ${columns}, f.conversation_id FROM forward_steps s JOIN forwards f ON f.id = s.forward_id
    WHERE s.channel_id = ${param}${sentOnly ? ' AND s.sent_at IS NOT NULL ORDER BY s.sent_at DESC' : ' ORDER BY s.at DESC'}, f.created_at DESC LIMIT 1`;
}

/** The open forwards first (an open one is a conversation's latest), then the newest. */
export const latestFirst = '(closed_at IS NULL) DESC, created_at DESC, closed_at DESC, id DESC';

/** What `openForward` takes (inline in the port), named. */
export type NewForward = Parameters<ChannelStorage['openForward']>[0];

/** Refuses (bad_request) a plan that names a channel twice: a forward has one step per channel (markStepSent's key). */
export function checkSteps(input: NewForward): void {
  const ids = new Set(input.steps.map((s) => s.channelId));
  if (ids.size !== input.steps.length) throw new KnockError('bad_request', 'A forward names a channel in two of its steps.');
}

function asDelivery(value: string | null): StoredForwardStep['delivery'] {
  if (value === null || value === 'delivered' || value === 'failed') return value;
  throw new Error(`Unknown delivery state in the database: ${value}`);
}

export function toStep(r: StepRow): StoredForwardStep {
  return {
    channelId: r.channel_id, kind: asChannelKind(r.kind), at: r.at, sentAt: r.sent_at, upToSeq: r.up_to_seq, externalId: r.external_id,
    delivery: asDelivery(r.delivery),
  };
}

/** The forwards of `forwards`, in that order, each with its steps of `steps` (given in each forward's step order). */
export function withSteps(forwards: readonly ForwardRow[], steps: readonly StepRow[]): StoredForward[] {
  const stepsOf = new Map<string, StoredForwardStep[]>();
  for (const step of steps) {
    const list = stepsOf.get(step.forward_id);
    if (list) list.push(toStep(step));
    else stepsOf.set(step.forward_id, [toStep(step)]);
  }
  return forwards.map((f) => ({
    id: f.id, conversationId: f.conversation_id, accountId: f.account_id, tag: `#${f.tag}`, knockAt: f.knock_at,
    afterSeq: f.after_seq, steps: stepsOf.get(f.id) ?? [], closedAt: f.closed_at, createdAt: f.created_at,
  }));
}

/**
 * The smallest tag number none of account `account`'s open forwards has (`account` a placeholder): 1, or one after
 * a taken one. Read from forwards_open_tag. Two processes may both pick it; the unique index lets one keep it.
 */
export function freeTagOf(account: string): string {
  return `(SELECT MIN(c.n) FROM (
      SELECT 1 AS n UNION ALL SELECT tag + 1 FROM forwards WHERE account_id = ${account} AND closed_at IS NULL
    ) c
    WHERE NOT EXISTS (SELECT 1 FROM forwards t WHERE t.account_id = ${account} AND t.closed_at IS NULL AND t.tag = c.n))`;
}
