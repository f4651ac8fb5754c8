/** One message: sender, text, time and, for my own messages, how far it got. */
import type { MessageView } from '../sdk/types.ts';
import { clockTime, fullDate, isoDate } from '../timeFormat.ts';
import { MessageText } from './MessageText.tsx';
import { DocCard, isDocCard } from './DocCard.tsx';

export function MessageItem({ message, continued }: { message: MessageView; continued: boolean }) {
  if (isDocCard(message)) return <DocCard message={message} />;
  const side = message.mine ? 'message--mine' : 'message--theirs';
  // The name stays in the text for screen readers and tests, but is shown only at the start of a run of messages
  // from the same person, and never on my own bubbles (their side says it).
  const nameHidden = message.mine || continued;
  return (
    <li class={`message ${side}${continued ? ' message--continued' : ''}`}>
      <span class={nameHidden ? 'message-sender visually-hidden' : 'message-sender'}>{message.senderName}</span>
      <div class={message.status === 'failed' ? 'bubble bubble--failed' : 'bubble'}>
        <p class="message-body">
          <MessageText text={message.body} />
        </p>
      </div>
      <div class="message-meta">
        <time dateTime={isoDate(message.at)} title={fullDate(message.at)}>
          {clockTime(message.at)}
        </time>
        {message.mine && <DeliveryState message={message} />}
      </div>
    </li>
  );
}

function DeliveryState({ message }: { message: MessageView }) {
  switch (message.status) {
    case 'pending':
      return <span class="delivery delivery--pending">Sending…</span>;
    case 'sent':
      return <span class="delivery">Sent</span>;
    case 'delivered':
      return <span class="delivery">Delivered</span>;
    case 'read':
      return <span class="delivery delivery--read">Read</span>;
    case 'failed':
      return (
        <span class="delivery delivery--failed">
          <span aria-hidden="true">⚠ </span>
          Not sent: {message.error ?? 'the server refused this message.'}
        </span>
      );
  }
}
