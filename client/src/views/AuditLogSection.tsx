/**
 * Settings → Audit log (issue 22): what happened to the owner's account, newest first, each in words with its time,
 * address and browser: sign-ins and their failures, new devices, password and second-factor changes, sessions ended.
 * "Show older" loads the next page.
 */
import { useEffect, useId } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import type { AuditEntryView, AuditKind } from '../../../engine/protocol.ts';
import { security } from '../sdk/security.ts';
import { errorText } from '../errorText.ts';
import { SettingsFeedback } from './SettingsFeedback.tsx';
import { WhenTime } from './WhenTime.tsx';

type Detail = AuditEntryView['detail'];

const SIGN_IN_METHODS: Record<string, string> = {
  password: 'Signed in with the password',
  signup: 'Created the account and signed in',
  'password+totp': 'Signed in with the password and an authenticator code',
  'password+recovery': 'Signed in with the password and a recovery code',
  'password+passkey': 'Signed in with the password and a passkey',
  passkey: 'Signed in with a passkey',
};

/** Why sessions ended together (the entry's `detail.why`). */
const WHY_ENDED: Record<string, string> = {
  'log out everywhere': ': logged out everywhere',
  'password.changed': ' as the password changed',
  'password.recovered': ' as the password was set with a recovery link',
  'knock user logout': ' by the server\u2019s operator',
};

/** Every kind in words; a new kind fails to compile here until it has its words. */
const WORDS: Record<AuditKind, (detail: Detail) => string> = {
  login: (d) => SIGN_IN_METHODS[String(d?.method)] ?? 'Signed in',
  'login.failed': (d) => (d?.during === 'password change' ? 'Wrong current password when changing the password' : 'Wrong password at sign-in'),
  'second_factor.failed': () => 'Wrong second step at sign-in',
  logout: () => 'Logged out',
  'session.ended': () => 'Ended a session',
  'sessions.ended': (d) => `Ended ${typeof d?.count === 'number' && d.count !== 1 ? `${d.count} sessions` : 'a session'}${WHY_ENDED[String(d?.why)] ?? ''}`,
  'device.new': (d) => `Signed in from a new device${typeof d?.device === 'string' ? `: ${d.device}` : ''}`,
  'password.changed': () => 'Changed the password',
  'password.recovery_requested': () => 'A password recovery link was mailed',
  'password.recovered': () => 'Set a new password with a recovery link',
  'totp.enabled': () => 'Turned on sign-in codes from an authenticator app',
  'totp.disabled': () => 'Turned off sign-in codes from an authenticator app',
  'recovery_codes.created': () => 'Made new recovery codes',
  'recovery_code.used': () => 'Used a recovery code',
  'passkey.added': () => 'Added a passkey',
  'passkey.removed': () => 'Removed a passkey',
  'visitor.blocked': () => 'Blocked a visitor',
  'visitor.unblocked': () => 'Unblocked a visitor',
  'conversation.deleted': () => 'Deleted a conversation',
  'data.exported': () => 'Exported the account\u2019s data',
};

export function AuditLogSection() {
  const headingId = useId();
  const entries = useSignal<AuditEntryView[] | null>(null);
  const next = useSignal<number | null>(null);
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);

  const load = async (before?: number) => {
    busy.value = true;
    error.value = null;
    try {
      const page = await security.audit(before);
      entries.value = [...(before === undefined ? [] : (entries.value ?? [])), ...page.entries];
      next.value = page.next;
    } catch (err) {
      error.value = errorText(err);
    } finally {
      busy.value = false;
    }
  };
  useEffect(() => void load(), []);

  const shown = entries.value;
  return (
    <section class="settings-section" aria-labelledby={headingId}>
      <h3 id={headingId}>Audit log</h3>
      {shown === null ? (
        <p class="muted">{error.value ?? 'Loading…'}</p>
      ) : shown.length === 0 ? (
        <p class="muted">Nothing yet.</p>
      ) : (
        <ul class="devices" aria-labelledby={headingId}>
          {shown.map((entry) => (
            <li key={entry.id} class="device">
              <span class="device-text">
                <span class="device-name">{WORDS[entry.kind](entry.detail)}</span>
                <span class="device-meta">
                  <WhenTime at={entry.at} /> · {entry.ip ?? 'no address (the server\u2019s command line)'}
                  {entry.device !== null && ` · ${entry.device}`}
                </span>
              </span>
            </li>
          ))}
        </ul>
      )}
      {next.value !== null && (
        <p>
          <button type="button" class="button" disabled={busy.value} onClick={() => void load(next.value ?? undefined)}>
            Show older
          </button>
        </p>
      )}
      <SettingsFeedback error={shown === null ? null : error.value} notice={null} />
    </section>
  );
}
