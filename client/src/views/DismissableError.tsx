/** An error a person can read and then dismiss (the × button). */
export function DismissableError({ message, onDismiss }: { message: string; onDismiss: () => void }) {
  return (
    <div class="error error--inline error--dismissable">
      <p role="alert">{message}</p>
      <button type="button" class="dismiss" aria-label="Dismiss" onClick={onDismiss}>
        ×
      </button>
    </div>
  );
}
