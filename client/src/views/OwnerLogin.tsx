/**
 * The discreet "Owner? Log in" on a visitor page; reveals a password form. At a company's URL it is the operators'
 * ("Operator? Log in"), who log in with their own handle: the page then becomes the company's console.
 */
import type { TargetedSubmitEvent } from 'preact';
import { useId } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { api } from '../sdk/api.ts';
import { errorText } from '../errorText.ts';

export function OwnerLogin({ handle, company = false, onLoggedIn }: { handle: string; company?: boolean; onLoggedIn: () => Promise<void> }) {
  const open = useSignal(false);
  const operatorHandle = useSignal('');
  const password = useSignal('');
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const id = useId();
  const handleId = useId();

  const submit = async (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (busy.value) return;
    busy.value = true;
    error.value = null;
    try {
      await api.login(company ? operatorHandle.value.trim().replace(/^\//, '').toLowerCase() : handle, password.value);
      password.value = '';
      await onLoggedIn();
    } catch (err) {
      error.value = errorText(err);
    } finally {
      busy.value = false;
    }
  };

  if (!open.value) {
    // Hidden while the form is open, so exactly one button's name contains "Log in".
    return (
      <button type="button" class="link-button" onClick={() => (open.value = true)}>
        {company ? 'Operator? Log in' : 'Owner? Log in'}
      </button>
    );
  }
  return (
    <form class="login card" onSubmit={submit}>
      {company ? (
        <>
          <p class="login-title">Log in to /{handle} with your own account</p>
          <div class="field">
            <label for={handleId}>Your handle</label>
            <input
              id={handleId}
              type="text"
              name="username"
              autocomplete="username"
              autoFocus
              value={operatorHandle.value}
              onInput={(e) => (operatorHandle.value = e.currentTarget.value)}
            />
          </div>
        </>
      ) : (
        <>
          <p class="login-title">Log in as /{handle}</p>
          {/* Tells password managers which account this password is for; hidden, so it is not in the accessibility tree. */}
          <input type="text" name="username" autocomplete="username" value={handle} readOnly hidden />
        </>
      )}
      <div class="field">
        <label for={id}>Password</label>
        <input
          id={id}
          type="password"
          name="password"
          autocomplete="current-password"
          autoFocus={!company}
          value={password.value}
          onInput={(e) => (password.value = e.currentTarget.value)}
        />
      </div>
      {error.value !== null && (
        <p role="alert" class="error">
          {error.value}
        </p>
      )}
      <div class="login-actions">
        <button type="submit" class="button button--primary" disabled={busy.value}>
          Log in
        </button>
        <button
          type="button"
          class="button button--quiet"
          onClick={() => {
            open.value = false;
            error.value = null;
          }}
        >
          Cancel
        </button>
      </div>
    </form>
  );
}
