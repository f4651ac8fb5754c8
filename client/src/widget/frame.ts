/**
 * The monitor frame (`/_/widget/frame?handle=acme&site=<origin>&monitor=1&declined=0`, served by
 * engine/http/widgetRoutes.ts): a hidden page of Knock's origin inside the company's site. It holds the visitor's one
 * socket to the company's SiteRoom (RoomLink: joined again after drops, like every room client), relays the room's
 * `status` and `invited` to the widget, and the widget's `page`, `invite.answer` and `chatting` to the room.
 *
 * It trusts the widget no more than the room trusts it: it runs only framed, only when the browser says the parent
 * is the `site` it was made for (the server's frame-ancestors already allowed nothing else), posts to that origin
 * only, and takes messages only from its parent window at that origin, checked by `isWidgetToFrame`.
 *
 * The visitor's id is random, kept in this frame's localStorage: the browser partitions a third-party frame's
 * storage by the top-level site, so it is one id per site, not one that follows the person around the web.
 */
import { HANDLE_PATTERN, siteOriginSchema, siteServerMessages, type SiteJoinOptions, type SiteServerMessages } from '../../../engine/protocol.ts';
import { browserStore } from '../sdk/browserStore.ts';
import { newClientMsgId } from '../sdk/ids.ts';
import { RoomLink } from '../sdk/roomLink.ts';
import type { KeyValueStore } from '../sdk/types.ts';
import { WIDGET_TAG, isWidgetToFrame, type FrameToWidget, type WidgetToFrame } from './frameMessages.ts';

interface FrameParams {
  handle: string;
  site: string;
  monitor: boolean;
  declined: boolean;
}

/** The frame's query, or null when it is not one the widget makes. */
export function frameParams(search: string): FrameParams | null {
  const q = new URLSearchParams(search);
  const handle = q.get('handle') ?? '';
  const site = q.get('site') ?? '';
  const flag = (name: string): boolean | null => (q.get(name) === '1' ? true : q.get(name) === '0' ? false : null);
  const monitor = flag('monitor');
  const declined = flag('declined');
  if (!HANDLE_PATTERN.test(handle) || !siteOriginSchema.safeParse(site).success || monitor === null || declined === null) return null;
  return { handle, site, monitor, declined };
}

function visitorIdOf(store: KeyValueStore, handle: string): string {
  const key = `knock:site-visitor:${handle}`;
  const kept = store.get(key);
  if (kept !== null && /^[A-Za-z0-9_-]{16,64}$/.test(kept)) return kept;
  // 16 random bytes as base64url (22 characters), the shape siteVisitorIdSchema takes, as a clientMsgId is made.
  const id = newClientMsgId();
  store.set(key, id);
  return id;
}

type Untagged<M> = M extends unknown ? Omit<M, 'tag'> : never;

/** One visitor's presence on the company's site, for as long as the page shows the frame. */
export class MonitorFrame {
  private readonly link: RoomLink<typeof siteServerMessages>;
  /** What the room must hear again after a reconnect (a new socket is a new session to it). */
  private page: Extract<WidgetToFrame, { type: 'page' }> | null = null;
  private conversationId: string | null = null;
  private declined: boolean;

  constructor(
    private readonly params: FrameParams,
    private readonly parent: Window,
    visitorId: string,
  ) {
    this.declined = params.declined;
    this.link = new RoomLink({
      endpoint: location.origin,
      roomName: 'site',
      schemas: siteServerMessages,
      options: (): SiteJoinOptions => ({
        as: 'visitor',
        handle: params.handle,
        visitorId,
        site: params.site,
        monitor: params.monitor,
        declined: this.declined,
      }),
      onMessage: (type, payload) => this.onRoomMessage(type, payload as never),
      onJoined: () => this.replay(),
      onDisconnected: () => undefined,
      onEnded: (reason) => console.warn(`Knock live help: the site room refused this page (${reason.code}): ${reason.message}`),
    });
  }

  start(): void {
    window.addEventListener('message', this.onParentMessage);
    this.link.start();
  }

  private onRoomMessage<K extends keyof SiteServerMessages>(type: K, payload: SiteServerMessages[K]): void {
    if (type === 'status') {
      const { name, online } = payload as SiteServerMessages['status'];
      this.toParent({ type: 'status', name, online });
    } else if (type === 'invited') {
      this.toParent({ type: 'invited', text: (payload as SiteServerMessages['invited']).text });
    } else if (type === 'error') {
      const { code, message } = payload as SiteServerMessages['error'];
      console.warn(`Knock live help: ${code}: ${message}`);
    }
  }

  private readonly onParentMessage = (event: MessageEvent): void => {
    if (event.source !== this.parent || event.origin !== this.params.site || !isWidgetToFrame(event.data)) return;
    const message = event.data;
    switch (message.type) {
      case 'page':
        // Not monitored (Global Privacy Control, Do Not Track): the page is not even sent.
        if (!this.params.monitor) return;
        this.page = message;
        this.link.send('page', { url: message.url, title: message.title, referrer: message.referrer });
        return;
      case 'chatting':
        this.conversationId = message.conversationId;
        this.link.send('chatting', { conversationId: message.conversationId });
        return;
      case 'invite.answer':
        if (!message.accepted) this.declined = true;
        this.link.send('invite.answer', { accepted: message.accepted });
        return;
    }
  };

  private replay(): void {
    if (this.page !== null) this.link.send('page', { url: this.page.url, title: this.page.title, referrer: this.page.referrer });
    if (this.conversationId !== null) this.link.send('chatting', { conversationId: this.conversationId });
  }

  private toParent(message: Untagged<FrameToWidget>): void {
    this.parent.postMessage({ tag: WIDGET_TAG, ...message }, this.params.site);
  }
}

function main(): void {
  const params = frameParams(location.search);
  // Opened on its own, or with a query the widget never makes: nothing to do.
  if (params === null || window.parent === window) return;
  // Where the browser tells the parent's origin (Chromium, Safari), it must be the site the frame was made for.
  const parentOrigin = location.ancestorOrigins?.[0];
  if (parentOrigin !== undefined && parentOrigin !== params.site) return;
  new MonitorFrame(params, window.parent, visitorIdOf(browserStore, params.handle)).start();
}

main();
