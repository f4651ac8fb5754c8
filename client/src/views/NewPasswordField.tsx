/** The "New password" field of Settings → Password and of a recovery link's page, with sign-up's rule as its hint. */
import { useId } from 'preact/hooks';
import type { Signal } from '@preact/signals';

export function NewPasswordField({ value, hint = 'At least 8 characters.' }: { value: Signal<string>; hint?: string }) {
  const fieldId = useId();
  const hintId = useId();
  return (
    <div class="field">
      <label for={fieldId}>New password</label>
      <input
        id={fieldId}
        type="password"
        autocomplete="new-password"
        required
        minLength={8}
        aria-describedby={hintId}
        value={value.value}
        onInput={(e) => (value.value = e.currentTarget.value)}
      />
      <p class="hint" id={hintId}>
        {hint}
      </p>
    </div>
  );
}
