/**
 * Where a message is written: Enter sends, Shift+Enter starts a new line. Files come from "Attach files", a drop on
 * the conversation (FileDropArea) or a pasted image; each shows as a chip with its upload's progress, or why it failed
 * with Retry and Remove. A message with files goes once all of them are up: Send while they upload asks for it, and
 * the composer sends by itself when the last one is stored.
 */
import type { ComponentChildren, TargetedInputEvent, TargetedKeyboardEvent } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import type { Signal } from '@preact/signals';
import { limits, type FileRef } from '../../../engine/protocol.ts';
import type { Attachments } from '../sdk/attachments.ts';
import { useSnapshot } from '../useSession.ts';
import { AttachmentChips } from './AttachmentChips.tsx';

/** Show the length once a message gets this close to the limit. */
const COUNTER_FROM = 0.9;

export interface ComposerProps {
  draft: Signal<string>;
  /** The text and the uploaded files (none for text alone). */
  onSend: (body: string, files: FileRef[]) => void;
  onTyping: (active: boolean) => void;
  disabled?: boolean;
  placeholder?: string;
  /** The message's files; without, the composer writes text only. */
  attachments?: Attachments;
  /** Extra fields above the message box (the visitor's name). */
  children?: ComponentChildren;
  /** What Tab makes of the draft (a company console's canned responses, sdk/canned.ts); absent: Tab moves on. */
  expander?: DraftExpander | null;
}

/** Turns a draft into another: `/hello` into the company's response for it (Enter too when `exact`). */
export interface DraftExpander {
  match(draft: string): { name: string; text: string; exact: boolean } | null;
}

export function Composer({ draft, onSend, onTyping, disabled = false, placeholder, attachments, children, expander }: ComposerProps) {
  const id = useId();
  const textarea = useRef<HTMLTextAreaElement>(null);
  const picker = useRef<HTMLInputElement>(null);
  const files = useSnapshot(attachments ?? null).value;
  const fileCount = files?.items.length ?? 0;
  const length = draft.value.length;
  const tooLong = length > limits.bodyChars;
  const waiting = files?.sendRequested === true;
  const expansion = expander?.match(draft.value) ?? null;
  // A file the server refused holds the message back until it is retried or removed (its chip says why).
  const canSend = !disabled && !tooLong && !waiting && files?.failed !== true && (draft.value.trim() !== '' || fileCount > 0);

  const deliver = () => {
    onSend(draft.value, attachments?.take() ?? []);
    draft.value = '';
    onTyping(false);
  };

  const send = () => {
    // The server refuses these too; refusing here keeps the text in the box, where it can be shortened.
    if (!canSend) return;
    if (attachments !== undefined && fileCount > 0 && files?.ready !== true) attachments.requestSend();
    else deliver();
    // Clicking Send moved the focus to the button; give it back so the next message can be typed at once.
    textarea.current?.focus();
  };

  // Send was pressed while files uploaded: the message goes as the last one is stored (a visitor's first message
  // waits for the knock to give its files a conversation: VisitorPage).
  useEffect(() => {
    if (attachments === undefined || disabled) return;
    // The files as they are now, not as this render saw them: sending re-renders, and may run this again at once.
    const now = attachments.snapshot();
    if (!now.sendRequested || !now.ready || !now.hasTarget) return;
    if (draft.value.trim() === '' && now.items.length === 0) attachments.cancelSend(); // everything was removed
    else deliver();
  }, [files, disabled]);

  const onKeyDown = (event: TargetedKeyboardEvent<HTMLTextAreaElement>) => {
    // Tab with a hint showing inserts it (Shift+Tab still leaves the box); Enter does for a whole shortcut.
    if (expansion !== null && !event.shiftKey && (event.key === 'Tab' || (event.key === 'Enter' && expansion.exact && !event.isComposing))) {
      event.preventDefault();
      draft.value = expansion.text;
      return;
    }
    // isComposing: Enter that confirms an IME composition (Japanese, Chinese...) must not send.
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  };

  const onInput = (event: TargetedInputEvent<HTMLTextAreaElement>) => {
    draft.value = event.currentTarget.value;
    onTyping(draft.value.trim() !== '');
  };

  const onPaste = (event: ClipboardEvent) => {
    // A pasted image (a screenshot) arrives as a file; text pastes as usual.
    const pasted = [...(event.clipboardData?.files ?? [])];
    if (attachments === undefined || pasted.length === 0) return;
    event.preventDefault();
    attachments.add(pasted);
  };

  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      {children}
      {attachments !== undefined && files !== null && <AttachmentChips attachments={attachments} snapshot={files} />}
      <div class="composer-row">
        {attachments !== undefined && (
          <>
            <button type="button" class="button attach" disabled={disabled} onClick={() => picker.current?.click()}>
              <PaperclipIcon />
              <span class="visually-hidden">Attach files</span>
            </button>
            <input
              ref={picker}
              type="file"
              multiple
              hidden
              tabIndex={-1}
              aria-hidden="true"
              onChange={(event) => {
                const input = event.currentTarget;
                attachments.add([...(input.files ?? [])]);
                input.value = ''; // the same file chosen again is a change too
              }}
            />
          </>
        )}
        <label for={id} class="visually-hidden">
          Message
        </label>
        <textarea
          id={id}
          ref={textarea}
          name="message"
          rows={1}
          placeholder={placeholder ?? 'Write a message…'}
          value={draft.value}
          onInput={onInput}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
          onBlur={() => onTyping(false)}
          aria-describedby={expansion === null ? undefined : `${id}x`}
        />
        <button type="submit" class="button button--primary send" disabled={!canSend}>
          Send
        </button>
      </div>
      {expansion !== null && (
        <p id={`${id}x`} class="composer-limit">
          Tab: insert canned response “{expansion.name}”
        </p>
      )}
      {length >= limits.bodyChars * COUNTER_FROM && (
        <p class={tooLong ? 'composer-limit composer-limit--over' : 'composer-limit'} aria-live="polite">
          {tooLong
            ? `Too long to send: ${length.toLocaleString()} of at most ${limits.bodyChars.toLocaleString()} characters.`
            : `${length.toLocaleString()} of ${limits.bodyChars.toLocaleString()} characters.`}
        </p>
      )}
    </form>
  );
}

/** A paperclip (Feather icons, MIT), drawn in the text colour: an emoji may be missing from the system's fonts. */
function PaperclipIcon() {
  return (
    <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
      <path
        d="M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48"
        fill="none"
        stroke="currentColor"
        stroke-width="2"
        stroke-linecap="round"
        stroke-linejoin="round"
      />
    </svg>
  );
}
