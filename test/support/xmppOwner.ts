/**
 * An owner's XMPP client for tests: an ordinary `@xmpp/client` logged in with PLAIN over the plain socket (RECIPES.md
 * "Prosody"), as Gajim or Conversations would be. It accepts Knock's subscription request and asks back, keeps the
 * presence it was given (and sends it again after a reconnect), collects the chat messages it gets, answers XEP-0184
 * receipt requests, and replies with or without a thread.
 *
 * @example
 *   const owner = await XmppOwner.login({ service: prosody.service, domain: prosody.domain, username: 'owner', password: 'pw' });
 *   await owner.setPresence('away');
 *   const forward = await owner.nextMessage((m) => m.body.includes('Ada knocked'));
 *   await owner.reply(forward.from, 'on my way', { thread: forward.thread });
 *   await owner.close();
 */
import { client, xml, type XmlElement, type XmppClient } from '@xmpp/client';
import { turnStreamManagementOff } from '../../adapters/channels/xmpp/streamManagementOff.ts';

export type OwnerPresence = 'available' | 'chat' | 'away' | 'xa' | 'dnd' | 'unavailable';

/** A chat message the owner got. */
export interface OwnerMessage {
  /** The sender's full JID, as the server wrote it. */
  from: string;
  id: string | null;
  type: string;
  body: string;
  thread: string | null;
  stanza: XmlElement;
}

export interface XmppOwnerOptions {
  service: string;
  domain: string;
  username: string;
  password: string;
  resource?: string;
  /** Answer subscription requests with `subscribed` and ask back (default true). */
  acceptSubscriptions?: boolean;
  /** Answer XEP-0184 receipt requests (default true). */
  answerReceipts?: boolean;
}

const WAIT_MS = 10_000;

export class XmppOwner {
  /** Every chat message the owner got, in order. */
  readonly messages: OwnerMessage[] = [];
  /** Every presence stanza that came in, oldest first. */
  readonly presences: XmlElement[] = [];
  /**
   * The roster items the server pushed, oldest first: how the owner's client sees a subscription change (Prosody
   * tells a client of `subscribed`/`unsubscribed` by a roster push, not by passing the presence stanza on).
   */
  readonly rosterPushes: { jid: string; subscription: string; ask: string | null }[] = [];
  private readonly waiting = new Set<() => void>();
  private presence: OwnerPresence = 'available';
  /** The roster fetched and the presence sent, on the current session. */
  private ready: Promise<void> = Promise.resolve();
  /** JIDs that asked this owner to subscribe (whether or not accepted). */
  readonly subscriptionRequests: string[] = [];

  private constructor(
    readonly xmpp: XmppClient,
    /** The owner's bare JID. */
    readonly jid: string,
    private readonly options: XmppOwnerOptions,
  ) {}

  /** Logs in and sends available presence. */
  static async login(options: XmppOwnerOptions): Promise<XmppOwner> {
    const xmpp = client({
      service: options.service,
      domain: options.domain,
      resource: options.resource ?? 'phone',
      credentials: (auth) => auth({ username: options.username, password: options.password }, 'PLAIN'),
    });
    const owner = new XmppOwner(xmpp, `${options.username}@${options.domain}`, options);
    turnStreamManagementOff(xmpp); // @xmpp/client's acks anger Prosody now and then (see there)
    xmpp.on('error', () => undefined); // refused connections while the server is down; the reconnect goes on
    xmpp.on('stanza', (stanza: XmlElement) => owner.stanzaCameIn(stanza));
    // As real clients do: the roster first (only a resource that asked for it gets roster pushes), then presence.
    xmpp.on('online', () => {
      owner.ready = owner.fetchRoster().then(() => owner.sendPresence());
      owner.ready.catch(() => undefined);
    });
    xmpp.iqCallee.set('jabber:iq:roster', 'query', (context) => {
      for (const item of context.element.getChildren('item')) {
        owner.rosterPushes.push({ jid: item.attrs.jid ?? '', subscription: item.attrs.subscription ?? 'none', ask: item.attrs.ask ?? null });
      }
      for (const check of [...owner.waiting]) check();
      return {};
    });
    xmpp.reconnect.delay = 200;
    await xmpp.start();
    await owner.ready;
    return owner;
  }

  /** The subscription state of `jid` in the owner's roster, as last pushed ('none' when never pushed). */
  subscriptionOf(jid: string): { subscription: string; ask: string | null } {
    const push = this.rosterPushes.findLast((p) => p.jid === jid);
    return push ? { subscription: push.subscription, ask: push.ask } : { subscription: 'none', ask: null };
  }

  /** The owner's full JID (with resource), once online. */
  get fullJid(): string {
    return this.xmpp.jid?.toString() ?? this.jid;
  }

  /** Sets and sends the owner's presence; kept and sent again after a reconnect. */
  async setPresence(presence: OwnerPresence): Promise<void> {
    this.presence = presence;
    await this.sendPresence();
  }

  /** Asks `jid` for its presence (the owner adds Knock first, before Knock asks). */
  async subscribeTo(jid: string): Promise<void> {
    await this.xmpp.send(xml('presence', { type: 'subscribe', to: jid }));
  }

