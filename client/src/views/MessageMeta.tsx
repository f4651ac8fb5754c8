/** Under a message: its time and, for my own messages, how far it got (statusLine.ts says it in words). */
import type { MessageView } from '../sdk/types.ts';
import { statusLine } from '../statusLine.ts';
import { clockTime, fullDate, isoDate } from '../timeFormat.ts';

export function MessageMeta({ message, mailed }: { message: MessageView; mailed: boolean }) {
  return (
    <div class="message-meta">
      <MessageTime at={message.at} />
      {message.mine && <MessageStatus message={message} mailed={mailed} />}
      {/* A text to the owner's number that did not reach their phone (issue 20): it is here instead. */}
      {!message.mine && message.delivery?.purpose === 'passOn' && message.delivery.state === 'failed' && (
        <span class="delivery delivery--failed" title={message.delivery.reason ?? undefined}>
          Not delivered to your phone, shown here
        </span>
      )}
    </div>
  );
}

export function MessageTime({ at }: { at: number }) {
  return (
    <time dateTime={isoDate(at)} title={fullDate(at)}>
      {clockTime(at)}
    </time>
  );
}

const TONE_CLASS = {
  pending: 'delivery delivery--pending',
  done: 'delivery',
  read: 'delivery delivery--read',
  retrying: 'delivery delivery--retrying',
  failed: 'delivery delivery--failed',
} as const;

function MessageStatus({ message, mailed }: { message: MessageView; mailed: boolean }) {
  const line = statusLine(message, mailed);
  return (
    <span class={TONE_CLASS[line.tone]} title={line.title}>
      {(line.tone === 'failed' || line.tone === 'retrying') && <span aria-hidden="true">⚠ </span>}
      {line.text}
    </span>
  );
}
