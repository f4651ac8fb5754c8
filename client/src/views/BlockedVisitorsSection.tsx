/**
 * Settings → Blocked visitors (issue 22): the visitors this account blocked (in a company's console, the company's,
 * whichever operator blocked), newest first, each with when, until when their address is refused too, and "Unblock".
 */
import { useId } from 'preact/hooks';
import type { BlockRecord } from '../../../engine/protocol.ts';
import { api } from '../sdk/api.ts';
import { blockedVisitors, unblock } from '../sdk/accountSafety.ts';
import { DayTime } from './DayTime.tsx';
import { SettingsFeedback } from './SettingsFeedback.tsx';
import { useSettingsAnswer } from './settingsAnswer.ts';

export function BlockedVisitorsSection() {
  const headingId = useId();
  const { state, error, notice, act } = useSettingsAnswer(() => blockedVisitors(api));
  const blocks = state.value?.blocks ?? null;
  return (
    <section class="settings-section" aria-labelledby={headingId}>
      <h3 id={headingId}>Blocked visitors</h3>
      {blocks === null ? (
        <p class="muted">{error.value ?? 'Loading…'}</p>
      ) : blocks.length === 0 ? (
        <p class="muted">Nobody is blocked. Block a visitor from their conversation.</p>
      ) : (
        <ul class="devices" aria-labelledby={headingId}>
          {blocks.map((block) => (
            <li key={block.id} class="device">
              <span class="device-text">
                <span class="device-name">{nameOf(block)}</span>
                <span class="device-meta">
                  Blocked <DayTime at={block.createdAt} />
                  {block.blockedBy !== null && ` by ${block.blockedBy}`}
                  {block.addressUntil !== null && block.addressUntil > Date.now() && (
                    <>
                      {' '}· their address until <DayTime at={block.addressUntil} />
                    </>
                  )}
                </span>
              </span>
              <button type="button" class="button button--small" onClick={() => void act(() => unblock(api, block.id), () => `${nameOf(block)} may write to you again.`)}>
                Unblock<span class="visually-hidden"> {nameOf(block)}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <SettingsFeedback error={blocks === null ? null : error.value} notice={notice.value} />
    </section>
  );
}

function nameOf(block: BlockRecord): string {
  return block.visitorName || 'A visitor without a name';
}

