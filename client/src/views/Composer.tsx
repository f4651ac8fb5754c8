/** Where a message is written: Enter sends, Shift+Enter starts a new line. */
import type { ComponentChildren, TargetedInputEvent, TargetedKeyboardEvent } from 'preact';
import { useId, useRef } from 'preact/hooks';
import type { Signal } from '@preact/signals';
import { limits } from '../../../engine/protocol.ts';

/** Show the length once a message gets this close to the limit. */
const COUNTER_FROM = 0.9;

export interface ComposerProps {
  draft: Signal<string>;
  onSend: (body: string) => void;
  onTyping: (active: boolean) => void;
  disabled?: boolean;
  placeholder?: string;
  /** Extra fields above the message box (the visitor's name). */
  children?: ComponentChildren;
}

export function Composer({ draft, onSend, onTyping, disabled = false, placeholder, children }: ComposerProps) {
  const id = useId();
  const textarea = useRef<HTMLTextAreaElement>(null);
  const length = draft.value.length;
  const tooLong = length > limits.bodyChars;
  const canSend = !disabled && !tooLong && draft.value.trim() !== '';

  const send = () => {
    const body = draft.value;
    // The server refuses these too; refusing here keeps the text in the box, where it can be shortened.
    if (!canSend) return;
    onSend(body);
    draft.value = '';
    onTyping(false);
    // Clicking Send moved the focus to the button; give it back so the next message can be typed at once.
    textarea.current?.focus();
  };

  const onKeyDown = (event: TargetedKeyboardEvent<HTMLTextAreaElement>) => {
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

  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      {children}
      <div class="composer-row">
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
          onBlur={() => onTyping(false)}
        />
        <button type="submit" class="button button--primary send" disabled={!canSend}>
          Send
        </button>
      </div>
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
