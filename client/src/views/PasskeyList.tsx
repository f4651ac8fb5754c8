/**
 * Settings → Two-factor sign-in, its passkeys (issue 22): the list (name, when added, when last used) with a
 * "Remove <name>" button each, and "Add passkey", which asks a name and the password (a passkey signs in alone, so a
 * session left open somewhere cannot add one), then the browser's own passkey prompt.
 */
import { useId } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import type { PasskeyView, SecondFactorChange } from '../../../engine/protocol.ts';
import { twoFactor } from '../sdk/secondFactor.ts';
import { dayDate, fullDate, isoDate } from '../timeFormat.ts';
import { FormButtons, PasswordField } from './TwoFactorFields.tsx';

/** Runs a change of the section; resolves with whether it was made (TwoFactorSection says what happened). */
export type TwoFactorChange = (what: () => Promise<SecondFactorChange>, done: string) => Promise<boolean>;

export function PasskeyList({ passkeys, change }: { passkeys: readonly PasskeyView[]; change: TwoFactorChange }) {
  const headingId = useId();
  const adding = useSignal(false);
  return (
    <div class="settings-form">
      <h4 id={headingId}>Passkeys</h4>
      {passkeys.length === 0 ? (
        <p class="muted">No passkey. A passkey (your phone, your computer, a security key) signs you in without a password.</p>
      ) : (
        <ul class="devices" aria-labelledby={headingId}>
          {passkeys.map((key) => (
            <li key={key.id} class="device">
              <span class="device-text">
                <span class="device-name">{key.name}</span>
                <span class="device-meta">
                  Added <Day at={key.createdAt} /> · {key.lastUsedAt === null ? 'Never used' : <>Last used <Day at={key.lastUsedAt} /></>}
                </span>
              </span>
              <button type="button" class="button button--small" onClick={() => void change(() => twoFactor.removePasskey(key.id), `Removed the passkey ${key.name}.`)}>
                Remove<span class="visually-hidden"> {key.name}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {adding.value ? (
        <AddPasskeyForm change={change} onClose={() => (adding.value = false)} />
      ) : (
        <p>
          <button type="button" class="button" onClick={() => (adding.value = true)}>
            Add passkey
          </button>
        </p>
      )}
    </div>
  );
}

function AddPasskeyForm({ change, onClose }: { change: TwoFactorChange; onClose: () => void }) {
  const nameId = useId();
  const name = useSignal('');
  const password = useSignal('');
  const busy = useSignal(false);
  const add = async () => {
    busy.value = true;
    const wanted = name.value.trim();
    const added = await change(() => twoFactor.addPasskey(wanted, password.value), `Added the passkey ${wanted}.`);
    busy.value = false;
    if (added) onClose();
  };
  return (
    <form
      class="settings-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (!busy.value) void add();
      }}
    >
      <div class="field">
        <label for={nameId}>Passkey name</label>
        <input id={nameId} type="text" autoComplete="off" required maxLength={64} autoFocus placeholder="My laptop" value={name.value} onInput={(e) => (name.value = e.currentTarget.value)} />
      </div>
      <PasswordField value={password} />
      <FormButtons label="Add" busy={busy.value} onCancel={onClose} />
    </form>
  );
}

function Day({ at }: { at: number }) {
  return (
    <time dateTime={isoDate(at)} title={fullDate(at)}>
      {dayDate(at)}
    </time>
  );
}
