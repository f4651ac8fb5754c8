/**
 * Settings → Domains (issue 21): the owner's own domains. They type one ("Domain", "Add domain"); Knock shows the NS
 * records to set at their registrar and whether it sees the domain delegated yet ("Waiting for the name servers",
 * with what the last check saw), with "Check now" and "Remove" for each. Fastmail and Migadu show the records to set
 * and check them live; this does the same.
 */
import { useId } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import type { DomainRecord, DomainsAnswer } from '../../../engine/protocol.ts';
import { api } from '../sdk/api.ts';
import { SettingsFeedback } from './SettingsFeedback.tsx';
import { useSettingsAnswer } from './settingsAnswer.ts';

export function DomainsSection() {
  const headingId = useId();
  const { state, error, notice, act } = useSettingsAnswer(() => api.domains());
  const stateOf = (answer: DomainsAnswer, name: string): string => {
    const domain = answer.domains.find((d) => d.name === name);
    return domain?.state === 'active' ? `${name} is active.` : `${name} is waiting for its name servers.`;
  };

  const current = state.value;
  return (
    <section class="settings-section" aria-labelledby={headingId}>
      <h3 id={headingId}>Domains</h3>
      <p>Use your own domain as your address: people who open it reach you here, and mail to it lands in your inbox.</p>
      {current === null ? (
        <p class="muted">{error.value ?? 'Loading…'}</p>
      ) : current.nameservers.length === 0 ? (
        <p class="muted">This server takes no domains (its operator has not set its name servers).</p>
      ) : (
        <>
          <NameServers nameservers={current.nameservers} />
          <AddDomain onAdd={(domain) => act(() => api.addDomain(domain), (answer) => `Added. ${stateOf(answer, answer.domains.at(-1)?.name ?? domain)}`)} />
          <DomainList
            domains={current.domains}
            onCheck={(d) => void act(() => api.checkDomain(d.name), (answer) => stateOf(answer, d.name))}
            onRemove={(d) => void act(() => api.removeDomain(d.name), () => `Removed ${d.name}.`)}
          />
        </>
      )}
      <SettingsFeedback error={current === null ? null : error.value} notice={notice.value} />
    </section>
  );
}

function NameServers({ nameservers }: { nameservers: readonly string[] }) {
  return (
    <>
      <p>At your domain's registrar, set its name servers (NS records) to:</p>
      <ul class="devices" aria-label="Name servers to set">
        {nameservers.map((ns) => (
          <li key={ns} class="device">
            <code class="settings-address">{ns}</code>
          </li>
        ))}
      </ul>
    </>
  );
}

function AddDomain({ onAdd }: { onAdd: (domain: string) => Promise<boolean> }) {
  const inputId = useId();
  const hintId = useId();
  const typed = useSignal('');
  const busy = useSignal(false);
  return (
    <form
      class="settings-form"
      onSubmit={(event) => {
        event.preventDefault();
        busy.value = true;
        void onAdd(typed.value.trim()).then((ok) => {
          busy.value = false;
          if (ok) typed.value = '';
        });
      }}
    >
      <div class="field">
        <label for={inputId}>Domain</label>
        <div class="settings-row">
          <input
            id={inputId}
            type="text"
            inputMode="url"
            autoCapitalize="off"
            spellcheck={false}
            maxLength={253}
            required
            aria-describedby={hintId}
            value={typed.value}
            onInput={(e) => (typed.value = e.currentTarget.value)}
          />
          <button type="submit" class="button button--primary" disabled={busy.value}>
            Add domain
          </button>
        </div>
        <p class="hint" id={hintId}>
          A domain you own, like alice.example or chat.acme.example.
        </p>
      </div>
    </form>
  );
}

function DomainList(props: { domains: readonly DomainRecord[]; onCheck: (d: DomainRecord) => void; onRemove: (d: DomainRecord) => void }) {
  if (props.domains.length === 0) return null;
  return (
    <ul class="devices" aria-label="Your domains">
      {props.domains.map((d) => (
        <li key={d.name} class="device">
          <span class="device-text">
            <span class="device-name">{d.name}</span>
            <span class="device-meta">{d.state === 'active' ? 'Active' : `Waiting for the name servers${d.checkError === null ? '' : `: ${d.checkError}`}`}</span>
          </span>
          {d.state === 'pending' && (
            <button type="button" class="button button--small" aria-label={`Check ${d.name} now`} onClick={() => props.onCheck(d)}>
              Check now
            </button>
          )}
          <button type="button" class="button button--small" aria-label={`Remove ${d.name}`} onClick={() => props.onRemove(d)}>
            Remove
          </button>
        </li>
      ))}
    </ul>
  );
}
