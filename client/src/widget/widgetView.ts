/**
 * What the widget draws on the embedding page, all inside one open shadow root on a `<knock-widget>` element at the
 * end of <body> (widgetStyles.ts says how the page's CSS is kept out): the hidden monitor frame, the button, the chat
 * panel with its frame, and an invitation dialog. Plain DOM, text set as text (an operator's invitation is never
 * HTML), no inline `style` attributes and no `innerHTML`, so a host page with a strict CSP or Trusted Types still
 * shows it.
 */
import { WIDGET_CSS } from './widgetStyles.ts';

export interface WidgetViewEvents {
  /** The button: opens the chat, or closes it when it is open. */
  onLauncher(): void;
  /** "Close chat". */
  onClose(): void;
  /** "Start chat" (true) or "No thanks" / Escape (false). */
  onInviteAnswer(accepted: boolean): void;
}

const SVG = 'http://www.w3.org/2000/svg';
/** A speech bubble and a cross (Material icons' shapes), drawn as paths. */
const CHAT_ICON = 'M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2z';
const CLOSE_ICON = 'M19 6.41 17.59 5 12 10.59 6.41 5 5 6.41 10.59 12 5 17.59 6.41 19 12 13.41 17.59 19 19 17.59 13.41 12z';
const INVITE_TEXT_ID = 'knock-invite-text';
/** What the chat may ask the visitor for (a call, copying the resume link); the browser still asks the person. */
const CHAT_PERMISSIONS = 'camera; microphone; autoplay; clipboard-write; fullscreen; display-capture';

type Attrs = Record<string, string>;

export class WidgetView {
  readonly host: HTMLElement;
  private readonly doc: Document;
  private readonly root: HTMLElement;
  private launcher: { button: HTMLButtonElement; label: HTMLElement; dot: HTMLElement } | null = null;
  private panel: { element: HTMLElement; frame: HTMLIFrameElement; name: HTMLElement; queue: HTMLElement } | null = null;
  /** The visitor's place in the company's queue (null: not waiting), shown above the chat once the panel is made. */
  private queuePosition: number | null = null;
  /** Whether an operator is available (the last status): the queue line promises someone soon only then. */
  private online = false;
  private invite: { element: HTMLElement; returnFocus: Element | null } | null = null;

  constructor(doc: Document, private readonly events: WidgetViewEvents) {
    this.doc = doc;
    this.host = doc.createElement('knock-widget');
    const shadow = this.host.attachShadow({ mode: 'open' });
    adoptStyles(doc, shadow);
    this.root = this.el('div', { class: 'root' });
    shadow.appendChild(this.root);
    doc.body.appendChild(this.host);
  }

  /** The hidden frame holding the socket to the company's SiteRoom. */
  addMonitorFrame(src: string): HTMLIFrameElement {
    const frame = this.el('iframe', { class: 'monitor', src, title: 'Knock live help (no content)', 'aria-hidden': 'true', tabindex: '-1' });
    this.root.appendChild(frame);
    return frame as HTMLIFrameElement;
  }

  /** Shows the button (the first status makes it), with the text the company's presence asks for. */
  showStatus(name: string, online: boolean, open: boolean): void {
    if (this.launcher === null) {
      const dot = this.el('span', { class: 'dot', 'aria-hidden': 'true' });
      const label = this.el('span', {});
      const button = this.el('button', { type: 'button', class: 'launcher', 'aria-expanded': 'false' }, [icon(this.doc, CHAT_ICON), label, dot]);
      button.addEventListener('click', () => this.events.onLauncher());
      this.root.appendChild(button);
      this.launcher = { button: button as HTMLButtonElement, label, dot };
    }
    const { button, label, dot } = this.launcher;
    // The accessible name is exactly the visible text; the company's name is only a tooltip.
    label.textContent = online ? 'Chat with us' : 'Leave a message';
    button.title = name;
    dot.className = online ? 'dot on' : 'dot';
    this.online = online;
    this.setOpen(open);
    if (this.panel !== null) this.nameChat(name);
    this.showQueue(this.queuePosition);
  }

