/**
 * The visitor page as the chat frame of a company's widget (`/acme?embed=<site origin>#from=<page>&title=<title>`,
 * issue 19): what differs from the page opened on its own.
 *
 * - The frame is cross-site on the company's site, so the browser sends it no SameSite cookie: the visitor's
 *   conversation is kept by its token in the frame's localStorage (partitioned by the top-level site, so per site),
 *   under the company's handle, and resumed from there on the site's next page. Where third-party storage is blocked
 *   (incognito windows, privacy settings) that storage is memory only; then the token comes back from the widget,
 *   which keeps it for the visit in the site's storage and hands it over in the fragment (`#...&resume=<token>`).
 * - The knock carries the page the chat was opened on (`startedOn`), from the fragment the widget wrote; only a page
 *   of the embedding site itself is sent.
 * - The widget hears of the conversation (`chat.conversation`, passed on to the monitor frame) and of a close
 *   (`chat.close`), posted to the embedding site's origin only.
 *
 * @example
 *   const embed = EmbeddedChat.fromLocation(location, 'acme', browserStore);   // null when not embedded
 *   embed?.post({ type: 'chat.conversation', conversationId, token });
 */
import { pageRefSchema, type PageRef } from '../../../engine/protocol.ts';
import { WIDGET_TAG, type FrameToWidget } from '../widget/frameMessages.ts';
import type { KeyValueStore } from './types.ts';

type ChatMessage = Extract<FrameToWidget, { type: 'chat.conversation' | 'chat.close' }>;
type Untagged<M> = M extends unknown ? Omit<M, 'tag'> : never;

/** The `embed` query parameter when it is an http(s) origin (scheme, host, port and nothing else); else null. */
export function embedOrigin(search: string): string | null {
  const value = new URLSearchParams(search).get('embed');
  if (value === null) return null;
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value ? value : null;
  } catch {
    return null;
  }
}

/** The conversation token the widget hands over in the fragment (`&resume=<token>`), if it is one. */
function resumeTokenOf(hash: string): string | null {
  const token = new URLSearchParams(hash.replace(/^#/, '')).get('resume');
  return token !== null && /^[A-Za-z0-9_-]{16,128}$/.test(token) ? token : null;
}

/** The page of `origin` named by the fragment `#from=<url>&title=<title>`, if it is one. */
export function startedOnOf(hash: string, origin: string): PageRef | undefined {
  const q = new URLSearchParams(hash.replace(/^#/, ''));
  const parsed = pageRefSchema.safeParse({ url: q.get('from') ?? '', title: q.get('title') ?? '' });
  if (!parsed.success) return undefined;
  return new URL(parsed.data.url).origin === origin ? parsed.data : undefined;
}

export class EmbeddedChat {
  /** The page the chat was opened on, read once: the fragment is later used for open documents (`#doc=`). */
  readonly startedOn: PageRef | undefined;
  private readonly tokenKey: string;
  /** The widget's copy of the token, read once from the fragment. */
  private handedOver: string | null;

  private constructor(
    /** The embedding site's origin: the only one messages are posted to. */
    readonly origin: string,
    handle: string,
    hash: string,
    private readonly store: KeyValueStore,
    private readonly parent: Window,
  ) {
    this.tokenKey = `knock:embed:${handle}`;
    this.startedOn = startedOnOf(hash, origin);
    this.handedOver = resumeTokenOf(hash);
  }

  /** The chat frame of this page, or null when the page is not embedded (no valid `?embed=`, or not in a frame). */
  static fromLocation(win: Window, handle: string, store: KeyValueStore): EmbeddedChat | null {
    const origin = embedOrigin(win.location.search);
    if (origin === null || win.parent === win) return null;
    return new EmbeddedChat(origin, handle, win.location.hash, store, win.parent);
  }

  /** The token of the conversation this browser holds with the company on this site, if any. */
  get token(): string | null {
    return this.store.get(this.tokenKey) ?? this.handedOver;
  }

  keep(token: string): void {
    this.store.set(this.tokenKey, token);
  }

  /** The kept token names no conversation any more (deleted): start afresh. */
  forget(): void {
    this.store.remove(this.tokenKey);
    this.handedOver = null;
  }

  post(message: Untagged<ChatMessage>): void {
    this.parent.postMessage({ tag: WIDGET_TAG, ...message }, this.origin);
  }
}
