/**
 * /_/join/<token>: an admin's invitation to a company's team (issue 19). The person joins with their own account:
 * already signed in, one button; otherwise they log in here first. Then the company's console opens.
 */
import type { TargetedSubmitEvent } from 'preact';
import { useEffect } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { api, ApiError } from '../sdk/api.ts';
import { errorText } from '../errorText.ts';
import { useRouter } from '../router.ts';
import { LoginFields, typedHandle } from './LoginFields.tsx';

export function JoinPage({ token }: { token: string }) {
  const router = useRouter();
  const needsLogin = useSignal(false);
  const handle = useSignal('');
  const password = useSignal('');
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);

  useEffect(() => {
    document.title = 'Join a team — Knock';
  }, []);

  const join = async (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (busy.value) return;
    busy.value = true;
    error.value = null;
    try {
      if (needsLogin.value) {
        await api.login(typedHandle(handle.value), password.value);
        password.value = '';
      }
      const company = await api.joinCompany(token);
      router.navigate(`/${company.handle}`);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'unauthorized' && !needsLogin.value) {
        needsLogin.value = true;
        error.value = 'Log in with your own account first.';
      } else {
        error.value = errorText(err);
      }
      busy.value = false;
    }
  };

  return (
    <main class="page page--narrow">
      <h1>Join a team</h1>
      <p>You are invited to answer a company's visitors on Knock, with your own account.</p>
      <form class="form card" onSubmit={join}>
        {needsLogin.value && <LoginFields handle={handle} password={password} />}
        {error.value !== null && (
          <p role="alert" class="error">
            {error.value}
          </p>
        )}
        <button type="submit" class="button button--primary" disabled={busy.value}>
          {needsLogin.value ? 'Log in and join' : 'Join the team'}
        </button>
      </form>
    </main>
  );
}
