/**
 * The owner's settings: the address mail reaches them at in Knock (to copy and give out), their own email address
 * (notifications go there once verified: Save mails a link to it), the channels knocks are forwarded to while they
 * are away (ChannelsSection.tsx), and the mail clients logged in with `npx knock mail login`, each with its Revoke
 * button. In a company's console, its Company section too (CompanySection.tsx). At the person's own console, their
 * password, sessions and audit log (issue 22: PasswordSection.tsx, SessionsSection.tsx, AuditLogSection.tsx). The
 * visitors blocked (BlockedVisitorsSection.tsx: a company's are its operators' to see), and, for a person's own
 * account, two-factor sign-in (TwoFactorSection.tsx), the export of its data and its deletion (AccountDataSection.tsx).
 */
import { useEffect, useId } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { settingsEmailBody, type DeviceRecord, type SettingsAnswer } from '../../../engine/protocol.ts';
import { api } from '../sdk/api.ts';
import { errorText } from '../errorText.ts';
import { DayTime } from './DayTime.tsx';
import { CopyButton } from './CopyButton.tsx';
import { emailInputProps } from './emailInput.ts';
import { PaneHeader } from './PaneHeader.tsx';
import { ChannelsSection } from './ChannelsSection.tsx';
import { PhoneSection } from './PhoneSection.tsx';
import { DomainsSection } from './DomainsSection.tsx';
import type { CompanyViewer } from './CompanySection.tsx';
import { LazyCompanyView } from './LazyCompanyView.tsx';
import { SettingsFeedback } from './SettingsFeedback.tsx';
import { PasswordSection } from './PasswordSection.tsx';
import { SessionsSection } from './SessionsSection.tsx';
import { AuditLogSection } from './AuditLogSection.tsx';
import { BlockedVisitorsSection } from './BlockedVisitorsSection.tsx';
import { AccountDataSection } from './AccountDataSection.tsx';
import { TwoFactorSection } from './TwoFactorSection.tsx';

/**
 * `company`: this is a company's console, seen by one of its operators. Its admins change everything the owner of a
 * person's URL does, and its Company section; its other operators see the mail address and the Company section
 * only (the server refuses them the rest).
 */
export function SettingsView({ onBack, handle, company = null }: { onBack: () => void; handle: string; company?: CompanyViewer | null }) {
  const settings = useSignal<SettingsAnswer | null>(null);
  const loadError = useSignal<string | null>(null);
  useEffect(() => {
    api.settings().then(
      (answer) => (settings.value = answer),
      (err: unknown) => (loadError.value = errorText(err)),
    );
  }, []);
  const current = settings.value;
  return (
    <>
      <PaneHeader title="Settings" onBack={onBack} />
      <div class="settings">
        {loadError.value !== null ? (
          <p role="alert" class="error">
            {loadError.value}
          </p>
        ) : current === null ? (
          <p class="muted">Loading…</p>
        ) : (
          <>
            <MailAddress address={current.mailAddress} />
            {company !== null && <LazyCompanyView view="CompanySection" props={{ viewer: company }} />}
            {company?.role !== 'operator' && (
              <>
                <EmailAddress saved={current.email} onSaved={(email) => (settings.value = { ...current, email })} />
                <PhoneSection />
                <DomainsSection />
                <ChannelsSection />
                <Devices devices={current.devices} onRevoked={(id) => (settings.value = { ...current, devices: current.devices.filter((d) => d.id !== id) })} />
              </>
            )}
            <BlockedVisitorsSection />
            {/* Account safety (issue 22) is each person's own, at their own console: never a company's. */}
            {company === null && (
              <>
                <PasswordSection />
                <TwoFactorSection />
                <SessionsSection />
                <AuditLogSection />
                <AccountDataSection handle={handle} />
              </>
            )}
          </>
        )}
      </div>
    </>
  );
}

function MailAddress({ address }: { address: string }) {
  const headingId = useId();
  return (
    <section class="settings-section" aria-labelledby={headingId}>
      <h3 id={headingId}>Your mail address</h3>
      <p>Mail sent to this address reaches you here, as a conversation:</p>
      <p class="share-url">
        <strong class="settings-address">{address}</strong> <CopyButton text={address} label="Copy address" />
      </p>
    </section>
  );
}

