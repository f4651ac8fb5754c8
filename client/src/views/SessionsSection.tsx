/**
 * Settings → Sessions (issue 22): the browsers signed in as the owner, each with its device, address and when it was
 * last used; "This browser" for the one looking. "End session" logs one out at once (its open pages too), "Log out
 * everywhere" every one, this one included.
 */
import { useId } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import type { SessionView } from '../../../engine/protocol.ts';
import { security } from '../sdk/security.ts';
import { errorText } from '../errorText.ts';
import { SettingsFeedback } from './SettingsFeedback.tsx';
import { useSettingsAnswer } from './settingsAnswer.ts';
import { WhenTime } from './WhenTime.tsx';

export function SessionsSection() {
  const headingId = useId();
  const { state, error, notice, act } = useSettingsAnswer(() => security.sessions());
  const leaving = useSignal(false);

  const endEverywhere = async () => {
    leaving.value = true;
    error.value = null;
    try {
      await security.logoutEverywhere();
      // This browser's session ended too: the server closes the console's socket, and the page turns to the visitor's.
      notice.value = 'Logged out everywhere.';
    } catch (err) {
      error.value = errorText(err);
      leaving.value = false;
    }
  };

  const sessions = state.value?.sessions ?? null;
  return (
    <section class="settings-section" aria-labelledby={headingId}>
      <h3 id={headingId}>Sessions</h3>
      <p>Browsers signed in as you. End any you do not recognise, and change your password.</p>
      {sessions === null ? (
        <p class="muted">{error.value ?? 'Loading…'}</p>
      ) : (
        <ul class="devices" aria-labelledby={headingId}>
          {sessions.map((session) => (
            <SessionItem key={session.id} session={session} onEnd={() => void act(() => security.endSession(session.id), () => `Ended the session of ${deviceOf(session)}.`)} />
          ))}
        </ul>
      )}
      <p>
        <button type="button" class="button" disabled={leaving.value} onClick={() => void endEverywhere()}>
          Log out everywhere
        </button>
      </p>
      <SettingsFeedback error={sessions === null ? null : error.value} notice={notice.value} />
    </section>
  );
}

function deviceOf(session: SessionView): string {
  return session.device ?? 'an unknown browser';
}

function SessionItem({ session, onEnd }: { session: SessionView; onEnd: () => void }) {
  return (
    <li class="device">
      <span class="device-text">
        <span class="device-name">
          {session.device ?? 'Unknown browser'}
          {session.current && <span class="session-current"> · This browser</span>}
        </span>
        <span class="device-meta">
          {session.ip ?? 'Address unknown'} · Last seen <WhenTime at={session.lastSeenAt} />
        </span>
      </span>
      {!session.current && (
        <button type="button" class="button button--small" onClick={onEnd}>
          End session<span class="visually-hidden"> of {deviceOf(session)}</span>
        </button>
      )}
    </li>
  );
}
