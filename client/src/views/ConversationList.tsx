/**
 * The owner's conversations, newest activity first (the SDK keeps the order). Up and Down arrows move from one to the
 * next (Home and End to the ends), Enter opens the one in focus.
 */
import type { TargetedKeyboardEvent } from 'preact';
import { useId } from 'preact/hooks';
import { limits, type ConversationSummary } from '../../../engine/protocol.ts';
import { subjectText } from '../emailText.ts';
import { fullDate, isoDate, relativeTime } from '../timeFormat.ts';
import { Avatar } from './Avatar.tsx';

/** The server counts unread messages up to `limits.unreadCap`; at the cap there are that many or more. */
export function unreadBadge(unread: number): string {
  return unread >= limits.unreadCap ? `${limits.unreadCap - 1}+` : String(unread);
}

/**
 * Who the conversation is with: the visitor's name; for an email thread without one, the correspondent's address; for
 * an SMS conversation the phone's number.
 */
export function visitorLabel(summary: ConversationSummary): string {
  // A phone by SMS: its owner reads the whole number (everyone else its masked name).
  if (summary.sms) return summary.sms.shown;
  if (summary.visitorName.trim() !== '') return summary.visitorName;
  const address = summary.visitorEmail?.trim() ?? '';
  return summary.kind === 'email' && address !== '' ? address : 'Visitor';
}

/** An email thread's subject as the list and the pane show it; null for a chat. */
export function emailSubject(summary: ConversationSummary): string | null {
  return summary.kind === 'email' ? subjectText(summary.subject) : null;
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
    <ul class="conversations" aria-label="Conversations" onKeyDown={moveFocus}>
      {conversations.map((c) => (
        <ConversationItem key={c.id} summary={c} selected={c.id === selectedId} now={now} onSelect={onSelect} />
      ))}
    </ul>
  );
}

/** The conversations' buttons in list order. */
function entriesOf(list: Element): HTMLButtonElement[] {
  return [...list.querySelectorAll<HTMLButtonElement>('button.conversation-open')];
}

/** Focuses the first conversation of the list inside `container`; false when there is none. */
export function focusFirstConversation(container: Element | null): boolean {
  const first = container?.querySelector<HTMLButtonElement>('ul.conversations button.conversation-open');
  first?.focus();
  return first != null;
}

/** Focuses the conversation `id` inside `container`; false when it is not listed. */
export function focusConversation(container: Element | null, id: string): boolean {
  const entry = [...(container?.querySelectorAll<HTMLButtonElement>('button.conversation-open') ?? [])].find((b) => b.dataset.conversation === id);
  entry?.focus();
  return entry !== undefined;
}

function moveFocus(event: TargetedKeyboardEvent<HTMLUListElement>): void {
  const entries = entriesOf(event.currentTarget);
  const at = entries.findIndex((b) => b === document.activeElement);
  if (at < 0) return;
  const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: entries.length - 1 }[event.key];
  if (to === undefined) return;
  event.preventDefault();
  entries[Math.max(0, Math.min(entries.length - 1, to))]?.focus();
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
  const timeId = useId();
  const label = visitorLabel(summary);
  const subject = emailSubject(summary);
  const named = subject === null ? label : `${label}, ${subject}`;
  // Marked unread by the owner: shown with at least one unread, whatever the count says.
  const unread = Math.max(summary.unread, summary.markedUnread === true ? 1 : 0);
  const last = summary.lastMessage;
  const preview = last === null ? 'No messages yet' : `${last.senderRole === 'owner' ? 'You: ' : ''}${last.body}`;
  const at = last?.at ?? summary.updatedAt;
  const classes = ['conversation', selected ? 'conversation--selected' : '', unread > 0 ? 'conversation--unread' : '']
    .filter(Boolean)
    .join(' ');
  /*
   * The button holds only the name (and an email thread's subject), the text that labels it, and is stretched over
   * the whole entry (styles.css), so the row is clicked as one. Its accessible name is that text and the unread count;
   * the preview and the time describe it. Were they inside the button, its visible text would not be its name (WCAG
   * 2.5.3, label in name: one who says "click Bob" must reach it), and a preview saying "Send" or "Back" would make
   * another button's name ambiguous. What the name and description already say is hidden from the accessibility
   * tree, not said twice.
   */
  return (
    <li class={classes}>
      <Avatar name={label} />
      <span class="conversation-main">
        <span class="conversation-top">
          <button
            type="button"
            class="conversation-open"
            data-conversation={summary.id}
            aria-current={selected ? 'true' : undefined}
            aria-label={unread > 0 ? `${named}, ${unreadBadge(unread)} unread` : named}
            aria-describedby={`${previewId} ${timeId}`}
            onClick={() => onSelect(summary.id)}
          >
            {subject === null ? (
              label
            ) : (
              <>
                {/* The space keeps the two words apart in the button's text, so that text is in its name (label in name). */}
                <span class="conversation-name">{label}</span>{' '}
                <span class="conversation-subject">{subject}</span>
              </>
            )}
          </button>
          <time class="conversation-time" id={timeId} aria-hidden="true" dateTime={isoDate(at)} title={fullDate(at)}>
            {relativeTime(at, now)}
          </time>
        </span>
        <span class="conversation-bottom" aria-hidden="true">
          <span class="conversation-preview" id={previewId}>
            {summary.suspicious === true && <span class="conversation-tag conversation-tag--suspicious">Suspicious · </span>}
            {summary.archived === true && <span class="conversation-tag">Archived · </span>}
            {summary.sms && <span class="conversation-tag">SMS · </span>}
            {preview}
          </span>
          {unread > 0 && <span class="badge">{unreadBadge(unread)}</span>}
        </span>
      </span>
    </li>
  );
}
