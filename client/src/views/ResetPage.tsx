/**
 * /_/reset (issue 22): password recovery. Without a token it asks for the account ("Your handle or email address",
 * "Send recovery link") and says the same whatever was typed, as the server does. Opened from the mailed link
 * (`/_/reset#<token>`: the fragment never reaches a server), it sets the new password ("New password", "Set new
 * password"), then links to the login: it never signs in by itself (a second factor, where one is enrolled, is asked at
 * the login as always).
 */
import { useId, useLayoutEffect } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { security } from '../sdk/security.ts';
import { useFormAction } from './formAction.ts';
import { Link } from './Link.tsx';
import { NewPasswordField } from './NewPasswordField.tsx';

export function ResetPage({ handle }: { handle: string }) {
  // Read once, then taken out of the address bar (and so out of the history and of anything shared from the page).
  const token = useSignal(location.hash.length > 1 ? location.hash.slice(1) : null);
  // Before the first paint (a layout effect), so the page never shows with the token still in the address bar.
  useLayoutEffect(() => {
    document.title = token.value === null ? 'Forgot your password? — Knock' : 'Set a new password — Knock';
    if (location.hash !== '') history.replaceState(history.state, '', location.pathname + location.search);
  }, []);
  return <main class="page page--narrow">{token.value === null ? <AskForLink handle={handle} /> : <SetPassword token={token.value} />}</main>;
}

function AskForLink({ handle }: { handle: string }) {
  const fieldId = useId();
  const typed = useSignal(handle);
  const sent = useSignal(false);
  const { busy, error, submit } = useFormAction(async () => {
    await security.recover(typed.value.trim());
    sent.value = true;
  });

  return (
    <>
      <h1>Forgot your password?</h1>
      <p>We mail a link to set a new one to the email address verified in your Settings.</p>
      <form class="form card" onSubmit={submit}>
        <div class="field">
          <label for={fieldId}>Your handle or email address</label>
          <input
            id={fieldId}
            type="text"
            autocomplete="username"
            autocapitalize="none"
            spellcheck={false}
            required
            value={typed.value}
            onInput={(e) => (typed.value = e.currentTarget.value)}
          />
        </div>
        {error.value !== null && (
          <p role="alert" class="error">
            {error.value}
          </p>
        )}
        <button type="submit" class="button button--primary" disabled={busy.value}>
          Send recovery link
        </button>
        <p role="status">
          {sent.value && 'If this is an account with a verified email address, a link is on its way there. It works once, for 30 minutes.'}
        </p>
      </form>
    </>
  );
}

function SetPassword({ token }: { token: string }) {
  const password = useSignal('');
  const done = useSignal<string | null>(null);
  const { busy, error, submit } = useFormAction(async () => {
    done.value = (await security.reset(token, password.value)).handle;
  });

  if (done.value !== null) {
    return (
      <>
        <h1>Your new password is set</h1>
        <p role="status">Every browser signed in as you was logged out.</p>
        <p>
          <Link href={`/${done.value}`}>Log in at /{done.value}</Link>
        </p>
      </>
    );
  }
  return (
    <>
      <h1>Set a new password</h1>
      <form class="form card" onSubmit={submit}>
        <NewPasswordField value={password} />
        {error.value !== null && (
          <p role="alert" class="error">
            {error.value} {error.value.includes('Ask for a new one') && <Link href="/_/reset">Ask for a new link</Link>}
          </p>
        )}
        <button type="submit" class="button button--primary" disabled={busy.value}>
          Set new password
        </button>
      </form>
    </>
  );
}
