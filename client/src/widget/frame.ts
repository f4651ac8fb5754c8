/**
 * The monitor frame (`/_/widget/frame?handle=acme&site=<origin>&monitor=1&declined=0`, served by
 * engine/http/widgetRoutes.ts): a hidden page of Knock's origin inside the company's site. It holds the visitor's one
 * socket to the company's SiteRoom (RoomLink: joined again after drops, like every room client), relays the room's
 * `status`, `invited` and `queue` to the widget, and the widget's `page`, `invite.answer` and `chatting` to the room.
 *
 * It trusts the widget no more than the room trusts it: it runs only framed, only when the browser says the parent
 * is the `site` it was made for (the server's frame-ancestors already allowed nothing else), posts to that origin
 * only, and takes messages only from its parent window at that origin, checked by `isWidgetToFrame`.
 *
 * The visitor's id is random, kept by the widget in the site's own localStorage (so one id per site, not one that
 * follows the person around the web) and given in the query: this frame's own storage is blocked wherever
 * third-party cookies are. Unmonitored visitors get none: the frame makes one for this page only.
 */
import { HANDLE_PATTERN, siteOriginSchema, siteServerMessages, siteVisitorIdSchema, type SiteJoinOptions, type SiteServerMessages } from '../../../engine/protocol.ts';
import { newClientMsgId } from '../sdk/ids.ts';
import { RoomLink } from '../sdk/roomLink.ts';
import { WIDGET_TAG, isWidgetToFrame, type FrameToWidget, type WidgetToFrame } from './frameMessages.ts';

interface FrameParams {
  handle: string;
  site: string;
  monitor: boolean;
  declined: boolean;
  /** The widget's id of this visitor on the site; null when not monitored. */
  visitor: string | null;
}

/** The frame's query, or null when it is not one the widget makes. */
export function frameParams(search: string): FrameParams | null {
  const q = new URLSearchParams(search);
  const handle = q.get('handle') ?? '';
  const site = q.get('site') ?? '';
  const flag = (name: string): boolean | null => (q.get(name) === '1' ? true : q.get(name) === '0' ? false : null);
  const monitor = flag('monitor');
  const declined = flag('declined');
  const visitor = q.get('visitor');
  if (!HANDLE_PATTERN.test(handle) || !siteOriginSchema.safeParse(site).success || monitor === null || declined === null) return null;
  if (visitor !== null && !siteVisitorIdSchema.safeParse(visitor).success) return null;
  return { handle, site, monitor, declined, visitor };
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
      onEnded: (reason) => console.warn(`Knock live help: the site room refused this page (${reason.code}): ${describe(reason.message)}`),
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
    } else if (type === 'queue') {
      this.toParent({ type: 'queue', position: (payload as SiteServerMessages['queue']).position });
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

/** A refusal's message (matchmaking answers with an object where a room answers with text). */
function describe(message: unknown): string {
  return typeof message === 'string' ? message : JSON.stringify(message);
}

function main(): void {
  const params = frameParams(location.search);
  // Opened on its own, or with a query the widget never makes: nothing to do.
  if (params === null || window.parent === window) return;
  // Where the browser tells the parent's origin (Chromium, Safari), it must be the site the frame was made for.
  const parentOrigin = location.ancestorOrigins?.[0];
  if (parentOrigin !== undefined && parentOrigin !== params.site) return;
  // A new id for a visitor the widget gave none (not monitored): 16 random bytes, base64url, as a clientMsgId.
  new MonitorFrame(params, window.parent, params.visitor ?? newClientMsgId()).start();
}

main();
