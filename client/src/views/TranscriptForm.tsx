/**
 * "Email transcript" on the visitor page (issue 19): an address (the one given with the knock, if any) and "Send
 * transcript"; then "Transcript sent to …". Loaded on demand with the live-help views (companyViews.ts), when the
 * visitor asks for it.
 */
import { useEffect, useId, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { emailSchema } from '../../../engine/protocol.ts';
import { errorText } from '../errorText.ts';
import { emailTranscript } from '../sdk/transcript.ts';

export function TranscriptForm({ conversationId, token, email }: { conversationId: string; token: string; email: string }) {
  const inputId = useId();
  const errorId = useId();
  const input = useRef<HTMLInputElement>(null);
  const typed = useSignal(email);
  const error = useSignal<string | null>(null);
  const sent = useSignal<string | null>(null);
  const busy = useSignal(false);

  // Opened by a button press: the address is what to fill in next.
  useEffect(() => input.current?.focus(), []);

  const send = async () => {
    const checked = emailSchema.safeParse(typed.value);
    if (!checked.success) {
      error.value = checked.error.issues[0]?.message ?? 'This does not look like an email address.';
      return;
    }
    error.value = null;
    sent.value = null;
    busy.value = true;
    try {
      sent.value = (await emailTranscript(conversationId, token, checked.data)).email;
    } catch (err) {
      error.value = errorText(err);
    } finally {
      busy.value = false;
    }
  };

  return (
    <form
      class="transcript-form"
      onSubmit={(event) => {
        event.preventDefault();
        void send();
      }}
    >
      <div class="field">
        <label for={inputId}>Email</label>
        <div class="settings-row">
          <input
            ref={input}
            id={inputId}
            type="email"
            autoComplete="email"
            value={typed.value}
            aria-invalid={error.value !== null}
            aria-describedby={error.value === null ? undefined : errorId}
            onInput={(e) => (typed.value = e.currentTarget.value)}
          />
          <button type="submit" class="button" disabled={busy.value}>
            Send transcript
          </button>
        </div>
      </div>
      {error.value !== null && (
        <p role="alert" id={errorId} class="error">
          {error.value}
        </p>
      )}
      <p class="settings-notice" role="status">
        {sent.value === null ? '' : `Transcript sent to ${sent.value}.`}
      </p>
    </form>
  );
}
