/**
 * Settings → Two-factor sign-in (issue 22; modelled on GitHub's): a second step after the password. "Add
 * authenticator app" shows a QR code and the key to type, and "Turn on" takes the app's first code and the password;
 * the recovery codes then show once. "Turn off" asks the password and a code. Passkeys (PasskeyList.tsx) sign in
 * alone or as the second step. The owner's own: a company's console does not show it (SettingsView.tsx).
 */
import { useId } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import type { SecondFactorChange, TotpEnrolment } from '../../../engine/protocol.ts';
import { errorText } from '../errorText.ts';
import { twoFactor } from '../sdk/secondFactor.ts';
import { codeInputProps } from './codeInput.ts';
import { PasskeyList, type TwoFactorChange } from './PasskeyList.tsx';
import { QrCode } from './QrCode.tsx';
import { RecoveryCodesShown } from './RecoveryCodesShown.tsx';
import { SettingsFeedback } from './SettingsFeedback.tsx';
import { CodeField, FormButtons, PasswordField } from './TwoFactorFields.tsx';
import { useSettingsAnswer } from './settingsAnswer.ts';

export function TwoFactorSection() {
  const headingId = useId();
  const { state, error, notice, act } = useSettingsAnswer(() => twoFactor.state());
  const shownCodes = useSignal<string[] | null>(null);
  const change: TwoFactorChange = (what, done) =>
    act(async () => {
      const changed: SecondFactorChange = await what();
      if (changed.recoveryCodes) shownCodes.value = changed.recoveryCodes;
      return changed.state;
    }, () => done);

  const current = state.value;
  return (
    <section class="settings-section" aria-labelledby={headingId}>
      <h3 id={headingId}>Two-factor sign-in</h3>
      <p>After your password, Knock asks for a second proof that it is you: a code of an authenticator app on your phone, or a passkey.</p>
      {current === null ? (
        <p class="muted">{error.value ?? 'Loading…'}</p>
      ) : (
        <>
          {shownCodes.value !== null && <RecoveryCodesShown codes={shownCodes.value} onDone={() => (shownCodes.value = null)} />}
          <AuthenticatorApp on={current.totp} change={change} />
          <PasskeyList passkeys={current.passkeys} change={change} />
          {(current.totp || current.passkeys.length > 0) && <RecoveryCodes left={current.recoveryCodesLeft} withApp={current.totp} change={change} />}
        </>
      )}
      <SettingsFeedback error={current === null ? null : error.value} notice={notice.value} />
    </section>
  );
}

function AuthenticatorApp({ on, change }: { on: boolean; change: TwoFactorChange }) {
  const headingId = useId();
  const enrolment = useSignal<TotpEnrolment | null>(null);
  const turningOff = useSignal(false);
  const failed = useSignal<string | null>(null);
  const start = async () => {
    failed.value = null;
    try {
      enrolment.value = await twoFactor.enrolTotp();
    } catch (err) {
      failed.value = errorText(err);
    }
  };
  return (
    <div class="settings-form" role="group" aria-labelledby={headingId}>
      <h4 id={headingId}>Authenticator app</h4>
      {on ? (
        <>
          <p>On: Knock asks for a code of your app when you sign in.</p>
          {turningOff.value ? (
            <TurnOffForm change={change} onClose={() => (turningOff.value = false)} />
          ) : (
            <p>
              <button type="button" class="button" onClick={() => (turningOff.value = true)}>
                Turn off
              </button>
            </p>
          )}
        </>
      ) : enrolment.value === null ? (
        <p>
          <button type="button" class="button" onClick={() => void start()}>
            Add authenticator app
          </button>
        </p>
      ) : (
        <Enrolment
          enrolment={enrolment.value}
          onConfirm={async (code, password) => {
            if (await change(() => twoFactor.confirmTotp(code, password), 'Your authenticator app is on: Knock asks for its code when you sign in.')) enrolment.value = null;
          }}
          onCancel={() => (enrolment.value = null)}
        />
      )}
      {failed.value !== null && (
        <p role="alert" class="error">
          {failed.value}
        </p>
      )}
    </div>
  );
}

/** The key in groups of four, as apps that take it typed show it. */
function keyGroups(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

function Enrolment({ enrolment, onConfirm, onCancel }: { enrolment: TotpEnrolment; onConfirm: (code: string, password: string) => Promise<void>; onCancel: () => void }) {
  const codeId = useId();
  const code = useSignal('');
  const password = useSignal('');
  return (
    <form
      class="settings-form"
      onSubmit={(event) => {
        event.preventDefault();
        void onConfirm(code.value.trim(), password.value);
      }}
    >
      <p>Scan this QR code with your authenticator app, or type the key into it. Then type the code the app shows, and your password.</p>
      <QrCode text={enrolment.uri} label="QR code to add Knock to your authenticator app" />
      <p>
        Key: <code class="totp-key">{keyGroups(enrolment.secret)}</code>
      </p>
      <div class="field">
        <label for={codeId}>Verification code</label>
        <input id={codeId} {...codeInputProps} required value={code.value} onInput={(e) => (code.value = e.currentTarget.value)} />
      </div>
      <PasswordField value={password} />
      <FormButtons label="Turn on" onCancel={onCancel} />
    </form>
  );
}

/** Turning the app off: the password and a code of the app (or a recovery code), so an open session alone cannot. */
function TurnOffForm({ change, onClose }: { change: TwoFactorChange; onClose: () => void }) {
  const password = useSignal('');
  const code = useSignal('');
  return (
    <form
      class="settings-form"
      onSubmit={(event) => {
        event.preventDefault();
        void change(() => twoFactor.turnOffTotp(password.value, code.value.trim()), 'Your authenticator app is off.').then((done) => done && onClose());
      }}
    >
      <PasswordField value={password} autoFocus />
      <CodeField value={code} />
      <FormButtons label="Turn off" onCancel={onClose} />
    </form>
  );
}

function RecoveryCodes({ left, withApp, change }: { left: number; withApp: boolean; change: TwoFactorChange }) {
  const headingId = useId();
  const asking = useSignal(false);
  const code = useSignal('');
  const renew = (typed: string | null) => change(() => twoFactor.newRecoveryCodes(typed), 'New recovery codes: the old ones no longer work.').then((done) => done && (asking.value = false));
  return (
    <div class="settings-form" role="group" aria-labelledby={headingId}>
      <h4 id={headingId}>Recovery codes</h4>
      <p>{left === 1 ? '1 recovery code left.' : `${left} recovery codes left.`}</p>
      {asking.value ? (
        <form
          class="settings-form"
          onSubmit={(event) => {
            event.preventDefault();
            void renew(code.value.trim());
          }}
        >
          <CodeField value={code} />
          <FormButtons label="Make new codes" onCancel={() => (asking.value = false)} />
        </form>
      ) : (
        <p>
          {/* Without an app, a passkey confirms it: the browser asks for one at once. */}
          <button type="button" class="button" onClick={() => (withApp ? (asking.value = true) : void renew(null))}>
            New recovery codes
          </button>
        </p>
      )}
    </div>
  );
}
