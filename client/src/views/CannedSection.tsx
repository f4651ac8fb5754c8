/**
 * Settings → Company's "Canned responses" (issue 19): the texts an operator inserts by typing `/shortcut` in the
 * message box and pressing Tab. Every operator sees the list; adding and removing are for admins (a plain operator
 * gets no controls, and the server refuses them too). Its own feedback lines, as the list loads on its own call.
 */
import { useEffect, useId } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { CANNED_TEXT_CHARS, cannedShortcutSchema, cannedTextSchema, type CannedAnswer, type CannedRecord } from '../../../engine/protocol.ts';
import { cannedCalls } from '../sdk/canned.ts';
import { errorText } from '../errorText.ts';
import { SettingsFeedback } from './SettingsFeedback.tsx';

export function CannedSection({ admin }: { admin: boolean }) {
  const headingId = useId();
  const list = useSignal<readonly CannedRecord[] | null>(null);
  const error = useSignal<string | null>(null);
  const notice = useSignal<string | null>(null);

  useEffect(() => {
    cannedCalls.list().then(
      (answer) => (list.value = answer.responses),
      (err: unknown) => (error.value = errorText(err)),
    );
  }, []);

  const act = async (change: () => Promise<CannedAnswer>, done: string): Promise<boolean> => {
    error.value = null;
    notice.value = null;
    try {
      list.value = (await change()).responses;
      notice.value = done;
      return true;
    } catch (err) {
      error.value = errorText(err);
      return false;
    }
  };

  const responses = list.value;
  return (
    <div class="settings-form">
      <h4 id={headingId} class="company-heading">
        Canned responses
      </h4>
      <p class="hint">Type /shortcut in a message and press Tab to insert its response.</p>
      {responses === null ? (
        error.value === null && <p class="muted">Loading…</p>
      ) : responses.length === 0 ? (
        <p class="muted">No canned responses yet.</p>
      ) : (
        <ul class="devices" aria-labelledby={headingId}>
          {responses.map((c) => (
            <CannedItem key={c.shortcut} canned={c} admin={admin} onRemove={() => void act(() => cannedCalls.remove(c.shortcut), `Removed /${c.shortcut}.`)} />
          ))}
        </ul>
      )}
      {admin && <AddCanned act={act} />}
      <SettingsFeedback error={error.value} notice={notice.value} />
    </div>
  );
}

type Act = (change: () => Promise<CannedAnswer>, done: string) => Promise<boolean>;

function CannedItem({ canned, admin, onRemove }: { canned: CannedRecord; admin: boolean; onRemove: () => void }) {
  const id = useId();
  return (
    <li class="device">
      <span class="device-text" id={id}>
        <span class="device-name">/{canned.shortcut}</span>
        <span class="device-meta canned-text">{canned.text}</span>
      </span>
      {admin && (
        // Named "Remove" like every row's; which response it removes is its description.
        <button type="button" class="button button--small" aria-describedby={id} onClick={onRemove}>
          Remove
        </button>
      )}
    </li>
  );
}

function AddCanned({ act }: { act: Act }) {
  const shortcutId = useId();
  const textId = useId();
  const errorId = useId();
  const shortcut = useSignal('');
  const text = useSignal('');
  const invalid = useSignal<string | null>(null);

  const add = async () => {
    const key = cannedShortcutSchema.safeParse(shortcut.value.trim().replace(/^\//, ''));
    const body = cannedTextSchema.safeParse(text.value);
    const problem = !key.success ? key.error.issues[0]?.message : !body.success ? body.error.issues[0]?.message : undefined;
    if (!key.success || !body.success) {
      invalid.value = problem ?? 'Give a shortcut and a response.';
      return;
    }
    invalid.value = null;
    if (await act(() => cannedCalls.set(key.data, body.data), `Saved /${key.data}.`)) {
      shortcut.value = '';
      text.value = '';
    }
  };

  const described = invalid.value === null ? undefined : errorId;
  return (
    <form
      class="settings-form"
      onSubmit={(event) => {
        event.preventDefault();
        void add();
      }}
    >
      <div class="field">
        <label for={shortcutId}>Shortcut</label>
        <input
          id={shortcutId}
          autoComplete="off"
          autoCapitalize="off"
          spellcheck={false}
          placeholder="hello"
          maxLength={33}
          value={shortcut.value}
          aria-invalid={invalid.value !== null}
          aria-describedby={described}
          onInput={(e) => (shortcut.value = e.currentTarget.value)}
        />
      </div>
      <div class="field">
        <label for={textId}>Response</label>
        <textarea
          id={textId}
          rows={3}
          maxLength={CANNED_TEXT_CHARS}
          value={text.value}
          aria-invalid={invalid.value !== null}
          aria-describedby={described}
          onInput={(e) => (text.value = e.currentTarget.value)}
        />
      </div>
      {invalid.value !== null && (
        <p role="alert" id={errorId} class="error">
          {invalid.value}
        </p>
      )}
      <div>
        <button type="submit" class="button button--primary">
          Add response
        </button>
      </div>
    </form>
  );
}
