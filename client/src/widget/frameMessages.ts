/**
 * The messages between the widget on an embedding site (`/_/widget.js`, running in the site's page) and Knock's two
 * frames inside it, by `postMessage` (issue 19):
 * - the monitor frame `/_/widget/frame?handle=acme&site=<origin>&monitor=1&declined=0&visitor=<id>`, always there
 *   (hidden): it holds the one WebSocket to the company's SiteRoom, reports pages, and tells the widget the button's
 *   state and invitations. `visitor` (only when monitored) is the visitor's random id, kept by the widget in the
 *   site's own localStorage: a third-party frame's storage is blocked where third-party cookies are (incognito
 *   windows, privacy settings), and the id must survive the visitor's moves between pages;
 * - the chat frame `/acme?embed=<site origin>#from=<page url>&title=<page title>[&resume=<token>]`, made on the first
 *   click (or at once on the next page when the chat was open): the visitor page in its embedded layout. `resume` is
 *   the token of the visit's conversation, which the widget keeps in the site's sessionStorage for the same reason.
 *
 * Both frames are served with `Content-Security-Policy: frame-ancestors <the company's sites>`, so a site that is not
 * on the list gets a blocked frame, no status, and so no button. Each side checks `event.source` and `event.origin`
 * (the widget: Knock's origin; a frame: its parent and the site origin it was made for) and drops anything else.
 *
 * Plain types, no zod: the widget must stay tiny (under 30 KB gzipped). `isFrameToWidget` / `isWidgetToFrame`
 * are the checks each receiver runs.
 */
export const WIDGET_TAG = 'knock-widget' as const;

export type FrameToWidget =
  /** Monitor frame: the company's name and whether an operator is online (the button's text). */
  | { tag: typeof WIDGET_TAG; type: 'status'; name: string; online: boolean }
  /** Monitor frame: an operator invites the visitor ("Can we help?"). */
  | { tag: typeof WIDGET_TAG; type: 'invited'; text: string }
  /** Monitor frame: the visitor's chat waits in the company's queue at this place (1 = next); null: not waiting. */
  | { tag: typeof WIDGET_TAG; type: 'queue'; position: number | null }
  /**
   * Chat frame: the visitor's conversation (after a knock, or resumed): the widget passes it to the monitor frame, and
   * keeps its token for the visit (the chat frame's next page resumes it from `#resume=`).
   */
  | { tag: typeof WIDGET_TAG; type: 'chat.conversation'; conversationId: string; token: string }
  /** Chat frame: the visitor closed the chat panel. */
  | { tag: typeof WIDGET_TAG; type: 'chat.close' };

export type WidgetToFrame =
  /** To the monitor frame: the page the visitor is on (sent once per page load, and again if the title changes). */
  | { tag: typeof WIDGET_TAG; type: 'page'; url: string; title: string; referrer: string }
  /** To the monitor frame: the visitor's answer to an invitation. */
  | { tag: typeof WIDGET_TAG; type: 'invite.answer'; accepted: boolean }
  /** To the monitor frame: the conversation the chat frame reported. */
  | { tag: typeof WIDGET_TAG; type: 'chatting'; conversationId: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const str = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;

export function isFrameToWidget(data: unknown): data is FrameToWidget {
  if (!isObject(data) || data.tag !== WIDGET_TAG) return false;
  switch (data.type) {
    case 'status':
      return str(data.name, 200) && typeof data.online === 'boolean';
    case 'invited':
      return str(data.text, 200);
    case 'queue':
      return data.position === null || (Number.isSafeInteger(data.position) && (data.position as number) > 0);
    case 'chat.conversation':
      return str(data.conversationId, 64) && str(data.token, 128);
    case 'chat.close':
      return true;
    default:
      return false;
  }
}

export function isWidgetToFrame(data: unknown): data is WidgetToFrame {
  if (!isObject(data) || data.tag !== WIDGET_TAG) return false;
  switch (data.type) {
    case 'page':
      return str(data.url, 2048) && str(data.title, 300) && str(data.referrer, 2048);
    case 'invite.answer':
      return typeof data.accepted === 'boolean';
    case 'chatting':
      return str(data.conversationId, 64);
    default:
      return false;
  }
}
