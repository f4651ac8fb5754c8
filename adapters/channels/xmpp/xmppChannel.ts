/**
 * The XMPP channel (issue 18): Knock has an ordinary account (a JID and password) on any XMPP server, follows each
 * owner's presence through a roster subscription, forwards knocks to the owner as chat messages, and hands the
 * owner's answers (and anyone else's messages: the engine decides who is an owner) to the engine as InboundText.
 *
 * Connection: `start()` connects; afterwards the channel keeps reconnecting by itself whenever the server goes away,
 * with exponential backoff (1 s doubling to 60 s, ±25 % jitter, back to 1 s once online), and gives up an attempt
 * that is not online within `connectTimeoutMs` (a server that accepts TCP and then says nothing, a refused login).
 * On each new session it reads the roster, sends its presence (the server answers with every subscribed contact's
 * current presence), asks watched JIDs that have not granted a subscription yet, and pings the server: once the ping
 * comes back, presence answers from what arrived. A ping every `keepaliveMs` finds a connection that died silently
 * (a NAT dropped it) and replaces it. Stream management (XEP-0198) is turned off (streamManagementOff.ts says why).
 *
 * Sending: a forward is a `<message type="chat">` with a `<body>` (chatText.ts: who knocked, their texts, the link,
 * how to answer, at most 10,000 characters), the conversation's `<thread>`, and a XEP-0184 receipt request. `send`
 * resolves once the stanza is written to the server's socket; what happens afterwards comes back through
 * `onReceipt`: `delivered` when the owner's client acknowledges it (XEP-0184), `failed` when the server bounces it.
 * While not connected, `send` and `sendCode` reject with a temporary XmppChannelError (the outbox retries); an address
 * that is no JID rejects with a permanent one.
 *
 * @example
 *   const xmpp = new XmppChannel({ service: config.xmpp.service, jid: config.xmpp.jid, password: config.xmpp.password,
 *     logger: logger.child({ channel: 'xmpp' }) });
 *   xmpp.onText(async (text) => forwarding.textCameIn(text));
 *   await xmpp.start();   // resolves after the first attempt, online or not; it keeps trying
 *   for (const channel of await storage.verifiedChannels('xmpp')) await xmpp.watch(channel.address);
 *   ...
 *   await xmpp.close();
 */
import { randomBytes } from 'node:crypto';
import { client, xml, type XmlElement, type XmppClient } from '@xmpp/client';
import type { Logger } from '../../../engine/logger.ts';
import type { Channel, ChannelPresence, ChannelReceipt, ForwardMessage, InboundText, OwnerChannel } from '../../../engine/ports/channel.ts';
import { systemClock, type Clock } from '../../../engine/ports/clock.ts';
import { limits } from '../../../engine/protocol.ts';
import { cleanText, codeBody, cutText, forwardBody } from './chatText.ts';
import { inboundOf } from './inboundMessage.ts';
import { InboundQueue } from './inboundQueue.ts';
import { bareJid, resourceOf } from './jidAddress.ts';
import { PresenceTable, showOf } from './presenceTable.ts';
import { turnStreamManagementOff } from './streamManagementOff.ts';

export interface XmppChannelOptions {
  /** Where to connect: `xmpp://host:5222` (STARTTLS when the server offers it) or `xmpps://host:5223` (direct TLS). */
  service: string;
  /** Knock's own account, a bare JID: `knock@example.org`. */
  jid: string;
  password: string;
  logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** The resource Knock binds (default `knock`). */
  resource?: string;
  clock?: Clock;
  /** Inbound texts taken per sender: a burst of `perWindow`, refilling over `windowMs` (default 30 per minute). */
  inboundLimit?: { perWindow: number; windowMs: number };
  /** Longest inbound text handed on; longer ones are cut (default Knock's message limit, 16,000). */
  maxInboundChars?: number;
  /** Backoff between reconnection attempts (default 1 s doubling up to 60 s). */
  reconnectDelayMs?: { initial: number; max: number };
  /** An attempt not online after this long is dropped and retried (default 30 s). */
  connectTimeoutMs?: number;
  /** How often the server is pinged while online; an unanswered ping (20 s) drops the connection (default 60 s). */
  keepaliveMs?: number;
}

/** A send that failed; `permanent` stops the outbox's retries. */
export class XmppChannelError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'XmppChannelError';
  }
}

