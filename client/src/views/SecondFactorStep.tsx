/**
 * The login's second step (issue 22), after a right password of an account with two-factor sign-in: "Authentication
 * code" and "Verify" for the authenticator app, "Use a recovery code", "Use a passkey" (each when the account has it).
 * The owner's login (OwnerLogin.tsx), the operators' at a company's URL and the invitation page's (JoinPage.tsx) all
 * show it. Loaded on demand (companyViews.ts).
 */
import { useId } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import type { SecondFactorLogin, SecondFactorMethod } from '../../../engine/protocol.ts';
import { errorText } from '../errorText.ts';
import { twoFactor } from '../sdk/secondFactor.ts';
import { codeInputProps } from './codeInput.ts';

export function SecondFactorStep({ login, onSignedIn, onCancel }: { login: SecondFactorLogin; onSignedIn: () => Promise<void>; onCancel: () => void }) {
  const inputId = useId();
  const has = (method: SecondFactorMethod) => login.methods.includes(method);
  const mode = useSignal<SecondFactorMethod>(has('totp') ? 'totp' : has('passkey') ? 'passkey' : 'recovery');
  const text = useSignal('');
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);

  const answer = async (kind: SecondFactorMethod) => {
    if (busy.value) return;
    busy.value = true;
    error.value = null;
    try {
      await twoFactor.secondStep(login, kind === 'passkey' ? { kind } : { kind, text: text.value.trim() });
      await onSignedIn();
    } catch (err) {
      error.value = errorText(err);
    } finally {
      busy.value = false;
    }
  };
  const switchTo = (next: SecondFactorMethod) => {
    mode.value = next;
    text.value = '';
    error.value = null;
  };

  return (
    <form
      class="login card"
      onSubmit={(event) => {
        event.preventDefault();
        void answer(mode.value);
      }}
    >
      <p class="login-title">Two-factor sign-in</p>
      {mode.value === 'passkey' ? (
        <p>Finish signing in with your passkey.</p>
      ) : (
        <div class="field">
          <label for={inputId}>{mode.value === 'totp' ? 'Authentication code' : 'Recovery code'}</label>
          <input
            id={inputId}
            {...(mode.value === 'totp' ? codeInputProps : { type: 'text', autoComplete: 'off', maxLength: 64 })}
            required
            autoFocus
            value={text.value}
            onInput={(e) => (text.value = e.currentTarget.value)}
          />
        </div>
      )}
      {error.value !== null && (
        <p role="alert" class="error">
          {error.value}
        </p>
      )}
      <div class="login-actions">
        <button type="submit" class="button button--primary" disabled={busy.value}>
          {mode.value === 'passkey' ? 'Use a passkey' : 'Verify'}
        </button>
        {mode.value !== 'passkey' && has('passkey') && (
          <button type="button" class="button" disabled={busy.value} onClick={() => void answer('passkey')}>
            Use a passkey
          </button>
        )}
        {mode.value !== 'recovery' && has('recovery') && (
          <button type="button" class="link-button" onClick={() => switchTo('recovery')}>
            Use a recovery code
          </button>
        )}
        {mode.value !== 'totp' && has('totp') && (
          <button type="button" class="link-button" onClick={() => switchTo('totp')}>
            Use your authenticator app
          </button>
        )}
        <button type="button" class="button button--quiet" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
