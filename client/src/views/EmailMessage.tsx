/**
 * An email that came in (an `email` event), as a card in the message list: its subject, who sent it and to whom, a
 * badge saying how far its sender was verified (the checks behind it in a disclosure), its text part as text (never
 * its HTML), its attachments as files, and, when it has an HTML part, "Show formatted": that part, sanitized by the
 * server, in a frame sandboxed with no permission at all (no scripts, not even its own origin). The server's policy
 * for that page blocks remote images (they tell the sender the mail was opened) until "Show images" asks for them.
 */
import { useId, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import type { EmailAuth, EmailEvent } from '../../../engine/protocol.ts';
import { emailHtmlPath } from '../sdk/api.ts';
import type { MessageView } from '../sdk/types.ts';
import { addressLine, senderCheck, senderName, subjectText } from '../emailText.ts';
import { MessageFiles } from './MessageFiles.tsx';
import { MessageMeta } from './MessageMeta.tsx';
import { MessageText } from './MessageText.tsx';

export function EmailMessage({
  message,
  email,
  conversationId,
  mailed,
}: {
  message: MessageView;
  email: EmailEvent;
  /** Where its HTML part is fetched from; without it (no conversation yet) only the text is offered. */
  conversationId: string | undefined;
  mailed: boolean;
}) {
  const subjectId = useId();
  const formatted = useSignal(false);
  const images = useSignal(false);
  const imagesButton = useRef<HTMLButtonElement>(null);
  const side = message.mine ? 'message--mine' : 'message--theirs';
  const seq = message.seq;
  const hasHtml = email.html && conversationId !== undefined && seq !== null;
  const showingHtml = formatted.value && hasHtml;
  return (
    <li class={`message ${side} message--email`}>
      <span class="message-sender visually-hidden">{message.senderName}</span>
      <article class="email" aria-labelledby={subjectId}>
        <header class="email-head">
          <h3 class="email-subject" id={subjectId}>
            {subjectText(email.subject)}
          </h3>
          <SenderBadge auth={email.auth} />
          <p class="email-address">
            <span class="email-address-label">From:</span> {addressLine(email.from)}
          </p>
          {email.to.length > 0 && (
            <p class="email-address">
              <span class="email-address-label">To:</span> {email.to.map(addressLine).join(', ')}
            </p>
          )}
        </header>
        {/* Toggles that keep their names (their state is aria-pressed): "Show formatted" again goes back to the text. */}
        {hasHtml && (
          <div class="email-view">
            <button type="button" class="button button--small" aria-pressed={formatted.value} onClick={() => (formatted.value = !formatted.value)}>
              Show formatted
            </button>
            {showingHtml && (
              <button
                ref={imagesButton}
                type="button"
                class="button button--small"
                aria-pressed={images.value}
                onClick={() => (images.value = !images.value)}
              >
                Show images
              </button>
            )}
          </div>
        )}
        {showingHtml ? (
          <FormattedEmail src={emailHtmlPath(conversationId, seq, images.value)} title={`Email from ${senderName(email.from)}`} before={imagesButton} />
        ) : (
          message.body.trim() !== '' && (
            <p class="message-body email-text">
              <MessageText text={message.body} />
            </p>
          )
        )}
        {email.files.length > 0 && <MessageFiles files={email.files} />}
      </article>
      <MessageMeta message={message} mailed={mailed} />
    </li>
  );
}

/** "Verified sender", "Unverified sender" or "Suspicious"; open it for what that means and the checks behind it. */
function SenderBadge({ auth }: { auth: EmailAuth }) {
  const check = senderCheck(auth);
  return (
    <details class={`email-check email-check--${check.tone}`}>
      <summary title={check.summary}>{check.label}</summary>
      <div class="email-check-details">
        <p>{check.meaning}</p>
        <dl>
          {check.checks.map((c) => (
            <div key={c.name}>
              <dt>{c.name}</dt>
              <dd>{c.result}</dd>
            </div>
          ))}
        </dl>
      </div>
    </details>
  );
}

/**
 * The HTML part in a frame. `sandbox=""` grants nothing: no scripts, no forms, no popups, an opaque origin (so it
 * cannot read Knock's cookies or pages). Its width is the card's, whatever the mail's HTML asks for; it scrolls inside
 * itself.
 *
 * Chromium runs such a frame in a process of its own, and Tab skips a frame of another process that holds nothing
 * focusable (a mail without links): the box around it is the tab stop, and hands the focus into the frame, where the
 * arrow keys scroll. Coming back out of the frame with Shift+Tab, the box hands the focus on to the control before it
 * (`before`), or Shift+Tab would lead straight back in.
 */
function FormattedEmail({ src, title, before }: { src: string; title: string; before: { current: HTMLElement | null } }) {
  const frame = useRef<HTMLIFrameElement>(null);
  const onFocus = (event: FocusEvent) => {
    if (event.relatedTarget !== null && event.relatedTarget === frame.current) before.current?.focus();
    else frame.current?.focus();
  };
  return (
    <div class="email-frame-box" tabIndex={0} onFocus={onFocus}>
      <iframe ref={frame} class="email-frame" sandbox="" src={src} title={title} referrerpolicy="no-referrer" />
    </div>
  );
}