/** How long a verification code waits for the connection to the XMPP server before it is given up. */
const CODE_WAIT_MS = 10_000;
const NS_ROSTER = 'jabber:iq:roster';
const NS_RECEIPTS = 'urn:xmpp:receipts';
const NS_PING = 'urn:xmpp:ping';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
/** Round trips during session setup (roster, ping) wait this long at most. */
const IQ_TIMEOUT_MS = 10_000;
const KEEPALIVE_TIMEOUT_MS = 20_000;
/** Sent stanza ids remembered for receipts and bounces; the oldest are forgotten beyond it. */
const MAX_REMEMBERED_SENDS = 10_000;
const MAX_THREAD_CHARS = 128;

type Waiter = { resolve: () => void; reject: (err: Error) => void };

export class XmppChannel implements Channel {
  readonly kind = 'xmpp' as const;
  private readonly xmpp: XmppClient;
  private readonly ownJid: string;
  private readonly domain: string;
  private readonly logger: XmppChannelOptions['logger'];
  private readonly clock: Clock;
  private readonly table = new PresenceTable();
  private readonly inbound: InboundQueue;
  private readonly receiptHandlers: ((receipt: ChannelReceipt) => Promise<void>)[] = [];
  /** Stanza id → the bare JID it went to, for receipts and bounces. */
  private readonly sent = new Map<string, string>();
  /** JIDs unwatched while offline: their roster items are removed on the next session. */
  private readonly toRemove = new Set<string>();
  private readonly waiters = new Set<Waiter>();
  private readonly presenceListeners = new Set<(address: string, presence: ChannelPresence) => void>();
  /** The presence last told to listeners, per watched JID. */
  private readonly toldPresence = new Map<string, ChannelPresence>();
  private readonly backoff: { initial: number; max: number; next: number };
  private session = 0;
  private started: Promise<boolean> | null = null;
  private closing: Promise<void> | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private keepalive: NodeJS.Timeout | null = null;
  /** Whether "disconnected" was logged since the last time online (one line per outage, not per attempt). */
  private outageLogged = false;

  /** Checks the options and prepares the connection; nothing connects before `start()`. */
  constructor(private readonly options: XmppChannelOptions) {
    const own = bareJid(options.jid);
    if (own === null) throw new XmppChannelError(`KNOCK_XMPP_JID "${options.jid}" is not a JID like knock@example.org.`, true);
    if (!/^xmpps?:\/\/[^/\s]+$/.test(options.service)) {
      throw new XmppChannelError(`KNOCK_XMPP_SERVICE "${options.service}" must look like xmpp://host:5222 or xmpps://host:5223.`, true);
    }
    this.ownJid = own;
    this.domain = own.slice(own.indexOf('@') + 1);
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.inbound = new InboundQueue(options.inboundLimit ?? { perWindow: 30, windowMs: 60_000 }, this.clock, this.logger);
    const delays = options.reconnectDelayMs ?? { initial: 1000, max: 60_000 };
    this.backoff = { ...delays, next: delays.initial };
    this.xmpp = client({
      service: options.service,
      domain: this.domain,
      username: own.slice(0, own.indexOf('@')),
      password: options.password,
      resource: options.resource ?? 'knock',
    });
    this.xmpp.reconnect.delay = delays.initial;
    turnStreamManagementOff(this.xmpp);
    this.wire();
  }

  /**
   * Connects. Resolves with true once online, or with false when the first attempt failed (logged; the channel keeps
   * trying in the background, so Knock can start while its XMPP server is down). Calling it again returns the same.
   */
  start(): Promise<boolean> {
    if (this.closing) return Promise.reject(new XmppChannelError('The XMPP channel is closed.', false));
    this.started ??= new Promise<boolean>((resolve) => {
      const settle = (online: boolean) => {
        this.xmpp.off('status', onStatus);
        this.xmpp.off('error', onError);
        resolve(online);
      };
      const onStatus = (status: string) => {
        if (status === 'disconnect') settle(false);
      };
      const onError = (err: Error) => {
        if (err.name === 'SASLError') settle(false); // the login was refused; retried with backoff all the same
      };
      this.xmpp.on('status', onStatus);
      this.xmpp.on('error', onError);
      this.whenOnline().then(() => settle(true), () => settle(false));
      this.xmpp.start().catch(() => undefined); // the 'error' listener logs it; reconnect tries again
    });
    return this.started;
  }

  /** Whether Knock is logged in and its presence table is current. */
  get online(): boolean {
    return this.xmpp.status === 'online';
  }

