/**
 * "Block" in a conversation's actions (issue 22), and "Unblock" once blocked: a blocked visitor's messages and new
 * conversations are refused, by their browser for good and by their address for 30 days, and they read that the owner
 * does not accept messages from them. Blocking asks first; unblocking does not (it only lets them write again).
 * Loaded on demand with Settings (views/companyViews.ts): the conversation's other actions show at once.
 */
import { useEffect } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import type { BlockRecord } from '../../../engine/protocol.ts';
import { api } from '../sdk/api.ts';
import { blockVisitor, conversationBlock, unblockVisitor } from '../sdk/accountSafety.ts';
import { errorText } from '../errorText.ts';
import { ConfirmDialog } from './ConfirmDialog.tsx';

export function BlockVisitor({ conversationId, title }: { conversationId: string; title: string }) {
  /** undefined while it is being read. */
  const block = useSignal<BlockRecord | null | undefined>(undefined);
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const confirming = useSignal(false);
  useEffect(() => {
    block.value = undefined;
    conversationBlock(api, conversationId).then(
      (answer) => (block.value = answer.block),
      (err: unknown) => (error.value = errorText(err)),
    );
  }, [conversationId]);

  const change = async (blocking: boolean) => {
    busy.value = true;
    error.value = null;
    try {
      block.value = (await (blocking ? blockVisitor(api, conversationId) : unblockVisitor(api, conversationId))).block;
      confirming.value = false;
    } catch (err) {
      error.value = errorText(err);
    } finally {
      busy.value = false;
    }
  };

  const blocked = block.value !== undefined && block.value !== null;
  return (
    <>
      <button
        type="button"
        class="button button--small button--quiet danger-text"
        disabled={busy.value || block.value === undefined}
        onClick={() => {
          error.value = null;
          if (blocked) void change(false);
          else confirming.value = true;
        }}
      >
        {blocked ? 'Unblock' : 'Block'}
      </button>
      <p class="visually-hidden" aria-live="polite">
        {blocked ? `${title} is blocked.` : ''}
      </p>
      {error.value !== null && !confirming.value && (
        <p role="alert" class="error error--inline pane-actions-error">
          {error.value}
        </p>
      )}
      {confirming.value && (
        <ConfirmDialog
          title={`Block ${title}?`}
          confirmLabel="Block"
          busy={busy.value}
          error={error.value}
          onCancel={() => (confirming.value = false)}
          onConfirm={() => void change(true)}
        >
          <p>
            {title} can no longer write to you or start a conversation, from this browser and, for 30 days, from their internet address. They are told you
            do not accept messages from them. You can unblock them here or in Settings.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
