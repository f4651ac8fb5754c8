/**
 * The scrolling list of messages. Keeps the reader where they are: sticks to the bottom when they were already there
 * (or just sent something), loads older messages when they reach the top and keeps the view still while those appear.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import type { MessageView } from '../sdk/types.ts';
import { MessageItem } from './MessageItem.tsx';

/** How close to an edge (px) counts as "at" it. */
const NEAR_BOTTOM_PX = 120;
const NEAR_TOP_PX = 80;

export interface MessageListProps {
  messages: readonly MessageView[];
  hasOlder: boolean;
  loadingOlder: boolean;
  onLoadOlder: () => Promise<void>;
  /** Shown when there are no messages. */
  emptyHint?: ComponentChildren;
  /** Shown below the last message (the resume link). */
  footer?: ComponentChildren;
  /** The conversation shown (emails' HTML parts are fetched from it); absent before there is one. */
  conversationId?: string;
  /** An email conversation: the owner's messages say how their mailing stands. */
  mailed?: boolean;
}

export function MessageList({ messages, hasOlder, loadingOlder, onLoadOlder, emptyHint, footer, conversationId, mailed }: MessageListProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const nearBottom = useRef(true);
  /** Distance from the bottom before older messages were requested; restored once they arrived. */
  const anchorFromBottom = useRef<number | null>(null);
  const lastKey = useRef<string | undefined>(undefined);

  const requestOlder = () => {
    const el = scroller.current;
    if (el === null || !hasOlder || loadingOlder) return;
    anchorFromBottom.current = el.scrollHeight - el.scrollTop;
    onLoadOlder().catch((err: unknown) => console.error('Loading older messages failed:', err));
  };

  const onScroll = () => {
    const el = scroller.current;
    if (el === null) return;
    nearBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
    if (el.scrollTop < NEAR_TOP_PX) requestOlder();
  };

  useLayoutEffect(() => {
    const el = scroller.current;
    if (el === null) return;
    const last = messages.at(-1);
    if (anchorFromBottom.current !== null && !loadingOlder) {
      el.scrollTop = el.scrollHeight - anchorFromBottom.current;
      anchorFromBottom.current = null;
    } else if (last?.key !== lastKey.current && (nearBottom.current || last?.mine === true)) {
      el.scrollTop = el.scrollHeight;
      nearBottom.current = true;
    }
    lastKey.current = last?.key;
  }, [messages, loadingOlder]);

  // The keyboard opening on a phone, or the composer growing, shrinks the list: stay at the bottom if we were.
  useEffect(() => {
    const el = scroller.current;
    if (el === null || typeof ResizeObserver === 'undefined') return undefined;
    const observer = new ResizeObserver(() => {
      if (nearBottom.current) el.scrollTop = el.scrollHeight;
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  return (
    <div class="message-scroller" ref={scroller} onScroll={onScroll}>
      <div class="older">
        {loadingOlder ? (
          <p class="muted">Loading earlier messages…</p>
        ) : hasOlder ? (
          <button type="button" class="button button--small button--quiet" onClick={requestOlder}>
            Show earlier messages
          </button>
        ) : null}
      </div>
      {messages.length === 0 && emptyHint !== undefined ? <div class="empty-hint">{emptyHint}</div> : null}
      <ol class="messages" aria-label="Messages">
        {messages.map((message, i) => (
          <MessageItem
            key={message.key}
            message={message}
            continued={continuesRun(messages[i - 1], message)}
            conversationId={conversationId}
            mailed={mailed}
          />
        ))}
      </ol>
      {footer}
    </div>
  );
}

/** Same sender as the previous message, within 5 minutes, no note or email between: no need to repeat the name. */
function continuesRun(previous: MessageView | undefined, message: MessageView): boolean {
  // A note of the server's, or an email's card, stands apart from the bubbles: the message after it names its sender again.
  if (previous === undefined || previous.event.kind === 'system' || previous.event.kind === 'email') return false;
  const sameSender = previous.mine === message.mine && previous.senderName === message.senderName;
  return sameSender && message.at - previous.at < 5 * 60_000;
}
