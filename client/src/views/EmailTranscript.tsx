/**
 * The visitor's "Email transcript" (issue 19): a button under the conversation that opens the form (TranscriptForm,
 * fetched with the live-help views the first time: LazyCompanyView) to have the conversation mailed.
 */
import { useSignal } from '@preact/signals';
import { LazyCompanyView } from './LazyCompanyView.tsx';

export function EmailTranscript(props: { conversationId: string; token: string; email: string }) {
  const open = useSignal(false);
  return open.value ? (
    <LazyCompanyView view="TranscriptForm" props={props} />
  ) : (
    <p>
      <button type="button" class="button button--small" onClick={() => (open.value = true)}>
        Email transcript
      </button>
    </p>
  );
}
