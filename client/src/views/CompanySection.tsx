/**
 * Settings → Company (issue 19), in a company's console: the code that embeds its widget on a site, the sites
 * allowed to (others get nothing), its operators, and the signed-in operator's own status and capacity. Changing the
 * sites and the team is for admins: a plain operator sees them, without the controls (the server refuses them too).
 */
import { useEffect, useId } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { addSiteBody, type CompanyAnswer, type OperatorRecord } from '../../../engine/protocol.ts';
import { api } from '../sdk/api.ts';
import { errorText } from '../errorText.ts';
import { CannedSection } from './CannedSection.tsx';
import { CopyButton } from './CopyButton.tsx';
import { SettingsFeedback } from './SettingsFeedback.tsx';

/** Who is looking: their own handle (their row among the operators) and their role in the team. */
export interface CompanyViewer {
  handle: string;
  role: 'admin' | 'operator';
}

export function CompanySection({ viewer }: { viewer: CompanyViewer }) {
  const headingId = useId();
  const state = useSignal<CompanyAnswer | null>(null);
  const error = useSignal<string | null>(null);
  const notice = useSignal<string | null>(null);

  useEffect(() => {
    api.company().then(
      (answer) => (state.value = answer),
      (err: unknown) => (error.value = errorText(err)),
    );
  }, []);

  /** Runs a change; the server answers with the company as it now is. False when it failed (the error is shown). */
  const act = async (change: () => Promise<CompanyAnswer>, done: string): Promise<boolean> => {
    error.value = null;
    notice.value = null;
    try {
      state.value = await change();
      notice.value = done;
      return true;
    } catch (err) {
      error.value = errorText(err);
      return false;
    }
  };

  const current = state.value;
  const admin = viewer.role === 'admin';
  const me = current?.operators.find((o) => o.handle === viewer.handle) ?? null;
  return (
    <section class="settings-section" aria-labelledby={headingId}>
      <h3 id={headingId}>Company</h3>
      {current === null ? (
        <p class="muted">{error.value ?? 'Loading…'}</p>
      ) : (
        <>
          <Snippet snippet={current.snippet} />
          <Sites sites={current.sites} admin={admin} act={act} />
          <Operators operators={current.operators} admin={admin} viewerHandle={viewer.handle} act={act} />
          {admin && <Invite onError={(message) => (error.value = message)} />}
          {me !== null && <MyWork me={me} act={act} />}
          <CannedSection admin={admin} />
        </>
      )}
      <SettingsFeedback error={current === null ? null : error.value} notice={notice.value} />
    </section>
  );
}

type Act = (change: () => Promise<CompanyAnswer>, done: string) => Promise<boolean>;

function Snippet({ snippet }: { snippet: string }) {
  const id = useId();
  return (
    <div class="settings-form">
      <p id={id}>Put this tag on every page of your site, and visitors can chat with your team from there:</p>
      <pre class="company-snippet" aria-labelledby={id}>
        <code>{snippet}</code>
      </pre>
      <p class="share-url">
        <CopyButton text={snippet} label="Copy code" />
      </p>
    </div>
  );
}

function Sites({ sites, admin, act }: { sites: readonly string[]; admin: boolean; act: Act }) {
  const headingId = useId();
  const inputId = useId();
  const hintId = useId();
  const errorId = useId();
  const typed = useSignal('');
  const invalid = useSignal<string | null>(null);

  const add = async () => {
    const checked = addSiteBody.safeParse({ origin: typed.value.trim().replace(/\/$/, '') });
    if (!checked.success) {
      invalid.value = checked.error.issues[0]?.message ?? 'This is not a site’s address.';
      return;
    }
    invalid.value = null;
    const origin = checked.data.origin;
    if (await act(() => api.addSite(origin), `Added ${origin}.`)) typed.value = '';
  };

  return (
    <div class="settings-form">
      <h4 id={headingId} class="company-heading">
        Allowed sites
      </h4>
      {sites.length === 0 ? (
        <p class="muted">No site yet: the widget shows on no site until you add one.</p>
      ) : (
        <ul class="devices" aria-labelledby={headingId}>
          {sites.map((origin) => (
            <SiteItem key={origin} origin={origin} admin={admin} onRemove={() => void act(() => api.removeSite(origin), `Removed ${origin}.`)} />
          ))}
        </ul>
      )}
      {admin && (
        <form
          class="settings-form"
          onSubmit={(event) => {
            event.preventDefault();
            void add();
          }}
        >
          <div class="field">
            <label for={inputId}>Site</label>
            <div class="settings-row">
              <input
                id={inputId}
                type="url"
                inputMode="url"
                autoComplete="off"
                placeholder="https://shop.example"
                value={typed.value}
                aria-invalid={invalid.value !== null}
                aria-describedby={invalid.value !== null ? `${errorId} ${hintId}` : hintId}
                onInput={(e) => (typed.value = e.currentTarget.value)}
              />
              <button type="submit" class="button button--primary">
                Add site
              </button>
            </div>
            <p class="hint" id={hintId}>
              The site's address without a path: scheme, host and port.
            </p>
          </div>
          {invalid.value !== null && (
            <p role="alert" id={errorId} class="error">
              {invalid.value}
            </p>
          )}
        </form>
      )}
    </div>
  );
}

