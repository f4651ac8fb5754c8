/**
 * The fields of a login with a person's own account: their handle, asked (an operator at a company's URL, an
 * invitation's page) or fixed (the owner at their own URL: then hidden, for password managers only), and their
 * password. The form around them says what logging in does.
 */
import { useId } from 'preact/hooks';
import type { Signal } from '@preact/signals';

export function LoginFields({ handle, password, fixedHandle }: { handle: Signal<string>; password: Signal<string>; fixedHandle?: string }) {
  const handleId = useId();
  const passwordId = useId();
  return (
    <>
      {fixedHandle !== undefined ? (
        // Tells password managers which account this password is for; hidden, so it is not in the accessibility tree.
        <input type="text" name="username" autocomplete="username" value={fixedHandle} readOnly hidden />
      ) : (
        <div class="field">
          <label for={handleId}>Your handle</label>
          <input
            id={handleId}
            type="text"
            name="username"
            autocomplete="username"
            autoFocus
            value={handle.value}
            onInput={(e) => (handle.value = e.currentTarget.value)}
          />
        </div>
      )}
      <div class="field">
        <label for={passwordId}>Password</label>
        <input
          id={passwordId}
          type="password"
          name="password"
          autocomplete="current-password"
          autoFocus={fixedHandle !== undefined}
          value={password.value}
          onInput={(e) => (password.value = e.currentTarget.value)}
        />
      </div>
    </>
  );
}

/** A handle as a person may type it (`/Otto `): what the login takes (`otto`). */
export function typedHandle(typed: string): string {
  return typed.trim().replace(/^\//, '').toLowerCase();
}
