/** What a visitor may tell about themselves above the message box: a name, and (owner away) an email address. */
import { useId } from 'preact/hooks';
import type { Signal } from '@preact/signals';

export function NameField({ name: value, onCommit }: { name: Signal<string>; onCommit?: () => void }) {
  const id = useId();
  return (
    <div class="name-field">
      <label for={id}>Your name</label>
      <input
        id={id}
        type="text"
        name="name"
        autocomplete="name"
        placeholder="Optional"
        maxLength={64}
        value={value.value}
        onInput={(e) => (value.value = e.currentTarget.value)}
        onChange={() => onCommit?.()}
      />
    </div>
  );
}

export function EmailField({ email, ownerName }: { email: Signal<string>; ownerName: string }) {
  const id = useId();
  const hintId = useId();
  return (
    <div class="name-field">
      <label for={id}>Your email</label>
      <input
        id={id}
        type="email"
        name="email"
        autocomplete="email"
        placeholder="Optional"
        maxLength={254}
        aria-describedby={hintId}
        value={email.value}
        onInput={(e) => (email.value = e.currentTarget.value)}
      />
      <span id={hintId} class="visually-hidden">
        Optional: {ownerName} can answer you there.
      </span>
    </div>
  );
}
