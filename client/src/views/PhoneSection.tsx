/**
 * Settings → Phone number (issue 20): the owner claims their number, and `/+15551234567` is their URL too. They type
 * the number ("Phone number", "Send code"), Knock texts a code to it, they type it ("Verification code", "Verify").
 * A claimed number shows with its URL and a way to let it go. Numbers are any international spelling; the server
 * reads them (libphonenumber-js) and answers with the number as people write it.
 */
import { useId } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import type { PhoneAnswer } from '../../../engine/protocol.ts';
import { api } from '../sdk/api.ts';
import { codeInputProps } from './codeInput.ts';
import { CopyButton } from './CopyButton.tsx';
import { SettingsFeedback } from './SettingsFeedback.tsx';
import { useSettingsAnswer } from './settingsAnswer.ts';

export function PhoneSection() {
  const headingId = useId();
  const { state, error, notice, act } = useSettingsAnswer(() => api.phone());

  const current = state.value;
  return (
    <section class="settings-section" aria-labelledby={headingId}>
      <h3 id={headingId}>Phone number</h3>
      <p>Claim your number and it becomes your address too: people who open it reach you here.</p>
      {current === null ? (
        <p class="muted">{error.value ?? 'Loading…'}</p>
      ) : (
        <>
          {current.number !== null && <ClaimedNumber number={current.number} onRelease={() => void act(() => api.releasePhone(), () => 'Your number is no longer your address.')} />}
          {current.available ? (
            <ClaimForm
              hasNumber={current.number !== null}
              pending={current.pending}
              onClaim={(number) => act(() => api.claimPhone(number), (answer) => `We sent a code to ${answer.pending?.display ?? number}.`)}
              onVerify={(code) => act(() => api.verifyPhone(code), (answer) => `${answer.number?.display ?? 'Your number'} is your address now.`)}
            />
          ) : (
            <p class="muted">This server does not send text messages, so numbers cannot be claimed here.</p>
          )}
        </>
      )}
      <SettingsFeedback error={current === null ? null : error.value} notice={notice.value} />
    </section>
  );
}

function ClaimedNumber({ number, onRelease }: { number: NonNullable<PhoneAnswer['number']>; onRelease: () => void }) {
  const url = `${location.origin}/${number.e164}`;
  return (
    <>
      <p>
        Your number: <strong>{number.display}</strong>
      </p>
      <p class="share-url">
        <a href={`/${number.e164}`} class="settings-address">
          {url}
        </a>{' '}
        <CopyButton text={url} label="Copy link" />
      </p>
      <p>
        <button type="button" class="button" onClick={onRelease}>
          Release number
        </button>
      </p>
    </>
  );
}

function ClaimForm(props: {
  hasNumber: boolean;
  pending: PhoneAnswer['pending'];
  onClaim: (number: string) => Promise<boolean>;
  onVerify: (code: string) => Promise<boolean>;
}) {
  const numberId = useId();
  const hintId = useId();
  const codeId = useId();
  const typed = useSignal(props.pending?.display ?? '');
  const code = useSignal('');
  return (
    <>
      <form
        class="settings-form"
        onSubmit={(event) => {
          event.preventDefault();
          void props.onClaim(typed.value.trim());
        }}
      >
        <div class="field">
          <label for={numberId}>Phone number</label>
          <div class="settings-row">
            <input
              id={numberId}
              type="tel"
              autoComplete="tel"
              maxLength={40}
              required
              aria-describedby={hintId}
              value={typed.value}
              onInput={(e) => (typed.value = e.currentTarget.value)}
            />
            <button type="submit" class="button">
              Send code
            </button>
          </div>
          <p class="hint" id={hintId}>
            With + and the country code, e.g. +1 555 123 4567.{props.hasNumber ? ' A new number replaces yours once verified.' : ''}
          </p>
        </div>
      </form>
      {props.pending !== null && (
        <form
          class="settings-form"
          onSubmit={(event) => {
            event.preventDefault();
            void props.onVerify(code.value.trim()).then((ok) => ok && (code.value = ''));
          }}
        >
          <div class="field">
            <label for={codeId}>Verification code</label>
            <div class="settings-row">
              <input
                id={codeId}
                {...codeInputProps}
                required
                value={code.value}
                onInput={(e) => (code.value = e.currentTarget.value)}
              />
              <button type="submit" class="button button--primary">
                Verify
              </button>
            </div>
          </div>
        </form>
      )}
    </>
  );
}