  /** Sends a chat message to `to` (Knock's JID), with a thread if given; resolves with its id. */
  async reply(to: string, body: string, options: { thread?: string | null; id?: string; type?: string } = {}): Promise<string> {
    const id = options.id ?? `owner-${Math.random().toString(36).slice(2)}`;
    await this.xmpp.send(
      xml('message', { type: options.type ?? 'chat', to, id }, xml('body', {}, body), options.thread ? xml('thread', {}, options.thread) : null),
    );
    return id;
  }

  /** Sends any stanza (hostile input tests). */
  async send(stanza: XmlElement): Promise<void> {
    await this.xmpp.send(stanza);
  }

  /**
   * The first message with a body matching `predicate` that no earlier call took, waiting for it up to `timeoutMs`.
   * Rejects with the messages seen when none comes.
   */
  nextMessage(predicate: (message: OwnerMessage) => boolean = () => true, timeoutMs = WAIT_MS): Promise<OwnerMessage> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const index = this.messages.findIndex(predicate);
        if (index === -1) return false;
        const [message] = this.messages.splice(index, 1);
        this.waiting.delete(check as () => void);
        clearTimeout(timer);
        resolve(message!);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiting.delete(check as () => void);
        reject(new Error(`${this.jid} got no matching message in ${timeoutMs} ms; it has: ${JSON.stringify(this.messages.map((m) => m.body.slice(0, 200)))}`));
      }, timeoutMs);
      if (!check()) this.waiting.add(check as () => void);
    });
  }

  /**
   * Resolves once `condition()` holds, checked now and after each stanza that comes in; rejects after `timeoutMs`
   * saying `what` was awaited.
   */
  waitFor(what: string, condition: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        this.waiting.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiting.delete(check);
        reject(new Error(`${this.jid}: ${what} did not happen in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.add(check);
      check();
    });
  }

  /** Answers `jid`'s subscription request (when `acceptSubscriptions` was off) and asks back. */
  async acceptSubscription(jid: string): Promise<void> {
    await this.xmpp.send(xml('presence', { type: 'subscribed', to: jid }));
    await this.xmpp.send(xml('presence', { type: 'subscribe', to: jid }));
  }

  /** An XMPP ping to `to` (a full JID): when it is answered, `to` has handled everything this owner sent before. */
  async ping(to: string): Promise<void> {
    await this.xmpp.iqCaller.request(xml('iq', { type: 'get', to }, xml('ping', { xmlns: 'urn:xmpp:ping' })), WAIT_MS);
  }

  /** Goes offline and closes the connection. */
  async close(): Promise<void> {
    this.xmpp.reconnect.stop();
    if (this.xmpp.status === 'online') await this.xmpp.send(xml('presence', { type: 'unavailable' })).catch(() => undefined);
    await this.xmpp.stop().catch(() => undefined);
  }

  private async fetchRoster(): Promise<void> {
    const result = await this.xmpp.iqCaller.request(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })), WAIT_MS);
    for (const item of result.getChild('query', 'jabber:iq:roster')?.getChildren('item') ?? []) {
      this.rosterPushes.push({ jid: item.attrs.jid ?? '', subscription: item.attrs.subscription ?? 'none', ask: item.attrs.ask ?? null });
    }
  }

  private async sendPresence(): Promise<void> {
    if (this.xmpp.status !== 'online') return;
    if (this.presence === 'unavailable') {
      await this.xmpp.send(xml('presence', { type: 'unavailable' }));
      return;
    }
    const show = this.presence === 'available' ? null : xml('show', {}, this.presence);
    await this.xmpp.send(xml('presence', {}, show));
  }

  private stanzaCameIn(stanza: XmlElement): void {
    const from = stanza.attrs.from ?? '';
    if (stanza.is('presence')) this.presences.push(stanza);
    this.stanzaHandled(stanza, from);
    for (const check of [...this.waiting]) check();
  }

  private stanzaHandled(stanza: XmlElement, from: string): void {
    if (stanza.is('presence') && stanza.attrs.type === 'subscribe') {
      const bare = from.split('/')[0] ?? from;
      this.subscriptionRequests.push(bare);
      if (this.options.acceptSubscriptions ?? true) {
        void this.xmpp.send(xml('presence', { type: 'subscribed', to: bare })).catch(() => undefined);
        void this.xmpp.send(xml('presence', { type: 'subscribe', to: bare })).catch(() => undefined);
      }
      return;
    }
    if (!stanza.is('message')) return;
    if ((this.options.answerReceipts ?? true) && stanza.getChild('request', 'urn:xmpp:receipts') && stanza.attrs.id) {
      void this.xmpp
        .send(xml('message', { to: from, id: `r-${stanza.attrs.id}` }, xml('received', { xmlns: 'urn:xmpp:receipts', id: stanza.attrs.id })))
        .catch(() => undefined);
    }
    const body = stanza.getChildText('body');
    if (body === null) return;
    this.messages.push({ from, id: stanza.attrs.id ?? null, type: stanza.attrs.type ?? 'normal', body, thread: stanza.getChildText('thread'), stanza });
  }
}
