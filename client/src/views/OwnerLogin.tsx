/**
 * The discreet "Owner? Log in" on a visitor page; reveals a password form. At a company's URL it is the operators'
 * ("Operator? Log in"), who log in with their own handle: the page then becomes the company's console.
 */
import type { TargetedSubmitEvent } from 'preact';
import { useSignal } from '@preact/signals';
import { api } from '../sdk/api.ts';
import { errorText } from '../errorText.ts';
import { LoginFields, typedHandle } from './LoginFields.tsx';
import { Link } from './Link.tsx';

export function OwnerLogin({ handle, company = false, onLoggedIn }: { handle: string; company?: boolean; onLoggedIn: () => Promise<void> }) {
  const open = useSignal(false);
  const operatorHandle = useSignal('');
  const password = useSignal('');
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);

  const submit = async (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (busy.value) return;
    busy.value = true;
    error.value = null;
    try {
      await api.login(company ? typedHandle(operatorHandle.value) : handle, password.value);
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
      <p class="login-title">{company ? `Log in to /${handle} with your own account` : `Log in as /${handle}`}</p>
      <LoginFields handle={operatorHandle} password={password} {...(company ? {} : { fixedHandle: handle })} />
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
        <Link href={company ? '/_/reset' : `/_/reset?handle=${encodeURIComponent(handle)}`} class="login-forgot">
          Forgot password?
        </Link>
      </div>
    </form>
  );
}
