/**
 * The fields Settings → Two-factor sign-in asks in several places: the password again (turning the app off, adding a
 * passkey), a code of the app or a recovery code (turning the app off, new recovery codes), and a form's buttons.
 */
import { useId } from 'preact/hooks';
import type { Signal } from '@preact/signals';

export function PasswordField({ value, autoFocus = false }: { value: Signal<string>; autoFocus?: boolean }) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>Password</label>
      <input id={id} type="password" autoComplete="current-password" required autoFocus={autoFocus} value={value.value} onInput={(e) => (value.value = e.currentTarget.value)} />
    </div>
  );
}

/** A code of the app, or a recovery code (so no pattern: a recovery code has letters). */
export function CodeField({ value }: { value: Signal<string> }) {
  const id = useId();
  const hintId = useId();
  return (
    <div class="field">
      <label for={id}>Authentication code</label>
      <input id={id} type="text" autoComplete="one-time-code" required maxLength={64} aria-describedby={hintId} value={value.value} onInput={(e) => (value.value = e.currentTarget.value)} />
      <p class="hint" id={hintId}>
        The code your authenticator app shows, or one of your recovery codes.
      </p>
    </div>
  );
}

/** The submit button (`label`) and "Cancel". */
export function FormButtons({ label, busy = false, onCancel }: { label: string; busy?: boolean; onCancel: () => void }) {
  return (
    <p class="settings-row">
      <button type="submit" class="button button--primary" disabled={busy}>
        {label}
      </button>
      <button type="button" class="button button--quiet" onClick={onCancel}>
        Cancel
      </button>
    </p>
  );
}
