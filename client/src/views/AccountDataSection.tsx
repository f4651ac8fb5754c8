/**
 * Settings → Your data (issue 22): "Export my data" downloads a zip of everything Knock keeps of the account, and
 * "Delete account" deletes it for good once the password (and the second factor, when the server asks for it) and the
 * handle are typed again; the browser then forgets the owner (sdk/ownerTraces.ts) and goes to the landing page.
 * A person's own account only: a company's console does not show it.
 */
import { useId } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { ApiError, api } from '../sdk/api.ts';
import { deleteAccount, exportData } from '../sdk/accountSafety.ts';
import { forgetOwnerTraces } from '../sdk/ownerTraces.ts';
import { errorText } from '../errorText.ts';
import { codeInputProps } from './codeInput.ts';
import { ConfirmDialog } from './ConfirmDialog.tsx';
import { SettingsFeedback } from './SettingsFeedback.tsx';

export function AccountDataSection({ handle }: { handle: string }) {
  const headingId = useId();
  const exporting = useSignal(false);
  const deleting = useSignal(false);
  const error = useSignal<string | null>(null);
  const notice = useSignal<string | null>(null);

  const download = async () => {
    exporting.value = true;
    error.value = null;
    notice.value = 'Preparing your data…';
    try {
      const { blob, name } = await exportData();
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = name;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
      notice.value = `Your data is downloaded as ${name}.`;
    } catch (err) {
      notice.value = null;
      error.value = errorText(err);
    } finally {
      exporting.value = false;
    }
  };

  return (
    <section class="settings-section" aria-labelledby={headingId}>
      <h3 id={headingId}>Your data</h3>
      <p>Everything Knock keeps of your account, as one zip file: your profile, every conversation with its files, and your audit log.</p>
      <p>
        <button type="button" class="button" disabled={exporting.value} onClick={() => void download()}>
          Export my data
        </button>
      </p>
      <p>Deleting your account removes it for good, with all of its conversations and files. Your address becomes nobody’s.</p>
      <p>
        <button
          type="button"
          class="button button--danger"
          onClick={() => {
            error.value = null;
            deleting.value = true;
          }}
        >
          Delete account
        </button>
      </p>
      <SettingsFeedback error={error.value} notice={notice.value} />
      {deleting.value && <DeleteAccountDialog handle={handle} onCancel={() => (deleting.value = false)} />}
    </section>
  );
}

function DeleteAccountDialog({ handle, onCancel }: { handle: string; onCancel: () => void }) {
  const passwordId = useId();
  const handleId = useId();
  const codeId = useId();
  const password = useSignal('');
  const typedHandle = useSignal('');
  const code = useSignal('');
  /** The server asked for the second factor too (an account with two-factor sign-in). */
  const askCode = useSignal(false);
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);

  const confirm = async () => {
    busy.value = true;
    error.value = null;
    try {
      await deleteAccount(api, { password: password.value, handle: typedHandle.value, ...(askCode.value ? { code: code.value.trim() } : {}) });
      await forgetOwnerTraces();
      location.assign('/');
    } catch (err) {
      if (err instanceof ApiError && err.data?.secondFactor === true) askCode.value = true;
      error.value = errorText(err);
      busy.value = false;
    }
  };

  return (
    <ConfirmDialog
      title="Delete your account?"
      confirmLabel="Delete for good"
      busy={busy.value}
      error={error.value}
      onCancel={onCancel}
      onConfirm={() => void confirm()}
      fields={
        <>
          <div class="field">
            <label for={passwordId}>Password</label>
            <input id={passwordId} type="password" autocomplete="current-password" required value={password.value} onInput={(e) => (password.value = e.currentTarget.value)} />
          </div>
          {askCode.value && (
            <div class="field">
              <label for={codeId}>Code from your authenticator app</label>
              <input id={codeId} {...codeInputProps} value={code.value} onInput={(e) => (code.value = e.currentTarget.value)} />
            </div>
          )}
          <div class="field">
            <label for={handleId}>Type your handle, {handle}, to confirm</label>
            <input
              id={handleId}
              type="text"
              autocomplete="off"
              autocapitalize="none"
              spellcheck={false}
              required
              value={typedHandle.value}
              onInput={(e) => (typedHandle.value = e.currentTarget.value)}
            />
          </div>
        </>
      }
    >
      <p>Your conversations, their messages and files, your settings and your audit log are deleted for good. This cannot be undone.</p>
    </ConfirmDialog>
  );
}