function SiteItem({ origin, admin, onRemove }: { origin: string; admin: boolean; onRemove: () => void }) {
  const id = useId();
  return (
    <li class="device">
      <span class="device-name" id={id}>
        {origin}
      </span>
      {admin && (
        // Named "Remove" like every row's; which site it removes is its description.
        <button type="button" class="button button--small" aria-describedby={id} onClick={onRemove}>
          Remove
        </button>
      )}
    </li>
  );
}

function Operators(props: { operators: readonly OperatorRecord[]; admin: boolean; viewerHandle: string; act: Act }) {
  const headingId = useId();
  return (
    <div class="settings-form">
      <h4 id={headingId} class="company-heading">
        Operators
      </h4>
      <ul class="devices" aria-labelledby={headingId}>
        {props.operators.map((operator) => (
          <li key={operator.handle} class="device">
            <span class="device-text">
              <span class="device-name">
                {operator.displayName}
                {operator.handle === props.viewerHandle ? ' (you)' : ''}
              </span>
              <span class="device-meta">
                /{operator.handle} · {operator.role === 'admin' ? 'Admin' : 'Operator'} · {operator.status === 'online' ? 'Online' : 'Away'} · up to{' '}
                {operator.capacity} {operator.capacity === 1 ? 'chat' : 'chats'} at once
              </span>
            </span>
            {props.admin && operator.handle !== props.viewerHandle && (
              <button
                type="button"
                class="button button--small"
                onClick={() => void props.act(() => api.removeOperator(operator.handle), `${operator.displayName} is no longer in the team.`)}
              >
                Remove from team<span class="visually-hidden"> {operator.displayName}</span>
              </button>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Invite({ onError }: { onError: (message: string) => void }) {
  const link = useSignal<{ url: string; expiresAt: number } | null>(null);
  const busy = useSignal(false);
  const invite = async () => {
    busy.value = true;
    try {
      const answer = await api.inviteOperator('operator');
      link.value = { url: new URL(answer.link, location.origin).href, expiresAt: answer.expiresAt };
    } catch (err) {
      onError(errorText(err));
    } finally {
      busy.value = false;
    }
  };
  return (
    <div class="settings-form">
      <div class="settings-row">
        <button type="button" class="button" disabled={busy.value} onClick={() => void invite()}>
          Invite operator
        </button>
      </div>
      {link.value !== null && (
        <p class="share-url settings-status">
          Send this link to the new operator (it works once, until {new Date(link.value.expiresAt).toLocaleString()}):{' '}
          <code class="settings-address">{link.value.url}</code> <CopyButton text={link.value.url} />
        </p>
      )}
    </div>
  );
}

function MyWork({ me, act }: { me: OperatorRecord; act: Act }) {
  const statusId = useId();
  const capacityId = useId();
  const capacity = useSignal(String(me.capacity));
  return (
    <div class="settings-form">
      <h4 class="company-heading">You</h4>
      <form
        class="company-me"
        onSubmit={(event) => {
          event.preventDefault();
          const value = Number(capacity.value);
          void act(() => api.setMyCapacity(value), `You take up to ${value} ${value === 1 ? 'chat' : 'chats'} at once.`);
        }}
      >
        <span class="field">
          <label for={statusId}>Status</label>
          {/* Takes effect as chosen: routing reads it for the next chat. */}
          <select
            id={statusId}
            value={me.status}
            onChange={(e) => {
              const status = e.currentTarget.value === 'online' ? 'online' : 'away';
              void act(() => api.setMyStatus(status), status === 'online' ? 'You are online: new chats can come to you.' : 'You are away: no new chats come to you.');
            }}
          >
            <option value="online">Online</option>
            <option value="away">Away</option>
          </select>
        </span>
        <span class="field">
          <label for={capacityId}>Capacity</label>
          <input
            id={capacityId}
            type="number"
            min={1}
            max={50}
            step={1}
            required
            value={capacity.value}
            onInput={(e) => (capacity.value = e.currentTarget.value)}
          />
        </span>
        <button type="submit" class="button">
          Save capacity
        </button>
      </form>
    </div>
  );
}
