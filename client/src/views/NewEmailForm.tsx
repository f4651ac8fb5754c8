/**
 * "New email": To, Subject and the ordinary message box (with its files). Send creates the email conversation
 * (POST /_/api/emails) and hands its first message to the console, which opens the conversation and sends it there
 * like any other message; the server mails it. Files need the conversation to be uploaded into, so with files the
 * conversation is created first, the files go up, and the message follows once they are stored (as a visitor's first
 * message waits for the knock: VisitorPage). What went wrong (an address that is not one) is said next to the form,
 * and everything typed stays.
 */
import { useEffect, useId, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { limits, newEmailBody, type FileRef, type ProfileAnswer } from '../../../engine/protocol.ts';
import { api } from '../sdk/api.ts';
import { errorText } from '../errorText.ts';
import { useAttachments, useSnapshot } from '../useSession.ts';
import { Composer } from './Composer.tsx';
import { emailInputProps } from './emailInput.ts';
import { FileDropArea } from './FileDropArea.tsx';
import type { FirstMessage } from './OwnerConversationPane.tsx';
import { PaneHeader } from './PaneHeader.tsx';

type Field = 'to' | 'subject';

export function NewEmailForm({
  uploads,
  onBack,
  onCreated,
}: {
  uploads: ProfileAnswer['uploads'];
  onBack: () => void;
  /** The conversation exists and its first message is ready: open it and send the message there. */
  onCreated: (first: FirstMessage) => void;
}) {
  const toId = useId();
  const subjectId = useId();
  const errorId = useId();
  const to = useSignal('');
  const subject = useSignal('');
  const draft = useSignal('');
  const attachments = useAttachments(uploads, null);
  const creating = useSignal(false);
  const error = useSignal<{ message: string; field: Field | null } | null>(null);
  /** The conversation made for what is in To and Subject; made once, even when Send is pressed again. */
  const created = useRef<{ id: string; to: string; subject: string } | null>(null);
  const toInput = useRef<HTMLInputElement>(null);

  useEffect(() => toInput.current?.focus(), []);

  /** The conversation for the message: made now unless made already; null (and the reason shown) if it cannot be. */
  const conversation = async (): Promise<{ id: string; to: string } | null> => {
    if (created.current !== null) return created.current;
    const checked = newEmailBody.safeParse({ to: to.value, subject: subject.value });
    if (!checked.success) {
      const issue = checked.error.issues[0];
      const field = issue?.path[0] === 'subject' ? 'subject' : 'to';
      error.value = { message: issue?.message ?? 'This email cannot be sent.', field };
      return null;
    }
    creating.value = true;
    error.value = null;
    try {
      const id = await api.newEmail(checked.data.to, checked.data.subject);
      created.current = { id, ...checked.data };
      return created.current;
    } catch (err) {
      error.value = { message: errorText(err), field: null };
      return null;
    } finally {
      creating.value = false;
    }
  };

  // Send with files: the conversation first, for the files to be uploaded into; the composer sends once they are up.
  const files = useSnapshot(attachments).value;
  const filesWaitForConversation = files !== null && files.sendRequested && !files.hasTarget;
  useEffect(() => {
    if (!filesWaitForConversation || creating.value) return;
    void conversation().then((made) => {
      if (made === null) attachments.cancelSend();
      else attachments.setTarget({ conversationId: made.id });
    });
  }, [filesWaitForConversation]);

  const send = (body: string, taken: FileRef[]) => {
    void conversation().then((made) => {
      // The composer emptied the box as it handed the text over: give it back, nothing typed is lost.
      if (made === null) draft.value = draft.value === '' ? body : draft.value;
      else onCreated({ conversationId: made.id, body, files: taken, to: made.to });
    });
  };

  const invalid = (field: Field) => error.value?.field === field;
  // Enter in To or Subject moves on to the next field, rather than sending the email half written.
  const next = (event: KeyboardEvent & { currentTarget: HTMLInputElement }) => {
    if (event.key !== 'Enter' || event.isComposing) return;
    event.preventDefault();
    const fields = [...(event.currentTarget.form?.querySelectorAll<HTMLElement>('input[type="text"], textarea') ?? [])];
    fields[fields.indexOf(event.currentTarget) + 1]?.focus();
  };
  // Once the conversation exists (its files go up into it), To and Subject are what it was made with.
  const fixed = created.current !== null;
  return (
    <>
      <PaneHeader title="New email" onBack={onBack} />
      <FileDropArea attachments={attachments}>
        <div class="new-email">
          <Composer draft={draft} attachments={attachments} onSend={send} onTyping={() => {}} disabled={creating.value} placeholder="Write your email…">
            <div class="email-fields">
              <div class="field">
                <label for={toId}>To</label>
                <input
                  ref={toInput}
                  id={toId}
                  {...emailInputProps}
                  placeholder="name@example.com"
                  readOnly={fixed}
                  value={to.value}
                  aria-invalid={invalid('to')}
                  aria-describedby={invalid('to') ? errorId : undefined}
                  onInput={(e) => (to.value = e.currentTarget.value)}
                  onKeyDown={next}
                />
              </div>
              <div class="field">
                <label for={subjectId}>Subject</label>
                <input
                  id={subjectId}
                  type="text"
                  maxLength={limits.subjectChars}
                  readOnly={fixed}
                  value={subject.value}
                  aria-invalid={invalid('subject')}
                  aria-describedby={invalid('subject') ? errorId : undefined}
                  onInput={(e) => (subject.value = e.currentTarget.value)}
                  onKeyDown={next}
                />
              </div>
            </div>
            {error.value !== null && (
              <p role="alert" id={errorId} class="error">
                {error.value.message}
              </p>
            )}
            {creating.value && (
              <p class="muted email-creating" role="status">
                Creating the email…
              </p>
            )}
          </Composer>
        </div>
      </FileDropArea>
    </>
  );
}
