/**
 * Settings → Password (issue 22): the owner changes their password with the current one ("Current password", "New
 * password", "Change password"). Every other session is logged out at once; this browser stays signed in, and a notice
 * goes to the verified email address.
 */
import { useId } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { security } from '../sdk/security.ts';
import { useFormAction } from './formAction.ts';
import { NewPasswordField } from './NewPasswordField.tsx';
import { SettingsFeedback } from './SettingsFeedback.tsx';

export function PasswordSection() {
  const headingId = useId();
  const currentId = useId();
  const current = useSignal('');
  const next = useSignal('');
  const notice = useSignal<string | null>(null);
  const { busy, error, submit } = useFormAction(async () => {
    notice.value = null;
    const ended = await security.changePassword(current.value, next.value);
    current.value = '';
    next.value = '';
    notice.value = `Password changed.${ended > 0 ? ` ${ended === 1 ? 'Your other session was' : `Your ${ended} other sessions were`} logged out.` : ''}`;
  });

  return (
    <section class="settings-section" aria-labelledby={headingId}>
      <h3 id={headingId}>Password</h3>
      <form class="settings-form" onSubmit={submit}>
        <div class="field">
          <label for={currentId}>Current password</label>
          <input id={currentId} type="password" autocomplete="current-password" required value={current.value} onInput={(e) => (current.value = e.currentTarget.value)} />
        </div>
        <NewPasswordField value={next} hint="At least 8 characters. Every other browser signed in as you is logged out." />
        <p>
          <button type="submit" class="button button--primary" disabled={busy.value}>
            Change password
          </button>
        </p>
      </form>
      <SettingsFeedback error={error.value} notice={notice.value} />
    </section>
  );
}
