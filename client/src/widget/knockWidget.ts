/**
 * The widget on one page of the embedding site: it makes Knock's hidden monitor frame, tells it the page, turns the
 * frame's `status` into the button and its `invited` into a dialog, and opens the chat frame on a click.
 *
 * What must outlive the page lives in the site's own storage, under the company's handle, because Knock's frames may
 * have none (a third-party frame's storage is blocked wherever third-party cookies are): in sessionStorage, for the
 * visit, whether the chat is open (the next page of the site opens it again at once, so the chat goes on across
 * navigations), the token of the visit's conversation (the chat frame resumes it), and whether the visitor said
 * "No thanks" (no more invitations this visit); in localStorage, only while monitored, the visitor's random id (so
 * the operators see one visitor moving through the site, and whether they came back).
 *
 * Every message is checked before it is believed: it must come from Knock's origin, from the frame that may send
 * that type (the monitor frame: status, invitations; the chat frame: its conversation, close), and pass
 * `isFrameToWidget`. A site not on the company's list gets a frame the browser blocks (CSP frame-ancestors), so no
 * status ever comes, and no button.
 */
import { newClientMsgId } from '../sdk/ids.ts';
import { WIDGET_TAG, isFrameToWidget, type WidgetToFrame } from './frameMessages.ts';
import type { WidgetConfig } from './widgetConfig.ts';
import { WidgetView } from './widgetView.ts';

/** limits.pageUrlChars / limits.pageTitleChars of engine/protocol.ts (not imported: no zod in the widget). */
const URL_CHARS = 2048;
const TITLE_CHARS = 300;
/** How often a monitored page checks whether its address or title changed (single-page apps move without loading). */
const PAGE_CHECK_MS = 2000;

/** A message for the monitor frame before `post` tags it. */
type Untagged<M> = M extends unknown ? Omit<M, 'tag'> : never;
type WidgetMessage = Untagged<WidgetToFrame>;

/** The shape of a visitor id (engine/protocol.ts siteVisitorIdSchema) and of a conversation token. */
const VISITOR_ID = /^[A-Za-z0-9_-]{16,64}$/;
const TOKEN = /^[A-Za-z0-9_-]{16,128}$/;

type VisitFact = 'open' | 'declined' | 'name' | 'token';

/** The site's storage, one key per fact and company; silent where storage is blocked (nothing then outlives the page). */
class SiteStore {
  constructor(private readonly win: Window, private readonly handle: string) {}

  /** For the visit (sessionStorage). */
  get(name: VisitFact): string | null {
    return this.read(() => this.win.sessionStorage, name);
  }

  set(name: VisitFact, value: string | null): void {
    this.write(() => this.win.sessionStorage, name, value);
  }

  /** The visitor's random id on this site (localStorage), made on first use. */
  visitorId(): string {
    const kept = this.read(() => this.win.localStorage, 'visitor');
    if (kept !== null && VISITOR_ID.test(kept)) return kept;
    const id = newClientMsgId();
    this.write(() => this.win.localStorage, 'visitor', id);
    return id;
  }

  private read(storage: () => Storage, name: string): string | null {
    try {
      return storage().getItem(`knock:${this.handle}:${name}`);
    } catch {
      return null;
    }
  }

  private write(storage: () => Storage, name: string, value: string | null): void {
    try {
      const key = `knock:${this.handle}:${name}`;
      if (value === null) storage().removeItem(key);
      else storage().setItem(key, value);
    } catch {
      // Storage blocked or full: the fact lasts as long as the page.
    }
  }
}

export class KnockWidget {
  private readonly visit: SiteStore;
  private view: WidgetView | null = null;
  private monitorFrame: HTMLIFrameElement | null = null;
  private chatFrame: HTMLIFrameElement | null = null;
  /** Messages for the monitor frame wait for its load (a message posted before lands on about:blank). */
  private monitorLoaded = false;
  private readonly pending: WidgetMessage[] = [];
  private status: { name: string; online: boolean } | null = null;
  private open = false;
  /** `Knock.open()` came before the first status: the chat opens once the site is known to be allowed. */
  private openWhenAllowed = false;
  private consented = false;
  private lastPage = '';
  private checkTimer: number | null = null;

  constructor(
    private readonly config: WidgetConfig,
    private readonly win: Window,
  ) {
    this.visit = new SiteStore(win, config.handle);
  }

  /**
   * Lets the widget start (the page's `Knock.consent()`, or at once when the tag needs no consent). The work waits for
   * the page: until it has loaded and the browser is idle, or only for <body> when the chat was open on the last page.
   */
  consent(): void {
    if (this.consented) return;
    this.consented = true;
    if (this.config.monitorOnly && !this.config.monitor) return; // monitoring only, and the visitor opted out: nothing to do
    const reopen = !this.config.monitorOnly && this.visit.get('open') === '1';
    whenReady(this.win, reopen, () => this.start());
  }

  /**
   * `Knock.open()` and the button: opens the chat (after consent; not on a monitor-only tag). Before the first status
   * it waits for it: a site that is not on the company's list must not get an empty panel.
   */
  openChat(focus = true): void {
    if (!this.consented || this.config.monitorOnly) return;
    if (this.status === null) {
      this.openWhenAllowed = true;
      return;
    }
    this.showChat(focus);
  }

  /** Shows the chat panel, made at its first opening. */
  private showChat(focus: boolean): void {
    const view = this.ensureView();
    const name = this.companyName();
    this.chatFrame = view.openChat(this.chatUrl(), name, focus);
    this.open = true;
    this.visit.set('open', '1');
  }

  /** `Knock.close()`, "Close chat", or the chat frame's own close. */
  closeChat(): void {
    this.open = false;
    this.openWhenAllowed = false;
    this.visit.set('open', null);
    this.view?.closeChat();
  }

