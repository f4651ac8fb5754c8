/** A shared document's card in the conversation (a `doc` event, whose body is the title): opens the editor. */
import type { MessageView } from '../sdk/types.ts';
import { clockTime, fullDate, isoDate } from '../timeFormat.ts';
import { docHash } from './docLocation.ts';

export function DocCard({ message, docId }: { message: MessageView; docId: string }) {
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
