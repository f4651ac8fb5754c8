/** A shared document's card in the conversation (a message `doc:<id>` whose body is the title): opens the editor. */
const DOC_CARD_PREFIX = 'doc:';
import type { MessageView } from '../sdk/types.ts';
import { clockTime, fullDate, isoDate } from '../timeFormat.ts';
import { docHash } from './docLocation.ts';

export function isDocCard(message: MessageView): boolean {
  return message.key.startsWith(DOC_CARD_PREFIX);
}

export function DocCard({ message }: { message: MessageView }) {
  const docId = message.key.slice(DOC_CARD_PREFIX.length);
  return (
    <li class={`message ${message.mine ? 'message--mine' : 'message--theirs'} message--doc`}>
      <article class="doc-card" aria-label={`Document: ${message.body}`}>
        <span class="doc-card-icon" aria-hidden="true">
          📄
        </span>
        <div class="doc-card-text">
          <p class="doc-card-title">{message.body}</p>
          <p class="doc-card-meta">
            Shared document · {message.mine ? 'you' : message.senderName} ·{' '}
            <time dateTime={isoDate(message.at)} title={fullDate(message.at)}>
              {clockTime(message.at)}
            </time>
          </p>
        </div>
        <a class="button doc-card-open" href={docHash(docId)} aria-label={`Open ${message.body}`}>
          Open
        </a>
      </article>
    </li>
  );
}
