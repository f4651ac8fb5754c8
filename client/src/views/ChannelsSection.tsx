/**
 * Settings → Channels (issue 18): where a knock goes while the owner is away from their URL. Add a channel (type and
 * address; a code is sent to it, typed back under "Verification code"), put the channels in order, say how long
 * after the knock each is tried, set quiet hours in the owner's time zone, and pause all forwarding. "Push" uses
 * this browser's push subscription ("Notify me on this device"), which needs no code.
 */
import { useEffect, useId, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import type { ChannelRecord, ChannelsAnswer } from '../../../engine/protocol.ts';
import { api } from '../sdk/api.ts';
import { errorText } from '../errorText.ts';
import { codeInputProps } from './codeInput.ts';
import { subscribeThisDevice } from '../sdk/push.ts';
import { SettingsFeedback } from './SettingsFeedback.tsx';

type Kind = ChannelRecord['kind'];
const KINDS: { kind: Kind; label: string; placeholder: string }[] = [
  { kind: 'xmpp', label: 'XMPP', placeholder: 'you@jabber.example' },
  { kind: 'email', label: 'Email', placeholder: 'you@example.com' },
  { kind: 'sms', label: 'SMS', placeholder: '+15551234567' },
  { kind: 'webhook', label: 'Webhook', placeholder: 'https://bot.example/knock' },
  { kind: 'push', label: 'Push', placeholder: '' },
];
const labelOf = (kind: Kind): string => KINDS.find((k) => k.kind === kind)?.label ?? kind;

export function ChannelsSection() {
  const headingId = useId();
  const state = useSignal<ChannelsAnswer | null>(null);
  const error = useSignal<string | null>(null);
  const notice = useSignal<string | null>(null);
  const pendingId = useSignal<string | null>(null);
  const secret = useSignal<string | null>(null);

  const load = async () => {
    try {
      state.value = await api.channels();
    } catch (err) {
      error.value = errorText(err);
    }
  };
  useEffect(() => {
    void load();
  }, []);

  // Only the newest change's answer is shown: two quick clicks (pause, resume) answered out of order must not put
  // the first one's state back on screen (the switch would jump back under the person's hand).
  const latestAct = useRef(0);
  const act = async (what: () => Promise<ChannelsAnswer | void>, done?: string) => {
    const ticket = ++latestAct.current;
    error.value = null;
    notice.value = null;
    try {
      const answer = (await what()) ?? (await api.channels());
      if (ticket !== latestAct.current) return;
      state.value = answer;
      if (done) notice.value = done;
    } catch (err) {
      if (ticket !== latestAct.current) return;
      error.value = errorText(err);
      // What is on screen may be a change that did not happen: show what the server holds.
      void load();
    }
  };

  const current = state.value;
  return (
    <section class="settings-section" aria-labelledby={headingId}>
      <h3 id={headingId}>Channels</h3>
      <p>While you are away from your page, a knock is sent to these channels, one after another, until you answer.</p>
      {current === null ? (
        <p class="muted">{error.value ?? 'Loading…'}</p>
      ) : (
        <>
          <AddChannel
            available={current.available}
            vapidPublicKey={current.vapidPublicKey}
            onAdded={(added) => {
              secret.value = added.secret;
              pendingId.value = added.codeSent ? added.channel.id : null;
              void act(async () => undefined, added.codeSent ? `We sent a code to ${added.channel.address}.` : `Added ${added.channel.address}.`);
            }}
            onError={(message) => (error.value = message)}
          />
          {secret.value !== null && (
            <p class="settings-status">
              Your webhook's signing secret (shown once): <code class="settings-address">{secret.value}</code>
            </p>
          )}
          {pendingId.value !== null && (
            <VerifyCode
              channelId={pendingId.value}
              onVerified={() => {
                pendingId.value = null;
                void act(async () => undefined, 'Verified.');
              }}
              onResend={() => void act(() => api.resendChannelCode(pendingId.value!), 'We sent a new code.')}
            />
          )}
          <ChannelList
            channels={current.channels}
            onMove={(from, to) => {
              const ids = current.channels.map((c) => c.id);
              const [moved] = ids.splice(from, 1);
              ids.splice(to, 0, moved!);
              void act(() => api.orderChannels(ids), `Moved ${labelOf(current.channels[from]!.kind)} ${to < from ? 'up' : 'down'}.`);
            }}
            onDelay={(channel, minutes) => void act(() => api.setChannelDelay(channel.id, Math.round(minutes * 60_000)), 'Saved.')}
            onVerify={(channel) => (pendingId.value = channel.id)}
            onRemove={(channel) => void act(() => api.removeChannel(channel.id), `Removed ${channel.address}.`)}
          />
          <ForwardingSettings
            settings={current.settings}
            onSave={(settings) => {
              // At once on screen (the switches are controlled by this state), then saved.
              state.value = { ...current, settings };
              void act(() => api.setForwarding(settings), 'Saved.');
            }}
          />
        </>
      )}
      <SettingsFeedback error={current === null ? null : error.value} notice={notice.value} />
    </section>
  );
}

function AddChannel(props: {
  available: readonly Kind[];
  vapidPublicKey: string | null;
  onAdded: (answer: Awaited<ReturnType<typeof api.addChannel>>) => void;
  onError: (message: string) => void;
}) {
  const typeId = useId();
  const addressId = useId();
  const kind = useSignal<Kind>(props.available.includes('xmpp') ? 'xmpp' : (props.available[0] ?? 'email'));
  const address = useSignal('');
  const busy = useSignal(false);
  const isPush = kind.value === 'push';

  const add = async () => {
    busy.value = true;
    try {
      if (isPush) {
        if (props.vapidPublicKey === null) throw new Error('This server does not send push notifications.');
        const subscription = await subscribeThisDevice(props.vapidPublicKey);
        props.onAdded(await api.addChannel({ kind: 'push', subscription, device: navigator.userAgent.slice(0, 64) }));
      } else {
        props.onAdded(await api.addChannel({ kind: kind.value, address: address.value } as Parameters<typeof api.addChannel>[0]));
        address.value = '';
      }
    } catch (err) {
      props.onError(errorText(err));
    } finally {
      busy.value = false;
    }
  };

  return (
    <form
      class="settings-form"
      onSubmit={(event) => {
        event.preventDefault();
        void add();
      }}
    >
      <div class="settings-row">
        <div class="field">
          <label for={typeId}>Channel type</label>
          <select id={typeId} value={kind.value} onChange={(e) => (kind.value = e.currentTarget.value as Kind)}>
            {KINDS.map((k) => (
              <option key={k.kind} value={k.kind} disabled={!props.available.includes(k.kind)}>
                {k.label}
              </option>
            ))}
          </select>
        </div>
        {!isPush && (
          <div class="field">
            <label for={addressId}>Address</label>
            <input
              id={addressId}
              // One input for every kind; its type (and so the phone's keyboard) follows the kind.
              type={(kind.value === 'email' ? 'email' : kind.value === 'sms' ? 'tel' : kind.value === 'webhook' ? 'url' : 'text') as 'text'}
              autoComplete="off"
              placeholder={KINDS.find((k) => k.kind === kind.value)?.placeholder ?? ''}
              value={address.value}
              required
              onInput={(e) => (address.value = e.currentTarget.value)}
            />
          </div>
        )}
      </div>
      <div class="settings-row">
        <button type="submit" class="button button--primary" disabled={busy.value}>
          {isPush ? 'Notify me on this device' : 'Add channel'}
        </button>
      </div>
    </form>
  );
}

function VerifyCode({ channelId, onVerified, onResend }: { channelId: string; onVerified: () => void; onResend: () => void }) {
  const inputId = useId();
  const errorId = useId();
  const code = useSignal('');
  const error = useSignal<string | null>(null);
  const verify = async () => {
    error.value = null;
    try {
      await api.verifyChannel(channelId, code.value.trim());
      code.value = '';
      onVerified();
    } catch (err) {
      error.value = errorText(err);
    }
  };
  return (
    <form
      class="settings-form"
      onSubmit={(event) => {
        event.preventDefault();
        void verify();
      }}
    >
      <div class="field">
        <label for={inputId}>Verification code</label>
        <div class="settings-row">
          <input
            id={inputId}
            {...codeInputProps}
            value={code.value}
            aria-invalid={error.value !== null}
            aria-describedby={error.value !== null ? errorId : undefined}
            onInput={(e) => (code.value = e.currentTarget.value)}
          />
          <button type="submit" class="button button--primary">
            Verify
          </button>
          <button type="button" class="button" onClick={onResend}>
            Send a new code
          </button>
        </div>
      </div>
      {error.value !== null && (
        <p role="alert" id={errorId} class="error">
          {error.value}
        </p>
      )}
    </form>
  );
}

function ChannelList(props: {
  channels: readonly ChannelRecord[];
  onMove: (from: number, to: number) => void;
  onDelay: (channel: ChannelRecord, minutes: number) => void;
  onVerify: (channel: ChannelRecord) => void;
  onRemove: (channel: ChannelRecord) => void;
}) {
  if (props.channels.length === 0) return <p class="muted">No channels yet: knocks wait for you here.</p>;
  return (
    <ul class="devices" aria-label="Channels">
      {props.channels.map((channel, i) => (
        <li key={channel.id} class="device">
          <span class="device-text">
            <span class="device-name">
              {labelOf(channel.kind)}: {channel.address}
            </span>
            <span class="device-meta">{stateOf(channel)}</span>
          </span>
          <span class="settings-row">
            <DelayInput channel={channel} onSave={(minutes) => props.onDelay(channel, minutes)} />
            {!channel.verified && (
              <button type="button" class="button button--small" onClick={() => props.onVerify(channel)}>
                Enter code<span class="visually-hidden"> for {channel.address}</span>
              </button>
            )}
            <button type="button" class="button button--small" disabled={i === 0} onClick={() => props.onMove(i, i - 1)}>
              Move up<span class="visually-hidden"> {channel.address}</span>
            </button>
            <button type="button" class="button button--small" disabled={i === props.channels.length - 1} onClick={() => props.onMove(i, i + 1)}>
              Move down<span class="visually-hidden"> {channel.address}</span>
            </button>
            <button type="button" class="button button--small" onClick={() => props.onRemove(channel)}>
              Remove<span class="visually-hidden"> {channel.address}</span>
            </button>
          </span>
        </li>
      ))}
    </ul>
  );
}

function DelayInput({ channel, onSave }: { channel: ChannelRecord; onSave: (minutes: number) => void }) {
  const id = useId();
  const minutes = channel.delayMs / 60_000;
  return (
    <span class="field field--inline">
      <label for={id}>
        Minutes after the knock<span class="visually-hidden"> for {channel.address}</span>
      </label>
      <input
        id={id}
        type="number"
        min={0}
        max={1440}
        step={1}
        class="input--narrow"
        value={minutes}
        onChange={(e) => {
          const value = Number(e.currentTarget.value);
          if (Number.isFinite(value) && value >= 0 && value <= 1440 && value !== minutes) onSave(value);
        }}
      />
    </span>
  );
}

function stateOf(channel: ChannelRecord): string {
  const presence = { available: ' · you are online there', away: ' · you are away there', unavailable: ' · you are offline there', unknown: '' }[channel.presence];
  const base = (channel.verified ? 'Verified' : 'Waiting for its code') + presence;
  const last = channel.lastForward;
  if (last === null) return base;
  const when = new Date(last.at).toLocaleString();
  const words = { queued: 'queued', sent: 'sent', delivered: 'delivered', failed: 'failed', cancelled: 'not needed: you answered first' }[last.state];
  return `${base} · last forward ${words} (${when})${last.error ? `: ${last.error}` : ''}`;
}

function ForwardingSettings({ settings, onSave }: { settings: ChannelsAnswer['settings']; onSave: (settings: ChannelsAnswer['settings']) => void }) {
  const pauseId = useId();
  const quietId = useId();
  const startId = useId();
  const endId = useId();
  const zoneId = useId();
  const awayId = useId();
  const quiet = settings.quietHours;
  const toTime = (minute: number) => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
  const fromTime = (text: string) => {
    const [h, m] = text.split(':').map(Number);
    return (h ?? 0) * 60 + (m ?? 0);
  };
  return (
    <div class="settings-form">
      <label class="settings-row" for={pauseId}>
        <input
          id={pauseId}
          type="checkbox"
          role="switch"
          checked={settings.paused}
          onChange={(e) => onSave({ ...settings, paused: e.currentTarget.checked })}
        />{' '}
        Pause all forwarding
      </label>
      <label class="settings-row" for={awayId}>
        <input id={awayId} type="checkbox" checked={settings.xmppAwayCounts} onChange={(e) => onSave({ ...settings, xmppAwayCounts: e.currentTarget.checked })} /> Forward to XMPP
        when I am "away" there too
      </label>
      <label class="settings-row" for={quietId}>
        <input
          id={quietId}
          type="checkbox"
          checked={quiet !== null}
          onChange={(e) => onSave({ ...settings, quietHours: e.currentTarget.checked ? { start: 22 * 60, end: 7 * 60 } : null })}
        />{' '}
        Quiet hours (knocks wait until they end)
      </label>
      {quiet !== null && (
        <div class="settings-row">
          <span class="field field--inline">
            <label for={startId}>From</label>
            <input id={startId} type="time" value={toTime(quiet.start)} onChange={(e) => onSave({ ...settings, quietHours: { ...quiet, start: fromTime(e.currentTarget.value) } })} />
          </span>
          <span class="field field--inline">
            <label for={endId}>Until</label>
            <input id={endId} type="time" value={toTime(quiet.end)} onChange={(e) => onSave({ ...settings, quietHours: { ...quiet, end: fromTime(e.currentTarget.value) } })} />
          </span>
        </div>
      )}
      <span class="field field--inline">
        <label for={zoneId}>Time zone</label>
        <input
          id={zoneId}
          type="text"
          value={settings.timeZone}
          placeholder={Intl.DateTimeFormat().resolvedOptions().timeZone}
          onChange={(e) => onSave({ ...settings, timeZone: e.currentTarget.value.trim() })}
        />
      </span>
    </div>
  );
}
