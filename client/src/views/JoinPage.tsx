/**
 * /_/join/<token>: an admin's invitation to a company's team (issue 19). The person joins with their own account:
 * already signed in, one button; otherwise they log in here first (and give their second factor, if they have one).
 * Then the company's console opens.
 */
import type { TargetedSubmitEvent } from 'preact';
import { useEffect } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { api, ApiError } from '../sdk/api.ts';
import { errorText } from '../errorText.ts';
import { useRouter } from '../router.ts';
import { LoginFields, typedHandle } from './LoginFields.tsx';
import { SecondFactorStep } from './SecondFactorStep.tsx';
import type { SecondFactorLogin } from '../../../engine/protocol.ts';

export function JoinPage({ token }: { token: string }) {
  const router = useRouter();
  const needsLogin = useSignal(false);
  const handle = useSignal('');
  const password = useSignal('');
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const secondStep = useSignal<SecondFactorLogin | null>(null);

  useEffect(() => {
    document.title = 'Join a team — Knock';
  }, []);

  const joinNow = async () => {
    const company = await api.joinCompany(token);
    router.navigate(`/${company.handle}`);
  };

  const join = async (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (busy.value) return;
    busy.value = true;
    error.value = null;
    try {
      if (needsLogin.value) {
        const { secondFactor } = await api.login(typedHandle(handle.value), password.value);
        password.value = '';
        // Two-factor sign-in (issue 22): the second step first; it joins once signed in.
        if (secondFactor) {
          secondStep.value = secondFactor;
          busy.value = false;
          return;
        }
      }
      await joinNow();
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
      {secondStep.value !== null ? (
        <SecondFactorStep login={secondStep.value} onSignedIn={joinNow} onCancel={() => (secondStep.value = null)} />
      ) : (
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
      )}
    </main>
  );
}
