/** The owner's conversations, newest activity first (the SDK keeps the order). */
import { useId } from 'preact/hooks';
import { limits, type ConversationSummary } from '../../../engine/protocol.ts';
import { fullDate, isoDate, relativeTime } from '../timeFormat.ts';
import { Avatar } from './Avatar.tsx';

/** The server counts unread messages up to `limits.unreadCap`; at the cap there are that many or more. */
export function unreadBadge(unread: number): string {
  return unread >= limits.unreadCap ? `${limits.unreadCap - 1}+` : String(unread);
}

export function visitorLabel(summary: ConversationSummary): string {
  return summary.visitorName.trim() === '' ? 'Visitor' : summary.visitorName;
}

export function ConversationList({
  conversations,
  selectedId,
  now,
  onSelect,
}: {
  conversations: readonly ConversationSummary[];
  selectedId: string | null;
  now: number;
  onSelect: (id: string) => void;
}) {
  return (
    <ul class="conversations" aria-label="Conversations">
      {conversations.map((c) => (
        <ConversationItem key={c.id} summary={c} selected={c.id === selectedId} now={now} onSelect={onSelect} />
      ))}
    </ul>
  );
}

function ConversationItem({
  summary,
  selected,
  now,
  onSelect,
}: {
  summary: ConversationSummary;
  selected: boolean;
  now: number;
  onSelect: (id: string) => void;
}) {
  const previewId = useId();
  const label = visitorLabel(summary);
  const last = summary.lastMessage;
  const preview = last === null ? 'No messages yet' : `${last.senderRole === 'owner' ? 'You: ' : ''}${last.body}`;
  const at = last?.at ?? summary.updatedAt;
  const classes = ['conversation', selected ? 'conversation--selected' : '', summary.unread > 0 ? 'conversation--unread' : '']
    .filter(Boolean)
    .join(' ');
  return (
    <li>
      {/* The name alone labels the button (the preview describes it), so a preview saying "Send" or "Back" never
          makes another button's name ambiguous. */}
      <button
        type="button"
        class={classes}
        aria-current={selected ? 'true' : undefined}
        aria-label={summary.unread > 0 ? `${label}, ${unreadBadge(summary.unread)} unread` : label}
        aria-describedby={previewId}
        onClick={() => onSelect(summary.id)}
      >
        <Avatar name={label} />
        <span class="conversation-main">
          <span class="conversation-top">
            <span class="conversation-name">{label}</span>
            <time class="conversation-time" dateTime={isoDate(at)} title={fullDate(at)}>
              {relativeTime(at, now)}
            </time>
          </span>
          <span class="conversation-bottom">
            <span class="conversation-preview" id={previewId}>
              {preview}
            </span>
            {summary.unread > 0 && (
              <span class="badge">
                {unreadBadge(summary.unread)}
                <span class="visually-hidden"> unread</span>
              </span>
            )}
          </span>
        </span>
      </button>
    </li>
  );
}
