/**
 * A question that must be answered before something that cannot be undone: a modal <dialog> (the browser keeps the
 * focus inside it, Escape cancels, and the focus goes back where it was when it closes), named by its title. With
 * `fields` (a password typed again), it is a form: Enter in a field confirms, as the confirm button does.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';

export function ConfirmDialog({
  title,
  confirmLabel,
  busy,
  error,
  onConfirm,
  onCancel,
  children,
  fields,
}: {
  title: string;
  confirmLabel: string;
  /** The action is under way: both buttons wait. */
  busy: boolean;
  /** Why the action failed; the dialog stays open to try again or cancel. */
  error: string | null;
  onConfirm: () => void;
  onCancel: () => void;
  /** What happens, in a sentence or two. */
  children: ComponentChildren;
  /** Inputs the action needs, below the text. */
  fields?: ComponentChildren;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const textId = useId();
  useEffect(() => {
    const el = dialog.current;
    if (el !== null && !el.open) el.showModal();
    return () => el?.close();
  }, []);
  return (
    <dialog
      ref={dialog}
      class="confirm"
      aria-labelledby={titleId}
      aria-describedby={textId}
      onCancel={(event) => {
        // Escape: cancel, unless the action is already on its way.
        event.preventDefault();
        if (!busy) onCancel();
      }}
    >
      <form
        class="confirm-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (!busy) onConfirm();
        }}
      >
        <h2 id={titleId} class="confirm-title">
          {title}
        </h2>
        <div id={textId} class="confirm-text">
          {children}
        </div>
        {fields}
        {error !== null && (
          <p role="alert" class="error error--inline">
            {error}
          </p>
        )}
        <div class="confirm-actions">
          <button type="button" class="button" disabled={busy} onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" class="button button--danger" disabled={busy}>
            {confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
