/**
 * Shown when a resume link is opened in a browser that already holds another conversation with the same owner: the
 * person chooses which one to continue here. Nothing switches by itself, so a link someone else sent cannot quietly
 * move a visitor into a conversation that someone else reads.
 */
import { useSignal } from '@preact/signals';
import type { VisitorConversation } from '../../../engine/protocol.ts';
import { errorText } from '../errorText.ts';
import { ResumeLink } from './ResumeLink.tsx';

export function ResumeChoice({
  ownerName,
  own,
  linked,
  onContinueLinked,
  onKeepOwn,
}: {
  ownerName: string;
  own: VisitorConversation;
  linked: VisitorConversation;
  /** Adopts the linked conversation in this browser; rejects with what went wrong. */
  onContinueLinked: () => Promise<void>;
  onKeepOwn: () => void;
}) {
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const continueLinked = async () => {
    busy.value = true;
    error.value = null;
    try {
      await onContinueLinked();
    } catch (err) {
      error.value = errorText(err);
      busy.value = false;
    }
  };
  return (
    <section class="resume-choice" aria-labelledby="resume-choice-title">
      <h2 id="resume-choice-title">Which conversation do you want to continue?</h2>
      <p>
        This browser already has a conversation with {ownerName}
        {own.visitorName ? ` (you were “${own.visitorName}”)` : ''}. The link you opened is another conversation
        {linked.visitorName ? `, of “${linked.visitorName}”` : ''}: only continue it if that link is yours.
      </p>
      <p>Continuing the linked conversation here replaces yours in this browser; keep your own link to come back to it:</p>
      <ResumeLink resumePath={own.resumePath} />
      {error.value !== null && (
        <p role="alert" class="error">
          {error.value}
        </p>
      )}
      <div class="resume-choice-actions">
        <button type="button" class="button" disabled={busy.value} onClick={onKeepOwn}>
          Keep my conversation
        </button>
        <button type="button" class="button button--primary" disabled={busy.value} onClick={() => void continueLinked()}>
          Continue the conversation from the link
        </button>
      </div>
    </section>
  );
}
