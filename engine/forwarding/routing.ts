/**
 * Forwarding routing (issue 18, DESIGN "Reaching people who are offline"): for a knock on an owner who is offline at
 * their URL, which channels are tried and when; which later messages ride along with a forward; what the owner's
 * return cancels; and which conversation a reply on a channel belongs to. Plain functions over plain data: no I/O,
 * no timers; every time is an epoch-milliseconds number the caller took from its injected Clock. The outbox sends
 * what these functions plan.
 *
 * Decisions (each also said where it is made):
 * - A channel's `delayMs` counts from the knock, not from the previous step: the "XMPP now, email after
 *   2 minutes, SMS after 10" reads as a timeline from the knock, Crisp and Intercom word their follow-ups the same way
 *   ("if unread after N minutes"), and a channel skipped for its presence does not push the later ones back.
 * - An XMPP channel whose JID shows available presence goes first, at the time the first step would have gone (the
 *   first delay is the owner's grace before anything is forwarded); `away`/`xa`/`dnd` and `unavailable` skip it
 *   (away counts as available with `xmppAwayCounts`); `unknown` (Knock's XMPP account is not connected) tries it in
 *   its place, as the list says.
 * - Quiet hours hold steps, they never drop them: a step that falls inside them moves to their end, and the steps
 *   after it move by as much, so the escalation resumes in the morning with the owner's spacing instead of every
 *   channel at 07:00 at once. This holds for every kind, email too (phones announce mail). Dropping would lose the
 *   knock on the very channels that reach a person; holding costs nothing when the owner answers first, since the
 *   answer cancels what is held. (Crisp and Intercom hold notifications while the operator is away; ntfy leaves
 *   quiet to the phone, which delivers once do-not-disturb ends.)
 */
import type { ChannelKind, ChannelPresence, ForwardingSettings, OwnerChannel } from '../ports/channel.ts';
import { QuietHours } from './quietHours.ts';

/** One channel tried at one time. */
export interface ForwardStep {
  channelId: string;
  kind: ChannelKind;
  /** When it is due, epoch milliseconds. */
  at: number;
}

/** What a plan is made from. */
export interface ForwardPlanInput {
  /** When the visitor knocked (or wrote the message that opened the forward). */
  knockAt: number;
  /** All the owner's channels; unverified ones are left out here. */
  channels: readonly OwnerChannel[];
  /** The owner's presence on a channel, as its adapter knows it (Channel.presence). */
  presenceOf: (channel: OwnerChannel) => ChannelPresence;
  settings: ForwardingSettings;
}

/**
 * The escalation plan for a knock on an owner offline at their URL: steps sorted by time, none before the knock and
 * none inside the quiet hours; empty when forwarding is paused or no channel can be tried.
 *
 * @example
 *   planForward({ knockAt, channels: [xmpp, email, sms], presenceOf: () => 'unknown', settings })
 *   // [{ channelId: xmpp.id, kind: 'xmpp', at: knockAt },
 *   //  { channelId: email.id, kind: 'email', at: knockAt + 120_000 }, { channelId: sms.id, kind: 'sms', at: knockAt + 600_000 }]
 */
export function planForward(input: ForwardPlanInput): ForwardStep[] {
  const { knockAt, settings } = input;
  if (settings.paused) return [];
  const inOrder = input.channels.filter((c) => c.verified).sort(byPosition);
  const reachability = new Map(inOrder.map((c) => [c, xmppReachability(c, input.presenceOf, settings)]));
  const tried = inOrder.filter((c) => reachability.get(c) !== 'skip');
  const first = tried[0];
  if (first === undefined) return [];
  const firstAt = knockAt + Math.max(0, first.delayMs);
  const promoted = tried.filter((c) => reachability.get(c) === 'first');
  const ordered = [...promoted, ...tried.filter((c) => reachability.get(c) !== 'first')];

  const quiet = new QuietHours(settings.quietHours, settings.timeZone);
  const steps: ForwardStep[] = [];
  let previousAt = knockAt;
  let heldBy = 0; // how far quiet hours have pushed the plan so far
  for (const channel of ordered) {
    const wanted = promoted.includes(channel) ? firstAt : knockAt + Math.max(0, channel.delayMs);
    // A delay shorter than an earlier channel's is raised to it: the owner's order is the order of the plan.
    const due = Math.max(previousAt, wanted + heldBy);
    const at = quiet.nextAllowed(due);
    heldBy += at - due;
    steps.push({ channelId: channel.id, kind: channel.kind, at });
    previousAt = at;
  }
  return steps;
}

