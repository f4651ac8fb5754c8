/**
 * The conversation open in the owner's console: who it is with (and an email thread's subject), the owner's actions on
 * it, and the conversation itself. In an email thread the owner answers in the ordinary message box; what they write is
 * mailed, and each of their messages says how its mailing stands. A thread just created by "New email" arrives with
 * its first message (`first`), sent as soon as the conversation opens.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import type { ConversationSummary, FileRef, ProfileAnswer } from '../../../engine/protocol.ts';
import { ownerStore } from '../sdk/browserStore.ts';
import { ConversationSession } from '../sdk/conversationSession.ts';
import type { Inbox } from '../sdk/inbox.ts';
import { useAttachments, useOpenSession, useSnapshot } from '../useSession.ts';
import type { PendingAnswer } from './CallPanel.tsx';
import type { DraftExpander } from './Composer.tsx';
import { ConversationActions } from './ConversationActions.tsx';
import { emailSubject, visitorLabel } from './ConversationList.tsx';
import { ConversationView } from './ConversationView.tsx';
import { PaneHeader } from './PaneHeader.tsx';

/** A first message to send in a conversation as it opens (a "New email" just created). */
export interface FirstMessage {
  conversationId: string;
  body: string;
  files: FileRef[];
  /** Who it goes to, shown as the title until the conversation's summary arrives. */
  to: string;
}

export function OwnerConversationPane({
  conversationId,
  summary,
  inbox,
  uploads,
  first,
  onFirstSent,
  onBack,
  onDone,
  pendingAnswer,
  onAnswered,
  routing,
  expander,
}: {
  conversationId: string;
  summary: ConversationSummary | null;
  inbox: Inbox | null;
  uploads: ProfileAnswer['uploads'];
  first: FirstMessage | null;
  /** The first message is in the session's outbox (it survives a reload there): forget it. */
  onFirstSent: () => void;
  onBack: () => void;
  /** An action closed the conversation (archived, marked unread, deleted); `notice` says what happened. */
  onDone: (conversationId: string, notice: string) => void;
  pendingAnswer: PendingAnswer | null;
  onAnswered: () => void;
  /** A company's chat: who has it, and Take / End chat / Transfer (issue 19; the company chunk's ChatControls). */
  routing?: ComponentChildren;
  /** A company console's canned responses (`/hello` + Tab). */
  expander?: DraftExpander | null;
}) {
  // As it was when the pane opened: the console forgets it once sent, the title and the mailing lines still need it.
  const [opening] = useState(first);
  const session = useOpenSession(() => {
    const opened = ConversationSession.open({ endpoint: location.origin, conversationId, store: ownerStore });
    if (first !== null) {
      opened.send(first.body, first.files);
      onFirstSent();
    }
    return opened;
  });
  const snapshot = useSnapshot(session).value;
  const draft = useSignal('');
  const attachments = useAttachments(uploads, { conversationId });
  const title = summary === null ? (opening?.to ?? 'Visitor') : visitorLabel(summary);
  const subject = summary === null ? null : emailSubject(summary);
  const email = summary?.visitorEmail ?? null;
  return (
    <>
      <PaneHeader
        title={title}
        onBack={onBack}
        heading={
          <>
            {subject !== null && <p class="pane-subject">{subject}</p>}
            {email !== null && email !== '' && email !== title && (
              <a class="pane-email" href={`mailto:${email}`}>
                {email}
              </a>
            )}
            {summary?.sms && <SmsLine sms={summary.sms} />}
            {routing}
          </>
        }
      >
        {inbox !== null && (
          <ConversationActions inbox={inbox} conversationId={conversationId} summary={summary} title={title} onDone={(text) => onDone(conversationId, text)} />
        )}
      </PaneHeader>
      {session !== null && snapshot !== null ? (
        <ConversationView
          session={session}
          snapshot={snapshot}
          draft={draft}
          attachments={attachments}
          peerName={title}
          mailed={summary?.kind === 'email' || summary?.sms != null || opening !== null}
          pendingAnswer={pendingAnswer}
          onAnswered={onAnswered}
          expander={expander}
          emptyHint={<p>No messages yet.</p>}
        />
      ) : (
        <div class="message-scroller">
          <p class="muted centered">Connecting…</p>
        </div>
      )}
    </>
  );
}

/** How an SMS conversation reaches the phone (issue 20), and that nothing does once it texted STOP. */
function SmsLine({ sms }: { sms: NonNullable<ConversationSummary['sms']> }) {
  return (
    <p class="pane-subject">
      {sms.via === 'number' ? 'SMS to your number' : 'SMS, replies from Knock\u2019s number'}
      {sms.stopped && <strong> · Texted STOP: your replies are not sent</strong>}
    </p>
  );
}
