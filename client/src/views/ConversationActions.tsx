/**
 * The owner's actions on the open conversation: Archive (Unarchive when it is archived), Mark as unread, Block (or
 * Unblock) its visitor (BlockVisitor.tsx; not an SMS conversation's phone), and Delete conversation, which asks
 * first. Archiving, marking unread and deleting close the conversation: the owner is done with it, and leaving it
 * open would read it again at once.
 */
import { useSignal } from '@preact/signals';
import type { ConversationSummary } from '../../../engine/protocol.ts';
import type { Inbox } from '../sdk/inbox.ts';
import { errorText } from '../errorText.ts';
import { LazyCompanyView } from './LazyCompanyView.tsx';
import { ConfirmDialog } from './ConfirmDialog.tsx';

export function ConversationActions({
  inbox,
  conversationId,
  summary,
  title,
  onDone,
}: {
  inbox: Inbox;
  conversationId: string;
  summary: ConversationSummary | null;
  /** Who the conversation is with ("Bob"). */
  title: string;
  /** The action is done and the conversation closes; `notice` says what happened. */
  onDone: (notice: string) => void;
}) {
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const confirming = useSignal(false);
  const archived = summary?.archived === true;

  const run = async (action: () => Promise<void>, notice: string) => {
    busy.value = true;
    error.value = null;
    try {
      await action();
      confirming.value = false;
      onDone(notice);
    } catch (err) {
      error.value = errorText(err);
    } finally {
      busy.value = false;
    }
  };

  return (
    <div class="pane-actions">
      <button
        type="button"
        class="button button--small"
        disabled={busy.value}
        onClick={() =>
          void run(
            () => inbox.archive(conversationId, !archived),
            archived ? `The conversation with ${title} is back in your inbox.` : `Archived the conversation with ${title}. A new message brings it back.`,
          )
        }
      >
        {archived ? 'Unarchive' : 'Archive'}
      </button>
      <button
        type="button"
        class="button button--small"
        disabled={busy.value}
        onClick={() => void run(() => inbox.markUnread(conversationId), `Marked the conversation with ${title} as unread.`)}
      >
        Mark as unread
      </button>
      {summary?.sms == null && <LazyCompanyView view="BlockVisitor" props={{ conversationId, title }} quiet />}
      <button
        type="button"
        class="button button--small button--quiet danger-text"
        disabled={busy.value}
        onClick={() => {
          error.value = null;
          confirming.value = true;
        }}
      >
        Delete conversation
      </button>
      {error.value !== null && !confirming.value && (
        <p role="alert" class="error error--inline pane-actions-error">
          {error.value}
        </p>
      )}
      {confirming.value && (
        <ConfirmDialog
          title={`Delete the conversation with ${title}?`}
          confirmLabel="Delete"
          busy={busy.value}
          error={error.value}
          onCancel={() => (confirming.value = false)}
          onConfirm={() => void run(() => inbox.remove(conversationId), `Deleted the conversation with ${title}.`)}
        >
          <p>Its messages, documents and files are deleted for good, for you and for {title}. This cannot be undone.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}