  /** Resolves at the next moment the channel is online with presence learned (at once when it is); rejects on close. */
  whenOnline(): Promise<void> {
    if (this.closing) return Promise.reject(new XmppChannelError('The XMPP channel is closed.', false));
    if (this.online && this.table.isLearned()) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.add({ resolve, reject }));
  }

  async send(channel: OwnerChannel, message: ForwardMessage): Promise<{ externalId: string | null }> {
    const to = this.addressOf(channel.address);
    const thread = cutText(cleanText(message.threadId).trim(), MAX_THREAD_CHARS);
    const id = await this.sendChat(to, forwardBody(message), thread);
    return { externalId: `xmpp:${id}` };
  }

  /**
   * The owner waits in Settings for this code: while Knock is (re)connecting, it waits up to CODE_WAIT_MS for the
   * connection rather than failing at once (a forward needs no such wait: the outbox tries it again).
   */
  async sendCode(channel: OwnerChannel, code: string): Promise<{ echoed: boolean }> {
    const to = this.addressOf(channel.address);
    if (!this.online && !this.closing) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.whenOnline().catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, CODE_WAIT_MS)))]);
      clearTimeout(timer);
    }
    await this.sendChat(to, codeBody(code), '');
    return { echoed: false };
  }

  /** A chat message to the owner (a reply that could not be posted, and why). */
  async say(channel: OwnerChannel, text: string): Promise<void> {
    await this.sendChat(this.addressOf(channel.address), text, '');
  }

  presence(channel: OwnerChannel): ChannelPresence {
    const jid = bareJid(channel.address);
    return jid === null ? 'unknown' : this.presenceAt(jid);
  }

  /**
   * Calls `listener(address, presence)` whenever the presence of a watched address changes (the owner came online,
   * went away; every address becomes `unknown` while Knock is disconnected). Returns the function that stops it.
   */
  onPresence(listener: (address: string, presence: ChannelPresence) => void): () => void {
    this.presenceListeners.add(listener);
    return () => this.presenceListeners.delete(listener);
  }

  /**
   * Follows the presence at `address` (a bare JID): adds it to Knock's roster and asks for a subscription, now if
   * online, else on the next session. Calling it again is harmless (it asks once per session at most). Rejects with a
   * permanent XmppChannelError when the address is no JID. One address is one entry: `unwatch` forgets it whoever
   * else watched it.
   */
  async watch(address: string): Promise<void> {
    const jid = this.addressOf(address);
    this.toRemove.delete(jid);
    this.table.watch(jid);
    this.presenceMayHaveChanged(jid);
    if (this.online && this.table.needsSubscribe(jid)) await this.subscribe(jid, this.session);
  }

  /** Stops following `address`: removes it from the roster (which cancels both subscriptions) and forgets it. */
  async unwatch(address: string): Promise<void> {
    const jid = this.addressOf(address);
    this.table.unwatch(jid);
    this.toldPresence.delete(jid);
    this.toRemove.add(jid);
    if (this.online) await this.removeFromRoster(jid);
  }

  onText(handler: (text: InboundText) => Promise<void>): void {
    this.inbound.onText(handler);
  }

  /** Receipts of forwards: `delivered` (the owner's client said so, XEP-0184) or `failed` (the server bounced it). */
  onReceipt(handler: (receipt: ChannelReceipt) => Promise<void>): void {
    this.receiptHandlers.push(handler);
  }

  /** Says goodbye (unavailable presence), closes the stream, stops reconnecting. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  // ----- Connection -----

  private wire(): void {
    const { xmpp } = this;
    xmpp.on('error', (err: Error & { condition?: string }) => {
      if (err.name === 'SASLError') this.logger.error({ condition: err.condition }, `xmpp: the server refused Knock's login as ${this.ownJid}: check KNOCK_XMPP_JID and KNOCK_XMPP_PASSWORD`);
      else this.logger.debug({ err: err.message }, 'xmpp: connection error');
    });
    xmpp.on('status', (status: string) => this.statusChanged(status));
    xmpp.on('online', () => void this.sessionStarted());
    xmpp.reconnect.on('reconnecting', () => {
      this.backoff.next = Math.min(this.backoff.max, this.backoff.next * 2);
      xmpp.reconnect.delay = Math.round(this.backoff.next * (0.75 + Math.random() * 0.5));
    });
    xmpp.on('stanza', (stanza: XmlElement) => {
      try {
        this.stanzaCameIn(stanza);
      } catch (err) {
        this.logger.error({ err, stanza: stanza.toString().slice(0, 500) }, 'xmpp: a stanza could not be handled');
      }
    });
    xmpp.iqCallee.set(NS_ROSTER, 'query', (context) => {
      // Roster pushes come from the server on behalf of Knock's own account; anyone else's is a forgery.
      const from = context.stanza.attrs.from;
      if (from !== undefined && bareJid(from) !== this.ownJid) return undefined; // service-unavailable
      for (const item of context.element.getChildren('item')) this.rosterItem(item);
      return {};
    });
  }

  private statusChanged(status: string): void {
    if (status === 'connecting' && !this.closing) this.armWatchdog();
    if (status === 'online' || status === 'disconnect' || status === 'offline') this.disarmWatchdog();
    if (status === 'disconnect' || status === 'offline') this.stopKeepalive();
    if (status === 'disconnect') {
      this.table.suspend();
      this.presenceMayHaveChanged();
      if (!this.outageLogged && !this.closing) {
        this.outageLogged = true;
        this.logger.warn({ service: this.options.service }, 'xmpp: not connected; reconnecting with backoff');
      }
    }
  }

  private armWatchdog(): void {
    this.disarmWatchdog();
    const timeoutMs = this.options.connectTimeoutMs ?? 30_000;
    this.watchdog = setTimeout(() => {
      this.watchdog = null;
      if (this.online || this.closing) return;
      this.logger.warn({ timeoutMs }, 'xmpp: not online in time; dropping this attempt');
      this.xmpp.disconnect().catch(() => undefined);
    }, timeoutMs);
  }

  private disarmWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
  }

  /** A new session: roster, presence, subscriptions, then a ping as the barrier after which presence is known. */
  private async sessionStarted(): Promise<void> {
    if (this.closing) {
      await this.xmpp.stop().catch(() => undefined); // an attempt that was under way when close() came
      return;
    }
    const session = ++this.session;
    this.backoff.next = this.backoff.initial;
    this.xmpp.reconnect.delay = this.backoff.initial;
    this.table.startLearning();
    try {
      await this.syncRoster();
      await this.xmpp.send(xml('presence'));
      for (const jid of this.toRemove) await this.removeFromRoster(jid);
      for (const jid of this.table.watched()) if (this.table.needsSubscribe(jid)) await this.subscribe(jid, session);
      await this.xmpp.iqCaller.request(xml('iq', { type: 'get', to: this.domain }, xml('ping', { xmlns: NS_PING })), IQ_TIMEOUT_MS).catch((err: Error) => {
        if (err.name !== 'StanzaError') throw err; // a server without ping still answered, in order: the barrier holds
      });
    } catch (err) {
      if (session !== this.session || !this.online) return; // the connection went meanwhile; the next session redoes it
      this.logger.warn({ err }, 'xmpp: setting up the session failed; presence is learned as it comes');
    }
    if (session !== this.session || !this.online) return;
    this.table.learned();
    this.presenceMayHaveChanged();
    this.startKeepalive(session);
    this.outageLogged = false;
    this.logger.info({ jid: this.xmpp.jid?.toString(), watched: this.table.watched().length }, 'xmpp: online');
    this.wakeWaiters();
  }

  /** Pings the server every keepaliveMs while online; a ping unanswered in time drops the connection (and reconnects). */
  private startKeepalive(session: number): void {
    this.stopKeepalive();
    this.keepalive = setInterval(() => {
      if (session !== this.session || !this.online) return;
      const ping = xml('iq', { type: 'get', to: this.domain }, xml('ping', { xmlns: NS_PING }));
      this.xmpp.iqCaller.request(ping, KEEPALIVE_TIMEOUT_MS).catch((err: Error) => {
        if (err.name === 'StanzaError' || session !== this.session || !this.online) return; // answered, or gone already
        this.logger.warn({ err: err.message }, 'xmpp: the server did not answer a ping; reconnecting');
        this.xmpp.disconnect().catch(() => undefined);
      });
    }, this.options.keepaliveMs ?? 60_000);
    this.keepalive.unref();
  }

  private stopKeepalive(): void {
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = null;
  }

  private wakeWaiters(): void {
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters.clear();
  }

  private async syncRoster(): Promise<void> {
    const result = await this.xmpp.iqCaller.request(xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER })), IQ_TIMEOUT_MS);
    for (const item of result.getChild('query', NS_ROSTER)?.getChildren('item') ?? []) this.rosterItem(item);
  }

  /** A roster item, from the roster or a push: what it says of a watched JID's subscription. */
  private rosterItem(item: XmlElement): void {
    const jid = bareJid(item.attrs.jid ?? '');
    if (jid === null || !this.table.isWatched(jid)) return;
    const subscription = item.attrs.subscription ?? 'none';
    this.table.subscription(jid, { granted: subscription === 'to' || subscription === 'both', pending: item.attrs.ask === 'subscribe' });
    this.presenceMayHaveChanged(jid);
  }

  private async subscribe(jid: string, session: number): Promise<void> {
    if (session !== this.session) return;
    this.table.subscription(jid, { granted: false, pending: true });
    try {
      await this.xmpp.iqCaller.request(xml('iq', { type: 'set' }, xml('query', { xmlns: NS_ROSTER }, xml('item', { jid }))), IQ_TIMEOUT_MS);
      await this.xmpp.send(xml('presence', { type: 'subscribe', to: jid }));
    } catch (err) {
      this.table.subscription(jid, { granted: false, pending: false });
      this.logger.warn({ err, jid }, 'xmpp: asking for a presence subscription failed; asked again on the next session');
    }
  }

  private async removeFromRoster(jid: string): Promise<void> {
    try {
      await this.xmpp.iqCaller.request(xml('iq', { type: 'set' }, xml('query', { xmlns: NS_ROSTER }, xml('item', { jid, subscription: 'remove' }))), IQ_TIMEOUT_MS);
      this.toRemove.delete(jid);
    } catch (err) {
      this.logger.warn({ err, jid }, 'xmpp: removing a contact from the roster failed; tried again on the next session');
    }
  }

  private async shutDown(): Promise<void> {
    this.xmpp.reconnect.stop();
    this.disarmWatchdog();
    this.stopKeepalive();
    for (const waiter of this.waiters) waiter.reject(new XmppChannelError('The XMPP channel is closed.', false));
    this.waiters.clear();
    if (this.online) await this.xmpp.send(xml('presence', { type: 'unavailable' })).catch(() => undefined);
    if (this.xmpp.status !== 'offline') await this.xmpp.stop().catch((err: unknown) => this.logger.debug({ err }, 'xmpp: closing'));
    this.table.suspend();
    this.presenceMayHaveChanged();
  }

  private presenceAt(jid: string): ChannelPresence {
    return this.online ? this.table.presenceOf(jid) : 'unknown';
  }

  /** Tells the listeners of every watched JID (or of `jid`) whose presence is not what they were last told. */
  private presenceMayHaveChanged(jid?: string): void {
    for (const address of jid === undefined ? this.table.watched() : [jid]) {
      const presence = this.presenceAt(address);
      if (this.toldPresence.get(address) === presence) continue;
      this.toldPresence.set(address, presence);
      for (const listener of this.presenceListeners) {
        try {
          listener(address, presence);
        } catch (err) {
          this.logger.error({ err, address }, 'xmpp: a presence listener failed');
        }
      }
    }
  }

  // ----- Stanzas -----

  private stanzaCameIn(stanza: XmlElement): void {
    if (stanza.name === 'presence') this.presenceCameIn(stanza);
    else if (stanza.name === 'message') this.messageCameIn(stanza);
  }

  private presenceCameIn(stanza: XmlElement): void {
    const from = stanza.attrs.from ?? '';
    const jid = bareJid(from);
    if (jid === null || jid === this.ownJid) return;
    this.presenceStanza(jid, from, stanza);
    if (this.table.isWatched(jid)) this.presenceMayHaveChanged(jid);
  }

  private presenceStanza(jid: string, from: string, stanza: XmlElement): void {
    switch (stanza.attrs.type) {
      case undefined:
        this.table.resourceAvailable(jid, resourceOf(from), showOf(stanza.getChildText('show')));
        return;
      case 'unavailable':
        this.table.resourceUnavailable(jid, resourceOf(from));
        return;
      case 'subscribe':
        this.subscriptionRequested(jid);
        return;
      case 'subscribed':
        this.table.subscription(jid, { granted: true, pending: false });
        return;
      case 'unsubscribed':
        if (this.table.isWatched(jid)) this.logger.info({ jid }, 'xmpp: the owner withdrew Knock\u2019s presence subscription');
        this.table.subscription(jid, { granted: false, pending: false });
        return;
      case 'error':
        if (this.table.isWatched(jid)) this.logger.warn({ jid, condition: errorCondition(stanza) }, 'xmpp: a presence stanza about a watched JID bounced');
        return;
      default:
        return; // unsubscribe (they stop seeing Knock's presence), probe: the server's business
    }
  }

  /** A watched owner may see Knock's presence (and Knock asks back if it has no grant yet); anyone else is refused. */
  private subscriptionRequested(jid: string): void {
    const answer = this.table.isWatched(jid) ? 'subscribed' : 'unsubscribed';
    if (answer === 'unsubscribed') this.logger.debug({ jid }, 'xmpp: refused the subscription request of a JID that is no owner\u2019s channel');
    this.xmpp.send(xml('presence', { type: answer, to: jid })).catch(() => undefined);
    if (answer === 'subscribed' && this.table.needsSubscribe(jid)) void this.subscribe(jid, this.session);
  }

  private messageCameIn(stanza: XmlElement): void {
    const id = stanza.attrs.id ?? '';
    const from = bareJid(stanza.attrs.from ?? '');
    if (stanza.attrs.type === 'error') {
      if (from !== null && this.sent.get(id) === from) this.receipt({ kind: 'xmpp', externalId: `xmpp:${id}`, state: 'failed', error: errorCondition(stanza) });
      return;
    }
    const received = stanza.getChild('received', NS_RECEIPTS)?.attrs.id;
    if (received !== undefined && from !== null && this.sent.get(received) === from) {
      this.receipt({ kind: 'xmpp', externalId: `xmpp:${received}`, state: 'delivered', error: null });
    }
    const inbound = inboundOf(stanza, { ownJid: this.ownJid, maxChars: this.options.maxInboundChars ?? limits.bodyChars, nowMs: this.clock.now() });
    if (inbound.kind === 'ignored') return;
    if (inbound.cut) this.logger.info({ from: inbound.text.from, externalId: inbound.text.externalId }, 'xmpp: an inbound text was too long and was cut');
    this.inbound.push(inbound.text);
  }

  private receipt(receipt: ChannelReceipt): void {
    this.sent.delete(receipt.externalId.slice('xmpp:'.length));
    if (receipt.state === 'failed') this.logger.warn({ externalId: receipt.externalId, error: receipt.error }, 'xmpp: the server bounced a message Knock sent');
    for (const handler of this.receiptHandlers) {
      handler(receipt).catch((err: unknown) => this.logger.error({ err, externalId: receipt.externalId }, 'xmpp: the receipt handler failed'));
    }
  }

  // ----- Sending -----

  /** The bare JID of an owner's address, or a permanent error. */
  private addressOf(address: string): string {
    const jid = bareJid(address);
    if (jid === null) throw new XmppChannelError(`"${cutText(address, 100)}" is not a JID like name@example.org.`, true);
    return jid;
  }

  /** Sends a chat message with a receipt request; resolves with its stanza id. */
  private async sendChat(to: string, body: string, thread: string): Promise<string> {
    if (this.closing) throw new XmppChannelError('The XMPP channel is closed (Knock is stopping).', false);
    if (!this.online) throw new XmppChannelError(`Knock is not connected to its XMPP server (${this.options.service}) right now.`, false);
    const id = `knock-${randomBytes(12).toString('base64url')}`;
    const stanza = xml(
      'message',
      { type: 'chat', to, id },
      xml('body', {}, body),
      thread ? xml('thread', {}, thread) : null,
      xml('request', { xmlns: NS_RECEIPTS }),
    );
    try {
      await this.xmpp.send(stanza);
    } catch (err) {
      throw new XmppChannelError(`Sending to ${to} failed: ${err instanceof Error ? err.message : String(err)}`, false);
    }
    this.sent.set(id, to);
    if (this.sent.size > MAX_REMEMBERED_SENDS) this.sent.delete(this.sent.keys().next().value ?? '');
    return id;
  }
}

/** The defined condition of a bounced stanza (`service-unavailable`, `remote-server-not-found`...). */
function errorCondition(stanza: XmlElement): string {
  const error = stanza.getChild('error');
  const condition = error?.getChildElements().find((child) => child.attrs.xmlns === NS_STANZAS);
  return condition?.name ?? 'undefined-condition';
}