  private start(): void {
    if (this.monitorFrame !== null) return;
    const view = this.ensureView();
    this.win.addEventListener('message', this.onMessage);
    const frame = view.addMonitorFrame(this.monitorUrl());
    frame.addEventListener('load', () => this.onMonitorLoad());
    this.monitorFrame = frame;
    // The chat was open on the site's previous page (so the site was allowed then): it goes on at once.
    if (!this.config.monitorOnly && this.visit.get('open') === '1') this.showChat(false);
  }

  private ensureView(): WidgetView {
    this.view ??= new WidgetView(this.win.document, {
      onLauncher: () => (this.open ? this.closeChat() : this.openChat()),
      onClose: () => this.closeChat(),
      onInviteAnswer: (accepted) => this.answerInvite(accepted),
    });
    return this.view;
  }

  private readonly onMessage = (event: MessageEvent): void => {
    if (event.origin !== this.config.knockOrigin || !isFrameToWidget(event.data)) return;
    const fromMonitor = this.monitorFrame !== null && event.source === this.monitorFrame.contentWindow;
    const fromChat = this.chatFrame !== null && event.source === this.chatFrame.contentWindow;
    const message = event.data;
    switch (message.type) {
      case 'status':
        if (fromMonitor) this.onStatus(message.name, message.online);
        return;
      case 'invited':
        if (fromMonitor) this.onInvited(message.text);
        return;
      case 'queue':
        if (fromMonitor && !this.config.monitorOnly) this.ensureView().showQueue(message.position);
        return;
      case 'chat.conversation':
        if (!fromChat) return;
        this.visit.set('token', message.token);
        this.toMonitor({ type: 'chatting', conversationId: message.conversationId });
        return;
      case 'chat.close':
        if (fromChat) this.closeChat();
        return;
    }
  };

  private onStatus(name: string, online: boolean): void {
    this.status = { name, online };
    this.visit.set('name', name);
    if (this.config.monitorOnly) return;
    this.view?.showStatus(name, online, this.open);
    if (this.openWhenAllowed) {
      this.openWhenAllowed = false;
      this.showChat(true);
    }
  }

  private onInvited(text: string): void {
    // Monitor-only tags show nothing; a visitor already in the chat needs no invitation.
    if (this.config.monitorOnly || this.open) return;
    this.view?.showInvite(text);
  }

  private answerInvite(accepted: boolean): void {
    this.view?.hideInvite(!accepted);
    this.toMonitor({ type: 'invite.answer', accepted });
    if (accepted) this.openChat();
    else this.visit.set('declined', '1');
  }

  private onMonitorLoad(): void {
    this.monitorLoaded = true;
    this.lastPage = '';
    this.reportPage();
    for (const message of this.pending.splice(0)) this.post(message);
    if (this.config.monitor && this.checkTimer === null) this.checkTimer = this.win.setInterval(() => this.reportPage(), PAGE_CHECK_MS);
  }

  /** Tells the monitor frame the page, when it is a new one (first load, a single-page app's move, a new title). */
  private reportPage(): void {
    if (!this.config.monitor) return;
    const { location, document } = this.win;
    const url = location.href.slice(0, URL_CHARS);
    const title = document.title.slice(0, TITLE_CHARS);
    const key = `${url.split('#')[0]}\n${title}`;
    if (key === this.lastPage) return;
    this.lastPage = key;
    this.toMonitor({ type: 'page', url, title, referrer: document.referrer.slice(0, URL_CHARS) });
  }

  private toMonitor(message: WidgetMessage): void {
    if (!this.monitorLoaded) this.pending.push(message);
    else this.post(message);
  }

  private post(message: WidgetMessage): void {
    this.monitorFrame?.contentWindow?.postMessage({ tag: WIDGET_TAG, ...message }, this.config.knockOrigin);
  }

  private companyName(): string {
    return this.status?.name ?? this.visit.get('name') ?? this.config.handle;
  }

  private monitorUrl(): string {
    const params = new URLSearchParams({
      handle: this.config.handle,
      site: this.win.location.origin,
      monitor: this.config.monitor ? '1' : '0',
      declined: this.visit.get('declined') === '1' ? '1' : '0',
    });
    // Not monitored: no id is kept or sent (the frame joins under a new one for this page).
    if (this.config.monitor) params.set('visitor', this.visit.visitorId());
    return `${this.config.knockOrigin}/_/widget/frame?${params}`;
  }

  private chatUrl(): string {
    const { location, document } = this.win;
    const from = encodeURIComponent(location.href.slice(0, URL_CHARS));
    const title = encodeURIComponent(document.title.slice(0, TITLE_CHARS));
    const token = this.visit.get('token');
    const resume = token !== null && TOKEN.test(token) ? `&resume=${token}` : '';
    return `${this.config.knockOrigin}/${this.config.handle}?embed=${encodeURIComponent(location.origin)}#from=${from}&title=${title}${resume}`;
  }
}

/**
 * Runs `start` once the page can spare it: after `load` and then when the main thread is idle (never during the
 * page's own loading), or as soon as <body> exists when `soon` (the chat was open on the previous page).
 */
function whenReady(win: Window, soon: boolean, start: () => void): void {
  const idle = (): void => {
    if (typeof win.requestIdleCallback === 'function') win.requestIdleCallback(() => start(), { timeout: 2000 });
    else win.setTimeout(start, 1);
  };
  const { document } = win;
  if (soon && document.body !== null) win.setTimeout(start, 0);
  else if (soon) document.addEventListener('DOMContentLoaded', () => start(), { once: true });
  else if (document.readyState === 'complete') idle();
  else win.addEventListener('load', idle, { once: true });
}
