/** /_/signup: claim a URL. */
import { useEffect, useId } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import type { TargetedSubmitEvent } from 'preact';
import { api } from '../sdk/api.ts';
import { errorText } from '../errorText.ts';
import { useRouter } from '../router.ts';
import { Link } from './Link.tsx';

type Availability = 'checking' | 'open' | 'closed' | 'unknown';

export function SignupPage({ initialHandle }: { initialHandle: string }) {
  const router = useRouter();
  const availability = useSignal<Availability>('checking');
  const handle = useSignal(initialHandle);
  const displayName = useSignal('');
  const password = useSignal('');
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const ids = { handle: useId(), name: useId(), password: useId(), hint: useId(), passwordHint: useId() };

  useEffect(() => {
    document.title = 'Sign up — Knock';
    let current = true;
    api.signupOpen().then(
      (open) => {
        if (current) availability.value = open ? 'open' : 'closed';
      },
      (err: unknown) => {
        console.error('Asking whether sign-up is open failed:', err);
        // Show the form anyway: the server gives a clear answer on submit.
        if (current) availability.value = 'unknown';
      },
    );
    return () => {
      current = false;
    };
  }, [availability]);

  const submit = async (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (busy.value) return;
    busy.value = true;
    error.value = null;
    const chosen = handle.value.trim();
    try {
      await api.signup({ handle: chosen, displayName: displayName.value.trim(), password: password.value });
      router.navigate(`/${chosen}`);
    } catch (err) {
      error.value = errorText(err);
      busy.value = false;
    }
  };

  if (availability.value === 'checking') {
    return (
      <main class="page page--narrow">
        <p class="muted">Loading…</p>
      </main>
    );
  }
  if (availability.value === 'closed') {
    return (
      <main class="page page--narrow">
        <h1>Sign-up is closed</h1>
        <p>This server does not take new accounts. Ask its administrator for one.</p>
        <p>
          <Link href="/">Back to the start page</Link>
        </p>
      </main>
    );
  }

  return (
    <main class="page page--narrow">
      <h1>Get your Knock URL</h1>
      <form class="form card" onSubmit={submit}>
        <div class="field">
          <label for={ids.handle}>Handle</label>
          <div class="prefixed">
            <span class="prefix" aria-hidden="true">
              {location.host}/
            </span>
            <input
              id={ids.handle}
              name="handle"
              type="text"
              autocomplete="username"
              autocapitalize="none"
              spellcheck={false}
              aria-describedby={ids.hint}
              value={handle.value}
              onInput={(e) => (handle.value = e.currentTarget.value)}
            />
          </div>
          <p id={ids.hint} class="hint">
            2 to 32 lowercase letters, digits, ".", "_" or "-".
          </p>
        </div>
        <div class="field">
          <label for={ids.name}>Display name</label>
          <input
            id={ids.name}
            name="displayName"
            type="text"
            autocomplete="name"
            value={displayName.value}
            onInput={(e) => (displayName.value = e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for={ids.password}>Password</label>
          <input
            id={ids.password}
            name="password"
            type="password"
            autocomplete="new-password"
            aria-describedby={ids.passwordHint}
            value={password.value}
            onInput={(e) => (password.value = e.currentTarget.value)}
          />
          <p id={ids.passwordHint} class="hint">
            At least 8 characters.
          </p>
        </div>
        {error.value !== null && (
          <p role="alert" class="error">
            {error.value}
          </p>
        )}
        <button type="submit" class="button button--primary" disabled={busy.value}>
          {busy.value ? 'Signing up…' : 'Sign up'}
        </button>
      </form>
    </main>
  );
}
