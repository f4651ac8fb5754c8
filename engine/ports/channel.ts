/**
 * The Channel port (DESIGN "Reaching people who are offline", issue 18): how Knock reaches an owner who is away at
 * their URL, on the services they are on (XMPP, SMS, web push, a webhook; email is issue 17's), and how their replies
 * come back. Adapters live in adapters/channels/<name>/, one contract suite for all. What to send where and when is
 * not the adapters' business: the routing (engine/forwarding/) plans it on an injected clock, the outbox sends it.
 */

export type ChannelKind = 'xmpp' | 'email' | 'sms' | 'webhook' | 'push';

/** One of an owner's channels, as Settings → Channels lists it. */
export interface OwnerChannel {
  id: string;
  accountId: string;
  kind: ChannelKind;
  /** The JID, email address, E.164 number, https URL, or (push) the subscription's endpoint. */
  address: string;
  /** Verified channels only are forwarded to. */
  verified: boolean;
  /**
   * What the adapter needs that is not shown: the webhook's signing secrets (a JSON array of strings, current first),
   * a push subscription's keys (JSON `{"p256dh": ..., "auth": ...}`); null for the others.
   */
  secret: string | null;
  /** Its place in the escalation order (0 first). */
  position: number;
  /**
   * How long after the knock this channel is tried, in milliseconds: a timeline ("XMPP now, email after 2 minutes, SMS
   * after 10"), not a gap after the previous step, so a channel skipped for its presence moves no later one
   * (engine/forwarding/routing.ts).
   */
  delayMs: number;
}

/** What the owner set for forwarding as a whole. */
export interface ForwardingSettings {
  /** The switch that pauses all forwarding. */
  paused: boolean;
  /** IANA time zone of the owner, e.g. `Europe/Berlin`. */
  timeZone: string;
  /**
   * Quiet hours in that zone, minutes after local midnight: [start, end). `start > end` spans midnight
   * (22:00-07:00 is { start: 1320, end: 420 }). Null: none.
   */
  quietHours: { start: number; end: number } | null;
  /** Whether XMPP presence `away`/`xa`/`dnd` counts as reachable (default: only `available`/`chat` do). */
  xmppAwayCounts: boolean;
}

/** Presence a channel knows of the owner (XMPP does; the others say `unknown`). */
export type ChannelPresence = 'available' | 'away' | 'unavailable' | 'unknown';

/** A forward as a channel sends it: who wrote, what, and where to answer. */
export interface ForwardMessage {
  conversationId: string;
  /** A short tag the owner may start a reply with to pick the conversation (`#3`), unique among the owner's open forwards. */
  tag: string;
  /**
   * The conversation's thread on channels that have threads (XMPP `<thread>`): the same for every forward of one
   * conversation, so a reply in it finds the conversation (routing.ts routeReply).
   */
  threadId: string;
  visitorName: string;
  /** The messages gathered into this forward, oldest first. */
  texts: string[];
  /** The conversation in the console. */
  link: string;
}

/** A reply that came back on a channel, for the conversation it names (by thread, tag, or the last forwarded). */
export interface ChannelReply {
  channelId: string;
  /** The conversation, when the channel could tell (a thread id, a tag, the webhook's body); else the last forwarded. */
  conversationId: string | null;
  tag: string | null;
  text: string;
  /** The channel's own id of the reply, for the idempotency key (`xmpp:<stanza id>`, `sms:<message id>`). */
  externalId: string;
}

/**
 * A text that came in on a channel, before it is matched to an owner's channel: the adapter knows who sent it (a JID,
 * a phone number), the engine finds the verified channel at that address (ChannelStorage.channelsAt) and routes it.
 */
export interface InboundText {
  kind: ChannelKind;
  /** The sender, spelled as channel addresses are stored: a bare JID in lower case, an E.164 number (`+15551234567`). */
  from: string;
  text: string;
  /** The XMPP `<thread>` it answers, if any. */
  threadId: string | null;
  /** The channel's own id of it (`xmpp:<stanza id>`, `sms:<message id>`): the idempotency key of the message it becomes. */
  externalId: string;
  /**
   * SMS only (issue 20): the number it was sent to (the deliver_sm's destination, E.164), so Knock tells a text to its
   * service number from one to an owner's claimed number; null or absent when the channel does not say.
   */
  to?: string | null;
}

/**
 * A channel that sends a text to any number (SMS, issue 20): an owner's reply to a phone without internet, a text
 * passed on to the owner's phone. `from` is the sender: Knock's service number when absent, or a number hosted on
 * the same account (the owner's claimed number). Errors as Channel.send's (`permanent` for a refused address).
 */
export interface TextSender {
  /** Resolves with the channel's id of what was sent (`sms:<message id>`), which its delivery receipt names. */
  sendText(to: string, text: string, options?: { from?: string }): Promise<{ externalId: string }>;
  /** Knock's service number (E.164). */
  readonly serviceNumber: string;
}

/** A channel's later word on something it sent (an SMS delivery receipt), by the `externalId` that send returned. */
export interface ChannelReceipt {
  kind: ChannelKind;
  externalId: string;
  state: 'delivered' | 'failed';
  /** Why it failed, in the channel's words. */
  error: string | null;
}

/**
 * A channel that can send a forward. An error with `permanent: true` stops the outbox's retries (a refused address);
 * any other error is temporary (the service is down) and the forward is tried again.
 */
export interface Channel {
  readonly kind: ChannelKind;
  /**
   * Sends the forward to the channel's address; resolves with the channel's id of what was sent, if it has one.
   * `delivery.key` is the same on every try of one forward (the outbox job's key): a channel that can tell its
   * receiver (a webhook's id) lets it drop a retry it already handled.
   */
  send(channel: OwnerChannel, message: ForwardMessage, delivery?: { key: string }): Promise<{ externalId: string | null }>;
  /**
   * Sends the code the owner types back in Settings → Channels to verify the address (XMPP, SMS, email, webhook; a
   * push subscription needs none). `echoed`: the receiver answered with the code itself (a webhook may), which
   * verifies the channel at once.
   */
  sendCode(channel: OwnerChannel, code: string): Promise<{ echoed: boolean }>;
  /** The owner's presence on this channel, where it knows it. */
  presence(channel: OwnerChannel): ChannelPresence;
  /** Tells the owner something on this channel (why a reply of theirs was not posted): XMPP and SMS can. */
  say?(channel: OwnerChannel, text: string): Promise<void>;
  /** Starts following the presence at this address (XMPP: a roster subscription); safe to call again. */
  watch?(address: string): Promise<void>;
  /** Stops following it (the channel was removed). */
  unwatch?(address: string): Promise<void>;
  /** Texts that come in (XMPP chat messages, SMS to the service number). */
  onText?(handler: (text: InboundText) => Promise<void>): void;
  /** Delivery receipts (SMS). */
  onReceipt?(handler: (receipt: ChannelReceipt) => Promise<void>): void;
  /** Disconnects; pending sends fail as temporary (the outbox tries them again). */
  close(): Promise<void>;
}