function byPosition(a: OwnerChannel, b: OwnerChannel): number {
  return a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** How presence places a channel: XMPP moves to the front or is skipped by its presence; the others stay in place. */
function xmppReachability(
  channel: OwnerChannel,
  presenceOf: ForwardPlanInput['presenceOf'],
  settings: ForwardingSettings,
): 'first' | 'inPlace' | 'skip' {
  if (channel.kind !== 'xmpp') return 'inPlace';
  const presence = presenceOf(channel);
  switch (presence) {
    case 'available':
      return 'first';
    case 'away':
      return settings.xmppAwayCounts ? 'first' : 'skip';
    case 'unavailable':
      return 'skip';
    case 'unknown':
      return 'inPlace';
    default:
      return assertNever(presence);
  }
}

function assertNever(value: never): never {
  throw new Error(`Unexpected presence ${String(value)}`);
}

// ----- A forward in flight: batching and cancellation -----

/** A step of a forward, with whether the outbox has sent it. */
export interface ForwardStepState extends ForwardStep {
  sentAt: number | null;
}

/** The forward of one conversation while it is open. */
export interface PendingForward {
  conversationId: string;
  steps: readonly ForwardStepState[];
  /** Set when the owner answered, read the conversation or came online at the URL. */
  closedAt: number | null;
}

/**
 * After a forward's last step went out, later messages of the conversation are gathered this long before a new
 * forward carries them: a visitor's three quick lines arrive as one, and a chatting owner waits at most a minute.
 */
export const FOLLOW_UP_WINDOW_MS = 60_000;

/** Where a new message of a conversation goes: with the pending forward, or into a new forward opened at `knockAt`. */
export type NewMessageRoute = { kind: 'join' } | { kind: 'start'; knockAt: number };

/**
 * A message of `conversationId` came at `at`. It joins the conversation's open forward while a step of it is still
 * to be sent (that step carries every message gathered so far). Once all steps went, it starts a new forward, but not
 * before the last step's window (`followUpWindowMs` after it was sent) ends, so what comes meanwhile joins that one.
 *
 * @example
 *   routeNewMessage(null, 'c1', now) // { kind: 'start', knockAt: now }
 */
export function routeNewMessage(
  forward: PendingForward | null,
  conversationId: string,
  at: number,
  followUpWindowMs = FOLLOW_UP_WINDOW_MS,
): NewMessageRoute {
  if (forward === null || forward.conversationId !== conversationId || forward.closedAt !== null) {
    return { kind: 'start', knockAt: at };
  }
  if (forward.steps.some((s) => s.sentAt === null)) return { kind: 'join' };
  const lastSentAt = Math.max(...forward.steps.map((s) => s.sentAt ?? s.at));
  return { kind: 'start', knockAt: Math.max(at, lastSentAt + followUpWindowMs) };
}

/**
 * The owner answered at the URL, read the conversation there, or came online there, at `at`: the forward closes and
 * every step not yet sent is cancelled, including one that is due but still in the outbox (the outbox checks the
 * forward is open when it claims a job). Nothing is sent while the owner is at the URL.
 *
 * @example
 *   const { cancelled, forward: closed } = closeForward(forward, clock.now());
 */
export function closeForward(
  forward: PendingForward,
  at: number,
): { cancelled: ForwardStepState[]; forward: PendingForward } {
  if (forward.closedAt !== null) return { cancelled: [], forward };
  return {
    cancelled: forward.steps.filter((s) => s.sentAt === null),
    forward: { ...forward, closedAt: at },
  };
}

// ----- Replies that come back on a channel -----

/** One send of an open forward on one channel, as the reply router needs it. */
export interface ForwardSent {
  conversationId: string;
  /** The forward's tag, `#` and a number (`#3`). */
  tag: string;
  channelId: string;
  /** The XMPP thread the forward was sent in, if the channel has threads. */
  threadId: string | null;
  sentAt: number;
}

/** The conversation a reply is for, the text without its tag, and what told; or why none can be picked. */
export type ReplyRoute =
  | { kind: 'conversation'; conversationId: string; text: string; by: 'tag' | 'thread' | 'lastForwarded' }
  /** A tag that names no open forward (closed, or never given): the owner is told, nothing is posted. */
  | { kind: 'unknownTag'; tag: string }
  /** Nothing is open on that channel: the owner is told, nothing is posted. */
  | { kind: 'noOpenForward' }
  /** Nothing left to post once the tag is taken off (`#3` alone, or blank). */
  | { kind: 'empty' };

/**
 * A tag is `#` and digits at the very start, followed by a space, `:`, `,` or the end: `#3 hi`, `#3: hi`, `#03 hi`
 * (leading zeros are the same tag: `#03` is `#3`). `#x`, `#3hi` and a `#3` later in the text are no tag, the text
 * stays as it is.
 */
const LEADING_TAG = /^\s*#(\d{1,6})(?:[\s:,]+|$)/u;

/**
 * Picks the conversation for a reply that came on `channelId`: a leading tag first (stripped from the text), else the
 * XMPP thread the reply is in, else the conversation forwarded last on that channel. A tag that is not open never
 * falls back to the last forwarded: a reply meant for one visitor must not reach another.
 *
 * @example
 *   routeReply({ channelId: 'sms1', threadId: null, text: '#2 on my way', open })
 *   // { kind: 'conversation', conversationId: <the one tagged #2>, text: 'on my way', by: 'tag' }
 */
export function routeReply(reply: {
  channelId: string;
  threadId: string | null;
  text: string;
  /** Every send of the owner's open forwards, on every channel (tags are unique across them). */
  open: readonly ForwardSent[];
}): ReplyRoute {
  const tagged = LEADING_TAG.exec(reply.text);
  if (tagged?.[1] !== undefined) {
    const tag = `#${Number(tagged[1])}`;
    const forward = reply.open.find((f) => f.tag === tag);
    if (forward === undefined) return { kind: 'unknownTag', tag };
    const text = reply.text.slice(tagged[0].length);
    if (text.trim() === '') return { kind: 'empty' };
    return { kind: 'conversation', conversationId: forward.conversationId, text, by: 'tag' };
  }
  if (reply.text.trim() === '') return { kind: 'empty' };
  const onChannel = reply.open.filter((f) => f.channelId === reply.channelId);
  const inThread = reply.threadId === null ? undefined : onChannel.find((f) => f.threadId === reply.threadId);
  if (inThread !== undefined) {
    return { kind: 'conversation', conversationId: inThread.conversationId, text: reply.text, by: 'thread' };
  }
  const last = onChannel.reduce<ForwardSent | undefined>(
    (latest, f) => (latest === undefined || f.sentAt > latest.sentAt ? f : latest),
    undefined,
  );
  if (last === undefined) return { kind: 'noOpenForward' };
  return { kind: 'conversation', conversationId: last.conversationId, text: reply.text, by: 'lastForwarded' };
}

/**
 * The tag for a new forward: the smallest `#n` (n ≥ 1) no open forward of the owner holds, so tags stay one or two
 * characters to type on a phone and come free again when a forward closes.
 *
 * @example
 *   allocateTag(['#1', '#3']) // '#2'
 */
export function allocateTag(openTags: Iterable<string>): string {
  const taken = new Set(openTags);
  let n = 1;
  while (taken.has(`#${n}`)) n++;
  return `#${n}`;
}
