/**
 * One item of the message list, chosen by what the message is (`message.event.kind`): a bubble with sender, text, time
 * and, for my own messages, how far it got (or how its mailing stands); files below their text; a call record; a
 * document's card; a game's step; an email that came in; or a note of the server's, apart from the bubbles.
 */
import { fileMessageBody, type FileRef } from '../../../engine/protocol.ts';
import type { MessageView } from '../sdk/types.ts';
import { MessageText } from './MessageText.tsx';
import { DocCard } from './DocCard.tsx';
import { EmailMessage } from './EmailMessage.tsx';
import { MessageFiles } from './MessageFiles.tsx';
import { MessageMeta, MessageTime } from './MessageMeta.tsx';

export interface MessageItemProps {
  message: MessageView;
  continued: boolean;
  /** The conversation shown (an email's HTML part is fetched from it); absent before there is one. */
  conversationId?: string | undefined;
  /** An email conversation: what the owner writes is mailed, and their messages say how that stands. */
  mailed?: boolean | undefined;
}

export function MessageItem({ message, continued, conversationId, mailed = false }: MessageItemProps) {
  const event = message.event;
  switch (event.kind) {
    case 'text':
      return <Bubble message={message} continued={continued} mailed={mailed} />;
    case 'call':
      // "Call, 12 min", "Missed call": the server's words, in the caller's bubble.
      return <Bubble message={message} continued={continued} mailed={mailed} variant="message--call" />;
    case 'file':
      return <Bubble message={message} continued={continued} mailed={mailed} files={event.files} />;
    case 'doc':
      return <DocCard message={message} docId={event.docId} />;
    case 'game.invite':
    case 'game.answer':
    case 'game.result':
      return <Bubble message={message} continued={continued} mailed={mailed} variant="message--game" />;
    case 'email':
      return <EmailMessage message={message} email={event} conversationId={conversationId} mailed={mailed} />;
    case 'sms':
      // A text by SMS reads as any message; a pass-on to the owner's phone that failed says so under it (MessageMeta).
      return <Bubble message={message} continued={continued} mailed={mailed} />;
    case 'system':
      return <SystemNote message={message} />;
    default:
      return unknownEvent(event, message);
  }
}

/**
 * A kind added to the protocol and not shown here is a compile error (`event` is not `never`). Should one reach a
 * browser anyway (data newer than this build), its body, the plain text every event has, is shown as a note.
 */
function unknownEvent(_event: never, message: MessageView) {
  return <SystemNote message={message} />;
}

function Bubble({ message, continued, mailed, variant, files }: { message: MessageView; continued: boolean; mailed: boolean; variant?: string; files?: FileRef[] }) {
  const side = message.mine ? 'message--mine' : 'message--theirs';
  // The name stays in the text for screen readers and tests, but is shown only at the start of a run of messages
  // from the same person, and never on my own bubbles (their side says it).
  const nameHidden = message.mine || continued;
  return (
    <li class={`message ${side}${continued ? ' message--continued' : ''}${variant === undefined ? '' : ` ${variant}`}`}>
      <span class={nameHidden ? 'message-sender visually-hidden' : 'message-sender'}>{message.senderName}</span>
      {/* A message of files alone has no text to show (its body only names the files): no bubble above them. */}
      {(files === undefined || (message.body.trim() !== '' && message.body !== fileMessageBody(files))) && (
        <div class={message.status === 'failed' ? 'bubble bubble--failed' : 'bubble'}>
          <p class="message-body">
            <MessageText text={message.body} />
          </p>
        </div>
      )}
      {files !== undefined && <MessageFiles files={files} />}
      <MessageMeta message={message} mailed={mailed} />
    </li>
  );
}

/**
 * A note of the server's about the conversation: centred between the bubbles, with no sender. Screen readers meet
 * it as an item of the message list that starts "Note", where a message starts with its sender's name.
 */
function SystemNote({ message }: { message: MessageView }) {
  return (
    <li class="message message--system">
      <span class="visually-hidden">Note:</span>
      <p class="system-note">
        <MessageText text={message.body} />
      </p>
      <div class="message-meta">
        <MessageTime at={message.at} />
      </div>
    </li>
  );
}
