/**
 * The discreet "Owner? Log in" on a visitor page; reveals a password form. At a company's URL it is the operators'
 * ("Operator? Log in"), who log in with their own handle: the page then becomes the company's console. An account
 * with two-factor sign-in gets a second step after its password (SecondFactorStep.tsx, loaded then); "Sign in with a
 * passkey" signs in with a passkey alone (issue 22).
 */
import type { TargetedSubmitEvent } from 'preact';
import { useSignal } from '@preact/signals';
import type { SecondFactorLogin } from '../../../engine/protocol.ts';
import { api } from '../sdk/api.ts';
import { errorText } from '../errorText.ts';
import { LazyCompanyView } from './LazyCompanyView.tsx';
import { LoginFields, typedHandle } from './LoginFields.tsx';
import { Link } from './Link.tsx';

export function OwnerLogin({ handle, company = false, onLoggedIn }: { handle: string; company?: boolean; onLoggedIn: () => Promise<void> }) {
  const open = useSignal(false);
  const operatorHandle = useSignal('');
  const password = useSignal('');
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const secondStep = useSignal<SecondFactorLogin | null>(null);

  /** Runs a way of logging in; `work` resolves with the second step due, or with nothing when signed in. */
  const attempt = async (work: () => Promise<SecondFactorLogin | undefined>) => {
    if (busy.value) return;
    busy.value = true;
    error.value = null;
    try {
      const due = await work();
      password.value = '';
      if (due) secondStep.value = due;
      else await onLoggedIn();
    } catch (err) {
      error.value = errorText(err);
    } finally {
      busy.value = false;
    }
  };
  const submit = (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    void attempt(async () => (await api.login(company ? typedHandle(operatorHandle.value) : handle, password.value)).secondFactor);
  };
  const withPasskey = () => attempt(async () => void (await (await import('./companyViews.ts')).signInWithPasskey()));

  if (secondStep.value !== null) {
    const close = () => {
      secondStep.value = null;
      open.value = false;
    };
    return <LazyCompanyView view="SecondFactorStep" props={{ login: secondStep.value, onSignedIn: onLoggedIn, onCancel: close }} />;
  }

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
        <button type="button" class="button" disabled={busy.value} onClick={() => void withPasskey()}>
          Sign in with a passkey
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