type SavedEmail = SettingsAnswer['email'];

function EmailAddress({ saved, onSaved }: { saved: SavedEmail; onSaved: (email: SavedEmail) => void }) {
  const headingId = useId();
  const inputId = useId();
  const hintId = useId();
  const errorId = useId();
  const typed = useSignal(saved?.address ?? '');
  const saving = useSignal(false);
  const error = useSignal<string | null>(null);

  const save = async () => {
    const wanted = typed.value.trim();
    // An empty box removes the address.
    const checked = settingsEmailBody.safeParse({ address: wanted === '' ? null : wanted });
    if (!checked.success) {
      error.value = checked.error.issues[0]?.message ?? 'This does not look like an email address.';
      return;
    }
    saving.value = true;
    error.value = null;
    try {
      const address = checked.data.address;
      await api.setEmail(address);
      // The server's word on it (verified already when it is the same address as before).
      const answer = await api.settings();
      onSaved(answer.email ?? (address === null ? null : { address, verified: false }));
    } catch (err) {
      error.value = errorText(err);
    } finally {
      saving.value = false;
    }
  };

  return (
    <section class="settings-section" aria-labelledby={headingId}>
      <h3 id={headingId}>Email notifications</h3>
      <form
        class="settings-form"
        onSubmit={(event) => {
          event.preventDefault();
          void save();
        }}
      >
        <div class="field">
          <label for={inputId}>Email address</label>
          <div class="settings-row">
            <input
              id={inputId}
              {...emailInputProps}
              value={typed.value}
              aria-invalid={error.value !== null}
              aria-describedby={error.value !== null ? `${errorId} ${hintId}` : hintId}
              onInput={(e) => (typed.value = e.currentTarget.value)}
            />
            <button type="submit" class="button button--primary" disabled={saving.value}>
              Save
            </button>
          </div>
          <p class="hint" id={hintId}>
            Where Knock tells you of messages left while you are away. Leave it empty to be told nothing.
          </p>
        </div>
        {error.value !== null && (
          <p role="alert" id={errorId} class="error">
            {error.value}
          </p>
        )}
        <p role="status" class="settings-status">
          {saving.value ? 'Saving…' : emailStatus(saved)}
        </p>
      </form>
    </section>
  );
}

function emailStatus(saved: SavedEmail): string {
  if (saved === null) return 'No email address: nothing is sent to you by email.';
  return saved.verified ? 'Verified' : `Unverified: we sent a link to ${saved.address}`;
}

function Devices({ devices, onRevoked }: { devices: readonly DeviceRecord[]; onRevoked: (id: string) => void }) {
  const headingId = useId();
  const busy = useSignal<string | null>(null);
  const error = useSignal<string | null>(null);
  const notice = useSignal<string | null>(null);

  const revoke = async (device: DeviceRecord) => {
    busy.value = device.id;
    error.value = null;
    try {
      await api.revokeDevice(device.id);
      notice.value = `Revoked ${device.name}: it can no longer reach your mail.`;
      onRevoked(device.id);
    } catch (err) {
      error.value = errorText(err);
    } finally {
      busy.value = null;
    }
  };

  return (
    <section class="settings-section" aria-labelledby={headingId}>
      <h3 id={headingId}>Mail devices</h3>
      {devices.length === 0 ? (
        <p class="muted">
          No mail client is logged in. Log one in with <code>npx knock mail login</code>.
        </p>
      ) : (
        <ul class="devices" aria-labelledby={headingId}>
          {devices.map((device) => (
            <li key={device.id} class="device">
              <span class="device-text">
                <span class="device-name">{device.name}</span>
                <span class="device-meta">
                  Created <DayTime at={device.createdAt} /> · {device.lastUsedAt === null ? 'Never used' : <>Last used <DayTime at={device.lastUsedAt} /></>}
                </span>
              </span>
              <button type="button" class="button button--small" disabled={busy.value === device.id} onClick={() => void revoke(device)}>
                Revoke<span class="visually-hidden"> {device.name}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <SettingsFeedback error={error.value} notice={notice.value} />
    </section>
  );
}