  /** Opens the chat panel: made on first use, shown again after a close (the conversation in it stays). */
  openChat(src: string, name: string, focus: boolean): HTMLIFrameElement {
    this.hideInvite(false);
    if (this.panel === null) {
      const nameEl = this.el('span', { class: 'name' });
      const close = this.el('button', { type: 'button', class: 'close', 'aria-label': 'Close chat' }, [icon(this.doc, CLOSE_ICON)]);
      close.addEventListener('click', () => this.events.onClose());
      const frame = this.el('iframe', { class: 'chat', src, allow: CHAT_PERMISSIONS }) as HTMLIFrameElement;
      // A polite live region: the place changes while the visitor types, and is read when they pause.
      const queue = this.el('p', { class: 'queue', role: 'status', 'aria-live': 'polite' });
      const element = this.el('div', { class: 'panel', id: 'knock-chat', role: 'region' }, [this.el('div', { class: 'bar' }, [nameEl, close]), queue, frame]);
      element.addEventListener('keydown', (event) => {
        if (event.key === 'Escape') this.events.onClose();
      });
      this.root.appendChild(element);
      this.panel = { element, frame, name: nameEl, queue };
      this.showQueue(this.queuePosition);
    }
    this.nameChat(name);
    this.panel.element.hidden = false;
    this.setOpen(true);
    if (focus) this.panel.frame.focus();
    return this.panel.frame;
  }

  /** "You are number N in the queue…" above the chat; nothing while the visitor is not waiting. */
  showQueue(position: number | null): void {
    this.queuePosition = position;
    if (this.panel === null) return;
    const { queue } = this.panel;
    // With everyone away the chat is a message left (the chat frame says so): no promise of someone soon.
    const shown = position !== null && this.online;
    queue.hidden = !shown;
    queue.textContent = shown ? `You are number ${position} in the queue. Someone will be with you soon.` : '';
  }

  closeChat(): void {
    if (this.panel === null || this.panel.element.hidden) return;
    const hadFocus = this.panel.element.contains(this.shadowFocus());
    this.panel.element.hidden = true;
    this.setOpen(false);
    if (hadFocus) this.launcher?.button.focus();
  }

  /** "Can we help?": a dialog over the button; focus moves to its first button, Escape declines. */
  showInvite(text: string): void {
    this.hideInvite(false);
    const start = this.el('button', { type: 'button', class: 'primary' }, ['Start chat']);
    const decline = this.el('button', { type: 'button' }, ['No thanks']);
    start.addEventListener('click', () => this.events.onInviteAnswer(true));
    decline.addEventListener('click', () => this.events.onInviteAnswer(false));
    const element = this.el('div', { class: 'invite', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': INVITE_TEXT_ID }, [
      this.el('p', { id: INVITE_TEXT_ID }, [text]),
      this.el('div', { class: 'actions' }, [start, decline]),
    ]);
    element.addEventListener('keydown', (event) => {
      if (event.key !== 'Escape') return;
      event.preventDefault();
      this.events.onInviteAnswer(false);
    });
    this.root.appendChild(element);
    this.invite = { element, returnFocus: this.doc.activeElement };
    start.focus();
  }

  /** Removes the invitation; `restoreFocus` gives focus back to where it was on the page (after "No thanks"). */
  hideInvite(restoreFocus: boolean): void {
    if (this.invite === null) return;
    const { element, returnFocus } = this.invite;
    this.invite = null;
    element.remove();
    if (restoreFocus && returnFocus instanceof HTMLElement && returnFocus.isConnected) returnFocus.focus();
  }

  get inviteShown(): boolean {
    return this.invite !== null;
  }

  private nameChat(name: string): void {
    if (this.panel === null) return;
    this.panel.name.textContent = name;
    this.panel.element.setAttribute('aria-label', `Chat with ${name}`);
    this.panel.frame.title = `Chat with ${name}`;
  }

  private setOpen(open: boolean): void {
    this.root.className = open ? 'root open' : 'root';
    this.launcher?.button.setAttribute('aria-expanded', String(open));
    if (open) this.launcher?.button.setAttribute('aria-controls', 'knock-chat');
  }

  private shadowFocus(): Element | null {
    return this.host.shadowRoot?.activeElement ?? null;
  }

  private el(tag: string, attrs: Attrs, children: Array<Node | string> = []): HTMLElement {
    const element = this.doc.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
    for (const child of children) element.append(child);
    return element;
  }
}

function icon(doc: Document, d: string): SVGElement {
  const svg = doc.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'icon');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = doc.createElementNS(SVG, 'path');
  path.setAttribute('d', d);
  svg.appendChild(path);
  return svg;
}

/**
 * A constructed stylesheet where the browser has them: a host page whose CSP allows no inline style still styles the
 * widget (a `<style>` element would be blocked there). Older browsers get the element.
 */
function adoptStyles(doc: Document, shadow: ShadowRoot): void {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(WIDGET_CSS);
    shadow.adoptedStyleSheets = [sheet];
  } catch {
    const style = doc.createElement('style');
    style.textContent = WIDGET_CSS;
    shadow.appendChild(style);
  }
}
